# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""chroot_env at module level on a FreeBSD host: exact commands in, files and results out."""
from __future__ import annotations

import hashlib
import json
import os
import tarfile

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._chroot import manager
from ansible_collections.bsd.multiplicity.plugins.modules import chroot_env
from ansible_collections.bsd.multiplicity.tests.unit.plugins.modules.module_harness import run_module

UNAME = (['/sbin/uname', '-s'], 0, 'FreeBSD\n', '')


def mount_p(*lines):
    return (['/sbin/mount', '-p'], 0, 'zroot/ROOT/default\t/\tzfs\trw\t0 0\n' + ''.join(l + '\n' for l in lines), '')


@pytest.fixture
def host(tmp_path):
    release = tmp_path / 'dist'
    (release / 'tree' / 'bin').mkdir(parents=True)
    (release / 'tree' / 'bin' / 'freebsd-version').write_text('USERLAND_VERSION="14.3-RELEASE"\n')
    with tarfile.open(str(release / 'base.txz'), 'w:xz') as archive:
        archive.add(str(release / 'tree' / 'bin'), arcname='bin')
    digest = hashlib.sha256((release / 'base.txz').read_bytes()).hexdigest()
    (release / 'MANIFEST').write_text('base.txz\t%s\t1\tbase\t"Base"\ton\n' % digest)
    (tmp_path / 'fstab').write_text('# Device\tMountpoint\tFStype\tOptions\tDump\tPass#\n/dev/ada0p2\t/\tufs\trw\t1\t1\n')
    return dict(root=tmp_path, path=str(tmp_path / 'chroots' / 'build'), archive=str(release / 'base.txz'),
                fstab=str(tmp_path / 'fstab'))


def params(host, **extra):
    result = dict(path=host['path'], fstab=host['fstab'],
                  bootstrap=dict(method='archives', archives=[host['archive']]),
                  mounts=[dict(type='devfs', ruleset=4), dict(type='tmpfs', target='/tmp')])
    result.update(extra)
    return result


