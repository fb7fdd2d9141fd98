# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One call that converges a host's declared guests of every kind.

The declaration is checked whole before anything is read or changed: each guest's options
against its kind's argument spec, names unique across kinds, every ``depend`` known, no
cycles.  Guests are then converged in dependency order (those to stop or remove first, in
reverse order); a guest that fails is reported by name, its dependants are skipped, and
independent guests go on.  Reads go through one bulk host view shared by all guests.

A kind (see :class:`Kind`) is what a new guest type writes: its option spec, how one guest
is planned and applied, what of its kind is on the host, and one re-read after the run.
"""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import engine
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError, ParameterError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.hostview import HostView
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import Plan, execute, progress

STOPPING = ('absent', 'stopped')


class Guest(object):
    """One declared guest: its checked options, its manager, its name, state and dependencies."""

    def __init__(self, params, guest_manager, name, depends=()):
        self.params = params
        self.manager = guest_manager
        self.name = name
        self.state = params['state']
        self.depends = list(depends)


class Kind(object):
    """The contract of one guest kind inside a topology call.

    ``key`` is the topology option that lists its guests and ``argument_spec`` the options
    of the kind's own module; a kind whose module has no ``depend`` option gets one here.
    ``manager_class(module, runner, view)`` plans and applies one guest (check mode honoured,
    reads through the shared view) and returns its result with ``plan`` and, under
    ``facts_key``, the guest's facts with its ``state``.  A kind writes ``on_host()`` (its
    guests present on the host) and ``refresh(results)`` (one re-read after starts and stops);
    guest creation, converge, failure and removal of an undeclared guest come from here.
    """

    key = None
    argument_spec = None
    manager_class = None
    facts_key = None
    # The option that names a guest (a chroot is named by its path).
    name_option = 'name'

    def __init__(self, module, runner, view):
        self.module = module
        self.runner = runner
        self.view = view

    def prepare(self, guests):
        """Tell the host view, before any guest reads, what the guests will need (bulk reads)."""

    def guest(self, params):
        """One guest from its checked options; its manager raises ParameterError on bad input."""
        guest_manager = self.manager_class(GuestModule(self.module, params), self.runner, self.view)
        return Guest(params, guest_manager, getattr(guest_manager, self.name_option))

    def converge(self, guest):
        result = guest.manager.run()
        result['actions'] = result.pop('plan').describe()
        result['before'] = guest.manager.current_state
        result['after'] = self.after_state(guest, result)
        return result

    def after_state(self, guest, result):
        if self.facts_key not in result:        # unchanged, its facts not read (facts=changed)
            return guest.manager.current_state
        return result[self.facts_key]['state']

    def finish(self):
        """Apply what the guests deferred to one host-wide edit (one sysrc for every jail_list change)."""

    def failure(self, guest):
        """What a guest whose converge failed had already done."""
        return dict(progress(guest.manager.plan), before=guest.manager.current_state)

    def on_host(self):
        raise NotImplementedError

    def remove(self, name):
        """An undeclared guest converged to absent, with its module's defaults (never purge)."""
        params = dict((key, spec.get('default')) for key, spec in self.argument_spec.items())
        params.update({self.name_option: name, 'state': 'absent'})
        return self.converge(self.guest(params))

    def started_or_stopped(self, results):
        """Results of this kind's guests that a start or stop changed (what the kernel reports changed)."""
        return [r for r in results.values() if r.get('kind') == self.key and self.facts_key in r
                and set(a['verb'] for a in r.get('actions') or []) & set(('start', 'stop'))]

    def refresh(self, results):
        """Default: nothing to re-read."""


