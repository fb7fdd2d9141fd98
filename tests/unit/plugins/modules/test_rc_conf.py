# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""rc_conf at module level: the file's own variables read, one locked rewrite, values that read back."""
from __future__ import annotations

import os
import subprocess

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import files
from ansible_collections.bsd.multiplicity.plugins.modules import rc_conf
from ansible_collections.bsd.multiplicity.tests.unit.plugins.modules.module_harness import run_module


def run(params, monkeypatch, **kwargs):
    return run_module(rc_conf.main, params, [], monkeypatch, **kwargs)


def test_set_add_remove_in_one_rewrite_then_idempotent(tmp_path, monkeypatch):
    path = tmp_path / 'rc.conf'
    path.write_text('# mine\nhostname="h"\njail_enable="NO"\ncloned_interfaces="lo1"\nold_var="x"\n')
    os.chmod(str(path), 0o640)
    params = dict(path=str(path), values=dict(jail_enable=True, ifconfig_bridge0='up', old_var=None),
                  list_add=dict(cloned_interfaces=['bridge0', 'lo1']))
    kind, result, ran = run(params, monkeypatch, check_mode=True, diff=True)
    assert kind == 'exit' and result['changed'] and ran == [], result
    assert result['values'] == dict(jail_enable='YES', ifconfig_bridge0='up', old_var=None,
                                    cloned_interfaces='lo1 bridge0')
    assert 'cloned_interfaces="lo1 bridge0"' in result['diff'][0]['after'] and 'old_var' not in result['diff'][0]['after']
    assert 'old_var' in path.read_text()
    rewrites = []
    original = files.atomic_write
    monkeypatch.setattr(files, 'atomic_write', lambda *a, **k: rewrites.append(a[0]) or original(*a, **k))
    kind, result, ran = run(params, monkeypatch)
    assert kind == 'exit' and result['changed'] and rewrites == [str(path)], result
    assert path.read_text() == ('# mine\nhostname="h"\njail_enable="YES"\ncloned_interfaces="lo1 bridge0"\n'
                                'ifconfig_bridge0="up"\n')
    assert os.stat(str(path)).st_mode & 0o777 == 0o640
    # sh, the file's reader, reads back what was declared.
    shown = subprocess.run(['/bin/sh', '-c', '. "$1"; printf "%s|%s" "$jail_enable" "$cloned_interfaces"', 'sh',
                            str(path)], capture_output=True, text=True, check=True).stdout
    assert shown == 'YES|lo1 bridge0'
    kind, result, ran = run(params, monkeypatch)
    assert kind == 'exit' and not result['changed'] and rewrites == [str(path)], result
    kind, result, ran = run(dict(path=str(path), list_remove=dict(cloned_interfaces='bridge0')), monkeypatch)
    assert result['changed'] and 'cloned_interfaces="lo1"' in path.read_text()


def test_loader_conf_takes_dotted_tunables_and_a_new_file_is_made(tmp_path, monkeypatch):
    path = tmp_path / 'boot' / 'loader.conf'
    path.parent.mkdir()
    kind, result, ran = run(dict(path=str(path), values={'kern.racct.enable': 1, 'vmm_load': True}), monkeypatch)
    assert kind == 'exit' and result['changed'], result
    assert path.read_text() == 'kern.racct.enable="1"\nvmm_load="YES"\n'
    kind, result, ran = run(dict(path=str(path), values={'kern.racct.enable': '1'}), monkeypatch)
    assert not result['changed']
    kind, result, ran = run(dict(path=str(tmp_path / 'rc.conf'), values={'kern.racct.enable': 1}), monkeypatch)
    assert kind == 'fail' and result['msg'].startswith('values.kern.racct.enable:'), result


def test_values_the_reader_would_not_read_back_are_refused_naming_them_before_anything(tmp_path, monkeypatch):
    path = tmp_path / 'rc.conf'
    path.write_text('a="1"\n')
    for params, where in [(dict(values=dict(x='$(reboot)')), 'values.x'),
                          (dict(values=dict(x='a"b')), 'values.x'),
                          (dict(values=dict(x='a\nmenu=evil')), 'values.x'),
                          (dict(list_add=dict(cloned_interfaces=['bridge0 evil'])), 'list_add.cloned_interfaces'),
                          (dict(values={'bad-name': 'YES'}), 'values.bad-name'),
                          (dict(values=dict(a='1'), list_add=dict(a=['2'])), 'list_add'),
                          (dict(), 'values')]:
        kind, result, ran = run(dict(params, path=str(path)), monkeypatch)
        assert kind == 'fail' and result['msg'].startswith(where + ':'), (params, result)
        assert path.read_text() == 'a="1"\n'


def test_an_edit_keeps_what_another_writer_put_in_the_file_meanwhile(tmp_path, monkeypatch):
    """The rewrite is made from the file as it is under the lock, not from the text read at plan time."""
    from ansible_collections.bsd.multiplicity.plugins.module_utils._rcconf import manager
    path = tmp_path / 'rc.conf'
    path.write_text('cloned_interfaces="lo1"\n')
    real, reads = manager.ShVars, []

    def read_then_someone_writes(text, loader=False):
        reads.append(text)
        if len(reads) == 1:
            path.write_text('cloned_interfaces="lo1 tap0"\njail_enable="YES"\n')      # a concurrent run's edit
        return real(text, loader=loader)
    monkeypatch.setattr(manager, 'ShVars', read_then_someone_writes)
    kind, result, ran = run(dict(path=str(path), list_add=dict(cloned_interfaces=['bridge0'])), monkeypatch)
    assert kind == 'exit' and result['changed'], result
    assert path.read_text() == 'cloned_interfaces="lo1 tap0 bridge0"\njail_enable="YES"\n'


def test_defaults_keep_the_operators_value_and_an_empty_list_add_changes_nothing(tmp_path, monkeypatch):
    path = tmp_path / 'rc.conf'
    path.write_text('ifconfig_bridge0="addm em0 up"\n')
    params = dict(path=str(path), defaults=dict(ifconfig_bridge0='up', ifconfig_bridge1='up'),
                  list_add=dict(cloned_interfaces=[]))
    kind, result, ran = run(params, monkeypatch)
    assert kind == 'exit' and result['changed'], result
    assert path.read_text() == 'ifconfig_bridge0="addm em0 up"\nifconfig_bridge1="up"\n'
    assert result['values'] == dict(ifconfig_bridge0='addm em0 up', ifconfig_bridge1='up', cloned_interfaces=None)
    kind, result, ran = run(params, monkeypatch)
    assert not result['changed'], result
