"""mount(8), umount(8) and the simulated mount table.

The table lives in the instance state.  Where Linux has an equivalent the mount
is also made for real inside the instance (nullfs -> bind mount, devfs -> a
bind of the instance's /dev, tmpfs -> tmpfs, procfs/linprocfs -> proc,
linsysfs -> sysfs), so a jail or chroot can use it; fdescfs is recorded only.
"""

import ctypes
import ctypes.util
import os

from fbsd import kld, store, ufs
from fbsd.core import Command, getopt, locked_state

MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC = 1, 32, 4096, 16384
MNT_DETACH, UMOUNT_NOFOLLOW = 2, 8
FSTYPES = ('devfs', 'nullfs', 'tmpfs', 'fdescfs', 'procfs', 'linprocfs', 'linsysfs', 'zfs', 'ufs')
# The root and /dev of the simulated host, always mounted.
BASE_MOUNTS = [
    {'special': 'zroot/ROOT/default', 'node': '/', 'fstype': 'zfs', 'options': ['local', 'noatime', 'nfsv4acls']},
    {'special': 'devfs', 'node': '/dev', 'fstype': 'devfs', 'options': []},
]
_LIBC = None


def libc():
    global _LIBC  # pylint: disable=global-statement
    if _LIBC is None:
        _LIBC = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
    return _LIBC


def _sys_mount(source, target, fstype, flags, data=None):
    result = libc().mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                          data.encode() if data else None)
    if result != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), target)


def realise(entry, node=None):
    """Make the Linux equivalent of a FreeBSD mount, where there is one (on ``node``: the directory as
    add_mount opened it, so that the real mount is where the table says)."""
    fstype, node = entry['fstype'], node or entry['node']
    read_only = 'read-only' in entry['options']
    if fstype == 'nullfs':
        _sys_mount(entry['special'], node, None, MS_BIND)
        if read_only:
            # A remount names the new mount's root: the path, which the bind now covers.
            _sys_mount(entry['special'], entry['node'], None, MS_BIND | MS_REMOUNT | MS_RDONLY)
    elif fstype == 'devfs':
        _sys_mount('/dev', node, None, MS_BIND | MS_REC)
    elif fstype == 'tmpfs':
        _sys_mount('tmpfs', node, 'tmpfs', MS_RDONLY if read_only else 0)
    elif fstype in ('procfs', 'linprocfs'):
        _sys_mount('proc', node, 'proc', 0)
    elif fstype == 'linsysfs':
        _sys_mount('sysfs', node, 'sysfs', MS_RDONLY)
    elif fstype == 'ufs':
        # Simulated UFS (ufs.py): the file system's directory bound on the node.
        _sys_mount(ufs.directory_of(entry['special']), node, None, MS_BIND)
        if read_only:
            _sys_mount(entry['special'], entry['node'], None, MS_BIND | MS_REMOUNT | MS_RDONLY)
    else:
        return False
    return True


def unrealise(entry):
    if entry.get('real'):
        libc().umount2(entry['node'].encode(), MNT_DETACH | UMOUNT_NOFOLLOW)


def mounts(state):
    """The mount table as records by the order they were made in (keys "1", "2"...), searched by
    node, special, owning jail and the mount a node lies on (``parent``): one lookup each."""
    return state.setdefault('mounts', {})


def _ordered(found):
    return sorted(found, key=lambda item: int(item[0]))


def table(state):
    return BASE_MOUNTS + [entry for unused, entry in _ordered(mounts(state).items())]


def on_node(state, node):
    """[(key, entry)] of the mounts on ``node``, oldest first."""
    return _ordered(store.where(mounts(state), 'node', node))


def owned_by(state, jail):
    """[(key, entry)] of the mounts jail(8) made for a jail, oldest first."""
    return _ordered(store.where(mounts(state), 'jail', jail))


def of_special(state, special):
    return _ordered(store.where(mounts(state), 'special', special))


def _parent(state, node):
    """The node of the mount ``node`` lies on (the nearest mounted ancestor, or itself), or None."""
    path = node
    while True:
        if on_node(state, path):
            return path
        if path == '/':
            return None
        path = os.path.dirname(path)


