# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Chroot environments as a topology kind: chroot_env's options, named by their path."""

from __future__ import annotations

import os

from ansible_collections.bsd.multiplicity.plugins.module_utils._chroot.manager import (
    ChrootManager, chroot_argument_spec,
)
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import progress
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.topology import GuestModule, Kind


class ChrootGuest(object):
    def __init__(self, params, chroot_manager):
        self.params = params
        self.manager = chroot_manager
        self.name = os.path.normpath(params['path'])
        self.state = params['state']
        self.depends = []


class ChrootKind(Kind):
    key = 'chroots'
    name_option = 'path'
    argument_spec = chroot_argument_spec()['argument_spec']

    def __init__(self, module, runner, view):
        self.module = module
        self.runner = runner
        self.view = view

    def guest(self, params):
        return ChrootGuest(params, ChrootManager(GuestModule(self.module, params), self.runner, self.view))

    def converge(self, guest):
        result = guest.manager.run()
        plan = result.pop('plan')
        result['actions'] = plan.describe()
        result['before'] = guest.manager.current_state
        result['after'] = guest.state
        return result

    def failure(self, guest):
        return dict(progress(guest.manager.plan), before=guest.manager.current_state)

    def on_host(self):
        """None: a directory is a chroot because a declaration says so; there is nothing to list."""
        return []

    def remove(self, name):
        raise NotImplementedError('chroots are never undeclared')
