# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's main() against an exact, scripted list of host commands."""
from __future__ import annotations

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class Exit(Exception):
    def __init__(self, kind, result):
        super().__init__(kind)
        self.kind = kind
        self.result = result


def run_module(main, params, commands, monkeypatch, check_mode=False, diff=False):
    """Return (kind, result, ran); ``commands`` is the exact list of (argv, rc, stdout, stderr) expected,
    with the expected standard input after them where it matters.

    Programs resolve to /sbin/NAME; every command must run in the C locale.
    """
    expected = list(commands)
    ran = []
    warned = []

    def run_command(self, args, **kwargs):
        assert kwargs['environ_update']['LANG'] == 'C'
        ran.append(list(args))
        if not expected:
            pytest.fail('unexpected command %r' % (args,))
        wanted = expected.pop(0)
        argv, rc, out, err = wanted[:4]
        if list(args) != argv:
            # pytest.fail, not assert: the module's own catch-all must not turn this into a module failure.
            pytest.fail('expected command %r, got %r' % (argv, list(args)))
        if len(wanted) > 4 and kwargs.get('data') != wanted[4]:
            pytest.fail('expected %r on the standard input of %r, got %r' % (wanted[4], argv, kwargs.get('data')))
        if callable(rc):
            return rc(list(args), kwargs.get('data'))      # a command with effects on the test's files
        return rc, out, err

    def with_warnings(result):
        # Modules warn through module.warn(); Ansible shows those as the result's warnings.
        assert 'warnings' not in result, 'warnings must go through module.warn(), not the result'
        if warned:
            result['warnings'] = list(warned)
        return result

    def returned(self, result):
        # As AnsibleModule returns it: the invocation added, every no_log value masked.
        result = dict(result, invocation=dict(module_args=self.params))
        return with_warnings(basic.remove_values(result, self.no_log_values))

    def exit_json(self, **result):
        raise Exit('exit', returned(self, result))

    def fail_json(self, **result):
        raise Exit('fail', returned(self, result))

    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, required=False: '/sbin/' + name)
    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, warning: warned.append(warning))
    with patch_module_args(dict(params, _ansible_check_mode=check_mode, _ansible_diff=diff)):
        with pytest.raises(Exit) as info:
            main()
    assert expected == [], 'commands not run: %r (result: %r)' % (expected, info.value.result)
    return info.value.kind, info.value.result, ran


def jail_files_in(tmp_path, monkeypatch):
    """Point the jail modules' host files (jail.conf, jail.conf.d, rctl.conf, pending records) into
    ``tmp_path``; returns the etc directory."""
    from ansible_collections.bsd.multiplicity.plugins.module_utils._core import pending
    from ansible_collections.bsd.multiplicity.plugins.module_utils._jail import config, rctl
    etc = tmp_path / 'etc'
    (etc / 'jail.conf.d').mkdir(parents=True)
    monkeypatch.setattr(config, 'CONF_D', str(etc / 'jail.conf.d'))
    monkeypatch.setattr(config, 'SHARED_CONF', str(etc / 'jail.conf'))
    monkeypatch.setattr(config, 'config_candidates', lambda name: [
        str(etc / ('jail.%s.conf' % name)), str(etc / 'jail.conf.d' / ('%s.conf' % name)), str(etc / 'jail.conf')])
    monkeypatch.setattr(pending, 'PENDING_DIR', str(tmp_path))
    monkeypatch.setattr(rctl, 'RCTL_CONF', str(etc / 'rctl.conf'))
    return etc
