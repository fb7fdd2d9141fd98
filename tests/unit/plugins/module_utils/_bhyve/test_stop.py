# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""bhyve_vm's bounded stop: the ACPI power button, then bhyvectl --force-poweroff only with force_stop."""
from __future__ import annotations

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._bhyve import manager
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError


class Guest(object):
    """A VM whose guest ignores the power button until it is powered off."""

    def __init__(self, obeys):
        self.obeys = obeys
        self.up = True

    def alive(self):
        return self.up

    @staticmethod
    def stop_argv():
        return ['pkill', '-TERM', '-L', '-F', '/var/run/bsd-multiplicity-bhyve.vm.daemon.pid']


class Runner(object):
    def __init__(self, guest):
        self.guest = guest
        self.ran = []

    def run_lookup(self, argv, missing, action=None):
        self.ran.append(argv)
        if self.guest.obeys:
            self.guest.up = False
        return object()

    def run(self, argv, action=None):
        self.ran.append(argv)
        if '--force-poweroff' in argv:
            self.guest.up = False


class Desired(object):
    def __init__(self, guest):
        self.name = 'vm'
        self.extra = {'run': guest}


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setattr(manager, 'wait_for', _no_wait)


def _no_wait(observe, done, timeout, what, **kwargs):
    from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import WaitTimeout
    seen = observe()
    if not done(seen):
        raise WaitTimeout(what, timeout, seen)
    return seen


def test_a_guest_that_powers_off_is_not_forced():
    guest = Guest(obeys=True)
    kind = manager.BhyveVmKind(Runner(guest))
    kind._stop(Desired(guest), 5, force=True)
    assert kind.runner.ran == [Guest.stop_argv()]


def test_a_guest_that_does_not_is_powered_off_only_with_force_stop():
    guest = Guest(obeys=False)
    kind = manager.BhyveVmKind(Runner(guest))
    with pytest.raises(MultiplicityError) as caught:
        kind._stop(Desired(guest), 5, force=False)
    assert 'did not power off within 5 s (stop_timeout); set force_stop' in str(caught.value)
    assert kind.runner.ran == [Guest.stop_argv()] and guest.up
    kind._stop(Desired(guest), 5, force=True)
    assert kind.runner.ran[-1] == ['bhyvectl', '--vm=vm', '--force-poweroff'] and not guest.up
