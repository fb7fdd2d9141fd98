# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The converge engine: one pipeline for every kind of managed object.

::

    requests ──► desired (pure, per object) ──┐
                                               ├─► plan (per object) ──► apply ──► results
    host view (bulk reads, once per call) ─────┘     check mode stops here   per object

A kind writes its contract (:class:`Kind`): an option registry, a pure ``desired(params)``, a
bulk ``observe(view, wanted)`` and the verbs.  Comparing, lifecycle planning, the checks before
the first change, applying (per object, then the host-wide edits merged), the re-read and the
per-object results with their structured diff come from here, the same for every kind.  No
``AnsibleModule`` comes in: the engine gets parameters, a runner, a host view and the flags.
"""

from __future__ import annotations

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.hostview import HostView
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.sysrc import merged_sysrc
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import (
    Plan, compare, execute, plan_lifecycle, progress, structured_diff,
)


class Desired(object):
    """One object as declared: its name, the lifecycle state wanted (``present``, ``started``,
    ``stopped``, ``restarted``, ``absent``), its settings by option name (None: not managed),
    and whatever else the kind's verbs need (``extra``)."""

    def __init__(self, name, state, settings, restart_allowed=False, **extra):
        self.name = name
        self.state = state
        self.settings = settings
        self.restart_allowed = restart_allowed
        self.extra = extra


class Current(object):
    """One object as found: ``absent``, ``stopped`` or ``running``, its settings by option name,
    ``leftovers`` when an absent object still has parts this collection owns (a boot-time entry),
    ``incomplete`` when an existing one lacks some, and whatever else the kind read (``extra``)."""

    def __init__(self, state='absent', settings=None, leftovers=False, incomplete=False, **extra):
        self.state = state
        self.settings = settings or {}
        self.leftovers = leftovers
        # An object that exists but lacks parts it is made of (its root filesystem, a disk): updated
        # even when no option differs, so that the missing parts are made.
        self.incomplete = incomplete
        self.extra = extra


class Kind(object):
    """The contract of one kind.  ``name`` names it in messages; ``OPTIONS`` is its option registry
    (:class:`planner.Option`: how each option is compared and whether a change applies live, at
    the next start or by recreating the object).

    A kind writes ``desired``, ``observe``, the verbs its objects need and ``facts``; it may
    override ``compare`` (the default compares ``OPTIONS``) and ``check`` (prerequisites, run
    in check mode too, before the first change).  Verbs have one signature,
    ``verb(plan, desired, current, changes)``, and add to ``plan`` actions (``plan.add``) and
    host-wide edits (``plan.edits``), never run anything themselves.
    """

    name = None
    OPTIONS = ()

    def desired(self, params):
        """A :class:`Desired` from one object's parameters; ParameterError names a bad one. No I/O."""
        raise NotImplementedError

    def observe(self, view, wanted):
        """{name: :class:`Current`} of every object of ``wanted``, read through ``view`` (once for all)."""
        raise NotImplementedError

    def compare(self, desired, current):
        return compare(self.OPTIONS, current.settings, desired.settings)

    def complete(self, plan, desired, current):
        """After the verbs: bookkeeping actions that depend on the whole plan (what stays pending)."""

    def check(self, view, plan, desired, current):
        """Raise, naming what is missing, when the plan would fail for want of something (reads via ``view``)."""

    def facts(self, desired, current):
        """What the result says of the object after the run (``current`` as re-read)."""
        return {}

    def needs_reread(self, plan):
        """Whether an object must be read again after its plan ran (default: whenever it changed)."""
        return plan.changed

    def reread(self, view, outcomes):
        """{name: Current} after the changes, for the outcomes that need it; default: observe again."""
        return self.observe(view, [o.desired for o in outcomes])

    def on_host(self, view):
        """Names of the objects of this kind on the host (a topology reports the undeclared ones)."""
        return []

    def create(self, plan, desired, current, changes):
        raise NotImplementedError

    def update(self, plan, desired, current, changes):
        raise NotImplementedError

    def start(self, plan, desired, current, changes):
        raise NotImplementedError

    def stop(self, plan, desired, current, changes):
        raise NotImplementedError

    def destroy(self, plan, desired, current, changes):
        raise NotImplementedError

    def recreate(self, plan, desired, current, changes):
        """A change that cannot be applied in place: destroy (never purging) and create again."""
        self.destroy(plan, desired, current, changes)
        self.create(plan, desired, current, changes)


class Outcome(object):
    """One object's way through a call: its desired and current state, plan and result."""

    def __init__(self, desired):
        self.desired = desired
        self.before = None      # as found
        self.current = None     # as found, then as re-read after the changes
        self.plan = None
        self.error = None

    @property
    def name(self):
        return self.desired.name


