# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The converge engine: one pipeline for every kind of managed object, one call for any number of kinds.

::

    declare (desired: pure, per object) ──┐
                                          ├─► plan every object ──► apply in dependency order ──► merged
    observe (one bulk read per kind) ─────┘   check mode stops here  (dependants of a failure     edits,
                                                                      skipped)                     re-read

A kind writes its contract (:class:`Kind`): what names it (``name``, ``key``, ``name_option``), its
module's options (``argument_spec``), an option registry, a pure ``desired(params)``, a bulk
``observe(view, wanted)``, the verbs and ``facts``.  Comparing, lifecycle planning, the checks before
the first change, ordering, applying, merging the host-wide edits, the re-read and the per-object
outcome (facts, warnings, diff, what was done) come from here, the same for every kind.  A module
declares its one object (or several of one kind); ``topology`` declares many of several kinds; both
are this call.  No ``AnsibleModule`` comes in: the engine gets parameters, a runner and the flags.
"""

from __future__ import annotations

import collections

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import prerequisites
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError, ParameterError, refuse_nul
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.edits import FileEdit, rewrite
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.hostview import HostView
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import locked
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.sysrc import SysrcEdit, merged_sysrc, place_in_order
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import (
    Action, Change, Option, Plan, compare, execute, plan_lifecycle, progress, run_action, structured_diff,
)

# Desired states that take an object down: applied first, dependants before what they depend on.
STOPPING = ('absent', 'stopped')


class Desired(object):
    """One object as declared: its name, the lifecycle state wanted (``present``, ``started``,
    ``stopped``, ``restarted``, ``absent``), its settings by option name (None: not managed), whether
    a restart is allowed, whether ``absent`` may purge its data, the objects it depends on (of any
    kind), and whatever else the kind's verbs need (``extra``)."""

    def __init__(self, name, state, settings, restart_allowed=False, purge=False, depends=(), parts=(), **extra):
        self.name = name
        self.state = state
        self.settings = settings
        self.restart_allowed = restart_allowed
        self.purge = purge
        self.depends = list(depends or ())
        # Objects of other kinds this one is made of (:func:`part`), each read, planned and re-read by
        # its own kind, in the order given on the way up and the reverse on the way down.
        self.parts = list(parts or ())
        self.extra = extra


class Current(object):
    """One object as found: ``absent``, ``stopped`` or ``running``, its settings by option name,
    ``leftovers`` when an absent object still has parts this collection owns (a boot-time entry),
    ``incomplete`` when an existing one lacks some, what reading it gave to warn about (``warnings``),
    and whatever else the kind read (``extra``)."""

    def __init__(self, state='absent', settings=None, leftovers=False, incomplete=False, warnings=None, **extra):
        self.state = state
        self.settings = settings or {}
        self.leftovers = leftovers
        # An object that exists but lacks parts it is made of (its root filesystem, a disk): updated
        # even when no option differs, so that the missing parts are made.
        self.incomplete = incomplete
        self.warnings = list(warnings or ())
        self.extra = extra

    def but(self, state=None, **extra):
        """A copy with another state and some of ``extra`` replaced (what a re-read or a prediction found)."""
        return Current(self.state if state is None else state, self.settings, self.leftovers, self.incomplete,
                       self.warnings, **dict(self.extra, **extra))