def test_bootstrap_mount_persist_then_idempotent(host, monkeypatch):
    path = host['path']
    kind, result, ran = run_module(chroot_env.main, params(host), [
        UNAME, mount_p(),
        (['/sbin/tar', '-xpf', host['archive'], '-C', path], 0, '', ''),
        (['/sbin/mount', '-t', 'devfs', '-o', 'ruleset=4', 'devfs', path + '/dev'], 0, '', ''),
        mount_p('devfs\t%s/dev\tdevfs\trw\t0 0' % path),        # where each mount landed, read after it
        (['/sbin/mount', '-t', 'tmpfs', 'tmpfs', path + '/tmp'], 0, '', ''),
        mount_p('devfs\t%s/dev\tdevfs\trw\t0 0' % path, 'tmpfs\t%s/tmp\ttmpfs\trw\t0 0' % path),
        mount_p('devfs\t%s/dev\tdevfs\trw\t0 0' % path, 'tmpfs\t%s/tmp\ttmpfs\trw\t0 0' % path),
    ], monkeypatch, diff=True)
    assert kind == 'exit' and result['changed'], result
    fstab = open(host['fstab']).read()
    assert fstab.startswith('# Device\tMountpoint') and 'devfs %s/dev devfs rw,ruleset=4 0 0\n' % path in fstab
    marker = json.loads(open(os.path.join(path, manager.MARKER)).read())
    assert marker['bootstrap']['request'] == dict(method='archives', archives=[host['archive']])
    assert marker['mounts'] == [path + '/dev', path + '/tmp']
    assert result['chroot']['mounts'] == [path + '/dev', path + '/tmp']
    assert result['diff'][0]['before_header'] == host['fstab']
    # Extracting with a mocked tar made nothing, so fake the userland for os_release.
    os.makedirs(os.path.join(path, 'bin'))
    with open(os.path.join(path, 'bin', 'freebsd-version'), 'w') as handle:
        handle.write('USERLAND_VERSION="14.3-RELEASE"\n')
    for check_mode in (True, False):
        kind, result, ran = run_module(chroot_env.main, params(host), [
            UNAME, mount_p('devfs\t%s/dev\tdevfs\trw\t0 0' % path, 'tmpfs\t%s/tmp\ttmpfs\trw\t0 0' % path)],
            monkeypatch, check_mode=check_mode, diff=True)
        assert not result['changed'] and result['chroot']['os_release'] == 'FreeBSD 14.3-RELEASE'
        # Unchanged: the same on both sides, in check mode as in the real run.
        assert [d['before'] == d['after'] for d in result['diff']] == [True], result['diff']
    # A different request is reported, not applied.
    kind, result, ran = run_module(chroot_env.main, params(host, bootstrap=dict(method='copy', source='/usr/src')), [
        UNAME, mount_p('devfs\t%s/dev\tdevfs\trw\t0 0' % path, 'tmpfs\t%s/tmp\ttmpfs\trw\t0 0' % path)],
        monkeypatch)
    assert not result['changed'] and result['bootstrap_changed'] and 'not applied' in result['warnings'][0]
    # With force it is made again: unmounted, emptied, copied, mounted (check mode: nothing changes).
    forced = params(host, bootstrap=dict(method='copy', source=str(host['root'] / 'dist')), force=True)
    kind, result, ran = run_module(chroot_env.main, forced, [
        UNAME, mount_p('devfs\t%s/dev\tdevfs\trw\t0 0' % path, 'tmpfs\t%s/tmp\ttmpfs\trw\t0 0' % path)],
        monkeypatch, check_mode=True)
    assert [(a['verb'], a.get('argv', [None])[-1]) for a in result['actions']] == [
        ('umount', path + '/tmp'), ('umount', path + '/dev'), ('clean', None), ('copy', path),
        ('mkdir', None), ('mount', path + '/dev'), ('mkdir', None), ('mount', path + '/tmp'), ('marker', None)]
    assert 'made again' in result['warnings'][0] and os.path.isdir(os.path.join(path, 'bin'))
    zfs = params(host, bootstrap=dict(method='zfs_clone', template='zroot/t@s', dataset='zroot/c'), force=True)
    kind, result, ran = run_module(chroot_env.main, zfs, [
        UNAME, mount_p('devfs\t%s/dev\tdevfs\trw\t0 0' % path, 'tmpfs\t%s/tmp\ttmpfs\trw\t0 0' % path)],
        monkeypatch, check_mode=True)
    assert kind == 'fail' and 'cannot make a ZFS clone again' in result['msg']
    # Dropping a mount unmounts it; absent unmounts the rest deepest first and keeps the files.
    kind, result, ran = run_module(chroot_env.main, params(host, mounts=[dict(type='devfs', ruleset=4)]), [
        UNAME, mount_p('devfs\t%s/dev\tdevfs\trw\t0 0' % path, 'tmpfs\t%s/tmp\ttmpfs\trw\t0 0' % path),
        (['/sbin/umount', path + '/tmp'], 0, '', ''),
        mount_p('devfs\t%s/dev\tdevfs\trw\t0 0' % path)], monkeypatch)
    assert result['changed'] and 'tmpfs' not in open(host['fstab']).read()
    kind, result, ran = run_module(chroot_env.main, dict(path=path, fstab=host['fstab'], state='absent'), [
        UNAME, mount_p('devfs\t%s/dev\tdevfs\trw\t0 0' % path, 'fdescfs\t%s/dev/fd\tfdescfs\trw\t0 0' % path),
        (['/sbin/umount', path + '/dev/fd'], 0, '', ''), (['/sbin/umount', path + '/dev'], 0, '', ''),
        mount_p()], monkeypatch)
    assert result['changed'] and os.path.isdir(os.path.join(path, 'bin'))
    # The marker stays with the userland, saying that nothing is mounted.
    assert json.loads(open(os.path.join(path, manager.MARKER)).read())['mounts'] == []
    assert 'bsd.multiplicity' not in open(host['fstab']).read()
    kind, result, ran = run_module(chroot_env.main, dict(path=path, fstab=host['fstab'], state='absent', purge=True),
                                   [UNAME, mount_p(), mount_p()], monkeypatch)
    assert result['changed'] and not os.path.exists(path)


