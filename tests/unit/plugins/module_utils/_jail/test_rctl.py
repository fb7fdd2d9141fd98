# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParameterError
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail import rctl


def test_normalize_spells_rules_as_the_kernel_prints_them():
    assert rctl.normalize('www', ['memoryuse:deny=2g', 'pcpu:deny=50', 'maxproc:log=200/process',
                                  'jail:www:openfiles:deny=1k/jail', 'j:www:swapuse:sigterm=1M']) == [
        'jail:www:memoryuse:deny=2147483648', 'jail:www:pcpu:deny=50', 'jail:www:maxproc:log=200/process',
        'jail:www:openfiles:deny=1024', 'jail:www:swapuse:sigterm=1048576']


@pytest.mark.parametrize('rule, message', [
    ('memoryuse', 'is not resource:action=amount'),
    ('memoryuse:deny', 'is not resource:action=amount'),
    ('jail:db:memoryuse:deny=1g', "is for jail 'db'"),
    ('user:joe:memoryuse:deny=1g', 'is not resource:action=amount'),
    ('memory:deny=1g', "unknown resource 'memory'"),
    ('memoryuse:kill=1g', "unknown action 'kill'"),
    ('cputime:deny=100', 'cputime cannot be denied'),
    ('memoryuse:deny=1x', "amount '1x'"),
    ('memoryuse:deny=', "amount ''"),
    ('memoryuse:deny=1g/host', 'per must be one of'),
])
def test_normalize_rejects_bad_rules_naming_the_parameter(rule, message):
    with pytest.raises(ParameterError) as exc:
        rctl.normalize('www', [rule])
    assert 'rctl' in str(exc.value) and message in str(exc.value)


def test_two_amounts_for_one_limit_are_refused():
    with pytest.raises(ParameterError, match='set the same limit'):
        rctl.normalize('www', ['memoryuse:deny=1g', 'memoryuse:deny=2g/jail'])
    assert len(rctl.normalize('www', ['memoryuse:deny=1g', 'memoryuse:log=512m'])) == 2


def test_parse_rules_keeps_only_this_jail_and_drops_default_per():
    output = 'jail:www:memoryuse:deny=1073741824\njail:www2:pcpu:deny=5\njail:www:maxproc:deny=5/jail\n' \
             'jail:www:nthr:log=100/process\nuser:joe:maxproc:deny=10\n'
    assert rctl.parse_rules(output, 'www') == ['jail:www:memoryuse:deny=1073741824', 'jail:www:maxproc:deny=5',
                                               'jail:www:nthr:log=100/process']


def test_update_conf_replaces_only_the_jails_lines_in_place():
    text = ('# limits\nuser:joe:maxproc:deny=10\njail:www:memoryuse:deny=1g # web\njail:www2:pcpu:deny=5\n'
            'j:www:pcpu:deny=10\n')
    assert rctl.conf_rules(text, 'www') == ['jail:www:memoryuse:deny=1g', 'j:www:pcpu:deny=10']
    assert rctl.update_conf(text, 'www', ['jail:www:memoryuse:deny=2147483648']) == (
        '# limits\nuser:joe:maxproc:deny=10\njail:www:memoryuse:deny=2147483648\njail:www2:pcpu:deny=5\n')
    assert rctl.update_conf('# only a comment', 'db', ['jail:db:pcpu:deny=5']) == (
        '# only a comment\njail:db:pcpu:deny=5\n')
    assert rctl.update_conf(None, 'db', []) == ''


def test_live_actions_remove_exactly_one_rule_per_filter():
    current = ['jail:www:memoryuse:deny=1073741824', 'jail:www:maxproc:log=5/process', 'jail:www:pcpu:deny=50']
    desired = ['jail:www:memoryuse:deny=2147483648', 'jail:www:pcpu:deny=50']
    assert rctl.live_actions(current, desired) == (
        ['jail:www:memoryuse:deny=/jail', 'jail:www:maxproc:log=/process'], ['jail:www:memoryuse:deny=2147483648'])
    assert rctl.live_actions(desired, desired) == ([], [])
