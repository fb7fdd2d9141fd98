# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel modules: loaded now (kldload/kldunload) and at boot (rc.conf kld_list or loader.conf)."""

from __future__ import annotations

import re

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError, ParameterError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import read_text
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.engine import Current, Desired, Kind
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.module import KindModule
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.prerequisites import KernelModule
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.sysrc import SysrcEdit
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import LIVE, Option, progress
from ansible_collections.bsd.multiplicity.plugins.module_utils._kld.parse import (
    file_stem, find_loaded, is_yes, parse_kldstat, parse_loader_conf, split_list,
)

NAME_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z')

PERSIST_RC_CONF = 'rc_conf'
PERSIST_LOADER_CONF = 'loader_conf'
PERSIST_NONE = 'none'

OPTIONS = (
    Option('loaded', LIVE),
    Option('kld_list', LIVE),
    Option('loader_conf', LIVE),
)


def kld_argument_spec(names=True):
    """The kld module's options (``name`` a list of modules), or one module's (``names=False``:
    an object of a topology's ``kernel_modules``)."""
    return dict(
        argument_spec=dict(
            name=dict(type='list', elements='str', required=True) if names else dict(type='str', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            persistent=dict(type='str', default=PERSIST_RC_CONF,
                            choices=[PERSIST_RC_CONF, PERSIST_LOADER_CONF, PERSIST_NONE]),
            loader_conf=dict(type='path', default='/boot/loader.conf'),
        ),
        supports_check_mode=True,
    )


def normalise_names(names):
    """Validate and de-duplicate module names, keeping their order."""
    result = []
    if not names:
        raise ParameterError('name', 'at least one kernel module name is required')
    for raw in names:
        name = file_stem((raw or '').strip())
        if not NAME_RE.match(name) or '/' in (raw or ''):
            raise ParameterError('name', '%r is not a kernel module name (letters, digits, "_", "-", "." only; '
                                         'no paths)' % raw)
        if name not in result:
            result.append(name)
    return result


def loader_variable(name):
    return '%s_load' % name


class KldKind(Kind):
    """One kernel module is one object: loaded now (created) or not, and listed to load at boot."""

    name = 'kernel module'
    key = 'kernel_modules'
    run_state = False       # loaded (present) or not
    facts_key = 'kernel_module'
    argument_spec = kld_argument_spec(names=False)['argument_spec']
    OPTIONS = OPTIONS

    def desired(self, params):
        name = normalise_names([params['name']])[0]
        state = params['state']
        persistent = params['persistent']
        wanted = state == 'present'
        # state=absent cleans whichever boot config holds the module, unless persistent is none.
        rc_conf = persistent == PERSIST_RC_CONF or (not wanted and persistent != PERSIST_NONE)
        loader_conf = persistent == PERSIST_LOADER_CONF or (not wanted and persistent != PERSIST_NONE)
        settings = dict(loaded=wanted, kld_list=wanted if rc_conf else None,
                        loader_conf=wanted if loader_conf else None)
        return Desired(name, state, settings, loader_path=params['loader_conf'])

    def observe(self, view, wanted):
        files = parse_kldstat(view.run(['kldstat', '-v'], action='list kernel modules').stdout)
        kld_list = None
        if any(d.settings['kld_list'] is not None for d in wanted):
            kld_list = split_list(view.run(['sysrc', '-n', 'kld_list'], action='read kld_list from rc.conf').stdout)
        found = {}
        for desired in wanted:
            entry, how = find_loaded(files, desired.name)
            settings = dict(loaded=entry is not None)
            listed = [e for e in kld_list or [] if file_stem(e) == desired.name]
            if desired.settings['kld_list'] is not None:
                settings['kld_list'] = bool(listed)
            boot_value = None
            if desired.settings['loader_conf'] is not None:
                path = desired.extra['loader_path']
                loader = view.cached(('loader.conf', path), lambda: parse_loader_conf(read_text(path)))
                boot_value = loader.get(loader_variable(desired.name))
                # A hand-written "yes" counts as loading; a hand-written "NO" already keeps it out: both stay.
                settings['loader_conf'] = is_yes(boot_value)
            found[desired.name] = Current(
                'stopped' if entry is not None else 'absent', settings,
                leftovers=bool(settings.get('kld_list') or settings.get('loader_conf')),
                entry=entry, how=how, listed=listed, kld_list=kld_list, boot_value=boot_value)
        return found

    def create(self, plan, desired, current, changes):
        plan.add('load', "load kernel module '%s'" % desired.name, argv=['kldload', desired.name])
        plan.require(KernelModule(desired.name, 'name'))       # kldload's "No such file", predicted
        self.update(plan, desired, current, changes)

    def update(self, plan, desired, current, changes):
        name, wanted = desired.name, desired.settings
        if wanted['kld_list'] and not current.settings['kld_list']:
            plan.edits.append(SysrcEdit('kld_list', '+=', name))
        elif wanted['kld_list'] is False and current.settings['kld_list']:
            plan.edits.append(SysrcEdit('kld_list', '-=', ' '.join(current.extra['listed'])))
        variable, path = loader_variable(name), desired.extra['loader_path']
        if wanted['loader_conf'] and not current.settings['loader_conf']:
            plan.edits.append(SysrcEdit(variable, '=', 'YES', path=path))
        elif wanted['loader_conf'] is False and current.settings['loader_conf']:
            plan.edits.append(SysrcEdit(variable, 'remove', path=path))

    def destroy(self, plan, desired, current, changes, purge=False):
        entry, how = current.extra['entry'], current.extra['how']
        if entry is not None:
            if how == 'module':
                raise MultiplicityError("Cannot unload kernel module '%s': it is part of %s, not a file of its own"
                                        % (desired.name, entry['name']))
            plan.add('unload', "unload kernel module '%s'" % desired.name, argv=['kldunload', entry['name']])
        self.update(plan, desired, current, changes)

    def facts(self, outcome):
        desired, current = outcome.desired, outcome.current
        entry, how = current.extra['entry'], current.extra['how']
        info = {'loaded': entry is not None}
        if entry is not None:
            info.update(file=entry['name'], id=entry['id'], refs=entry['refs'], path=entry['path'],
                        compiled_in=how == 'module' and entry['name'] == 'kernel')
        if desired.settings['kld_list'] is not None:
            info['in_kld_list'] = bool(current.extra['listed'])
        if desired.settings['loader_conf'] is not None:
            info['loader_conf'] = current.extra['boot_value']
        return info


def _boot_value_after(outcome):
    value = outcome.before.extra['boot_value']
    if outcome.desired.settings['loader_conf']:
        return value if is_yes(value) else 'YES'
    return None if is_yes(value) else value


class KldManager(KindModule):
    """The kld module: one engine call over the named modules, its result in the module's shape."""

    kind_class = KldKind

    @staticmethod
    def requests(params):
        return [dict(params, name=name) for name in normalise_names(params['name'])]

    def shape(self, outcomes):
        result = dict(modules=dict((o.name, self.kind.facts(o)) for o in outcomes))
        first = outcomes[0].current
        if first.extra['kld_list'] is not None:
            result['kld_list'] = first.extra['kld_list']
        if self.module._diff:
            result['diff'] = self._diff(outcomes)
        return result

    @staticmethod
    def _diff(outcomes):
        """The module's diff, over all its modules: those loaded, the whole kld_list, their loader.conf
        variables; only what differs."""
        before = dict(loaded=[o.name for o in outcomes if o.before.settings['loaded']])
        after = dict(loaded=[o.name for o in outcomes if o.desired.settings['loaded']])
        entries = outcomes[0].before.extra['kld_list']
        if entries is not None:
            removed = set(e for o in outcomes if o.desired.settings['kld_list'] is False for e in o.before.extra['listed'])
            before['kld_list'] = entries
            after['kld_list'] = [e for e in entries if e not in removed] + [
                o.name for o in outcomes if o.desired.settings['kld_list'] and not o.before.extra['listed']]
        at_boot = [o for o in outcomes if o.desired.settings['loader_conf'] is not None]
        if at_boot:
            before['loader_conf'] = dict((loader_variable(o.name), o.before.extra['boot_value']) for o in at_boot)
            after['loader_conf'] = dict((loader_variable(o.name), _boot_value_after(o)) for o in at_boot)
        differing = [key for key in before if before[key] != after[key]]
        return dict(before=dict((k, before[k]) for k in differing), after=dict((k, after[k]) for k in differing))

    def partial_result(self):
        return progress(self.call.plan())
