# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's declaration of guests of every kind, checked whole and declared to one engine call.

The declaration is checked before anything is read or changed: each guest's options against its
kind's argument spec (over the kind's ``defaults``), names unique across kinds, every ``depend``
known, no cycles.  Converging it (one bulk read per kind, dependency order, failure isolation,
prune, merged edits, one re-read per kind) is the engine's :class:`engine.Call`, as for a module.
"""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import engine
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParameterError


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


def declare(call, kinds, declaration, defaults=None, secrets=None):
    """Every guest of the declaration declared to ``call`` (an :class:`engine.Call`), each checked;
    TopologyError names the guest and option, before anything is read.

    ``defaults`` (kind key -> options) are merged under each guest of that kind (:func:`with_defaults`).
    ``secrets`` (a set) gets the values of the options each kind's module marks ``no_log``: the topology
    module masks them in everything it returns, as that module would.
    ``depend`` orders a guest after guests of any kind; a kind whose own options have a ``depend``
    (jail.conf's) is given the names of its own kind only.
    """
    defaults = check_defaults(kinds, defaults)
    guests = []
    for kind in kinds:
        for index, raw in enumerate(declaration.get(kind.key) or []):
            named = raw.get(kind.name_option, index) if isinstance(raw, dict) else index
            label = '%s[%s]' % (kind.key, str(named).replace('\x00', '\\x00'))     # printable, whatever it holds
            if not isinstance(raw, dict):
                raise TopologyError(label, 'each guest is a dictionary of the options of its kind')
            raw = dict(raw)
            if defaults.get(kind.key):
                if not isinstance(raw.get(kind.name_option), str):
                    raise TopologyError(label, 'each guest needs its %s (a string)' % kind.name_option)
                raw = with_defaults(defaults[kind.key], raw, raw[kind.name_option])
            guests.append((kind, label, raw))
    own = dict((id(kind), set(raw.get(kind.name_option) for k, label, raw in guests if k is kind)) for kind in kinds)
    seen = {}
    depends = {}
    for kind in kinds:
        # Built once (thousands of guests use it), with the rules between options its module applies.
        validator = ArgumentSpecValidator(kind.argument_spec, **kind.module_kwargs)
        for unused, label, raw in [g for g in guests if g[0] is kind]:
            wanted = raw.pop('depend', None) or []
            if not isinstance(wanted, list) or not all(isinstance(d, str) for d in wanted):
                raise TopologyError(label + '.depend', 'must be a list of guest names')
            if 'depend' in kind.argument_spec:
                raw['depend'] = [d for d in wanted if d in own[id(kind)]] or None
            checked = validator.validate(raw)
            if secrets is not None:
                # What the validation found to mask, as AnsibleModule takes it from its own validation.
                secrets |= checked._no_log_values
            if checked.error_messages:
                raise TopologyError(label, '; '.join(checked.error_messages))
            try:
                outcome = call.declare(kind, checked.validated_parameters, depends=wanted)
            except ParameterError as exc:
                raise TopologyError('%s.%s' % (label, exc.parameter), str(exc).split(': ', 1)[-1])
            if outcome.name in seen:
                raise TopologyError(label, 'the name %s is declared twice (also in %s)' % (outcome.name, seen[outcome.name]))
            seen[outcome.name] = label
            depends[outcome.name] = wanted
    for name, wanted in depends.items():
        for other in wanted:
            if other not in seen:
                raise TopologyError(seen[name] + '.depend', '%s depends on %s, which is not declared' % (name, other))
    try:
        return engine.dependency_order(depends)
    except engine.DependencyCycle as exc:
        raise TopologyError(seen[exc.name] + '.depend', str(exc).split(': ', 1)[-1])
