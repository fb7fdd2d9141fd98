# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jails as a topology kind: the jail module's options and planning, reads shared by all jails."""

from __future__ import annotations

import glob
import os

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.topology import Kind
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail import config, manager
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail.runtime import read_all_jails


class JailKind(Kind):
    key = 'jails'
    argument_spec = manager.jail_argument_spec()['argument_spec']
    manager_class = manager.JailManager
    facts_key = 'jail'

    def guest(self, params):
        # A depend on a guest of another kind (a chroot is named by its path) orders the call only;
        # jail.conf's depend names jails, so only those are written there.
        depends = list(params.get('depend') or [])
        guest = super().guest(dict(params, depend=[d for d in depends if not d.startswith('/')] or None))
        guest.depends = depends
        return guest

    def prepare(self, guests):
        for guest in guests:
            root = guest.params.get('root') or {}
            self.view.dataset_properties.update((root.get('properties') or {}).keys())

    def finish(self):
        self.view.flush_sysrc(manager.RC_CONF, action='update jail_enable and jail_list')
        self.view.flush_edits()     # rctl.conf: one rewrite for every jail of the call

    def on_host(self):
        """Running jails and jails configured in the files rc.d/jail reads for them."""
        names = list(self.view.cached('jails', lambda: read_all_jails(self.runner)))
        for path in [config.SHARED_CONF] + sorted(glob.glob(os.path.join(config.CONF_D, '*.conf'))):
            try:
                conf = manager.read_config(self.view, path)
            except MultiplicityError:
                continue        # reported by jail_info; a file that does not parse is not pruned from
            names.extend(conf.jails if conf else [])
        return list(dict.fromkeys(names))

    def refresh(self, results):
        """One jls for every jail after the changes: their state and jid as the kernel has them."""
        changed = self.started_or_stopped(results)
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
