# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Xen domUs as a topology kind: xen_domu's options, one xl list for every domain."""

from __future__ import annotations

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.topology import Kind
from ansible_collections.bsd.multiplicity.plugins.module_utils._xen import runtime
from ansible_collections.bsd.multiplicity.plugins.module_utils._xen.info import read_config_dir
from ansible_collections.bsd.multiplicity.plugins.module_utils._xen.manager import (
    XenDomuManager, xen_domu_argument_spec,
)


class XenKind(Kind):
    key = 'xen_domus'
    argument_spec = xen_domu_argument_spec()['argument_spec']
    manager_class = XenDomuManager
    facts_key = 'domain'

    def __init__(self, module, runner, view):
        super().__init__(module, runner, view)
        self._config_dirs = []

    def prepare(self, guests):
        self._config_dirs = sorted(set(guest.manager.config_dir for guest in guests))

    def _domains(self):
        return self.view.cached('xl', lambda: runtime.read_all_domains(self.runner))

    def on_host(self):
        """Domains xl knows and guest files in the declared guests' config directories."""
        names = set(self._domains())
        for directory in self._config_dirs:
            names.update(read_config_dir(directory)[0])
        return sorted(names)

    def refresh(self, results):
        """One xl list after the changes: state and domid as Xen has them."""
        changed = self.started_or_stopped(results)
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
