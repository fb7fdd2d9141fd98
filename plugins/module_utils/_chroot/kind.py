# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Chroot environments as a topology kind: chroot_env's options, named by their path."""

from __future__ import annotations

from ansible_collections.bsd.multiplicity.plugins.module_utils._chroot.manager import (
    ChrootManager, chroot_argument_spec,
)
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.topology import Kind


class ChrootKind(Kind):
    key = 'chroots'
    name_option = 'path'
    argument_spec = chroot_argument_spec()['argument_spec']
    manager_class = ChrootManager
    facts_key = 'chroot'

    def after_state(self, guest, result):
        return guest.state

    def on_host(self):
        """None: a directory is a chroot because a declaration says so; there is nothing to list."""
        return []