class Kind(object):
    """The contract of one kind.

    Names: ``name`` in messages (``jail``), ``key`` its list in a topology (``jails``), ``name_option``
    the option that names an object (a chroot is named by its ``path``), ``facts_key`` the key of its
    facts in its module's result.  ``argument_spec`` is its module's options (``module_kwargs`` its
    rules between options: ``mutually_exclusive``, ``required_if``...), ``OPTIONS`` its option registry (:class:`planner.Option`: how
    each option is compared and whether a change applies live, at the next start or by recreating).

    A kind writes ``desired``, ``observe``, the verbs its objects need and ``facts``; it may override
    ``compare`` (the default compares ``OPTIONS``), ``check`` (prerequisites, before the first change,
    in check mode too), ``expected`` (what check mode predicts), ``reread`` and ``on_host``.  Verbs
    add to ``plan`` actions (``plan.add``; one marked ``batch`` may be done for several objects by one
    command, see ``batch``), typed file edits where the actions need them (``plan.write``:
    :class:`edits.FileEdit` for an owned part of a shared file, :class:`edits.OwnedFile` for a whole
    file), host-wide edits applied after every object (``plan.edits``: :class:`SysrcEdit`,
    :class:`edits.FileEdit`), file diffs (``plan.files``) and warnings (``plan.warn``); they never run
    anything, nor write a file, themselves.  ``destroy`` is told whether to purge; a ``recreate``
    never purges.
    """

    name = None
    key = None
    name_option = 'name'
    facts_key = 'facts'
    argument_spec = {}
    module_kwargs = {}
    OPTIONS = ()
    # False for objects that are there or not (a kernel module, a chroot): "stopped" is shown "present".
    run_state = True
    # A composite's own actions of these verbs come before its parts' on the way up (what its parts are
    # made in: a package that installs a userland) and after them on the way down; the others after
    # them up, before them down.
    LEADING = ()

    def __init__(self, runner):
        self.runner = runner

    def desired(self, params):
        """A :class:`Desired` from one object's parameters; ParameterError names a bad one. No I/O."""
        raise NotImplementedError

    def observe(self, view, wanted):
        """{name: :class:`Current`} of every object of ``wanted``, read through ``view`` (once for all).
        An object that cannot be read may map to the MultiplicityError saying why: only it fails."""
        raise NotImplementedError

    def compare(self, desired, current):
        return compare(self.OPTIONS, current.settings, desired.settings)

    def complete(self, plan, desired, current):
        """After the verbs: bookkeeping actions that depend on the whole plan (what stays pending)."""

    def check(self, view, plan, desired, current):
        """Raise when the plan is unsafe or cannot work for a reason that is not a missing prerequisite
        (those the verbs declare with ``plan.require`` and the engine checks first)."""

    def facts(self, outcome):
        """What the result says of the object after the run (``outcome.current``: as re-read, or as
        check mode expects it)."""
        return {}

    def report(self, outcome, diff_mode):
        """The object's keys in its module's result: its facts under ``facts_key``, and in diff mode
        the differing options (``before``/``after``) with the files' diffs before them."""
        found = {self.facts_key: self.facts(outcome)}
        if diff_mode:
            header = '%s %s' % (self.name, outcome.name)
            found['diff'] = list(outcome.plan.files) + [dict(
                structured_diff(outcome.plan.changes), before_header=header, after_header=header)]
        return found

    def shown_state(self, state):
        """The state as the kind's results name it (``absent``, ``stopped``, ``running``; ``present``
        for a kind without a run state)."""
        return 'present' if state == 'stopped' and not self.run_state else state

    def expected(self, outcome):
        """The object as its plan leaves it, where it was not read again (and as check mode predicts
        it): as found, in its expected state."""
        return outcome.before.but(state=expected_state(outcome))

    def needs_reread(self, plan):
        """Whether an object must be read again after its plan ran (default: whenever it changed)."""
        return plan.changed

    def reread(self, view, outcomes):
        """{name: Current} after the changes, for the outcomes that need it; default: observe again."""
        return self.observe(view, [o.desired for o in outcomes])

    def provides(self, desired):
        """What a present object makes that other objects' actions may need: prerequisite keys
        (``('Directory', path)``), so that an object of the same call that depends on it can plan on it."""
        return []

    def on_host(self, view, wanted):
        """Names of the objects of this kind on the host (a topology reports those not in ``wanted``,
        the declared objects of the kind, and prunes them); default: none (never pruned)."""
        return []

    def removal(self, name):
        """The parameters that remove an undeclared object: its module's defaults, ``absent``, never purge."""
        params = dict((key, spec.get('default')) for key, spec in self.argument_spec.items())
        params.update({self.name_option: name, 'state': 'absent'})
        if 'purge' in params:
            params['purge'] = False
        return params

    def create(self, plan, desired, current, changes):
        raise NotImplementedError

    def update(self, plan, desired, current, changes):
        raise NotImplementedError

    def start(self, plan, desired, current, changes):
        raise NotImplementedError

    def stop(self, plan, desired, current, changes):
        raise NotImplementedError

    def destroy(self, plan, desired, current, changes, purge=False):
        raise NotImplementedError

    def recreate(self, plan, desired, current, changes):
        """A change that cannot be applied in place: destroy (never purging: the data stays) and create."""
        self.destroy(plan, desired, current, changes, purge=False)
        self.create(plan, desired, current, changes)

    def batch(self, key, members):
        """The one action that does the ``key`` actions (:attr:`planner.Action.batch`) of several objects:
        ``members`` are (outcome, action) in the order applied.  Only kinds whose verbs add batched
        actions write it."""
        raise NotImplementedError

    def batch_failures(self, key, members, error):
        """{name: MultiplicityError} of the members that the batch action, failed with ``error``, did not
        do, each with its own reason (read from the host: the others were done)."""
        return dict((outcome.name, error) for outcome, action in members)


