# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property tests of every renderer and editor against the real reader of its file.

``make test`` runs them derandomized (the same examples every run, so unchanged code cannot
fail by chance); ``make fuzz`` runs them with random seeds and ten times the examples.  A
failing example that ``make fuzz`` finds becomes an explicit ``@example`` in the test.
"""

from __future__ import annotations

import os
import sys

from hypothesis import HealthCheck, settings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The simulator's jail.conf and rctl readers are written from FreeBSD's sources, independently of
# the collection's code: they are the readers the collection is checked against.
sys.path.insert(0, os.path.join(ROOT, 'sandbox'))

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile('ci', derandomize=True, deadline=None, database=None, print_blob=True,
                          suppress_health_check=_QUIET)
settings.register_profile('fuzz', derandomize=False, deadline=None, print_blob=True, suppress_health_check=_QUIET)
settings.load_profile(os.environ.get('BSDM_HYPOTHESIS_PROFILE', 'ci'))
