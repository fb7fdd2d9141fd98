# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner's pieces, shared by the engine and every kind: options and their registry, changes,
the lifecycle table, and a plan (actions, typed host-wide edits, prerequisites, file diffs, warnings).

A kind's registry (:class:`Options`) classifies each change (live, restart, recreate);
:func:`plan_lifecycle` turns the changes into the verbs the engine calls.  ``changed`` is always
``bool(plan.actions or plan.edits)``; check mode only skips :func:`execute`.
"""

from __future__ import annotations

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.edits import rewrite
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import locked

LIVE = 'live'          # applied to the running object in place
RESTART = 'restart'    # takes effect at the next start
RECREATE = 'recreate'  # the object must be destroyed and created again
APPLY_KINDS = (LIVE, RESTART, RECREATE)

EQUAL = 'equal'        # values must be equal
SET = 'set'            # order-insensitive list comparison
SUBSET = 'subset'      # every desired element must be present in current

GUEST_STATES = ('absent', 'stopped', 'running')
DESIRED_STATES = ('present', 'started', 'stopped', 'restarted', 'absent')


class Option(object):
    """One comparable setting of a managed object."""

    def __init__(self, name, apply=LIVE, comparison=EQUAL):
        if apply not in APPLY_KINDS:
            raise ValueError('unknown apply kind %r for option %s' % (apply, name))
        if comparison not in (EQUAL, SET, SUBSET):
            raise ValueError('unknown comparison %r for option %s' % (comparison, name))
        self.name = name
        self.apply = apply
        self.comparison = comparison

    def differs(self, before, after):
        if self.comparison == EQUAL:
            return before != after
        before_items = set(as_list(before))
        after_items = set(as_list(after))
        if self.comparison == SET:
            return before_items != after_items
        return not after_items.issubset(before_items)


class Options(object):
    """A kind's option registry: each option declared once, with how it is compared and whether a change
    applies live, at the next start or by recreating; that declaration classifies every change of it.

    ``family(name) -> Option`` declares the options whose names are known only when the object is read
    (a jail(8) parameter, an xl.cfg setting), by the rule that classifies them.
    """

    def __init__(self, *options, **kwargs):
        self._options = list(options)
        self._declared = dict((o.name, o) for o in options)
        self._family = kwargs.pop('family', None)
        if kwargs:
            raise TypeError('unknown argument %s' % ', '.join(kwargs))
        self._made = {}

    def __iter__(self):
        return iter(self._options)

    def __getitem__(self, name):
        if name in self._declared:
            return self._declared[name]
        if self._family is None:
            raise KeyError('%s is not a declared option' % name)
        if name not in self._made:
            self._made[name] = self._family(name)
        return self._made[name]

    def with_family(self, family):
        """The same declared options, with another rule for the ones named at run time."""
        return Options(*self._options, family=family)

    def change(self, name, before, after):
        """The change of option ``name``, compared as declared; None when the values do not differ."""
        option = self[name]
        return Change(option, before, after) if option.differs(before, after) else None

    def changed(self, name, before, after):
        """A change of option ``name`` that the kind found by comparing what it read itself (the live
        value of a running object, a file's layout)."""
        return Change(self[name], before, after)

    def not_picked_up(self, name):
        """A setting written earlier that the running object has not picked up: it waits for a restart."""
        return Change(Option(name, RESTART), 'running', 'configured')


class Change(object):
    __slots__ = ('option', 'before', 'after')

    def __init__(self, option, before, after):
        self.option = option
        self.before = before
        self.after = after

    @property
    def name(self):
        return self.option.name

    @property
    def apply(self):
        return self.option.apply

    def __repr__(self):
        return 'Change(%s: %r -> %r, %s)' % (self.name, self.before, self.after, self.apply)


class Action(object):
    """One step of a plan: a command line (with ``data`` on its standard input), or a callable for
    file edits (given both, the callable runs and the command line shows what it runs).  ``batch``
    names the steps that one command may do for many objects of a call (``('jail', 'start')``): the
    engine runs those of several objects as one (:meth:`engine.Kind.batch`)."""

    __slots__ = ('verb', 'description', 'argv', 'func', 'lock', 'data', 'batch', 'edit')

    def __init__(self, verb, description, argv=None, func=None, lock=None, data=None, batch=None, edit=None):
        if argv is None and func is None:
            raise ValueError('an action needs an argv or a func (or both: a func that runs what argv shows)')
        self.verb = verb
        self.description = description
        self.argv = list(argv) if argv is not None else None
        self.func = func
        # A shared file the command rewrites (sysrc and rc.conf): held locked while it runs, so that
        # concurrent runs of this collection take turns on it.
        self.lock = lock
        self.data = data
        self.batch = batch
        self.edit = edit        # the typed file edit (edits.FileEdit) the action writes, merged with the call's others

    def to_dict(self):
        result = {'verb': self.verb, 'description': self.description}
        if self.argv is not None:
            result['argv'] = list(self.argv)
        if self.data is not None:
            result['stdin'] = self.data
        return result


class Plan(object):
    def __init__(self, changes=None):
        self.changes = list(changes or [])
        self.actions = []
        self.pending = []
        # Host-wide edits (SysrcEdit, engine.FileEdit) the engine merges across objects and applies once.
        self.edits = []
        self.files = []        # diffs of files: {before_header, after_header, before, after}
        self.warnings = []     # what the module passes to module.warn()
        self.prerequisites = []    # what the actions need and nothing makes (prerequisites.Prerequisite)
        self.made = set()          # prerequisite keys that actions of this plan make, before those that need them
        self.done = 0          # actions carried out so far (a failure leaves the host partly changed)

    @property
    def changed(self):
        return bool(self.actions or self.edits)

    @property
    def pending_names(self):
        """The options whose changes wait for a restart, sorted, each once."""
        return sorted(set(c.name for c in self.pending))

    def add(self, verb, description, argv=None, func=None, lock=None, data=None, batch=None):
        action = Action(verb, description, argv=argv, func=func, lock=lock, data=data, batch=batch)
        self.actions.append(action)
        return action

    def write(self, edit):
        """A typed file edit (:mod:`edits`) done at this point of the plan; the writes of that file by other
        objects of the call waiting at the same point are merged into one locked rewrite."""
        action = Action(edit.verb, edit.describe(), func=lambda: rewrite(edit.path, [edit]),
                        batch=('file', edit.path), edit=edit)
        self.actions.append(action)
        return action

    def describe(self):
        return [a.to_dict() for a in self.actions]

    def require(self, prerequisite):
        """An action of this plan needs ``prerequisite``: checked before the first change (check mode too),
        once however many actions need it."""
        if all(p.key != prerequisite.key for p in self.prerequisites):
            self.prerequisites.append(prerequisite)

    def warn(self, message):
        if message not in self.warnings:
            self.warnings.append(message)

    def file_diff(self, path, before, after):
        """Show a file's change in diff mode (nothing when it stays as it is)."""
        if before != after:
            self.files.append(dict(before_header=path, after_header=path, before=before or '', after=after or ''))


def progress(plan):
    """``changed`` and the ``done`` actions of a plan that failed part way (None: nothing planned yet)."""
    done = plan.actions[:plan.done] if plan is not None else []
    return dict(changed=bool(done), done=[a.to_dict() for a in done])


def as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]