class EngineKind(Kind):
    """A kind written to the engine's contract (:class:`engine.Kind`) alone: ``contract`` is its
    class, ``key`` and ``argument_spec`` its topology option; planning, applying, the diff, the
    host-wide edits merged for all its guests and the one re-read at the end come from the engine.
    """

    contract = None
    facts_key = 'facts'

    def __init__(self, module, runner, view):
        super().__init__(module, runner, view)
        self.engine_kind = self.contract()
        self.deferred = []      # the guests' host-wide edits, applied once in finish()
        self.declared = {}      # name -> engine.Desired, for the re-read at the end

    def guest(self, params):
        desired = self.engine_kind.desired(params)
        return Guest(params, None, desired.name)

    def converge(self, guest):
        call = guest.manager = engine.Call(self.engine_kind, self.runner, check_mode=self.module.check_mode,
                                           view=self.view, isolate=False, defer_edits=True, reread=False)
        call.run([guest.params])
        outcome = call.outcomes[0]
        self.declared[guest.name] = outcome.desired
        self.deferred.extend(outcome.plan.edits)
        result = engine.result(self.engine_kind, outcome, self.module._diff)
        if 'diff' in result:
            diff = result['diff']
            diff['before_header'] = diff['after_header'] = '%s %s' % (self.engine_kind.name, guest.name)
            result['diff'] = [diff]
        state = engine.expected_state(outcome)
        result.update(before=outcome.before.state, after=state)
        result[self.facts_key] = dict(result.pop('facts'), state=state)
        return result

    def failure(self, guest):
        call = guest.manager
        return dict(progress(call.plan() if call else None), before=call.outcomes[0].before.state
                    if call and call.outcomes and call.outcomes[0].before else None)

    def finish(self):
        if self.module.check_mode:
            return
        edits = Plan()
        for path, argv in engine.merged_sysrc(self.deferred):
            edits.add('persist', 'update %s' % path, argv=argv, lock=path)
        execute(edits, self.runner, False)

    def on_host(self):
        return self.engine_kind.on_host(self.view)

    def refresh(self, results):
        """One bulk read of every changed guest after the run: its facts and state as the host has them."""
        changed = [r for r in results.values() if r.get('kind') == self.key and r.get('changed')
                   and not r.get('failed') and self.facts_key in r]
        if not changed or self.module.check_mode:
            return
        wanted = [self.declared[r['name']] for r in changed if r['name'] in self.declared]
        found = self.engine_kind.observe(HostView(self.runner, bulk=True), wanted)
        for desired, result in zip(wanted, [r for r in changed if r['name'] in self.declared]):
            current = found.get(desired.name) or engine.Current()
            result[self.facts_key] = dict(self.engine_kind.facts(desired, current), state=current.state)
            result['after'] = current.state


class GuestModule(object):
    """What a manager asks of its module, for one guest of a call: its own params, the call's
    check and diff mode, and everything else (get_bin_path, run_command...) from the real module."""

    def __init__(self, module, params):
        self._module = module
        self.params = params
        self.check_mode = module.check_mode
        self._diff = module._diff
        # Whether an unchanged guest's facts are returned (topology's facts option): a manager may
        # skip reading them when they are not.
        self.unchanged_facts = module.params.get('facts', 'all') == 'all'

    def __getattr__(self, name):
        return getattr(self._module, name)


class TopologyError(ParameterError):
    """The declaration is wrong as a whole or for one guest; nothing was changed."""

    def __init__(self, where, message):
        super().__init__(where, message + '; nothing was changed')


NAME_VARIABLE = '${name}'


def _expanded(value, name):
    """A default with ``${name}`` replaced by the guest's name, in every string it holds."""
    if isinstance(value, str):
        return value.replace(NAME_VARIABLE, name)
    if isinstance(value, dict):
        return dict((key, _expanded(item, name)) for key, item in value.items())
    if isinstance(value, list):
        return [_expanded(item, name) for item in value]
    return value


def with_defaults(defaults, own, name):
    """The guest's own options over its kind's defaults: dictionaries merged key by key (recursively),
    anything else replaced; ``${name}`` in the defaults' strings is the guest's name."""
    result = dict((key, _expanded(value, name)) for key, value in defaults.items())
    for key, value in own.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            value = with_defaults(result[key], value, name)
        result[key] = value
    return result


def check_defaults(kinds, defaults):
    """The defaults per kind key, checked for shape (their options are checked with each guest)."""
    defaults = defaults or {}
    keys = [kind.key for kind in kinds]
    for key, value in defaults.items():
        if key not in keys:
            raise TopologyError('defaults.%s' % key, 'not a kind of guest (one of %s)' % ', '.join(keys))
        if not isinstance(value, dict):
            raise TopologyError('defaults.%s' % key, 'must be a dictionary of the options of its kind')
    for kind in kinds:
        if kind.name_option in (defaults.get(kind.key) or {}):
            raise TopologyError('defaults.%s.%s' % (kind.key, kind.name_option),
                                'names each guest, so it cannot have a default')
    return defaults


