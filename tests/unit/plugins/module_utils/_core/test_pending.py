# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restarts owed across runs, recorded per running instance."""
from __future__ import annotations

import json

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import pending
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import RESTART, Change, Option, Plan, execute


@pytest.fixture
def record(tmp_path, monkeypatch):
    monkeypatch.setattr(pending, 'PENDING_DIR', str(tmp_path))
    return pending.PendingRestart('vm', 'db', id_key='pid')


def owed(*names):
    plan = Plan()
    plan.pending = [Change(Option(name, RESTART), 'running', 'configured') for name in names]
    return plan


def test_a_pending_setting_is_recorded_for_the_running_instance_only(record):
    plan = owed('memory', 'cpus')
    record.plan(plan, 4242, [], restarting=False)
    execute(plan, None, False)
    assert json.loads(open(record.path).read()) == {'pid': 4242, 'params': ['cpus', 'memory']}
    assert record.recorded(4242) == ['cpus', 'memory']
    assert record.recorded(5151) == []           # started again by someone else: nothing owed
    again = owed('memory', 'cpus')
    record.plan(again, 4242, record.recorded(4242), restarting=False)
    assert again.actions == []                   # already recorded


def test_a_restart_forgets_it_and_a_stopped_object_owes_nothing(record):
    plan = owed('memory')
    record.plan(plan, 4242, [], restarting=False)
    execute(plan, None, False)
    forget = owed()
    record.plan(forget, 4242, ['memory'], restarting=True)
    execute(forget, None, False)
    assert record.recorded(4242) == []
    stopped = owed('memory')
    record.plan(stopped, None, [], restarting=False)
    assert stopped.actions == []


def test_a_record_it_did_not_write_counts_for_nothing(record):
    with open(record.path, 'w') as handle:
        handle.write('not json')
    assert record.recorded(4242) == []