def test_check_mode_verifies_archives_and_changes_nothing(host, monkeypatch):
    kind, result, ran = run_module(chroot_env.main, params(host), [UNAME, mount_p()], monkeypatch, check_mode=True)
    assert result['changed'] and [a['verb'] for a in result['actions']] == [
        'mkdir', 'extract', 'mkdir', 'mount', 'mkdir', 'mount', 'marker', 'fstab']
    assert not os.path.exists(host['path']) and 'bsd.multiplicity' not in open(host['fstab']).read()
    bad = params(host, bootstrap=dict(method='archives', archives=[host['archive']],
                                      checksums={'base.txz': '0' * 64}))
    kind, result, ran = run_module(chroot_env.main, bad, [UNAME, mount_p()], monkeypatch, check_mode=True)
    assert kind == 'fail' and 'does not match' in result['msg']


def test_existing_files_without_marker_are_not_bootstrapped_over(host, monkeypatch):
    os.makedirs(os.path.join(host['path'], 'etc'))
    kind, result, ran = run_module(chroot_env.main, params(host), [UNAME, mount_p()], monkeypatch)
    assert kind == 'fail' and 'not empty' in result['msg'] and 'method=none' in result['msg']
    kind, result, ran = run_module(chroot_env.main, params(host, bootstrap=dict(method='none'), mounts=[]),
                                   [UNAME, mount_p(), mount_p()], monkeypatch)
    assert result['changed'] and result['chroot']['bootstrap'] == dict(request=dict(method='none'))


def test_other_methods_build_their_commands(host, monkeypatch):
    path = host['path']
    debootstrap = dict(method='debootstrap', suite='bookworm', packages=['python3'], options=['--arch=amd64'],
                       mirror='http://deb.debian.org/debian')
    kind, result, ran = run_module(chroot_env.main, params(host, bootstrap=debootstrap, mounts=[]),
                                   [UNAME, mount_p()], monkeypatch, check_mode=True)
    assert result['actions'][0]['argv'] == ['/sbin/mmdebstrap', '--variant=minbase', '--include=python3',
                                            '--arch=amd64', 'bookworm', path, 'http://deb.debian.org/debian']
    clone = dict(method='zfs_clone', template='zroot/t@base', dataset='zroot/chroots/build')
    snapshot = ['/sbin/zfs', 'list', '-H', '-o', 'name', '-t', 'snapshot', 'zroot/t@base']
    kind, result, ran = run_module(chroot_env.main, params(host, bootstrap=clone, mounts=[]), [
        UNAME, mount_p(), (snapshot, 1, '', "cannot open 'zroot/t@base': dataset does not exist\n")],
        monkeypatch, check_mode=True)
    assert kind == 'fail' and 'snapshot zroot/t@base does not exist' in result['msg']
    kind, result, ran = run_module(chroot_env.main, params(host, bootstrap=clone, mounts=[]),
                                   [UNAME, mount_p(), (snapshot, 0, 'zroot/t@base\n', '')], monkeypatch,
                                   check_mode=True)
    assert result['actions'][0]['argv'] == ['zfs', 'clone', '-p', '-o', 'mountpoint=' + path, 'zroot/t@base',
                                            'zroot/chroots/build']
    copy = dict(method='copy', source=str(host['root'] / 'dist' / 'tree'))
    kind, result, ran = run_module(chroot_env.main, params(host, bootstrap=copy, mounts=[]),
                                   [UNAME, mount_p()], monkeypatch, check_mode=True)
    assert result['actions'][1]['argv'] == ['cp', '-Rp', copy['source'] + '/.', path]


