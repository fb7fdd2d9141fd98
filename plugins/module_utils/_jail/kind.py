# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jails as a topology kind: the jail module's options and planning, reads shared by all jails."""

from __future__ import annotations

import glob
import os

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import read_text
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import progress
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.topology import Kind
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail import config, manager
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail.runtime import read_all_jails
from ansible_collections.bsd.multiplicity.plugins.module_utils.jail_conf import JailConfError, parse


class GuestModule(object):
    """What a manager asks of its module, for one guest of a call: its own params, the call's
    check and diff mode, and everything else (get_bin_path, run_command...) from the real module."""

    def __init__(self, module, params):
        self._module = module
        self.params = params
        self.check_mode = module.check_mode
        self._diff = module._diff

    def __getattr__(self, name):
        return getattr(self._module, name)


class JailGuest(object):
    def __init__(self, params, jail_manager):
        self.params = params
        self.manager = jail_manager
        self.name = jail_manager.name
        self.state = params['state']
        self.depends = list(params.get('depend') or [])


class JailKind(Kind):
    key = 'jails'
    argument_spec = manager.jail_argument_spec()['argument_spec']

    def __init__(self, module, runner, view):
        self.module = module
        self.runner = runner
        self.view = view

    def guest(self, params):
        return JailGuest(params, manager.JailManager(GuestModule(self.module, params), self.runner, self.view))

    def prepare(self, guests):
        for guest in guests:
            root = guest.params.get('root') or {}
            self.view.dataset_properties.update((root.get('properties') or {}).keys())

    def converge(self, guest):
        result = guest.manager.run()
        plan = result.pop('plan')
        result['actions'] = plan.describe()
        result['before'] = guest.manager.current_state
        return result

    def failure(self, guest):
        return dict(progress(guest.manager.plan), before=getattr(guest.manager, 'current_state', None))

    def on_host(self):
        """Running jails and jails configured in the files rc.d/jail reads for them."""
        names = list(self.view.cached('jails', lambda: read_all_jails(self.runner)))
        for path in [config.SHARED_CONF] + sorted(glob.glob(os.path.join(config.CONF_D, '*.conf'))):
            text = read_text(path)
            try:
                names.extend(parse(text, path).jails if text else [])
            except JailConfError:
                continue        # reported by jail_info; a file that does not parse is not pruned from
        return sorted(set(names), key=names.index)

    def remove(self, name):
        params = dict((key, spec.get('default')) for key, spec in self.argument_spec.items())
        params.update(name=name, state='absent')
        result = self.converge(self.guest(params))
        return result

    def refresh(self, results):
        """One jls for every jail after the changes: their state and jid as the kernel has them."""
        changed = [r for r in results.values() if r.get('kind') == self.key and r.get('changed') and 'jail' in r]
        if not changed or self.module.check_mode:
            return
        self.view.forget('jails')
        jails = self.view.cached('jails', lambda: read_all_jails(self.runner))
        for result in changed:
            runtime = jails.get(result['name'])
            facts = result['jail']
            facts['jid'] = (runtime or {}).get('jid')
            if runtime:
                facts['state'] = 'running'
            elif facts['state'] == 'running':
                facts['state'] = 'stopped'
