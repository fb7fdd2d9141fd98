# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jails as a topology kind: the jail module's options and planning, reads shared by all jails."""

from __future__ import annotations

import glob
import os

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import progress
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.topology import GuestModule, Kind
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail import config, manager
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail.runtime import read_all_jails


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
        # A depend on a guest of another kind (a chroot is named by its path) orders the call only;
        # jail.conf's depend names jails, so only those are written there.
        depends = list(params.get('depend') or [])
        own = dict(params, depend=[d for d in depends if not d.startswith('/')] or None)
        guest = JailGuest(own, manager.JailManager(GuestModule(self.module, own), self.runner, self.view))
        guest.depends = depends
        return guest

    def prepare(self, guests):
        for guest in guests:
            root = guest.params.get('root') or {}
            self.view.dataset_properties.update((root.get('properties') or {}).keys())

    def converge(self, guest):
        result = guest.manager.run()
        plan = result.pop('plan')
        result['actions'] = plan.describe()
        result['before'] = guest.manager.current_state
        result['after'] = result['jail']['state']
        return result

    def finish(self):
        self.view.flush_sysrc(manager.RC_CONF, action='update jail_enable and jail_list')

    def failure(self, guest):
        return dict(progress(guest.manager.plan), before=getattr(guest.manager, 'current_state', None))

    def on_host(self):
        """Running jails and jails configured in the files rc.d/jail reads for them."""
        names = list(self.view.cached('jails', lambda: read_all_jails(self.runner)))
        for path in [config.SHARED_CONF] + sorted(glob.glob(os.path.join(config.CONF_D, '*.conf'))):
            try:
                conf = manager.read_config(self.view, path)
            except MultiplicityError:
                continue        # reported by jail_info; a file that does not parse is not pruned from
            names.extend(conf.jails if conf else [])
        return sorted(set(names), key=names.index)

    def remove(self, name):
        params = dict((key, spec.get('default')) for key, spec in self.argument_spec.items())
        params.update(name=name, state='absent')
        result = self.converge(self.guest(params))
        return result

    def refresh(self, results):
        """One jls for every jail after the changes: their state and jid as the kernel has them."""
        # Only a start or a stop changes what the kernel reports.
        changed = [r for r in results.values() if r.get('kind') == self.key and 'jail' in r
                   and set(a['verb'] for a in r.get('actions') or []) & set(('start', 'stop'))]
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
            result['after'] = facts['state']