def add_mount(state, special, node, fstype, options, owner=None):
    """Record (and realise) one mount; raises OSError like mount(2).  The node is resolved first, as
    mount(8)'s checkpath() does with realpath(3): a symlink on the way is followed, and the mount
    table names where the mount landed."""
    if fstype == 'fdescfs':
        # Recorded only, so nothing is opened.  Linux's /dev/fd (in the devfs this simulates with the
        # instance's /dev) is a symlink to /proc/self/fd where FreeBSD's devfs has a directory: the last
        # component is taken as named.
        parent = os.path.realpath(os.path.dirname(node))
        node = os.path.join(parent, os.path.basename(node))
        if not (os.path.isdir(parent) and os.path.lexists(node)):
            raise OSError(2, 'No such file or directory', node)
        return _record(state, {'special': special, 'node': node, 'fstype': fstype, 'options': list(options),
                               'parent': _parent(state, node), 'real': False}, owner)
    try:
        # One open of the resolved directory: the table records the directory that is mounted on, even
        # when a component is swapped for a symlink meanwhile (FreeBSD's own window between
        # realpath(3) and nmount(2) is not simulated).
        fd = os.open(os.path.realpath(node), os.O_PATH | os.O_DIRECTORY)
    except (FileNotFoundError, NotADirectoryError):
        raise OSError(2, 'No such file or directory', node)
    try:
        node = os.readlink('/proc/self/fd/%d' % fd)
        if fstype == 'nullfs' and not os.path.exists(special):
            raise OSError(2, 'No such file or directory', special)
        if fstype == 'ufs' and not os.path.exists(special):
            raise OSError(2, 'No such file or directory', special)
        if fstype == 'ufs' and ufs.directory_of(special) is None:
            raise OSError(22, 'Invalid argument', special)       # no UFS superblock on it
        if fstype == 'ufs' and of_special(state, special):
            raise OSError(16, 'Device busy', special)
        entry = {'special': special, 'node': node, 'fstype': fstype, 'options': list(options),
                 'parent': _parent(state, node)}
        entry['real'] = realise(entry, '/proc/self/fd/%d' % fd)
    finally:
        os.close(fd)
    return _record(state, entry, owner)


def _record(state, entry, owner):
    if owner:
        entry['jail'] = owner
    number = state.get('next_mount', 1)
    state['next_mount'] = number + 1
    mounts(state)[str(number)] = entry
    return entry


def remove_mount(state, node):
    """Unmount the last mount on node; False if nothing is mounted there."""
    found = on_node(state, node)
    if not found:
        return False
    key, entry = found[-1]
    # Busy while something mounted after it lies below it.
    if any(int(k) > int(key) and other['node'] != node for k, other in store.where(mounts(state), 'parent', node)):
        raise OSError(16, 'Device busy', node)
    unrealise(entry)
    del mounts(state)[key]
    return True


def describe(entry):
    """One line of mount(8) output: 'special on node (fstype, options)'."""
    options = list(entry['options'])
    if entry['fstype'] not in ('devfs', 'fdescfs') and 'local' not in options:
        options.insert(0, 'local')
    return '%s on %s (%s)' % (entry['special'], entry['node'], ', '.join([entry['fstype']] + options))


# Options for mount(8) itself (fstab(5)'s and nmount's), not kept with the mount or printed.
NOT_PRINTED = ('', 'rw', 'late', 'noauto', 'failok', 'nocover', 'update')
# File systems whose kernel module mount(2) loads when it is not there (vfs_byname_kld); the rest are
# built into the simulated GENERIC.
AUTOLOADED = ('linprocfs', 'linsysfs')


def parse_options(text):
    """-o ro,nosuid -> the words mount(8) prints ('read-only', 'nosuid')."""
    words = []
    for option in (text or '').split(','):
        if option in NOT_PRINTED:
            continue
        words.append('read-only' if option in ('ro', 'rdonly') else option)
    return words


MOUNT_USAGE = ['usage: mount [-adflpruvw] [-F fstab] [-o options] [-t ufs | external_type]',
               '       mount [-dfpruvw] special | node',
               '       mount [-dfpruvw] [-o options] [-t ufs | external_type] special node']


def mount_main(prog, args):
    cmd = Command(prog, MOUNT_USAGE)
    if prog.startswith('mount_'):
        fstype = prog[len('mount_'):]
        options, operands = getopt(cmd, args, 'o:r')
    else:
        options, operands = getopt(cmd, args, 'adF:flLo:prt:uvw')
        fstype = dict(options).get('t')
    flags = dict(options)
    opts = [value for flag, value in options if flag == 'o']
    read_only = 'r' in flags
    every = 'a' in flags
    with locked_state(write=bool(operands) or every) as state:
        if every:
            if operands:
                cmd.bad_option()
            return mount_all(cmd, state, flags.get('F', '/etc/fstab'), fstype, 'l' in flags or 'L' in flags,
                             'L' in flags)
        if not operands:
            for entry in table(state):
                if 'p' in flags:
                    fs_options = 'ro' if 'read-only' in entry['options'] else 'rw'
                    fields = (entry['special'], entry['node'], entry['fstype'], fs_options)
                    cmd.out('%s\t\t%s\t\t%s\t%s\t\t0 0' % fields)
                else:
                    cmd.out(describe(entry))
            return 0
        if len(operands) != 2:
            cmd.bad_option()
        special, node = operands
        error = mount_one(state, special, node, fstype or 'ufs', ','.join(opts), read_only)
        if error:
            cmd.errx(1, error)
    return 0