@pytest.mark.parametrize('args, parameter', [
    (dict(path='/'), 'path'), (dict(path='/usr'), 'path'), (dict(path='/var'), 'path'),
    (dict(path='relative'), 'path'), (dict(path='/srv/../usr'), 'path'),
    (dict(path='/srv/c', bootstrap=dict(method='archives')), 'bootstrap.archives'),
    (dict(path='/srv/c', bootstrap=dict(method='archives', archives=['base.txz'])), 'bootstrap.archives'),
    (dict(path='/srv/c', bootstrap=dict(method='archives', archives=['https://x/base.txz'])), 'bootstrap.checksums'),
    (dict(path='/srv/c', bootstrap=dict(method='archives', archives=['/b.txz'], checksums={'b.txz': 'x'})),
     'bootstrap.checksums'),
    (dict(path='/srv/c', bootstrap=dict(method='debootstrap')), 'bootstrap.suite'),
    (dict(path='/srv/c', bootstrap=dict(method='copy')), 'bootstrap.source'),
    (dict(path='/srv/c', bootstrap=dict(method='zfs_clone', template='t')), 'bootstrap.template'),
    (dict(path='/srv/c', bootstrap=dict(method='zfs_clone', template='p/t@s')), 'bootstrap.dataset'),
])
def test_bad_input_fails_before_any_command(args, parameter, monkeypatch):
    kind, result, ran = run_module(chroot_env.main, args, [], monkeypatch)
    assert kind == 'fail' and result['msg'].startswith(parameter + ':') and ran == []


def test_symlinked_path_is_compared_resolved_and_guest_symlinks_are_refused(host, monkeypatch):
    """The mount table names the resolved path: a chroot reached through a symlink is not mounted
    twice; a mount point the guest turned into a symlink is refused, not followed."""
    real = host['root'] / 'real'
    (real / 'dev').mkdir(parents=True)
    link = host['root'] / 'link'
    os.symlink(str(real), str(link))
    adopt = dict(path=str(link), fstab=host['fstab'], bootstrap=dict(method='none'), mounts=[dict(type='devfs')])
    kind, result, ran = run_module(chroot_env.main, adopt, [
        UNAME, mount_p('devfs\t%s/dev\tdevfs\trw\t0 0' % real), mount_p('devfs\t%s/dev\tdevfs\trw\t0 0' % real),
    ], monkeypatch)
    assert kind == 'exit', result
    assert not any(argv[0].endswith('mount') and '-t' in argv for argv in ran)      # nothing mounted again
    assert 'devfs %s/dev devfs rw 0 0' % real in open(host['fstab']).read()
    elsewhere = host['root'] / 'elsewhere'
    elsewhere.mkdir()
    os.symlink(str(elsewhere), str(real / 'tmp'))
    kind, result, ran = run_module(chroot_env.main, dict(adopt, mounts=[dict(type='tmpfs')]), [
        UNAME, mount_p()], monkeypatch, check_mode=True)
    assert kind == 'fail' and 'is a symlink' in result['msg'], result
    marker = real / manager.MARKER
    marker.unlink()
    os.symlink(str(host['fstab']), str(marker))
    kind, result, ran = run_module(chroot_env.main, adopt, [UNAME, mount_p()], monkeypatch)
    assert kind == 'fail' and 'is a symlink; not touching it' in result['msg']


def _cloned_chroot(host, dataset):
    """A chroot whose marker (the guest's to write) says it was cloned to ``dataset``."""
    path = host['path']
    os.makedirs(path)
    request = dict(method='zfs_clone', template='zroot/t@base', dataset=dataset)
    with open(os.path.join(path, manager.MARKER), 'w') as handle:
        json.dump(dict(bootstrap=dict(request=request), mounts=[]), handle)
    return path


def zfs_get(dataset, mountpoint, origin):
    return (['/sbin/zfs', 'get', '-H', '-p', '-o', 'property,value', 'mountpoint,origin,mounted', dataset], 0,
            'mountpoint\t%s\norigin\t%s\nmounted\tyes\n' % (mountpoint, origin), '')


