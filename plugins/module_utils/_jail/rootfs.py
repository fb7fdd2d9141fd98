# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A jail's root filesystem: an existing directory, a ZFS clone of a template, release archives,
a thin root on a read-only nullfs base, or the UFS file system of a disk image (a bhyve VM's).

Reading costs at most one command (``zfs get`` of the jail's dataset); the
directory itself is looked at directly.  Nothing here ever deletes data
except :func:`purge`, which the manager calls only with ``purge: true``.
"""

from __future__ import annotations

import os
import re
import shlex
import stat

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import zfs
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError, ParameterError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import GuestTree, remove_tree

DIRECTORY, ZFS_CLONE, RELEASE, THIN, IMAGE = 'directory', 'zfs_clone', 'release', 'thin', 'image'
# A disk image's UFS partition as md(4) names it: the whole disk, a GPT partition or an MBR slice.
PARTITION_RE = re.compile(r'^(p[1-9][0-9]{0,2}|s[1-4][a-h]?)\Z')
# A thin jail mounts its base read-only at /basejail and links the base's
# system directories there; what a jail writes (etc, var, root, tmp,
# usr/local...) is its own copy.  The layout ezjail made familiar.
BASE_MOUNT = 'basejail'
THIN_LINKED = ('bin', 'boot', 'lib', 'libexec', 'rescue', 'sbin')
THIN_OWN_USR = ('home', 'local', 'obj', 'ports')
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
    if kind == THIN:
        base = root.get('base') or ''
        if not base.startswith('/') or os.path.normpath(base) == '/':
            raise ParameterError('root.base', '%r must be the absolute path of a release tree other than /' % base)
        root['base'] = os.path.normpath(base)
    elif root.get('base'):
        raise ParameterError('root.base', 'only used with root.type=thin')
    if kind == IMAGE:
        image = root.get('image') or ''
        if not image.startswith('/') or '\n' in image or '\x00' in image:
            raise ParameterError('root.image', '%r must be the absolute path of a disk image file or a zvol' % image)
        if root.get('partition') is not None and not PARTITION_RE.match(root['partition']):
            raise ParameterError('root.partition', '%r is not a partition of an md(4) disk (pN or sN[a-h])'
                                 % root['partition'])
        if dataset:
            raise ParameterError('root.dataset', 'not used with root.type=image (the image holds the root)')
    else:
        for option in ('image', 'partition'):
            if root.get(option) is not None:
                raise ParameterError('root.' + option, 'only used with root.type=image')
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
    if kind == THIN and (root['base'] + '/').startswith(os.path.normpath(path) + '/'):
        raise ParameterError('root.base', '%s is inside the jail path %s' % (root['base'], path))
    return root


def thin_mount(root):
    """The ``mounts`` entry that puts the base, read-only, under the thin jail's root."""
    return dict(source=root['base'], target='/' + BASE_MOUNT, type='nullfs', options='ro')


def _is_dir(tree, name):
    """A real directory (not a symlink to one) at ``name`` below the tree's root."""
    try:
        info = tree.lstat(name)
    except MultiplicityError:
        return False
    return info is not None and stat.S_ISDIR(info.st_mode)


def thin_ready(path):
    tree = GuestTree(path)
    return _is_dir(tree, BASE_MOUNT) and _is_dir(tree, 'etc')


def make_thin(runner, base, path):
    """Lay out a thin root in ``path``: links into /basejail, a copy of the writable parts.

    Refuses a base that is not a release tree, and never touches an entry
    that already exists in ``path``.  The root may already hold what its
    guest made (a rebuild after /etc was removed): links and directories are
    created relative to checked directory fds, so a symlink the guest planted
    (``usr -> /usr/local/lib``) is refused, never written through.
    """
    if not (os.path.isdir(os.path.join(base, 'etc')) and os.path.isdir(os.path.join(base, 'bin'))):
        raise MultiplicityError('Thin jail base %s is not a release tree (no etc/ and bin/)' % base)
    tree = GuestTree(path, 'Thin jail root')
    copies, usr_copies = [], []
    for directory in (BASE_MOUNT, 'usr'):
        tree.makedirs(directory)
    for name in sorted(os.listdir(base)):
        if name == 'usr' or tree.lstat(name) is not None:
            continue
        if name in THIN_LINKED:
            tree.symlink(os.path.join(BASE_MOUNT, name), name)
        else:
            copies.append(os.path.join(base, name))
    usr = os.path.join(base, 'usr')
    for name in sorted(os.listdir(usr)) if os.path.isdir(usr) else []:
        if tree.lstat('usr/' + name) is not None:
            continue
        if name in THIN_OWN_USR:
            usr_copies.append(os.path.join(usr, name))
        else:
            tree.symlink(os.path.join('..', BASE_MOUNT, 'usr', name), 'usr/' + name)
    # cp -Rp keeps modes, owners and times, on FreeBSD and elsewhere.  Each copy lands on a name
    # that was just seen absent, in a directory checked to be a real one.
    tree.makedirs('usr')
    if copies:
        runner.run(['cp', '-Rp'] + copies + [path + '/'], action='copy the writable parts of %s' % base)
    if usr_copies:
        runner.run(['cp', '-Rp'] + usr_copies + [os.path.join(path, 'usr') + '/'],
                   action='copy the writable parts of %s/usr' % base)


def property_changes(root, current):
    """{property: value} to set with ``zfs set`` on an existing root dataset."""
    return zfs.property_changes(root.get('properties'), current)


def populated(path):
    """True when the directory exists and has something in it besides a .zfs control dir."""
    try:
        return any(entry != '.zfs' for entry in os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return False


def userland_version(path):
    """USERLAND_VERSION from the jail's /bin/freebsd-version (what ``freebsd-version -u`` prints).

    The file is the guest's: a symlink, FIFO or device there gives None instead of being followed
    or opened (a thin jail's /bin is a link into its base; the caller reads the base then).
    """
    text = GuestTree(path).read_optional('bin/freebsd-version')
    match = VERSION_RE.search(text) if text else None
    return match.group(1) if match else None


def dataset_argv(root, path):
    """The command that makes the jail's dataset (clone or new filesystem), mounted at ``path``."""
    properties = [('mountpoint', path)] + sorted((root.get('properties') or {}).items())
    if root['type'] == ZFS_CLONE:
        return zfs.clone_argv(root['template'], root['dataset'], properties)
    return zfs.create_argv(root['dataset'], properties)


def purge(path):
    """Remove a jail's directory; refuses while a thin jail's base is still in /basejail."""
    base = os.path.join(os.path.normpath(path), BASE_MOUNT)
    if os.path.isdir(base) and not os.path.islink(base) and os.listdir(base):
        raise MultiplicityError('Refusing to purge %s: %s is mounted below it (stop the jail or unmount first)'
                                % (path, base))
    remove_tree(path)


def image_hooks(root, path, mount_points):
    """exec.prepare and exec.release of a root on a disk image: the image attached as an md(4) disk and its
    UFS mounted at the jail's path before jail(8) mounts anything in it; unmounted and detached after the
    jail's own mounts are gone.  The points jail(8) mounts on next (``mount_points``, relative) lie in the
    image, which its guest writes: one that is a symlink is refused before anything is mounted through it.
    Every value is quoted for sh."""
    image, node = shlex.quote(root['image']), shlex.quote(path)
    device = '/dev/${u}%s' % (root.get('partition') or '')
    checks = ''.join('; if [ -L %s ]; then echo "jail root image: %s is a symlink" >&2; /sbin/umount %s; '
                     '/sbin/mdconfig -d -u "${u#md}"; exit 1; fi' % (shlex.quote(path + '/' + p), shlex.quote(p), node)
                     for p in mount_points)
    prepare = ('u=$(/sbin/mdconfig -a -t vnode -f %s) || exit 1; /sbin/mount -t ufs %s %s || '
               '{ /sbin/mdconfig -d -u "${u#md}"; exit 1; }%s' % (image, device, node, checks))
    release = ('/sbin/umount %s; u=$(/sbin/mdconfig -l -f %s) && for d in $u; do /sbin/mdconfig -d -u "${d#md}"; done'
               % (node, image))
    return {'prepare': [prepare], 'release': [release]}
