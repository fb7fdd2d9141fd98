# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module-level cases: exact command sequences in, exact results out."""
from __future__ import annotations

import json

import pytest

from ansible_collections.bsd.multiplicity.plugins.modules import kld
from ansible_collections.bsd.multiplicity.tests.unit.plugins.modules.module_harness import run_module

KERNEL = 'Id Refs Address                Size Name\n 1   38 0xffffffff80200000  1d345b0 kernel (/boot/kernel/kernel)\n' \
         '\tContains modules:\n\t\t Id Name\n\t\t 18 if_lo\n'
VMM = ' 3    1 0xffffffff82b20000    3c4f8 vmm.ko (/boot/kernel/vmm.ko)\n' \
      '\tContains modules:\n\t\t Id Name\n\t\t520 vmm\n'


def run(params, commands, monkeypatch, check_mode=False, diff=False):
    return run_module(kld.main, params, commands, monkeypatch, check_mode=check_mode, diff=diff)


@pytest.fixture
def module_path(tmp_path):
    kernel = tmp_path / 'kernel'
    kernel.mkdir()
    for name in ('vmm', 'nmdm', 'if_bridge'):
        (kernel / (name + '.ko')).write_text('')
    return str(kernel)


def test_load_and_persist_in_kld_list(monkeypatch, module_path):
    kind, result, ran = run({'name': ['vmm']}, [
        (['/sbin/kldstat', '-v'], 0, KERNEL, ''),
        (['/sbin/sysrc', '-n', 'kld_list'], 0, 'nmdm\n', ''),
        (['/sbin/sysctl', '-n', 'kern.module_path'], 0, module_path + ';/nonexistent\n', ''),
        (['/sbin/kldload', 'vmm'], 0, '', ''),
        (['/sbin/sysrc', 'kld_list+=vmm'], 0, 'kld_list: nmdm -> nmdm vmm\n', ''),
        (['/sbin/kldstat', '-v'], 0, KERNEL + VMM, ''),
        (['/sbin/sysrc', '-n', 'kld_list'], 0, 'nmdm vmm\n', ''),
    ], monkeypatch, diff=True)
    assert kind == 'exit'
    assert result['changed'] is True
    assert result['diff'] == {'before': {'loaded': [], 'kld_list': ['nmdm']},
                              'after': {'loaded': ['vmm'], 'kld_list': ['nmdm', 'vmm']}}
    assert result['modules']['vmm'] == {'loaded': True, 'file': 'vmm.ko', 'id': 3, 'refs': 1,
                                        'path': '/boot/kernel/vmm.ko', 'compiled_in': False, 'in_kld_list': True}
    assert result['kld_list'] == ['nmdm', 'vmm']
    assert 'commands' not in result and 'actions' not in result


def test_no_change_path_is_two_reads(monkeypatch):
    kind, result, ran = run({'name': ['vmm.ko', 'if_lo']}, [
        (['/sbin/kldstat', '-v'], 0, KERNEL + VMM, ''),
        (['/sbin/sysrc', '-n', 'kld_list'], 0, 'vmm if_lo\n', ''),
    ], monkeypatch, diff=True)
    assert (kind, result['changed']) == ('exit', False)
    assert result['diff'] == {'before': {}, 'after': {}}
    assert result['modules']['if_lo']['compiled_in'] is True


def test_check_mode_predicts_and_runs_only_reads(monkeypatch, module_path):
    kind, result, ran = run({'name': ['vmm', 'nmdm']}, [
        (['/sbin/kldstat', '-v'], 0, KERNEL, ''),
        (['/sbin/sysrc', '-n', 'kld_list'], 0, '\n', ''),
        (['/sbin/sysctl', '-n', 'kern.module_path'], 0, module_path + '\n', ''),
    ], monkeypatch, check_mode=True)
    assert result['changed'] is True
    planned = [a['argv'] for a in result['actions']]
    assert planned == [['kldload', 'vmm'], ['kldload', 'nmdm'], ['sysrc', 'kld_list+=vmm nmdm']]
    assert [c['argv'][0] for c in result['commands']] == ['/sbin/kldstat', '/sbin/sysrc', '/sbin/sysctl']


def test_missing_module_fails_before_any_change(monkeypatch, module_path):
    kind, result, ran = run({'name': ['vmmm']}, [
        (['/sbin/kldstat', '-v'], 0, KERNEL, ''),
        (['/sbin/sysrc', '-n', 'kld_list'], 0, '\n', ''),
        (['/sbin/sysctl', '-n', 'kern.module_path'], 0, module_path + '\n', ''),
    ], monkeypatch)
    assert kind == 'fail'
    assert result['msg'] == "Cannot load kernel module 'vmmm': no vmmm.ko in kern.module_path (%s)" % module_path


