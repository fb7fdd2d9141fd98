# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import mounts as mnt
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParameterError

DECLARED = [
    dict(type='devfs', ruleset=4),
    dict(type='nullfs', source='/srv/data/', target='/data', read_only=True),
    dict(type='tmpfs', target='/tmp', options=['size=1g']),
    dict(type='procfs'),
]


def test_freebsd_commands_and_fstab_lines():
    entries = mnt.normalize(DECLARED, mnt.FREEBSD, '/c')
    assert [mnt.mount_argv(e, mnt.FREEBSD) for e in entries] == [
        ['mount', '-t', 'devfs', '-o', 'ruleset=4', 'devfs', '/c/dev'],
        ['mount', '-t', 'nullfs', '-o', 'ro', '/srv/data', '/c/data'],
        ['mount', '-t', 'tmpfs', '-o', 'size=1g', 'tmpfs', '/c/tmp'],
        ['mount', '-t', 'procfs', 'proc', '/c/proc'],
    ]
    assert [mnt.fstab_line(e, mnt.FREEBSD) for e in entries] == [
        'devfs /c/dev devfs rw,ruleset=4 0 0', '/srv/data /c/data nullfs ro 0 0', 'tmpfs /c/tmp tmpfs rw,size=1g 0 0',
        'proc /c/proc procfs rw 0 0']


def test_linux_commands_and_fstab_lines():
    entries = mnt.normalize([dict(type='devfs'), dict(type='bind', source='/srv', target='/srv', read_only=True),
                             dict(type='linprocfs', target='/proc'), dict(type='sysfs')], mnt.LINUX, '/c')
    assert [mnt.mount_argv(e, mnt.LINUX) for e in entries] == [
        ['mount', '-o', 'bind', '/dev', '/c/dev'], ['mount', '-o', 'bind,ro', '/srv', '/c/srv'],
        ['mount', '-t', 'proc', 'proc', '/c/proc'], ['mount', '-t', 'sysfs', 'sysfs', '/c/sys']]
    assert mnt.fstab_line(entries[1], mnt.LINUX) == '/srv /c/srv none bind,ro 0 0'
    assert mnt.fstab_line(entries[2], mnt.LINUX) == 'proc /c/proc proc defaults 0 0'


@pytest.mark.parametrize('platform, entry, parameter', [
    (mnt.LINUX, dict(type='fdescfs'), 'mounts[0].type'),
    (mnt.FREEBSD, dict(type='devpts'), 'mounts[0].type'),
    (mnt.LINUX, dict(type='devfs', ruleset=4), 'mounts[0].ruleset'),
    (mnt.FREEBSD, dict(type='nullfs', target='/x'), 'mounts[0].source'),
    (mnt.FREEBSD, dict(type='nullfs', source='/a b', target='/x'), 'mounts[0].source'),
    (mnt.FREEBSD, dict(type='tmpfs', target='/x/../../etc'), 'mounts[0].target'),
    (mnt.FREEBSD, dict(type='tmpfs', target='x'), 'mounts[0].target'),
    (mnt.FREEBSD, dict(type='tmpfs', source='/x'), 'mounts[0].source'),
    (mnt.FREEBSD, dict(type='tmpfs', options=['size=1g,exec']), 'mounts[0].options'),
    (mnt.FREEBSD, dict(type='nullfs', source='/x', target='/', options=[]), None),
])
def test_bad_mounts_name_the_parameter(platform, entry, parameter):
    if parameter is None:
        assert mnt.normalize([entry], platform, '/c')[0]['node'] == '/c'
        return
    with pytest.raises(ParameterError) as exc:
        mnt.normalize([entry], platform, '/c')
    assert exc.value.parameter == parameter


def test_duplicate_targets_are_refused():
    with pytest.raises(ParameterError, match='declared twice'):
        mnt.normalize([dict(type='tmpfs'), dict(type='tmpfs', target='/tmp/')], mnt.FREEBSD, '/c')


