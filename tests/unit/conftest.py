# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hypothesis runs derandomized in the unit tests: unchanged code gives the same examples every run
(random exploration is `make fuzz`, over tests/properties)."""

from __future__ import annotations

from hypothesis import settings

settings.register_profile('units', derandomize=True, deadline=None, database=None, print_blob=True)
settings.load_profile('units')
