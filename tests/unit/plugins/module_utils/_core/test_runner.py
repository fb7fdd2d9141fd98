# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import CommandError, ParseError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.runner import CommandRunner


class FakeModule(object):
    def __init__(self, results):
        self.results = list(results)
        self.calls = []
        self.lookups = []

    def get_bin_path(self, name, required=False):
        self.lookups.append((name, required))
        return '/sbin/' + name

    def run_command(self, args, **kwargs):
        self.calls.append((args, kwargs))
        return self.results.pop(0)


def test_runs_argv_in_c_locale_without_shell():
    module = FakeModule([(0, 'out', '')])
    runner = CommandRunner(module)
    result = runner.run(['kldstat', '-v'])
    args, kwargs = module.calls[0]
    assert args == ['/sbin/kldstat', '-v']
    assert kwargs['environ_update'] == {'LANG': 'C', 'LC_ALL': 'C', 'LC_MESSAGES': 'C'}
    assert kwargs['check_rc'] is False
    assert 'use_unsafe_shell' not in kwargs
    assert (result.rc, result.stdout) == (0, 'out')
    assert runner.commands == [{'argv': ['/sbin/kldstat', '-v'], 'rc': 0}]


def test_binary_lookup_is_cached_and_overridable():
    module = FakeModule([(0, '', '')] * 3)
    runner = CommandRunner(module, executables={'jail': '/opt/jail'})
    runner.run(['kldstat'])
    runner.run(['kldstat'])
    runner.run(['jail', '-c'])
    assert module.lookups == [('kldstat', True)]
    assert module.calls[2][0] == ['/opt/jail', '-c']


def test_failure_carries_argv_rc_and_output():
    module = FakeModule([(1, '', "kldload: can't load vmmm: No such file or directory\n")])
    runner = CommandRunner(module)
    with pytest.raises(CommandError) as info:
        runner.run(['kldload', 'vmmm'], action="load kernel module 'vmmm'")
    error = info.value
    assert error.argv == ['/sbin/kldload', 'vmmm']
    assert error.rc == 1
    assert "No such file" in error.stderr
    assert str(error) == ("Failed to load kernel module 'vmmm': /sbin/kldload vmmm exited 1: "
                          "kldload: can't load vmmm: No such file or directory")
    assert error.to_fail_kwargs()['cmd'] == ['/sbin/kldload', 'vmmm']


def test_unchecked_failure_is_returned():
    runner = CommandRunner(FakeModule([(3, '', 'x')]))
    assert runner.run(['kldstat', '-q', '-m', 'vmm'], check=False).rc == 3


def test_run_json_reports_parse_errors_with_output():
    runner = CommandRunner(FakeModule([(0, '{"jail-information": [', '')]))
    with pytest.raises(ParseError) as info:
        runner.run_json(['jls', '--libxo', 'json'])
    assert info.value.output == '{"jail-information": ['
    assert 'jls --libxo json' in str(info.value)


def test_run_json_decodes():
    runner = CommandRunner(FakeModule([(0, '{"a": [1]}', '')]))
    assert runner.run_json(['jls', '--libxo', 'json']) == {'a': [1]}


def test_secrets_are_redacted_in_records_and_errors():
    module = FakeModule([(0, '', ''), (2, '', 'bad')])
    runner = CommandRunner(module, secrets=['s3cret'])
    runner.run(['tool', 'password=s3cret'])
    with pytest.raises(CommandError) as info:
        runner.run(['tool', '--key', 's3cret'])
    assert runner.commands[0]['argv'] == ['/sbin/tool', 'password=********']
    assert 's3cret' not in str(info.value)
    # the real value still reaches the command
    assert module.calls[1][0] == ['/sbin/tool', '--key', 's3cret']


def test_rejects_string_commands():
    with pytest.raises(ValueError):
        CommandRunner(FakeModule([])).run('kldstat -v')


def test_run_lookup_tells_missing_from_failed():
    module = FakeModule([(0, 'found\n', ''), (1, '', 'no such thing\n'), (2, '', 'broken\n')])
    runner = CommandRunner(module)

    def missing(result):
        return 'no such' in result.stderr

    assert runner.run_lookup(['zfs', 'get', 'x'], missing).stdout == 'found\n'
    assert runner.run_lookup(['zfs', 'get', 'x'], missing) is None
    with pytest.raises(CommandError) as info:
        runner.run_lookup(['zfs', 'get', 'x'], missing, action='read dataset x')
    assert str(info.value) == 'Failed to read dataset x: /sbin/zfs get x exited 2: broken'
    assert [c['rc'] for c in runner.commands] == [0, 1, 2]