def plan_object(kind, view, desired, current):
    """The plan of one object: its changes, the lifecycle verbs and what they add; pure but for
    ``kind.check``'s prerequisite reads."""
    changes = kind.compare(desired, current)
    if desired.state == 'absent':
        verbs, pending = plan_lifecycle(current.state, 'absent', [])
        if current.state == 'absent' and current.leftovers:
            verbs = ['destroy']
    else:
        verbs, pending = plan_lifecycle(current.state, desired.state, changes, desired.restart_allowed)
        if current.state != 'absent' and current.incomplete and 'update' not in verbs and 'create' not in verbs:
            verbs = ['update'] + verbs
    plan = Plan(changes)
    plan.pending = pending
    for verb in verbs:
        getattr(kind, verb)(plan, desired, current, changes)
    kind.complete(plan, desired, current)
    kind.check(view, plan, desired, current)
    return plan


class Call(object):
    """One engine call over the objects of one kind: ``run(requests)`` plans and applies them.

    Bad parameters fail before anything is read.  With ``isolate`` (the guests of a topology), an
    object whose planning or actions fail is reported on its outcome and the others go on; without
    it (one module task), the first failure is raised, and a planning failure before any change.
    The host-wide edits of a call are applied once after the objects' actions; a failure there is
    reported on every object that planned one.  After a raise the call still holds what was done.
    """

    def __init__(self, kind, runner, check_mode=False, view=None, isolate=True, defer_edits=False, reread=True):
        self.kind = kind
        self.runner = runner
        self.check_mode = check_mode
        self.view = view
        self.isolate = isolate
        # A topology converges one guest at a time and applies every guest's edits once at the end,
        # and re-reads every changed guest once: it leaves both to the caller.
        self.defer_edits = defer_edits
        self.reread = reread
        self.outcomes = []
        self.edits = Plan()

    @property
    def changed(self):
        return self.edits.changed or any(o.plan is not None and o.plan.changed for o in self.outcomes)

    def _failed(self, outcome, exc):
        if not self.isolate:
            raise exc
        outcome.error = exc

    def run(self, requests):
        kind = self.kind
        view = self.view or HostView(self.runner, bulk=len(requests) > 1)
        self.outcomes = [Outcome(kind.desired(params)) for params in requests]
        found = kind.observe(view, [o.desired for o in self.outcomes])
        for outcome in self.outcomes:
            outcome.before = outcome.current = found.get(outcome.name) or Current()
            try:
                outcome.plan = plan_object(kind, view, outcome.desired, outcome.current)
            except MultiplicityError as exc:
                self._failed(outcome, exc)
        if not self.check_mode:
            for outcome in self.outcomes:
                if outcome.error is None:
                    try:
                        execute(outcome.plan, self.runner, False)
                    except MultiplicityError as exc:
                        self._failed(outcome, exc)
        if self.defer_edits:
            return self
        # Merged from the objects that did not fail: a guest that was not created is not listed.
        edits = [e for o in self.outcomes if o.plan is not None and o.error is None for e in o.plan.edits]
        for path, argv in merged_sysrc(edits):
            self.edits.add('persist', 'update %s' % path, argv=argv, lock=path)
        if self.check_mode:
            return self
        try:
            execute(self.edits, self.runner, False)
        except MultiplicityError as exc:
            if not self.isolate:
                raise
            for outcome in self.outcomes:
                if outcome.error is None and outcome.plan.edits:
                    outcome.error = exc
        changed = [o for o in self.outcomes if o.error is None and kind.needs_reread(o.plan)]
        if changed and self.reread:
            final = kind.reread(HostView(self.runner, bulk=view.bulk), changed)
            for outcome in changed:
                outcome.current = final.get(outcome.name) or Current()
        return self

    def plan(self):
        """One plan of the whole call: every object's changes and actions in order, then the merged edits."""
        whole = Plan([c for o in self.outcomes if o.plan is not None for c in o.plan.changes])
        for outcome in self.outcomes:
            if outcome.plan is not None:
                whole.actions.extend(outcome.plan.actions)
                whole.done += outcome.plan.done
                whole.pending.extend(outcome.plan.pending)
        whole.actions.extend(self.edits.actions)
        whole.done += self.edits.done
        return whole


class OneObject(object):
    """What a module's manager shares when it converges one object through an engine ``call``: the
    object's state as found (``current_state``) and the plan so far (``plan``, for failure reports)."""

    call = None

    @property
    def outcome(self):
        return self.call.outcomes[0] if self.call is not None and self.call.outcomes else None

    @property
    def current_state(self):
        outcome = self.outcome
        return outcome.before.state if outcome is not None and outcome.before is not None else None

    @property
    def plan(self):
        return self.call.plan() if self.outcome is not None else None


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


def result(kind, outcome, diff_mode):
    """One object's result: changed, what was done or planned, its facts and diff."""
    plan = outcome.plan
    if outcome.error is not None:
        done = progress(plan) if plan is not None else dict(changed=False, done=[])
        return dict(done, failed=True, msg=str(outcome.error))
    found = dict(changed=plan.changed, actions=plan.describe() + [
        dict(verb='edit', description=e.describe()) for e in plan.edits],
        facts=kind.facts(outcome.desired, outcome.current))
    if plan.pending:
        found['pending'] = sorted(set(c.name for c in plan.pending))
    if diff_mode:
        found['diff'] = structured_diff(plan.changes)
    return found