def mount_one(state, special, node, fstype, options, read_only=False):
    """One mount as mount(8) makes it (ufs unless told otherwise); the error mount(8) prints, or None."""
    if fstype not in FSTYPES:
        return '%s: Operation not supported by device' % node
    words = parse_options(options)
    if read_only and 'read-only' not in words:
        words.insert(0, 'read-only')
    if fstype in AUTOLOADED and not _module_loaded(state, fstype):
        if kld.link_file(state, fstype)[1] not in (None, 'EEXIST'):
            return '%s: Operation not supported by device' % node
    if 'nocover' in options.split(',') and on_node(state, os.path.realpath(node)):
        return '%s: Device busy' % node         # MNT_NOCOVER: not over another mount's root
    try:
        add_mount(state, special, node, fstype, words)
    except OSError as exc:
        return '%s: %s' % (exc.filename, exc.strerror)
    return None


def _module_loaded(state, name):
    return any(module['name'] == name for entry in state['kld']['files'] for module in entry['modules'])


def fstab_entries(path):
    """fstab(5) lines as getfsent(3) reads them: (special, node, vfstype, options), comments and blank
    lines skipped, and so is a line whose options name no type (rw, rq, ro, sw) or name xx; a line of
    fewer than four fields is reported."""
    entries, bad = [], []
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None, bad
    for number, line in enumerate(lines, 1):
        fields = line.split('#', 1)[0].split()
        if not fields:
            continue
        if len(fields) < 4:
            bad.append(number)
            continue
        kinds = [word for word in fields[3].split(',') if word in ('rw', 'rq', 'ro', 'sw', 'xx')]
        if kinds and kinds[0] != 'xx':
            entries.append(tuple(fields[:4]))
    return entries, bad


def selected(vfstype, types):
    """mount -t: a comma list of types, or of types to skip when it starts with "no"."""
    if not types:
        return True
    skip = types.startswith('no')
    names = (types[2:] if skip else types).split(',')
    return (vfstype in names) != skip


def mount_all(cmd, state, fstab, types, late, only_late):
    """mount -a: every fstab file system not marked noauto (late ones only with -l, only them with -L)
    and not mounted already, each on its own: a failure is reported and the rest are mounted; one marked
    failok does not make the status 1."""
    entries, bad = fstab_entries(fstab)
    if entries is None:
        cmd.errx(1, 'can\'t open %s' % fstab)
    for number in bad:
        cmd.warnx('%s: line %d: too few fields; ignored' % (fstab, number))      # [mem] the wording
    status = 0
    for special, node, vfstype, options in entries:
        words = options.split(',')
        if 'rw' not in words and 'ro' not in words and 'rq' not in words:
            continue        # BADTYPE: swap
        if 'noauto' in words or not selected(vfstype, types):
            continue
        if ('late' in words and not late) or (only_late and 'late' not in words):
            continue
        if any(entry['special'] == special for unused, entry in on_node(state, os.path.realpath(node))):
            continue        # ismounted(): already there
        error = mount_one(state, special, node, vfstype, options, 'ro' in words)
        if error:
            cmd.warnx(error)
            if 'failok' not in words:
                status = 1
    return status


def rc_mountcritlocal(console, rc):
    """rc.d/mountcritlocal: the local file systems of /etc/fstab (network ones and late ones wait)."""
    status, unused = console.run('mount', '-a', '-t', 'nonfs,smbfs')
    console.say('Mounting local filesystems:.' if status == 0 else 'Mounting /etc/fstab filesystems failed')


def rc_mountlate(console, rc):
    """rc.d/mountlate: the fstab file systems marked late, once the daemons run."""
    status, unused = console.run('mount', '-a', '-L')
    if status != 0:
        console.say('Mounting /etc/fstab filesystems failed')


def umount_main(prog, args):
    cmd = Command(prog, ['usage: umount [-fNnv] special ... | node ... | fsid ...',
                         '       umount -a | -A [-F fstab] [-fnv] [-h host] [-t type]'])
    options, operands = getopt(cmd, args, 'aAF:fh:Nnt:v')
    if not operands:
        cmd.bad_option()
    status = 0
    with locked_state() as state:
        for operand in operands:
            node = os.path.normpath(operand)
            matches = _ordered(on_node(state, node) + of_special(state, operand))
            try:
                if not matches or not remove_mount(state, matches[-1][1]['node']):
                    cmd.warnx('%s: not a file system root directory' % operand)
                    status = 1
            except OSError as exc:
                cmd.warnx('unmount of %s failed: %s' % (node, exc.strerror))
                status = 1
    return status


def power_off(state):
    """The mount table is the kernel's: every mount goes, the last made first."""
    for unused, entry in reversed(_ordered(state.get('mounts', {}).items())):
        unrealise(entry)