@pytest.mark.parametrize('name', ['../evil', '/boot/kernel/vmm.ko', 'a b', 'vmm;reboot', ''])
def test_bad_names_fail_naming_the_parameter_and_run_nothing(monkeypatch, name):
    kind, result, ran = run({'name': [name]}, [], monkeypatch)
    assert kind == 'fail'
    assert result['msg'].startswith('name: ')
    assert ran == []


def test_absent_unloads_and_cleans_both_boot_configs(monkeypatch, tmp_path):
    loader = tmp_path / 'loader.conf'
    loader.write_text('# hand comment\nvmm_load="YES"\nnmdm_load="NO"\n')
    kind, result, ran = run({'name': ['vmm', 'nmdm'], 'state': 'absent', 'loader_conf': str(loader)}, [
        (['/sbin/kldstat', '-v'], 0, KERNEL + VMM, ''),
        (['/sbin/sysrc', '-n', 'kld_list'], 0, 'if_bridge vmm /boot/modules/vmm.ko\n', ''),
        (['/sbin/kldunload', 'vmm.ko'], 0, '', ''),
        (['/sbin/sysrc', 'kld_list-=vmm /boot/modules/vmm.ko'], 0, '', ''),
        (['/sbin/sysrc', '-f', str(loader), '-x', 'vmm_load'], 0, '', ''),
        (['/sbin/kldstat', '-v'], 0, KERNEL, ''),
        (['/sbin/sysrc', '-n', 'kld_list'], 0, 'if_bridge\n', ''),
    ], monkeypatch, diff=True)
    assert result['changed'] is True
    assert result['diff']['before']['loader_conf'] == {'vmm_load': 'YES', 'nmdm_load': 'NO'}
    assert result['diff']['after']['loader_conf'] == {'vmm_load': None, 'nmdm_load': 'NO'}


def test_absent_with_persistent_none_touches_no_boot_config(monkeypatch):
    kind, result, ran = run({'name': ['vmm'], 'state': 'absent', 'persistent': 'none'}, [
        (['/sbin/kldstat', '-v'], 0, KERNEL + VMM, ''),
        (['/sbin/kldunload', 'vmm.ko'], 0, '', ''),
        (['/sbin/kldstat', '-v'], 0, KERNEL, ''),
    ], monkeypatch)
    assert result['changed'] is True and 'kld_list' not in result


def test_compiled_in_module_cannot_be_absent(monkeypatch):
    kind, result, ran = run({'name': ['if_lo'], 'state': 'absent', 'persistent': 'none'}, [
        (['/sbin/kldstat', '-v'], 0, KERNEL, ''),
    ], monkeypatch)
    assert kind == 'fail'
    assert result['msg'] == "Cannot unload kernel module 'if_lo': it is part of kernel, not a file of its own"


def test_loader_conf_persistence(monkeypatch, tmp_path, module_path):
    loader = tmp_path / 'loader.conf'
    loader.write_text('vmm_load="NO"\n')
    kind, result, ran = run({'name': ['vmm'], 'persistent': 'loader_conf', 'loader_conf': str(loader)}, [
        (['/sbin/kldstat', '-v'], 0, KERNEL + VMM, ''),
        (['/sbin/sysrc', '-f', str(loader), 'vmm_load=YES'], 0, '', ''),
        (['/sbin/kldstat', '-v'], 0, KERNEL + VMM, ''),
    ], monkeypatch)
    assert result['changed'] is True


def test_command_failure_names_command_rc_and_stderr(monkeypatch, module_path):
    kind, result, ran = run({'name': ['vmm'], 'persistent': 'none'}, [
        (['/sbin/kldstat', '-v'], 0, KERNEL, ''),
        (['/sbin/sysctl', '-n', 'kern.module_path'], 0, module_path + '\n', ''),
        (['/sbin/kldload', 'vmm'], 1, '',
         'kldload: an error occurred while loading module vmm. Please check dmesg(8) for more details.\n'),
    ], monkeypatch)
    assert kind == 'fail'
    assert result['cmd'] == ['/sbin/kldload', 'vmm'] and result['rc'] == 1
    assert result['msg'].startswith("Failed to load kernel module 'vmm': /sbin/kldload vmm exited 1: kldload: an error")
    assert result['commands'][-1] == {'argv': ['/sbin/kldload', 'vmm'], 'rc': 1}


def test_unparseable_kldstat_fails_with_output(monkeypatch):
    kind, result, ran = run({'name': ['vmm']}, [
        (['/sbin/kldstat', '-v'], 0, 'Id Refs\nsomething else\n', ''),
    ], monkeypatch)
    assert kind == 'fail' and result['output'] == 'Id Refs\nsomething else\n'
    json.dumps(result)
