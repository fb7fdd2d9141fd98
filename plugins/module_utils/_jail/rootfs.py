# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A jail's root filesystem: an existing directory, a ZFS clone of a template, or release archives.

Reading costs at most one command (``zfs get`` of the jail's dataset); the
directory itself is looked at directly.  Nothing here ever deletes data
except :func:`purge`, which the manager calls only with ``purge: true``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError, ParameterError
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail.runtime import (
    parse_zfs_get, zfs_value_equal,
)

DIRECTORY, ZFS_CLONE, RELEASE = 'directory', 'zfs_clone', 'release'
DEFAULT_ARCHIVES = ['/usr/freebsd-dist/base.txz']
DATASET_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.:/-]*\Z')
PROP_RE = re.compile(r'^[a-z][a-z0-9_:.]*\Z')
VERSION_RE = re.compile(r'''^USERLAND_VERSION=["']?([^"'\s]+)''', re.MULTILINE)


def validate(root, path, require_path=True):
    """Check the root options; returns them with defaults filled in."""
    root = dict(root or {})
    kind = root.get('type') or DIRECTORY
    root['type'] = kind
    dataset = root.get('dataset')
    if dataset is not None and (not DATASET_RE.match(dataset) or '@' in dataset or '//' in dataset
                                or dataset.endswith('/')):
        raise ParameterError('root.dataset', '%r is not a ZFS filesystem name' % dataset)
    if kind == ZFS_CLONE:
        template = root.get('template') or ''
        if not dataset:
            raise ParameterError('root.dataset', 'required with root.type=zfs_clone')
        if template.count('@') != 1 or not DATASET_RE.match(template.replace('@', '/')):
            raise ParameterError('root.template', '%r is not a snapshot name (pool/dataset@snapshot)' % template)
    elif root.get('template'):
        raise ParameterError('root.template', 'only used with root.type=zfs_clone')
    if kind == RELEASE:
        root['archives'] = list(root.get('archives') or DEFAULT_ARCHIVES)
        for archive in root['archives']:
            if not (archive.startswith('/') or re.match(r'^(https?|ftp)://', archive)):
                raise ParameterError('root.archives', '%r is neither an absolute path nor a URL' % archive)
        if any('://' in a for a in root['archives']) and not root.get('manifest'):
            raise ParameterError('root.manifest', 'required when root.archives has URLs: downloads are checked '
                                                  'against its SHA-256 sums')
    elif root.get('archives'):
        raise ParameterError('root.archives', 'only used with root.type=release')
    if kind == DIRECTORY and dataset:
        raise ParameterError('root.dataset', 'not used with root.type=directory (use zfs_clone or release)')
    for prop in root.get('properties') or {}:
        if not PROP_RE.match(prop) or prop in ('mountpoint', 'origin'):
            raise ParameterError('root.properties', '%r cannot be set here' % prop)
    if dataset is None and root.get('properties'):
        raise ParameterError('root.properties', 'needs root.dataset')
    if not require_path and not path:
        return root
    if path in (None, '') or not path.startswith('/') or os.path.normpath(path) == '/':
        raise ParameterError('path', '%r must be an absolute path other than /' % path)
    return root


def read_dataset(runner, dataset, properties):
    """{property: value} of the dataset (with origin and mountpoint), or None if it does not exist."""
    names = ['mountpoint', 'origin'] + sorted(properties)
    result = runner.run_lookup(['zfs', 'get', '-H', '-p', '-o', 'property,value', ','.join(names), dataset],
                               missing=lambda failed: 'does not exist' in failed.stderr,
                               action='read dataset %s' % dataset)
    return None if result is None else parse_zfs_get(result.stdout)


def property_changes(root, current):
    """{property: value} to set with ``zfs set`` on an existing dataset."""
    wanted = root.get('properties') or {}
    return dict((k, str(v)) for k, v in sorted(wanted.items())
                if not zfs_value_equal(k, v, (current or {}).get(k, '')))


def populated(path):
    """True when the directory exists and has something in it besides a .zfs control dir."""
    try:
        return any(entry != '.zfs' for entry in os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return False


def userland_version(path):
    """USERLAND_VERSION from the jail's /bin/freebsd-version (what ``freebsd-version -u`` prints)."""
    try:
        with open(os.path.join(path, 'bin', 'freebsd-version'), 'r', encoding='utf-8', errors='replace') as handle:
            match = VERSION_RE.search(handle.read())
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None
    return match.group(1) if match else None


def dataset_argv(root, path):
    """The command that makes the jail's dataset (clone or new filesystem), mounted at ``path``."""
    options = ['-o', 'mountpoint=%s' % path]
    for prop, value in sorted((root.get('properties') or {}).items()):
        options += ['-o', '%s=%s' % (prop, value)]
    if root['type'] == ZFS_CLONE:
        return ['zfs', 'clone', '-p'] + options + [root['template'], root['dataset']]
    return ['zfs', 'create', '-p'] + options + [root['dataset']]


def parse_manifest(text):
    """{archive file name: sha256} from a FreeBSD release MANIFEST (tab-separated)."""
    sums = {}
    for line in text.splitlines():
        fields = line.split('\t')
        if len(fields) >= 2 and re.match(r'^[0-9a-f]{64}$', fields[1]):
            sums[fields[0]] = fields[1]
    return sums


def sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def verify(archive_path, name, sums, manifest):
    """Raise unless the archive's SHA-256 matches the MANIFEST entry for ``name``."""
    if name not in sums:
        raise MultiplicityError('Release archive %s is not listed in %s' % (name, manifest))
    actual = sha256(archive_path)
    if actual != sums[name]:
        raise MultiplicityError('Release archive %s does not match %s: SHA-256 %s, expected %s'
                                % (archive_path, manifest, actual, sums[name]))


def purge(path):
    """Remove a jail's directory tree (after clearing BSD file flags such as schg)."""
    path = os.path.normpath(path)
    if path.count('/') < 2:
        raise MultiplicityError('Refusing to purge %s: too close to the filesystem root' % path)
    if not os.path.lexists(path):
        return
    clear_flags = getattr(os, 'lchflags', None)
    if clear_flags is not None:
        for directory, subdirs, files in os.walk(path):
            for entry in subdirs + files:
                try:
                    clear_flags(os.path.join(directory, entry), 0)
                except OSError:
                    pass
    shutil.rmtree(path)
