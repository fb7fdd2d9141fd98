# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import (
    EQUAL, LIVE, RECREATE, RESTART, SET, SUBSET, Action, Change, Option, Plan, compare, execute,
    plan_lifecycle, run_action, structured_diff,
)

OPTIONS = (
    Option('memory', RESTART),
    Option('hostname', LIVE),
    Option('addresses', LIVE, comparison=SET),
    Option('allow', LIVE, comparison=SUBSET),
    Option('path', RECREATE),
)


@pytest.mark.parametrize('current, desired, expected', [
    # nothing differs
    ({'memory': 512, 'hostname': 'a'}, {'memory': 512, 'hostname': 'a'}, []),
    # unmanaged (None) options never change
    ({'memory': 512}, {'memory': None, 'hostname': None}, []),
    # scalar differences, in registry order
    ({'memory': 512, 'hostname': 'a'}, {'hostname': 'b', 'memory': 1024},
     [('memory', 512, 1024, RESTART), ('hostname', 'a', 'b', LIVE)]),
    # set comparison ignores order but not content
    ({'addresses': ['10.0.0.2', '10.0.0.1']}, {'addresses': ['10.0.0.1', '10.0.0.2']}, []),
    ({'addresses': ['10.0.0.1']}, {'addresses': ['10.0.0.1', '10.0.0.2']},
     [('addresses', ['10.0.0.1'], ['10.0.0.1', '10.0.0.2'], LIVE)]),
    # subset: extra current items are fine, missing ones are not
    ({'allow': ['raw_sockets', 'mount']}, {'allow': ['mount']}, []),
    ({'allow': ['mount']}, {'allow': ['raw_sockets']}, [('allow', ['mount'], ['raw_sockets'], LIVE)]),
    # an object that does not exist: every managed option is a change
    (None, {'path': '/j/a', 'hostname': 'a'}, [('hostname', None, 'a', LIVE), ('path', None, '/j/a', RECREATE)]),
])
def test_compare(current, desired, expected):
    changes = compare(OPTIONS, current, desired)
    assert [(c.name, c.before, c.after, c.apply) for c in changes] == expected


def test_option_rejects_unknown_kinds():
    with pytest.raises(ValueError):
        Option('x', apply='sometimes')
    with pytest.raises(ValueError):
        Option('x', comparison='fuzzy')


def _changes(*kinds):
    return [Change(Option('opt%d' % i, kind), 1, 2) for i, kind in enumerate(kinds)]


# current x desired -> verbs, for the transition table shared by guest modules
LIFECYCLE = [
    ('absent', 'present', [], False, ['create'], 0),
    ('absent', 'started', [], False, ['create', 'start'], 0),
    ('absent', 'stopped', [], False, ['create'], 0),
    ('absent', 'restarted', [], False, ['create', 'start'], 0),
    ('absent', 'absent', [], False, [], 0),
    ('stopped', 'present', [], False, [], 0),
    ('stopped', 'present', [LIVE, RESTART], False, ['update'], 0),
    ('stopped', 'started', [], False, ['start'], 0),
    ('stopped', 'started', [RESTART], False, ['update', 'start'], 0),
    ('stopped', 'started', [RECREATE], False, ['recreate', 'start'], 0),
    ('stopped', 'stopped', [RESTART], False, ['update'], 0),
    ('stopped', 'restarted', [], False, ['start'], 0),
    ('stopped', 'absent', [RESTART], False, ['destroy'], 0),
    ('running', 'present', [], False, [], 0),
    ('running', 'started', [], False, [], 0),
    ('running', 'started', [LIVE], False, ['update'], 0),
    ('running', 'started', [LIVE, RESTART], False, ['update'], 1),
    ('running', 'started', [LIVE, RESTART], True, ['stop', 'update', 'start'], 0),
    ('running', 'started', [RECREATE], False, ['update'], 1),
    ('running', 'started', [RECREATE], True, ['stop', 'recreate', 'start'], 0),
    ('running', 'present', [RESTART], False, ['update'], 1),
    ('running', 'stopped', [], False, ['stop'], 0),
    ('running', 'stopped', [RESTART], False, ['stop', 'update'], 0),
    ('running', 'restarted', [], False, ['stop', 'start'], 0),
    ('running', 'restarted', [RECREATE], False, ['stop', 'recreate', 'start'], 0),
    ('running', 'absent', [LIVE], False, ['stop', 'destroy'], 0),
]


@pytest.mark.parametrize('current, desired, kinds, allowed, verbs, pending', LIFECYCLE)
def test_plan_lifecycle(current, desired, kinds, allowed, verbs, pending):
    got_verbs, got_pending = plan_lifecycle(current, desired, _changes(*kinds), restart_allowed=allowed)
    assert got_verbs == verbs
    assert len(got_pending) == pending
    assert all(c.apply != LIVE for c in got_pending)


def test_plan_lifecycle_rejects_unknown_states():
    with pytest.raises(ValueError):
        plan_lifecycle('paused', 'started', [])
    with pytest.raises(ValueError):
        plan_lifecycle('running', 'running', [])


def test_structured_diff_has_only_differing_options_and_sorted_sets():
    changes = compare(OPTIONS, {'hostname': 'a', 'memory': 1, 'addresses': {'b', 'a'}},
                      {'hostname': 'a', 'memory': 2, 'addresses': {'c', 'a'}})
    diff = structured_diff(changes, {'state': 'running'}, {'state': 'running'})
    assert diff == {'before': {'state': 'running', 'memory': 1, 'addresses': ['a', 'b']},
                    'after': {'state': 'running', 'memory': 2, 'addresses': ['a', 'c']}}


class RecordingRunner(object):
    def __init__(self):
        self.ran = []

    def run(self, argv, action=None):
        self.ran.append((argv, action))


def test_execute_runs_nothing_in_check_mode():
    calls = []
    plan = Plan()
    plan.add('load', 'load vmm', argv=['kldload', 'vmm'])
    plan.add('write', 'write file', func=lambda: calls.append('write'))
    runner = RecordingRunner()
    execute(plan, runner, check_mode=True)
    assert runner.ran == [] and calls == []
    assert plan.changed
    execute(plan, runner, check_mode=False)
    assert runner.ran == [(['kldload', 'vmm'], 'load vmm')]
    assert calls == ['write']


def test_plan_without_actions_is_unchanged_and_describes_actions():
    plan = Plan()
    assert not plan.changed
    plan.add('load', 'load vmm', argv=['kldload', 'vmm'])
    assert plan.describe() == [{'verb': 'load', 'description': 'load vmm', 'argv': ['kldload', 'vmm']}]


def test_action_needs_argv_or_func_and_with_both_runs_the_func():
    with pytest.raises(ValueError):
        Action('x', 'y')
    ran = []
    run_action(Action('x', 'y', argv=['shown'], func=lambda: ran.append('func')), None)
    assert ran == ['func']


def test_equal_comparison_is_order_sensitive():
    assert Option('kld_list', LIVE, EQUAL).differs(['a', 'b'], ['b', 'a'])
    assert not Option('members', LIVE, SET).differs(['a', 'b'], ['b', 'a'])
