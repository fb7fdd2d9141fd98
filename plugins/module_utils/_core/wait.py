# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One bounded wait with backoff, for guests that start and stop."""

from __future__ import annotations

import time

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import WaitTimeout


def wait_for(observe, done, timeout, what, initial_delay=0.2, max_delay=2.0, sleep=time.sleep, clock=time.monotonic):
    """Call ``observe()`` until ``done(observation)`` is true or ``timeout`` seconds pass.

    Returns the last observation.  On timeout raises :class:`WaitTimeout`
    naming ``what`` and the last observation.  Delays double from
    ``initial_delay`` up to ``max_delay`` and never overshoot the deadline.
    """
    deadline = clock() + timeout
    delay = initial_delay
    while True:
        observation = observe()
        if done(observation):
            return observation
        remaining = deadline - clock()
        if remaining <= 0:
            raise WaitTimeout(what, timeout, observation)
        sleep(min(delay, remaining))
        delay = min(delay * 2, max_delay)
