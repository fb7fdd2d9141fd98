# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import hashlib
import os

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError, ParameterError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core import release
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail import rootfs


def test_validate_defaults_and_argv():
    root = rootfs.validate(None, '/j/web')
    assert root['type'] == 'directory'
    release = rootfs.validate({'type': 'release', 'dataset': 'zroot/j/web', 'properties': {'quota': '1G'}}, '/j/web')
    assert release['archives'] == ['/usr/freebsd-dist/base.txz']
    assert rootfs.dataset_argv(release, '/j/web') == ['zfs', 'create', '-p', '-o', 'mountpoint=/j/web', '-o',
                                                      'quota=1G', 'zroot/j/web']
    clone = rootfs.validate({'type': 'zfs_clone', 'dataset': 'zroot/j/web', 'template': 'zroot/t@base'}, '/j/web')
    assert rootfs.dataset_argv(clone, '/j/web') == ['zfs', 'clone', '-p', '-o', 'mountpoint=/j/web', 'zroot/t@base',
                                                    'zroot/j/web']
    assert rootfs.validate({'type': 'release'}, None, require_path=False)['type'] == 'release'


@pytest.mark.parametrize('root, path, parameter', [
    ({'type': 'zfs_clone', 'template': 'zroot/t@s'}, '/j', 'root.dataset'),
    ({'type': 'zfs_clone', 'dataset': 'zroot/j', 'template': 'zroot/t'}, '/j', 'root.template'),
    ({'type': 'directory', 'template': 'zroot/t@s'}, '/j', 'root.template'),
    ({'type': 'directory', 'dataset': 'zroot/j'}, '/j', 'root.dataset'),
    ({'type': 'release', 'dataset': 'zroot/j@x'}, '/j', 'root.dataset'),
    ({'type': 'release', 'archives': ['base.txz']}, '/j', 'root.archives'),
    ({'type': 'release', 'archives': ['https://x/base.txz']}, '/j', 'root.manifest'),
    ({'type': 'directory', 'archives': ['/b.txz']}, '/j', 'root.archives'),
    ({'type': 'release', 'properties': {'quota': '1G'}}, '/j', 'root.properties'),
    ({'type': 'release', 'dataset': 'zroot/j', 'properties': {'mountpoint': '/x'}}, '/j', 'root.properties'),
    ({'type': 'directory'}, '/', 'path'),
    ({'type': 'directory'}, None, 'path'),
])
def test_validate_errors(root, path, parameter):
    with pytest.raises(ParameterError) as info:
        rootfs.validate(root, path)
    assert info.value.parameter == parameter


def test_property_changes_and_population(tmp_path):
    root = {'properties': {'quota': '1G', 'compression': 'lz4'}}
    assert rootfs.property_changes(root, {'quota': '1073741824', 'compression': 'off'}) == {'compression': 'lz4'}
    assert not rootfs.populated(str(tmp_path / 'missing'))
    (tmp_path / '.zfs').mkdir()
    assert not rootfs.populated(str(tmp_path))
    (tmp_path / 'bin').mkdir()
    assert rootfs.populated(str(tmp_path))
    assert rootfs.userland_version(str(tmp_path)) is None
    (tmp_path / 'bin' / 'freebsd-version').write_text('#!/bin/sh\nUSERLAND_VERSION="14.3-RELEASE-p2"\n')
    assert rootfs.userland_version(str(tmp_path)) == '14.3-RELEASE-p2'


def test_manifest_verify_and_purge(tmp_path):
    archive = tmp_path / 'base.txz'
    archive.write_bytes(b'archive')
    digest = hashlib.sha256(b'archive').hexdigest()
    sums = release.parse_manifest('base.txz\t%s\t10\tbase\t"Base system"\ton\nnoise\n' % digest)
    assert sums == {'base.txz': digest}
    release.verify(str(archive), 'base.txz', sums, 'MANIFEST')
    with pytest.raises(MultiplicityError, match='not listed'):
        release.verify(str(archive), 'lib32.txz', sums, 'MANIFEST')
    archive.write_bytes(b'tampered')
    with pytest.raises(MultiplicityError, match='does not match'):
        release.verify(str(archive), 'base.txz', sums, 'MANIFEST')
    tree = tmp_path / 'jails' / 'web'
    (tree / 'etc').mkdir(parents=True)
    (tree / 'etc' / 'rc.conf').write_text('x')
    rootfs.purge(str(tree))
    assert not tree.exists()
    rootfs.purge(str(tree))
    with pytest.raises(MultiplicityError, match='too close'):
        rootfs.purge('/usr')
    assert os.path.isdir('/usr')


