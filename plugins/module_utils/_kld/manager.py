# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel modules: loaded now (kldload/kldunload) and at boot (rc.conf kld_list or loader.conf)."""

from __future__ import annotations

import os
import re

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError, ParameterError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import read_text
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import (
    LIVE, Option, Plan, compare, execute, structured_diff,
)
from ansible_collections.bsd.multiplicity.plugins.module_utils._kld.parse import (
    file_stem, find_loaded, is_yes, parse_kldstat, parse_loader_conf, split_list,
)

NAME_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z')

PERSIST_RC_CONF = 'rc_conf'
PERSIST_LOADER_CONF = 'loader_conf'
PERSIST_NONE = 'none'
# sysrc's read-modify-write of rc.conf is not atomic: kld_list changes hold this file's lock.
RC_CONF = '/etc/rc.conf'

OPTIONS = (
    Option('loaded', LIVE),
    Option('kld_list', LIVE),
    Option('loader_conf', LIVE),
)


def kld_argument_spec():
    return dict(
        argument_spec=dict(
            name=dict(type='list', elements='str', required=True),
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


class KldManager(object):
    def __init__(self, module, runner):
        self.module = module
        self.runner = runner
        params = module.params
        self.names = normalise_names(params['name'])
        self.state = params['state']
        self.persistent = params['persistent']
        self.loader_conf_path = params['loader_conf']
        self.plan = None

    # -- read ------------------------------------------------------------
    def _manages_rc_conf(self):
        return self.persistent == PERSIST_RC_CONF or (self.state == 'absent' and self.persistent != PERSIST_NONE)

    def _manages_loader_conf(self):
        return self.persistent == PERSIST_LOADER_CONF or (self.state == 'absent' and self.persistent != PERSIST_NONE)

    def read(self):
        files = parse_kldstat(self.runner.run(['kldstat', '-v'], action='list kernel modules').stdout)
        current = {'files': files}
        current['loaded'] = [n for n in self.names if find_loaded(files, n)[0] is not None]
        if self._manages_rc_conf():
            value = self.runner.run(['sysrc', '-n', 'kld_list'], action='read kld_list from rc.conf').stdout
            current['kld_list'] = split_list(value)
        if self._manages_loader_conf():
            loader = parse_loader_conf(read_text(self.loader_conf_path))
            current['loader_conf'] = dict((loader_variable(n), loader.get(loader_variable(n))) for n in self.names)
        return current

    # -- desired -----------------------------------------------------------
    def desired(self, current):
        desired = {}
        if self.state == 'present':
            desired['loaded'] = list(self.names)
        else:
            desired['loaded'] = []
        if 'kld_list' in current:
            entries = current['kld_list']
            if self.state == 'present':
                present = set(file_stem(e) for e in entries)
                desired['kld_list'] = entries + [n for n in self.names if n not in present]
            else:
                desired['kld_list'] = [e for e in entries if file_stem(e) not in self.names]
        if 'loader_conf' in current:
            wanted = {}
            for variable, value in current['loader_conf'].items():
                if self.state == 'present':
                    wanted[variable] = value if is_yes(value) else 'YES'
                else:
                    # A hand-written "NO" already keeps it from loading: leave it.
                    wanted[variable] = None if is_yes(value) else value
            desired['loader_conf'] = wanted
        return desired

    # -- plan ----------------------------------------------------------------
    def _check_loadable(self, names):
        """Predict kldload's "No such file" before running it (also in check mode)."""
        path = self.runner.run(['sysctl', '-n', 'kern.module_path'], action='read kern.module_path').stdout.strip()
        directories = [d for d in path.split(';') if d]
        for name in names:
            if not any(os.path.exists(os.path.join(d, name + '.ko')) for d in directories):
                raise MultiplicityError("Cannot load kernel module '%s': no %s.ko in kern.module_path (%s)"
                                        % (name, name, path))

    def build_plan(self, current, desired):
        changes = compare(OPTIONS, current, desired)
        plan = Plan(changes)
        files = current['files']
        to_load = [n for n in desired['loaded'] if n not in current['loaded']]
        to_unload = [n for n in current['loaded'] if n not in desired['loaded']]
        if to_load:
            self._check_loadable(to_load)
        for name in to_load:
            plan.add('load', "load kernel module '%s'" % name, argv=['kldload', name])
        for name in to_unload:
            entry, how = find_loaded(files, name)
            if how == 'module':
                raise MultiplicityError("Cannot unload kernel module '%s': it is part of %s, not a file of its own"
                                        % (name, entry['name']))
            plan.add('unload', "unload kernel module '%s'" % name, argv=['kldunload', entry['name']])
        for change in changes:
            if change.name == 'kld_list':
                # += and -= let sysrc edit the list as it is then: a run adding another module at the
                # same time keeps its entry.
                added = [e for e in change.after if e not in change.before]
                removed = [e for e in change.before if e not in change.after]
                if added:
                    plan.add('persist', 'add %s to kld_list in rc.conf' % ' '.join(added),
                             argv=['sysrc', 'kld_list+=%s' % ' '.join(added)], lock=RC_CONF)
                if removed:
                    plan.add('persist', 'remove %s from kld_list in rc.conf' % ' '.join(removed),
                             argv=['sysrc', 'kld_list-=%s' % ' '.join(removed)], lock=RC_CONF)
            elif change.name == 'loader_conf':
                for variable in sorted(change.after):
                    before, after = change.before.get(variable), change.after[variable]
                    if before == after:
                        continue
                    if after is None:
                        plan.add('persist', 'remove %s from %s' % (variable, self.loader_conf_path),
                                 argv=['sysrc', '-f', self.loader_conf_path, '-x', variable])
                    else:
                        plan.add('persist', 'set %s="%s" in %s' % (variable, after, self.loader_conf_path),
                                 argv=['sysrc', '-f', self.loader_conf_path, '%s=%s' % (variable, after)])
        return plan

    # -- result ----------------------------------------------------------------
    def facts(self, current):
        modules = {}
        for name in self.names:
            entry, how = find_loaded(current['files'], name)
            info = {'loaded': entry is not None}
            if entry is not None:
                info.update(file=entry['name'], id=entry['id'], refs=entry['refs'], path=entry['path'],
                            compiled_in=how == 'module' and entry['name'] == 'kernel')
            if 'kld_list' in current:
                info['in_kld_list'] = name in [file_stem(e) for e in current['kld_list']]
            if 'loader_conf' in current:
                info['loader_conf'] = current['loader_conf'].get(loader_variable(name))
            modules[name] = info
        result = {'modules': modules}
        if 'kld_list' in current:
            result['kld_list'] = current['kld_list']
        return result

    def partial_result(self):
        if self.plan is None:
            return {'changed': False}
        return {'changed': self.plan.changed, 'actions': self.plan.describe()}

    def run(self):
        current = self.read()
        desired = self.desired(current)
        self.plan = self.build_plan(current, desired)
        execute(self.plan, self.runner, self.module.check_mode)
        final = current
        if self.plan.changed and not self.module.check_mode:
            final = self.read()
        result = {'changed': self.plan.changed, 'plan': self.plan}
        result.update(self.facts(final))
        if self.module._diff:
            result['diff'] = structured_diff(self.plan.changes)
        return result