class Outcome(object):
    """One object's way through a call: its kind, desired and current state, plan and result.  A part
    of a composite object (:func:`part`) is one too, with its ``label``; ``kept`` says why a part is
    left as it is (its composite's kind decides, from what it read)."""

    def __init__(self, kind, desired, label=None):
        self.kind = kind
        self.desired = desired
        self.label = label
        self.kept = None
        self.shared = None      # the object of the call that converges this part (:meth:`Call._share_parts`)
        self.before = None      # as found
        self.current = None     # as found, then as re-read after the changes (or as expected, in check mode)
        self.plan = None
        self.error = None
        self.skipped = False    # not converged: something it depends on failed
        self.pruned = False     # undeclared, removed by a topology's prune
        self.next_action = 0    # the plan's next action to run (or to pass, in check mode)
        self.batch_alone = False    # its batched action runs as planned: no other object shares it

    @property
    def name(self):
        return self.desired.name

    @property
    def warnings(self):
        found = list(self.before.warnings) if self.before is not None else []
        return found + (self.plan.warnings if self.plan is not None else [])


def part(label, kind, params):
    """A part of a composite object: an object of ``kind`` (its ``desired`` of ``params``) named
    ``label`` in the composite's changes, e.g. ``part('userland', ChrootEnvKind(runner), {...})``."""
    return Outcome(kind, kind.desired(params), label=label)


def _plan_verbs(kind, desired, current, more=()):
    """An object's plan: its changes (and ``more``: its parts'), the lifecycle verbs they call for and
    what those add."""
    changes = kind.compare(desired, current) + list(more)
    if desired.state == 'absent':
        verbs, pending = plan_lifecycle(current.state, 'absent', [])
        if current.state == 'absent' and current.leftovers:
            verbs = ['destroy']
    else:
        verbs, pending = plan_lifecycle(current.state, desired.state, changes, desired.restart_allowed)
        if current.state != 'absent' and current.incomplete and not set(verbs) & set(('update', 'create', 'recreate')):
            verbs = ['update'] + verbs
    plan = Plan(changes)
    plan.pending = pending
    for verb in verbs:
        if verb == 'destroy':
            kind.destroy(plan, desired, current, changes, purge=bool(desired.purge))
        else:
            getattr(kind, verb)(plan, desired, current, changes)
    kind.complete(plan, desired, current)
    return plan


