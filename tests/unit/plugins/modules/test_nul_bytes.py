# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A NUL in any option is refused naming the option, before any command runs (never an unexpected
ValueError from an os call)."""
from __future__ import annotations

import pytest

from ansible_collections.bsd.multiplicity.plugins.modules import chroot_env, jail, kld, topology, xen_domu, xen_domu_info
from ansible_collections.bsd.multiplicity.tests.unit.plugins.modules.module_harness import run_module

NUL = '\x00'


@pytest.mark.parametrize('main, params, option', [
    (chroot_env.main, dict(path='/srv/c' + NUL), 'path'),
    (chroot_env.main, dict(path='/srv/c', fstab='/etc/fs' + NUL + 'tab'), 'fstab'),
    (chroot_env.main, dict(path='/srv/c', mounts=[dict(type='nullfs', source='/usr' + NUL, target='/usr')]),
     'mounts[0].source'),
    (jail.main, dict(name='web', path='/j/web', config_file='/etc/jail' + NUL + '.conf'), 'config_file'),
    (kld.main, dict(name='vmm', loader_conf='/boot/loader' + NUL + '.conf'), 'loader_conf'),
    (xen_domu.main, dict(name='guest', config_dir='/etc/xen' + NUL, memory=256), 'config_dir'),
    (xen_domu_info.main, dict(config_dir='/etc/xen' + NUL), 'config_dir'),
])
def test_a_nul_byte_is_refused_naming_the_option(main, params, option, monkeypatch):
    kind, result, ran = run_module(main, params, [], monkeypatch)
    assert kind == 'fail' and ran == [], result
    assert result['msg'].startswith(option + ': contains a NUL byte'), result['msg']
    assert 'Unexpected' not in result['msg']


def test_a_nul_byte_in_a_topology_guest_names_the_guest_and_option(monkeypatch):
    declared = dict(chroots=[dict(path='/srv/a' + NUL)])
    kind, result, ran = run_module(topology.main, declared, [], monkeypatch)
    assert kind == 'fail' and ran == [], result
    assert result['msg'].startswith('chroots[/srv/a\\x00].path: contains a NUL byte'), result['msg']
    assert NUL not in result['msg']
    kind, result, ran = run_module(topology.main, dict(jails=[dict(name='web', path='/j/w' + NUL)]), [], monkeypatch)
    assert kind == 'fail' and result['msg'].startswith('jails[web].path: contains a NUL byte') and ran == []
