# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hypothesis runs derandomized in the unit tests: unchanged code gives the same examples every run
(random exploration is `make fuzz`, over tests/properties)."""

from __future__ import annotations

import pytest
from hypothesis import settings

settings.register_profile('units', derandomize=True, deadline=None, database=None, print_blob=True)
settings.load_profile('units')


@pytest.fixture(autouse=True)
def host_records_in_tmp(tmp_path, monkeypatch):
    """The collection's host-side records (work begun and not finished) go to the test's directory."""
    from ansible_collections.bsd.multiplicity.plugins.module_utils._core import records
    monkeypatch.setattr(records, 'RECORD_DIR', str(tmp_path / 'var-db'))