def compare(options, current, desired):
    """Compare option by option; return the list of :class:`Change`.

    Options missing from ``desired`` (or set to None there) are not managed
    and never produce a change.  ``current`` may be None for an object that
    does not exist yet: every managed option is then a change.
    """
    current = current or {}
    changes = []
    for option in options:
        if desired.get(option.name) is None:
            continue
        before = current.get(option.name)
        after = desired[option.name]
        if option.differs(before, after):
            changes.append(Change(option, before, after))
    return changes


def _normalised(value):
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return value


def structured_diff(changes, before_extra=None, after_extra=None):
    """The diff mode payload: only the differing options, plus the given extras."""
    before = dict(before_extra or {})
    after = dict(after_extra or {})
    for change in changes:
        before[change.name] = _normalised(change.before)
        after[change.name] = _normalised(change.after)
    return {'before': before, 'after': after}


def plan_lifecycle(current_state, desired_state, changes, restart_allowed=False):
    """The lifecycle transition table shared by jails, bhyve VMs and Xen domUs.

    Returns ``(verbs, pending)``: the ordered verbs to carry out (``create``,
    ``update``, ``start``, ``stop``, ``destroy``, ``recreate``) and the changes
    that stay pending because they need a restart that is not allowed.
    ``update`` means "write every change into the object's configuration";
    on a running object only live changes are applied in place.
    """
    if current_state not in GUEST_STATES:
        raise ValueError('unknown current state %r' % current_state)
    if desired_state not in DESIRED_STATES:
        raise ValueError('unknown desired state %r' % desired_state)

    if desired_state == 'absent':
        return ({'absent': [], 'stopped': ['destroy'], 'running': ['stop', 'destroy']}[current_state], [])

    if current_state == 'absent':
        verbs = ['create']
        if desired_state in ('started', 'restarted'):
            verbs.append('start')
        return verbs, []

    kinds = set(change.apply for change in changes)
    update = ['update'] if changes else []

    if current_state == 'stopped':
        verbs = (['recreate'] if RECREATE in kinds else update)
        if desired_state in ('started', 'restarted'):
            verbs = verbs + ['start']
        return verbs, []

    # running
    if desired_state == 'stopped':
        return ['stop'] + (['recreate'] if RECREATE in kinds else update), []
    if desired_state == 'restarted':
        return ['stop'] + (['recreate'] if RECREATE in kinds else update) + ['start'], []
    # present or started: keep it running, apply what can be applied
    if RECREATE in kinds or RESTART in kinds:
        if restart_allowed:
            return ['stop'] + (['recreate'] if RECREATE in kinds else update) + ['start'], []
        pending = [c for c in changes if c.apply != LIVE]
        return update, pending
    return update, []


def run_action(action, runner):
    """Carry out one action; MultiplicityError (naming it) when it fails."""
    stdin = {} if action.data is None else dict(data=action.data)
    if action.func is not None:
        # A callable runs even when the action also shows an argv (what it will run, as planned).
        try:
            action.func()
        except OSError as exc:
            where = ''.join('%s: ' % f for f in (exc.filename, exc.filename2) if f)
            raise MultiplicityError('Failed to %s: %s%s' % (action.description, where, exc.strerror or exc))
    elif action.lock:
        with locked(action.lock):
            runner.run(action.argv, action=action.description, **stdin)
    else:
        runner.run(action.argv, action=action.description, **stdin)


def execute(plan, runner, check_mode):
    """Carry out the plan's actions in order, unless in check mode."""
    if check_mode:
        return
    for action in plan.actions:
        run_action(action, runner)
        plan.done += 1