def plan_object(kind, view, desired, current, provided=None):
    """The plan of one object: its changes, the lifecycle verbs and what they add; pure but for the
    reads that check its prerequisites (``provided``: what other objects of the call make).

    A composite's parts are planned each by its kind; their changes are the composite's, named
    ``label option``, and their actions come before its own on the way up and after them, in the
    reverse order of the parts, on the way down."""
    planned = []
    for one in desired.parts:
        if one.kept is None and one.shared is None:
            one.plan = _plan_verbs(one.kind, one.desired, one.current)
            one.kind.check(view, one.plan, one.desired, one.current)
            planned.append(one)
    # The composite's own lifecycle sees its parts' changes too: a part that changes updates it.
    labelled = [Change(Option('%s %s' % (p.label, c.name), c.apply), c.before, c.after)
                for p in planned for c in p.plan.changes]
    plan = _plan_verbs(kind, desired, current, labelled)
    if planned:
        _assemble(plan, planned, desired.state in STOPPING, kind.LEADING)
        if desired.state not in STOPPING:
            # What a part makes (the userland's directory) is there for the parts after it (a jail rooted there).
            for one in planned:
                plan.made.update(one.kind.provides(one.desired))
    for one in desired.parts:
        if one.kept is not None:
            plan.warn(one.kept)
    prerequisites.check(view, plan, '%s %s' % (kind.name[:1].upper() + kind.name[1:], desired.name),
                        provided, desired.depends)
    kind.check(view, plan, desired, current)
    return plan


def _assemble(plan, parts, down, leading):
    """The composite's plan with its parts': their actions before its own (but those of the verbs
    ``leading``), after them, in reverse, when it goes down (but before those of ``leading``); and their
    edits, file diffs, warnings, prerequisites and pending changes."""
    ordered = list(reversed(parts)) if down else list(parts)
    actions = [a for p in ordered for a in p.plan.actions]
    for action in actions:
        if action.batch is not None and action.edit is None:
            # A kind's batched command (several jails started by one jail -c) is the composite's kind's to
            # merge, which does not know it: a part's runs alone, as planned.  File writes still merge.
            action.batch = None
    outer = [a for a in plan.actions if a.verb in leading]
    inner = [a for a in plan.actions if a.verb not in leading]
    plan.actions[:] = (inner + actions + outer) if down else (outer + actions + inner)
    for one in parts:
        plan.edits.extend(one.plan.edits)
        plan.files.extend(one.plan.files)
        plan.pending.extend(one.plan.pending)
        for warning in one.plan.warnings:
            plan.warn(warning)
        for prerequisite in one.plan.prerequisites:
            plan.require(prerequisite)


class DependencyCycle(ParameterError):
    def __init__(self, name, cycle):
        self.name = name
        super().__init__('depend', 'dependency cycle: %s' % ' -> '.join(cycle))


def dependency_order(depends):
    """Names of ``{name: [names it depends on]}`` with dependencies first (declared order otherwise);
    a cycle raises DependencyCycle.  Names depended on but not given are left out."""
    done, result, visiting = set(), [], []

    def visit(name):
        if name in done or name not in depends:
            return
        if name in visiting:
            raise DependencyCycle(name, visiting[visiting.index(name):] + [name])
        visiting.append(name)
        for other in depends[name]:
            visit(other)
        visiting.pop()
        done.add(name)
        result.append(name)
    for name in depends:
        visit(name)
    return result


