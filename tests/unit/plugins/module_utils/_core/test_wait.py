# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import WaitTimeout
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.wait import wait_for


class Clock(object):
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_returns_first_matching_observation_with_backoff():
    clock = Clock()
    states = iter(['running', 'running', 'running', 'stopped'])
    result = wait_for(lambda: next(states), lambda s: s == 'stopped', 10, "jail 'web'",
                      initial_delay=0.5, max_delay=1.5, sleep=clock.sleep, clock=clock.time)
    assert result == 'stopped'
    assert clock.sleeps == [0.5, 1.0, 1.5]


def test_timeout_names_object_and_last_state_and_never_overshoots():
    clock = Clock()
    with pytest.raises(WaitTimeout) as info:
        wait_for(lambda: 'running', lambda s: False, 3, "domain 'vm1'",
                 initial_delay=1, max_delay=2, sleep=clock.sleep, clock=clock.time)
    assert clock.now == 3
    assert "domain 'vm1'" in str(info.value)
    assert 'last observed: running' in str(info.value)