def validate(kinds, declaration, defaults=None):
    """[(kind, guest)] of the declaration, every guest checked; TopologyError names guest and option.

    ``defaults`` (kind key -> options) are merged under each guest of that kind (:func:`with_defaults`).
    """
    defaults = check_defaults(kinds, defaults)
    declared = []
    seen = {}
    for kind in kinds:
        validator = ArgumentSpecValidator(kind.argument_spec)     # built once: thousands of guests use it
        for index, raw in enumerate(declaration.get(kind.key) or []):
            label = '%s[%s]' % (kind.key, raw.get(kind.name_option, index) if isinstance(raw, dict) else index)
            if not isinstance(raw, dict):
                raise TopologyError(label, 'each guest is a dictionary of the options of its kind')
            raw = dict(raw)
            if defaults.get(kind.key):
                if not isinstance(raw.get(kind.name_option), str):
                    raise TopologyError(label, 'each guest needs its %s (a string)' % kind.name_option)
                raw = with_defaults(defaults[kind.key], raw, raw[kind.name_option])
            extra_depend = None
            if 'depend' not in kind.argument_spec:
                extra_depend = raw.pop('depend', None) or []
                if not isinstance(extra_depend, list) or not all(isinstance(d, str) for d in extra_depend):
                    raise TopologyError(label + '.depend', 'must be a list of guest names')
            checked = validator.validate(raw)
            if checked.error_messages:
                raise TopologyError(label, '; '.join(checked.error_messages))
            try:
                guest = kind.guest(checked.validated_parameters)
            except ParameterError as exc:
                raise TopologyError('%s.%s' % (label, exc.parameter), str(exc).split(': ', 1)[-1])
            if extra_depend is not None:
                guest.depends = list(extra_depend)
            if guest.name in seen:
                raise TopologyError(label, 'the name %s is declared twice (also in %s)' % (guest.name, seen[guest.name]))
            seen[guest.name] = label
            declared.append((kind, guest, label))
    for kind, guest, label in declared:
        for other in guest.depends:
            if other not in seen:
                raise TopologyError(label + '.depend', '%s depends on %s, which is not declared' % (guest.name, other))
    return declared, order(declared)


def order(declared):
    """Names in dependency order (dependencies first); a cycle is a TopologyError naming it."""
    depends = dict((guest.name, list(guest.depends)) for unused, guest, unused2 in declared)
    labels = dict((guest.name, label) for unused, guest, label in declared)
    done, result, visiting = set(), [], []

    def visit(name):
        if name in done:
            return
        if name in visiting:
            cycle = visiting[visiting.index(name):] + [name]
            raise TopologyError(labels[name] + '.depend', 'dependency cycle: %s' % ' -> '.join(cycle))
        visiting.append(name)
        for other in depends[name]:
            visit(other)
        visiting.pop()
        done.add(name)
        result.append(name)
    for name in depends:
        visit(name)
    return result


def converge(kinds, declaration, prune=False, defaults=None):
    """Converge the declaration; returns (results by name, order, undeclared names)."""
    declared, ordered = validate(kinds, declaration, defaults)
    by_name = dict((guest.name, (kind, guest)) for kind, guest, unused in declared)
    # A kind is managed when its key is given (an empty list too); only managed kinds read the host,
    # so a Linux dom0 is never asked for jls.
    managed = [kind for kind in kinds if declaration.get(kind.key) is not None]
    for kind in managed:
        kind.prepare([guest for k, guest, unused in declared if k is kind])
    undeclared = []
    for kind in managed:
        undeclared.extend((kind, name) for name in kind.on_host() if name not in by_name)
    results = {}
    failed = set()

    def run(kind, guest):
        blocked = [d for d in guest.depends if d in failed]
        if blocked:
            failed.add(guest.name)
            results[guest.name] = dict(kind=kind.key, name=guest.name, changed=False, failed=True, skipped=True,
                                       msg='not converged: it depends on %s, which failed' % ', '.join(blocked))
            return
        try:
            result = kind.converge(guest)
        except MultiplicityError as exc:
            failed.add(guest.name)
            result = dict(kind.failure(guest), failed=True, msg=str(exc))
        results[guest.name] = dict(result, kind=kind.key, name=guest.name)

    # Removals and stops first, dependants before what they depend on; then the rest, dependencies first.
    for kind, name in undeclared:
        if prune:
            try:
                results[name] = dict(kind.remove(name), kind=kind.key, name=name, pruned=True)
            except MultiplicityError as exc:
                results[name] = dict(kind=kind.key, name=name, changed=False, failed=True, pruned=True, msg=str(exc))
    for name in reversed(ordered):
        kind, guest = by_name[name]
        if guest.state in STOPPING:
            run(kind, guest)
    for name in ordered:
        kind, guest = by_name[name]
        if guest.state not in STOPPING:
            run(kind, guest)
    for kind in managed:
        try:
            kind.finish()
        except MultiplicityError as exc:
            # A host-wide edit merged from several guests: every guest of the kind that changed shares it.
            for result in results.values():
                if result.get('kind') == kind.key and result.get('changed') and not result.get('failed'):
                    result.update(failed=True, msg='the host-wide edit of this call failed: %s' % exc)
        kind.refresh(results)
    return results, ordered, [name for unused, name in undeclared]
