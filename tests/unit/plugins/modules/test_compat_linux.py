# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""compat_linux: exact commands in, exact results out; its parts planned by the kld and chroot kinds."""
from __future__ import annotations

import json
import os

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._chroot.manager import MARKER
from ansible_collections.bsd.multiplicity.plugins.modules import compat_linux
from ansible_collections.bsd.multiplicity.tests.unit.plugins.module_utils._linux.test_abi import make_userland
from ansible_collections.bsd.multiplicity.tests.unit.plugins.modules.module_harness import run_module

KERNEL = 'Id Refs Address                Size Name\n 1   38 0xffffffff80200000  1d345b0 kernel (/boot/kernel/kernel)\n' \
         '\tContains modules:\n\t\t Id Name\n\t\t 18 if_lo\n'
LINUX = (' 5    2 0xffffffff82b20000    3c4f8 linux.ko (/boot/kernel/linux.ko)\n'
         '\tContains modules:\n\t\t Id Name\n\t\t530 linuxelf\n\t\t531 linux\n'
         ' 6    1 0xffffffff82c20000    4c4f8 linux64.ko (/boot/kernel/linux64.ko)\n'
         '\tContains modules:\n\t\t Id Name\n\t\t532 linux64elf\n\t\t533 linux64\n')
MOUNTS = (('linprocfs', '/proc', 'linprocfs', 'rw'), ('linsysfs', '/sys', 'linsysfs', 'rw'),
          ('devfs', '/dev', 'devfs', 'rw'), ('fdescfs', '/dev/fd', 'fdescfs', 'rw,linrdlnk'),
          ('tmpfs', '/dev/shm', 'tmpfs', 'rw,mode=1777'))


def mount_p(root, count=0):
    lines = ''.join('%s\t%s%s\t%s\t%s\t0 0\n' % (s, root, node, t, o) for s, node, t, o in MOUNTS[:count])
    return (['/sbin/mount', '-p'], 0, 'zroot/ROOT/default\t/\tzfs\trw\t0 0\n' + lines, '')


def sysctl(osrelease=None, emul_path=None):
    pairs = (('compat.linux.osrelease', osrelease), ('compat.linux.emul_path', emul_path))
    out = ''.join('%s: %s\n' % (n, v) for n, v in pairs if v)
    return (['/sbin/sysctl', '-i', 'compat.linux.osrelease', 'compat.linux.emul_path'], 0, out, '')


def reads(kernel, kld_list):
    """What every run reads first: the kernel's modules, kld_list, the system's name."""
    return [(['/sbin/kldstat', '-v'], 0, kernel, ''), (['/sbin/sysrc', '-n', 'kld_list'], 0, kld_list + '\n', ''),
            (['/sbin/uname', '-s'], 0, 'FreeBSD\n', '')]


@pytest.fixture
def host(tmp_path):
    root = tmp_path / 'compat' / 'debian'
    root.mkdir(parents=True)
    make_userland(root)
    (root / 'etc').mkdir()
    (root / 'etc' / 'os-release').write_text('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n')
    (tmp_path / 'fstab').write_text('/dev/ada0p2\t/\tufs\trw\t1\t1\n')
    (tmp_path / 'sysctl.conf').write_text('# mine\nkern.ipc.shm_allow_removed=1\n')
    modules = tmp_path / 'kernel'
    modules.mkdir()
    for name in ('linux', 'linux64'):
        (modules / (name + '.ko')).write_text('')
    return dict(tmp=tmp_path, root=str(root), fstab=str(tmp_path / 'fstab'), sysctl=str(tmp_path / 'sysctl.conf'),
                modules=str(modules))


def params(host, **extra):
    return dict(dict(root=host['root'], fstab=host['fstab'], sysctl_conf=host['sysctl']), **extra)


def converge_commands(host, root):
    """A host with nothing of it: the modules loaded, the five mounts made (each checked where it landed)."""
    commands = reads(KERNEL, '') + [mount_p(root), sysctl(),
                                    (['/sbin/sysctl', '-n', 'kern.module_path'], 0, host['modules'] + '\n', ''),
                                    (['/sbin/kldload', 'linux'], 0, '', ''), (['/sbin/kldload', 'linux64'], 0, '', '')]
    for index, (special, node, fstype, options) in enumerate(MOUNTS):
        argv = ['/sbin/mount', '-t', fstype] + (['-o', options[3:]] if options != 'rw' else []) + [special, root + node]
        commands += [(argv, 0, '', ''), mount_p(root, index + 1)]
    return commands + [
        (['/sbin/sysctl', 'compat.linux.emul_path=%s' % root], 0, '', ''),
        (['/sbin/sysctl', '-n', 'compat.linux.osrelease'], 0, '5.15.0\n', ''),     # the ABI check, once loaded
        (['/sbin/sysrc', 'kld_list+=linux linux64'], 0, '', ''),
    ]


