# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Xen domUs as a topology kind: xen_domu's options, one xl list for every domain."""

from __future__ import annotations

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import progress
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.topology import GuestModule, Kind
from ansible_collections.bsd.multiplicity.plugins.module_utils._xen import runtime
from ansible_collections.bsd.multiplicity.plugins.module_utils._xen.info import read_config_dir
from ansible_collections.bsd.multiplicity.plugins.module_utils._xen.manager import (
    XenDomuManager, xen_domu_argument_spec,
)


class XenGuest(object):
    def __init__(self, params, domu_manager):
        self.params = params
        self.manager = domu_manager
        self.name = domu_manager.name
        self.state = params['state']
        self.depends = []


class XenKind(Kind):
    key = 'xen_domus'
    argument_spec = xen_domu_argument_spec()['argument_spec']

    def __init__(self, module, runner, view):
        self.module = module
        self.runner = runner
        self.view = view
        self._config_dirs = []

    def prepare(self, guests):
        self._config_dirs = sorted(set(guest.manager.config_dir for guest in guests))

    def guest(self, params):
        return XenGuest(params, XenDomuManager(GuestModule(self.module, params), self.runner, self.view))

    def _domains(self):
        return self.view.cached('xl', lambda: runtime.read_all_domains(self.runner))

    def converge(self, guest):
        result = guest.manager.run()
        plan = result.pop('plan')
        result['actions'] = plan.describe()
        result['before'] = guest.manager.current_state
        result['after'] = result['domain']['state']
        return result

    def failure(self, guest):
        return dict(progress(guest.manager.plan), before=guest.manager.current_state)

    def on_host(self):
        """Domains xl knows and guest files in the declared guests' config directories."""
        names = set(self._domains())
        for directory in self._config_dirs:
            names.update(read_config_dir(directory)[0])
        return sorted(names)

    def remove(self, name):
        params = dict((key, spec.get('default')) for key, spec in self.argument_spec.items())
        params.update(name=name, state='absent')
        return self.converge(self.guest(params))

    def refresh(self, results):
        """One xl list after the changes: state and domid as Xen has them."""
        # Only a start or a stop changes what the kernel reports.
        changed = [r for r in results.values() if r.get('kind') == self.key and 'domain' in r
                   and set(a['verb'] for a in r.get('actions') or []) & set(('start', 'stop'))]
        if not changed or self.module.check_mode:
            return
        self.view.forget('xl')
        domains = self._domains()
        for result in changed:
            live = domains.get(result['name'])
            facts = result['domain']
            facts['domid'] = live['domid'] if live else None
            if live:
                facts['state'] = live['state']
            elif facts['state'] not in ('absent', 'stopped'):
                facts['state'] = 'stopped'
            result['after'] = facts['state']