class CopyRunner(object):
    """Runs the cp commands make_thin asks for, for real, and records them."""

    def __init__(self):
        self.ran = []

    def run(self, argv, action=None):
        import subprocess
        self.ran.append(argv)
        subprocess.run(argv, check=True)


def release_tree(base):
    for directory in ('bin', 'sbin', 'lib', 'etc', 'var/log', 'root', 'tmp', 'usr/bin', 'usr/share/misc',
                      'usr/local/etc', 'usr/home'):
        os.makedirs(str(base / directory))
    (base / 'bin' / 'freebsd-version').write_text('USERLAND_VERSION="14.3-RELEASE"\n')
    (base / 'etc' / 'rc.conf').write_text('sshd_enable="NO"\n')
    (base / 'COPYRIGHT').write_text('c\n')


def test_thin_root_links_the_base_and_copies_the_writable_parts(tmp_path):
    base, path = tmp_path / 'base', tmp_path / 'jails' / 'thin'
    release_tree(base)
    os.makedirs(str(path))
    runner = CopyRunner()
    assert not rootfs.thin_ready(str(path))
    rootfs.make_thin(runner, str(base), str(path))
    assert os.readlink(str(path / 'bin')) == 'basejail/bin'
    assert os.readlink(str(path / 'usr' / 'bin')) == '../basejail/usr/bin'
    assert os.readlink(str(path / 'usr' / 'share')) == '../basejail/usr/share'
    assert not os.path.islink(str(path / 'etc')) and (path / 'etc' / 'rc.conf').read_text() == 'sshd_enable="NO"\n'
    assert os.path.isdir(str(path / 'usr' / 'local' / 'etc')) and os.path.isdir(str(path / 'var' / 'log'))
    assert os.listdir(str(path / 'basejail')) == [] and rootfs.thin_ready(str(path))
    assert runner.ran[0][:2] == ['cp', '-Rp'] and runner.ran[0][-1] == str(path) + '/'
    # A second layout keeps what the jail changed.
    (path / 'etc' / 'rc.conf').write_text('mine\n')
    rootfs.make_thin(runner, str(base), str(path))
    assert (path / 'etc' / 'rc.conf').read_text() == 'mine\n'
    with pytest.raises(MultiplicityError, match='not a release tree'):
        rootfs.make_thin(runner, str(tmp_path / 'jails'), str(tmp_path / 'other'))


def test_thin_validation_and_mount():
    root = rootfs.validate(dict(type='thin', base='/usr/local/jails/templates/14.3/'), '/usr/local/jails/a')
    assert rootfs.thin_mount(root) == dict(source='/usr/local/jails/templates/14.3', target='/basejail',
                                           type='nullfs', options='ro')
    for bad, parameter in ((dict(type='thin'), 'root.base'), (dict(type='thin', base='rel'), 'root.base'),
                           (dict(type='thin', base='/j/a/base'), 'root.base'),
                           (dict(type='directory', base='/b'), 'root.base')):
        with pytest.raises(ParameterError) as exc:
            rootfs.validate(bad, '/j/a')
        assert parameter in str(exc.value)


def test_purge_refuses_to_cross_into_a_mounted_base(tmp_path):
    path = tmp_path / 'jails' / 'thin'
    os.makedirs(str(path / 'basejail' / 'bin'))
    with pytest.raises(MultiplicityError, match='basejail is mounted below it'):
        rootfs.purge(str(path))
    assert os.path.isdir(str(path / 'basejail' / 'bin'))
    os.rmdir(str(path / 'basejail' / 'bin'))
    rootfs.purge(str(path))
    assert not os.path.exists(str(path))