def test_enable_then_nothing_changes(host, monkeypatch):
    root = host['root']
    reread = reads(KERNEL + LINUX, 'linux linux64')[:2] + [mount_p(root, 5), reads('', '')[2], sysctl('5.15.0', root)]
    kind, result, ran = run_module(compat_linux.main, params(host), converge_commands(host, root) + reread,
                                   monkeypatch, diff=True)
    assert kind == 'exit' and result['changed'], result
    facts = result['compat_linux']
    assert facts['modules'] == {'linux': True, 'linux64': True}
    assert (facts['osrelease'], facts['emul_path']) == ('5.15.0', root)
    assert facts['mounts'] == [root + node for unused, node, unused, unused in MOUNTS]
    assert facts['userland'] == dict(
        exists=True, distribution='debian', version='12', pretty_name='Debian GNU/Linux 12 (bookworm)',
        libc='/usr/lib/x86_64-linux-gnu/libc.so.6', glibc='2.36', min_kernel='3.2.0',
        bootstrap={'request': {'method': 'none'}})
    fstab = open(host['fstab']).read()
    assert fstab.startswith('/dev/ada0p2\t/\tufs\trw\t1\t1\n')
    assert 'fdescfs %s/dev/fd fdescfs rw,linrdlnk 0 0\n' % root in fstab
    assert open(host['sysctl']).read() == (
        '# mine\nkern.ipc.shm_allow_removed=1\n'
        '# BEGIN compat_linux %s (managed by bsd.multiplicity)\ncompat.linux.emul_path=%s\n'
        '# END compat_linux %s (managed by bsd.multiplicity)\n' % (root, root, root))
    diff = result['diff'][-1]
    assert diff['before']['modules'] == {'linux': False, 'linux64': False} and diff['after']['mounts'] == facts['mounts']
    assert [d['before_header'] for d in result['diff'][:-1]] == [host['sysctl'], host['fstab']]

    # Nothing to do: five reads, whatever it holds.
    kind, again, ran = run_module(compat_linux.main, params(host), reads(KERNEL + LINUX, 'linux linux64') + [
        mount_p(root, 5), sysctl('5.15.0', root)], monkeypatch, diff=True)
    assert (kind, again['changed']) == ('exit', False)
    assert again['diff'][-1]['before'] == again['diff'][-1]['after']
    assert json.loads(open(os.path.join(root, MARKER)).read())['mounts'][-1] == root + '/dev/shm'


def test_an_osrelease_the_userland_cannot_run_on_fails_before_any_change(host, monkeypatch):
    root = host['root']
    kind, result, ran = run_module(compat_linux.main, params(host, osrelease='2.6.32'), reads(
        KERNEL + LINUX, 'linux linux64') + [mount_p(root, 5), sysctl('5.15.0', root)], monkeypatch, check_mode=True)
    assert kind == 'fail' and result['done'] == []
    assert 'glibc 2.36' in result['msg'] and 'needs Linux 3.2.0 or later' in result['msg']
    assert 'compat.linux.osrelease is 2.6.32' in result['msg'] and result['msg'].startswith('The Linux userland at ')

    # Warned about, it is set as declared; raised, it becomes the oldest the userland accepts, in sysctl.conf too.
    kind, result, ran = run_module(compat_linux.main, params(host, osrelease='2.6.32', abi_check='raise'), reads(
        KERNEL + LINUX, 'linux linux64') + [mount_p(root, 5), sysctl('5.15.0', root)], monkeypatch, check_mode=True)
    assert [a['argv'] for a in result['actions'] if a['verb'] == 'sysctl'] == [['sysctl', 'compat.linux.osrelease=3.2.0']]
    kind, result, ran = run_module(compat_linux.main, params(host, osrelease='2.6.32', abi_check='warn'), reads(
        KERNEL + LINUX, 'linux linux64') + [mount_p(root, 5), sysctl('5.15.0', root)], monkeypatch, check_mode=True)
    assert kind == 'exit' and any('FATAL: kernel too old' in w for w in result['warnings'])
    assert ['sysctl', 'compat.linux.osrelease=2.6.32'] in [a.get('argv') for a in result['actions']]


@pytest.mark.parametrize('extra, option', [
    (dict(osrelease='5.15'), 'osrelease'), (dict(osrelease='5.15.0 x'), 'osrelease'),
    (dict(osrelease='5.15.0=1'), 'osrelease'), (dict(modules=[]), 'modules'),
    (dict(userland=dict(source='package', package='tmux')), 'userland.package'),
    (dict(userland=dict(source='debootstrap')), 'bootstrap.suite'),
    (dict(jail=dict(name='lx', vnet=dict(addresses=['192.0.2.2/24'], configure='rc'))), 'jail.vnet.configure'),
    (dict(jail=dict(name='lx', vnet=dict(addresses=['192.0.2.2/24'], gateway='2001:db8::1'))), 'vnet.gateway'),
])
def test_bad_input_fails_before_anything_is_read(host, monkeypatch, extra, option):
    kind, result, ran = run_module(compat_linux.main, params(host, **extra), [], monkeypatch)
    assert kind == 'fail' and option in result['msg'] and ran == []


def test_absent_keeps_the_modules_while_linux_filesystems_are_mounted_elsewhere(host, monkeypatch):
    root = host['root']
    table = mount_p(root, 5)
    elsewhere = 'linprocfs\t/jails/lx/proc\tlinprocfs\trw\t0 0\n'
    table = (table[0], 0, table[2] + elsewhere, '')
    kind, result, ran = run_module(compat_linux.main, params(host, state='absent'), reads(
        KERNEL + LINUX, 'linux linux64') + [table, sysctl('5.15.0', root)], monkeypatch, check_mode=True)
    verbs = [a['verb'] for a in result['actions']]
    assert kind == 'exit' and 'unload' not in verbs and verbs.count('umount') == 5, verbs
    assert ['sysctl', 'compat.linux.emul_path=/compat/linux'] == result['actions'][0]['argv']
    assert any('/jails/lx/proc' in w and 'linux64 is kept' in w for w in result['warnings'])