def test_mount_tables_and_satisfaction():
    freebsd = mnt.parse_mount_p('zroot/ROOT/default\t/\tzfs\trw\t0 0\n/srv/data\t\t/c/data\t\tnullfs\tro\t\t0 0\n'
                                'devfs\t\t/c/dev\t\tdevfs\trw\t\t0 0\n')
    entries = mnt.normalize(DECLARED[:2], mnt.FREEBSD, '/c')
    assert [m['node'] for m in mnt.below(freebsd, '/c')] == ['/c/data', '/c/dev']
    assert mnt.satisfied(entries[0], mnt.last_on(freebsd, '/c/dev'), mnt.FREEBSD)
    assert mnt.satisfied(entries[1], mnt.last_on(freebsd, '/c/data'), mnt.FREEBSD)
    assert not mnt.satisfied(dict(entries[1], source='/other'), mnt.last_on(freebsd, '/c/data'), mnt.FREEBSD)
    assert not mnt.satisfied(dict(entries[1], read_only=False), mnt.last_on(freebsd, '/c/data'), mnt.FREEBSD)
    assert not mnt.satisfied(entries[0], None, mnt.FREEBSD)
    linux = mnt.parse_mountinfo(
        '22 1 0:21 / /proc rw,nosuid - proc proc rw\n'
        '90 22 0:21 / /c/proc rw,relatime shared:5 - proc proc rw\n'
        '91 22 8:1 /srv /c/my\\040srv ro,relatime - ext4 /dev/sda1 rw\n')
    assert [m['node'] for m in mnt.below(linux, '/c')] == ['/c/proc', '/c/my srv']
    proc = mnt.normalize([dict(type='proc')], mnt.LINUX, '/c')[0]
    bind = mnt.normalize([dict(type='bind', source='/srv', target='/my_srv', read_only=True)], mnt.LINUX, '/c')[0]
    assert mnt.satisfied(proc, mnt.last_on(linux, '/c/proc'), mnt.LINUX)
    assert mnt.satisfied(bind, dict(mnt.last_on(linux, '/c/my srv')), mnt.LINUX)
    assert not mnt.satisfied(dict(proc, type='sysfs'), mnt.last_on(linux, '/c/proc'), mnt.LINUX)


def test_an_owners_fstab_block_is_set_replaced_and_removed_alone():
    other = '# mine\n/dev/ada0p2\t/\tufs\trw\t1\t1\n'
    edit = mnt.fstab_edit('chroot /c', ['tmpfs /c/tmp tmpfs rw 0 0'])
    text = edit(other)
    assert text.startswith(other) and 'tmpfs /c/tmp tmpfs rw 0 0\n' in text and edit(text) == text
    replaced = mnt.fstab_edit('chroot /c', ['devfs /c/dev devfs rw 0 0'])(text)
    assert 'tmpfs' not in replaced and 'devfs /c/dev' in replaced and replaced.startswith(other)
    assert mnt.fstab_edit('chroot /c', [])(replaced) == other
    assert mnt.fstab_edit('chroot /c', [])(None) is None      # no file, nothing to write


def test_an_earlier_owners_block_is_adopted_kept_while_it_holds_and_replaced_in_place():
    old = '# a\n# BEGIN bsd.multiplicity.chroot_env /c (managed by bsd.multiplicity)\n' \
          'tmpfs /c/tmp tmpfs rw 0 0\n# END bsd.multiplicity.chroot_env /c (managed by bsd.multiplicity)\n# z\n'
    adopt = ['bsd.multiplicity.chroot_env /c']
    assert mnt.fstab_edit('chroot /c', ['tmpfs /c/tmp tmpfs rw 0 0'], adopt=adopt)(old) == old
    new = mnt.fstab_edit('chroot /c', ['devfs /c/dev devfs rw 0 0'], adopt=adopt)(old)
    assert new == ('# a\n# BEGIN chroot /c (managed by bsd.multiplicity)\ndevfs /c/dev devfs rw 0 0\n'
                   '# END chroot /c (managed by bsd.multiplicity)\n# z\n')
    assert mnt.fstab_edit('chroot /c', [], adopt=adopt)(old) == '# a\n# z\n'