def test_purge_destroys_a_dataset_only_when_zfs_says_it_is_the_chroots_clone(host, monkeypatch):
    path = _cloned_chroot(host, 'zroot/important')
    kind, result, ran = run_module(chroot_env.main, dict(path=path, state='absent', purge=True, fstab=host['fstab']), [
        UNAME, mount_p(), zfs_get('zroot/important', '/srv/important', '-')], monkeypatch)
    assert kind == 'fail' and 'Refusing to purge chroot' in result['msg'] and 'zroot/important' in result['msg']
    assert not any('destroy' in argv for argv in ran) and os.path.exists(os.path.join(path, manager.MARKER))
    os.unlink(os.path.join(path, manager.MARKER))
    path = _cloned_chroot(dict(host, path=path + '2'), 'zroot/chroots/build')
    kind, result, ran = run_module(chroot_env.main, dict(path=path, state='absent', purge=True, fstab=host['fstab']), [
        UNAME, mount_p(), zfs_get('zroot/chroots/build', path, 'zroot/t@base'),
        (['/sbin/zfs', 'destroy', 'zroot/chroots/build'], 0, '', ''), mount_p()], monkeypatch)
    assert kind == 'exit' and result['changed'], result
    assert ['/sbin/zfs', 'destroy', 'zroot/chroots/build'] in ran       # never -r: below it is not its own


def test_a_bootstrap_cut_half_way_is_emptied_and_made_again(host, monkeypatch):
    from ansible_collections.bsd.multiplicity.plugins.module_utils._core import records
    path = host['path']
    tar = ['/sbin/tar', '-xpf', host['archive'], '-C', path]

    def cut(argv, data):
        os.makedirs(os.path.join(path, 'bin'))
        raise KeyboardInterrupt     # the run stops here, as a crash or a killed connection would stop it
    with pytest.raises(KeyboardInterrupt):
        run_module(chroot_env.main, params(host, mounts=[]), [UNAME, mount_p(), (tar, cut, None, None)], monkeypatch)
    assert records.Unfinished('chroot', path, path).found()
    # Without the host's record, a tree that is not empty is someone's: refused, as before.
    kind, result, ran = run_module(chroot_env.main, params(host, path=path + '-other', mounts=[]),
                                   [UNAME, mount_p()], monkeypatch, check_mode=True)
    assert kind == 'exit'       # empty: bootstrapped
    os.makedirs(path + '-other/bin')
    kind, result, ran = run_module(chroot_env.main, params(host, path=path + '-other', mounts=[]),
                                   [UNAME, mount_p()], monkeypatch, check_mode=True)
    assert kind == 'fail' and 'is not empty and has no' in result['msg']

    kind, result, ran = run_module(chroot_env.main, params(host, mounts=[]), [UNAME, mount_p()], monkeypatch,
                                   check_mode=True)
    assert [a['verb'] for a in result['actions']] == ['clean', 'extract', 'marker'], result
    assert any('stopped half way' in w for w in result['warnings'])

    def extract(argv, data):
        assert os.listdir(path) == []       # emptied first: what was there was the cut run's
        os.makedirs(os.path.join(path, 'etc'))
        return 0, '', ''
    kind, result, ran = run_module(chroot_env.main, params(host, mounts=[]),
                                   [UNAME, mount_p(), (tar, extract, None, None), mount_p()], monkeypatch)
    assert kind == 'exit' and result['changed'], result
    assert not records.Unfinished('chroot', path, path).found()
    kind, result, ran = run_module(chroot_env.main, params(host, mounts=[]), [UNAME, mount_p()], monkeypatch)
    assert kind == 'exit' and not result['changed'], result


def test_a_mount_that_landed_outside_the_chroot_is_undone_and_reported(host, monkeypatch):
    """The guest swapped the checked mount point for a symlink to /srv/victim before mount(8) ran."""
    path = host['path']
    os.makedirs(os.path.join(path, 'mnt'))
    share = dict(type='nullfs', source='/srv/src', target='/mnt')
    monkeypatch.setattr(os.path, 'exists', lambda p, real=os.path.exists: True if p == '/srv/src' else real(p))
    kind, result, ran = run_module(chroot_env.main, params(host, bootstrap=dict(method='none'), mounts=[share],
                                                           persist=False), [
        UNAME, mount_p(),
        (['/sbin/mount', '-t', 'nullfs', '/srv/src', path + '/mnt'], 0, '', ''),
        mount_p('/srv/src\t/srv/victim\tnullfs\trw\t0 0'),
        (['/sbin/umount', '/srv/victim'], 0, '', ''),
    ], monkeypatch)
    assert kind == 'fail' and 'landed on /srv/victim' in result['msg'], result
    assert 'unmounted again' in result['msg']