class Call(object):
    """One engine call: objects of one or several kinds declared (``declare``), then ``run``.

    Bad parameters fail when declared, before anything is read.  Every object is read (one bulk
    ``observe`` per kind) and planned before the first change; then objects are applied in
    dependency order (those going down first, dependants before what they depend on), the
    host-wide edits of all of them merged and applied once, and each kind re-reads its changed
    objects once.  With ``isolate`` (a topology), an object whose planning or actions fail is
    reported on its outcome, its dependants are skipped and the others go on; without it (one
    module task) the first failure is raised, a planning failure before any change, and the call
    still holds what was done.  ``bulk`` tells the host view to read each source once for all
    objects (default: when more than one object is declared).
    """

    def __init__(self, runner, check_mode=False, isolate=True, bulk=None):
        self.runner = runner
        self.check_mode = check_mode
        self.isolate = isolate
        self.bulk = bulk
        self.view = None
        self.outcomes = []
        self.edits = Plan()     # the merged host-wide edits, as actions
        self.undeclared = []    # (kind, name) of objects on the host that no declaration names
        self.order = []         # the declared names, dependencies first
        self.sequence = []      # the outcomes in the order they were applied (would be, in check mode)
        self.shared = set()     # (kind, batch key) of the batched actions several objects plan
        self.down_dependants = {}   # name -> names of the objects going down that depend on it

    @property
    def changed(self):
        return self.edits.changed or any(o.plan is not None and o.plan.changed and not o.skipped for o in self.outcomes)

    def declare(self, kind, params, depends=None):
        """One object of ``kind`` from its parameters (its ``desired``); ParameterError for bad input."""
        refuse_nul(params)
        desired = kind.desired(params)
        if depends is not None:
            desired.depends = list(depends)
        outcome = Outcome(kind, desired)
        self.outcomes.append(outcome)
        return outcome

    def _failed(self, outcome, exc):
        if not self.isolate:
            raise exc
        outcome.error = exc

    def _kinds(self, outcomes):
        kinds = []
        for outcome in outcomes:
            if outcome.kind not in kinds:
                kinds.append(outcome.kind)
        return kinds

    def run(self, managed=(), prune=False):
        """Converge what was declared.  ``managed`` kinds are listed on the host: what no declaration
        names is reported in ``undeclared`` and, with ``prune``, removed (never purged)."""
        declared = list(self.outcomes)
        bulk = self.bulk if self.bulk is not None else len(declared) > 1
        view = self.view = HostView(self.runner, bulk=bulk)
        names = set(o.name for o in declared)
        for kind in managed:
            wanted = [o.desired for o in declared if o.kind is kind]
            self.undeclared.extend((kind, name) for name in kind.on_host(view, wanted) if name not in names)
        if prune:
            for kind, name in self.undeclared:
                self.declare(kind, kind.removal(name)).pruned = True
        self._observe_parts(view, [p for o in self.outcomes for p in o.desired.parts])
        for kind in self._kinds(self.outcomes):
            mine = [o for o in self.outcomes if o.kind is kind]
            found = kind.observe(view, [o.desired for o in mine])
            for outcome in mine:
                current = found.get(outcome.name) or Current()
                broken = [p.error for p in outcome.desired.parts if p.error is not None]
                if isinstance(current, MultiplicityError) or broken:
                    outcome.before = outcome.current = Current()
                    self._failed(outcome, broken[0] if broken else current)
                    continue
                outcome.before = outcome.current = current
        self._share_parts()
        provided = {}       # what the call's objects make, for the prerequisites of those that depend on them
        for outcome in self.outcomes:
            if outcome.desired.state != 'absent':
                for one in [outcome] + outcome.desired.parts:
                    provided.update((key, outcome.name) for key in one.kind.provides(one.desired))
        for outcome in self.outcomes:
            if outcome.error is None:
                try:
                    outcome.plan = plan_object(outcome.kind, view, outcome.desired, outcome.current, provided)
                except MultiplicityError as exc:
                    self._failed(outcome, exc)
        self.sequence = self._in_order()
        self._apply(self.sequence)
        self._apply_edits()
        reread = set() if self.check_mode else set(id(o) for o in self._reread())
        for outcome in self.outcomes:
            # What the kind did not read again is as its plan left it (in check mode: would leave it).
            for one in outcome.desired.parts + [outcome]:
                if one.plan is not None and outcome.error is None and id(one) not in reread:
                    one.current = one.kind.expected(one)
            for one in outcome.desired.parts:
                if one.shared is not None:
                    one.current = one.shared.current
        return self

    def _share_parts(self):
        """A part that is also an object of the call (a kernel module declared on its own), or a part of
        an earlier composite, is converged once: by that object, which the composite then depends on."""
        owners = {}
        for outcome in self.outcomes:
            owners.setdefault((type(outcome.kind), outcome.name), (outcome, outcome))
        for outcome in self.outcomes:
            for one in outcome.desired.parts:
                key = (type(one.kind), one.desired.name)
                owner, holder = owners.setdefault(key, (one, outcome))
                if owner is one or owner.desired.state != one.desired.state or one.kept is not None:
                    continue
                one.shared = owner
                if holder is not outcome and holder.name not in outcome.desired.depends:
                    outcome.desired.depends.append(holder.name)

    def _observe_parts(self, view, parts):
        """Each kind reads the parts of that kind of every composite, once for all (before the
        composites, whose kinds may use what they found)."""
        for kind in self._kinds(parts):
            mine = [p for p in parts if p.kind is kind]
            found = kind.observe(view, [p.desired for p in mine])
            for one in mine:
                current = found.get(one.desired.name) or Current()
                if isinstance(current, MultiplicityError):
                    one.error, current = current, Current()
                # A copy: two composites may share a part's name (a kernel module) and each plans its own.
                one.before = one.current = current.but()

    def _in_order(self):
        """Pruned objects, then those going down (dependants first), then the rest (dependencies first)."""
        by_name = dict((o.name, o) for o in self.outcomes)
        self.order = dependency_order(dict((o.name, o.desired.depends) for o in self.outcomes if not o.pruned))
        pruned = [o for o in self.outcomes if o.pruned]
        down = [by_name[n] for n in reversed(self.order) if by_name[n].desired.state in STOPPING]
        up = [by_name[n] for n in self.order if by_name[n].desired.state not in STOPPING]
        return pruned + down + up

    def _apply(self, ordered):
        failed = set(o.name for o in self.outcomes if o.error is not None)
        waiting = []        # outcomes stopped at a batched action, until their batch runs
        # Batched actions that more than one object plans (not counting the dependants of a failure):
        # those wait for each other; one alone runs in turn.
        # Those going down that depend on each object going down: it waits for them and stays up, as
        # configured, while one of them failed to go down.
        self.down_dependants = collections.defaultdict(set)
        for outcome in self.outcomes:
            if outcome.desired.state in STOPPING:
                for name in outcome.desired.depends:
                    self.down_dependants[name].add(outcome.name)
        doomed = set(failed)
        for outcome in ordered:
            if doomed & set(outcome.desired.depends) or doomed & self._dependants_going_down(outcome):
                doomed.add(outcome.name)
        planned = collections.Counter(_group_of(o, a) for o in ordered if o.plan is not None and o.name not in doomed
                                      for a in o.plan.actions if a.batch is not None)
        self.shared = set(key for key, count in planned.items() if count > 1)
        queue = list(ordered)
        while queue:
            # One pass over what is left: an object that depends on one waiting for its batch (or on one
            # held back for that) waits for the next pass, so that independent objects share a batch.
            held, later = set(o.name for o in waiting), []
            for outcome in queue:
                if held & set(outcome.desired.depends):
                    held.add(outcome.name)
                    later.append(outcome)
                    continue
                blocked = [d for d in outcome.desired.depends if d in failed]
                kept = sorted(self._dependants_going_down(outcome) & failed)
                if blocked or kept:
                    failed.add(outcome.name)
                    outcome.skipped = True
                    outcome.error = MultiplicityError(
                        'not converged: it depends on %s, which failed' % ', '.join(blocked) if blocked else
                        'kept as it is: %s, which depends on it, failed to go down' % ', '.join(kept))
                    continue
                if outcome.error is None and self._advance(outcome, waiting, failed):
                    held.add(outcome.name)
            while waiting:
                self._run_batches(waiting, failed)
            queue = later

    def _dependants_going_down(self, outcome):
        """Names of the objects going down that depend on ``outcome`` when it goes down too."""
        if outcome.desired.state not in STOPPING:
            return set()
        return self.down_dependants.get(outcome.name, set()) - set([outcome.name])

    def _advance(self, outcome, waiting, failed):
        """Run the object's actions from where it stands up to its next batched one; True when it waits
        there (in ``waiting``) for its batch."""
        actions = outcome.plan.actions
        while outcome.next_action < len(actions):
            action = actions[outcome.next_action]
            if _group_of(outcome, action) in self.shared and not outcome.batch_alone:
                waiting.append(outcome)
                return True
            outcome.batch_alone = False
            if not self.check_mode:
                try:
                    run_action(action, self.runner)
                except MultiplicityError as exc:
                    failed.add(outcome.name)
                    self._failed(outcome, exc)
                    return False
                outcome.plan.done += 1
            outcome.next_action += 1
        return False

    def _run_batches(self, waiting, failed):
        """The waiting objects' batched actions: one action per kind and batch key (the kind's
        ``batch``), each failed member reported on its own outcome; then the rest of their plans."""
        members, groups = list(waiting), {}
        del waiting[:]
        for outcome in members:
            action = outcome.plan.actions[outcome.next_action]
            groups.setdefault(_group_of(outcome, action), []).append((outcome, action))
        for (kind, key), group in groups.items():
            if len(group) == 1:
                group[0][0].batch_alone = True      # its own action, as planned
                continue
            if kind is None:
                # Writes of one file by several objects (of any kind): one locked rewrite.
                edits = [action.edit for unused, action in group]
                merged = Action(_verb_of(edits), '; '.join(e.describe() for e in edits),
                                func=lambda path=key[1], edits=edits: rewrite(path, edits))
            else:
                merged = kind.batch(key, group)
            if merged.argv is not None:
                for outcome, action in group:
                    # What ran, in the object's actions too (in check mode: what would run).
                    action.argv, action.data = merged.argv, merged.data
            errors = {}
            if not self.check_mode:
                try:
                    run_action(merged, self.runner)
                except MultiplicityError as exc:
                    # One rewrite of a file is every writer's failure; a kind's command, its own reading.
                    errors = (dict((o.name, exc) for o, unused in group) if kind is None
                              else kind.batch_failures(key, group, exc))
            for outcome, action in group:
                if outcome.name in errors:
                    failed.add(outcome.name)
                    self._failed(outcome, errors[outcome.name])
                    continue
                if not self.check_mode:
                    outcome.plan.done += 1
                outcome.next_action += 1
        for outcome in members:
            if outcome.error is None:
                self._advance(outcome, waiting, failed)

    def _apply_edits(self):
        """Every host-wide edit of the objects that did not fail, merged: one sysrc per file and
        variable set, one locked rewrite per shared file."""
        carrying = {}       # path -> outcomes with an edit of it
        ok = [o for o in self.sequence if o.plan is not None and o.error is None]      # in the order applied
        for outcome in ok:
            for edit in outcome.plan.edits:
                carrying.setdefault(edit.path, []).append(outcome)
        edits = [e for o in ok for e in o.plan.edits]
        paths = []          # the file each merged action edits
        sysrc = [e for e in edits if isinstance(e, SysrcEdit)]
        order = [o.name for o in self.sequence]
        for path, argv, ordered in merged_sysrc(sysrc, order):
            verb = _verb_of(e for e in sysrc if e.path == path)
            if ordered:
                action = self.edits.add(verb, 'update %s' % path, argv=argv, func=lambda: None)
                # Shown as planned (VAR+=items) until it runs; then as it ran (VAR=list).
                action.func = self._ordered_sysrc(action, path, argv, ordered, order)
            else:
                self.edits.add(verb, 'update %s' % path, argv=argv, lock=path)
            paths.append(path)
        files = {}
        for edit in edits:
            if isinstance(edit, FileEdit):
                files.setdefault(edit.path, []).append(edit)
        for path, group in files.items():
            self.edits.add(_verb_of(group), '; '.join(e.description for e in group),
                           func=lambda path=path, group=group: rewrite(path, group))
            paths.append(path)
        if self.check_mode:
            return
        for action, path in zip(self.edits.actions, paths):
            single = Plan()
            single.actions.append(action)
            try:
                execute(single, self.runner, False)
                self.edits.done += 1
            except MultiplicityError as exc:
                if not self.isolate:
                    raise
                for outcome in carrying.get(path, []):
                    if outcome.error is None:
                        outcome.error = MultiplicityError('the host-wide edit of this call failed: %s' % exc)

    def _ordered_sysrc(self, action, path, argv, ordered, order):
        """The run of a sysrc whose object-name lists are written in the call's order, from the file as
        it is while the run holds its lock."""
        def apply():
            with locked(path):
                ran = place_in_order(self.runner, argv, ordered, order)
                self.runner.run(ran, action='update %s' % path)
            action.argv = ran
        return apply

    def _reread(self):
        """Each kind reads its changed objects (and their parts) again, once for all of them."""
        changed = [o for o in self.outcomes if o.error is None and o.plan is not None
                   and o.kind.needs_reread(o.plan)]
        parts = [p for o in changed for p in o.desired.parts if p.plan is not None and p.kind.needs_reread(p.plan)]
        changed = parts + changed       # parts first: their composites' kinds may use what they found
        for kind in self._kinds(changed):
            mine = [o for o in changed if o.kind is kind]
            final = kind.reread(HostView(self.runner, bulk=self.view.bulk), mine)
            for outcome in mine:
                found = final.get(outcome.name) or Current()
                outcome.current = found if not isinstance(found, MultiplicityError) else outcome.current
        return changed

    def plan(self):
        """One plan of the whole call: every object's changes and actions in order, then the merged edits."""
        whole = Plan([c for o in self.outcomes if o.plan is not None for c in o.plan.changes])
        for outcome in self.outcomes:
            if outcome.plan is not None and not outcome.skipped:
                whole.actions.extend(outcome.plan.actions)
                whole.done += outcome.plan.done
                whole.pending.extend(outcome.plan.pending)
                whole.files.extend(outcome.plan.files)
        whole.actions.extend(self.edits.actions)
        whole.done += self.edits.done
        return whole


def _group_of(outcome, action):
    """What a batched action merges with: the same file's writes (any kind), or its kind's batch key."""
    if action.edit is not None:
        return (None, ('file', action.edit.path))
    return (outcome.kind, action.batch)


def _verb_of(edits):
    """The verb of a merged edit: its edits' own when they share one."""
    verbs = set(e.verb for e in edits)
    return verbs.pop() if len(verbs) == 1 else 'persist'


def edit_actions(plan):
    """A plan's host-wide edits as entries of its actions, one per verb (applied merged with the call's)."""
    found = {}
    for edit in plan.edits:
        found.setdefault(edit.verb, []).append(edit.describe())
    return [dict(verb=verb, description='; '.join(items)) for verb, items in found.items()]


def expected_state(outcome):
    """The state an object is in after its plan ran (or would be, in check mode)."""
    if outcome.error is not None or outcome.plan is None:
        return outcome.before.state if outcome.before else None
    wanted, verbs = outcome.desired.state, [a.verb for a in outcome.plan.actions]
    if wanted == 'absent':
        return 'absent'
    if wanted in ('started', 'restarted'):
        return 'running'
    if wanted == 'stopped':
        return 'stopped'
    return 'stopped' if outcome.before.state == 'absent' and 'start' not in verbs else outcome.before.state


def result(outcome, facts=True):
    """One object's outcome as data: changed, what was done or planned, what waits for a restart and
    its facts (unless ``facts`` is false: reading them may cost a file per object); for a failure, the
    message and what was done.  Its module's own keys and diff are its kind's ``report``."""
    plan = outcome.plan
    if outcome.error is not None:
        done = progress(plan) if plan is not None and not outcome.skipped else dict(changed=False, done=[])
        found = dict(done, failed=True, msg=str(outcome.error))
        if outcome.skipped:
            found['skipped'] = True
        return found
    found = dict(changed=plan.changed, actions=plan.describe() + edit_actions(plan))
    if facts:
        found['facts'] = outcome.kind.facts(outcome)
    if plan.pending:
        found['pending'] = plan.pending_names
    return found
