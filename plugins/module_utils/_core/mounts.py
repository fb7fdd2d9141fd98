# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filesystems a guest's root needs (a chroot, a Linux userland, a jail's), on FreeBSD (mount -t,
nullfs, devfs) and on Linux (bind mounts), and an owner's block of an fstab.

One declared entry (``type``, ``target`` inside the root, ``source``,
``read_only``, ``options``, ``ruleset``) becomes the platform's mount command,
its fstab line and the test for "already mounted as declared".
"""

from __future__ import annotations

import collections
import os
import re

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError, ParameterError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.edits import block_edit
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import read_text
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.hostview import HostView

FREEBSD, LINUX = 'FreeBSD', 'Linux'
# Declared type -> the platform's filesystem type (None: not available there).
TYPES = {
    FREEBSD: {'devfs': 'devfs', 'procfs': 'procfs', 'proc': 'procfs', 'linprocfs': 'linprocfs',
              'linsysfs': 'linsysfs', 'sysfs': 'linsysfs', 'tmpfs': 'tmpfs', 'nullfs': 'nullfs', 'bind': 'nullfs',
              'fdescfs': 'fdescfs'},
    LINUX: {'devfs': 'dev', 'procfs': 'proc', 'proc': 'proc', 'linprocfs': 'proc', 'linsysfs': 'sysfs',
            'sysfs': 'sysfs', 'tmpfs': 'tmpfs', 'nullfs': 'bind', 'bind': 'bind', 'devpts': 'devpts'},
}
DEFAULT_TARGETS = {'devfs': '/dev', 'procfs': '/proc', 'proc': '/proc', 'linprocfs': '/compat/linux/proc',
                   'linsysfs': '/compat/linux/sys', 'sysfs': '/sys', 'tmpfs': '/tmp', 'fdescfs': '/dev/fd',
                   'devpts': '/dev/pts'}
# What mount(8) is given as the "special" for each pseudo filesystem.
SPECIALS = {'devfs': 'devfs', 'procfs': 'proc', 'linprocfs': 'linprocfs', 'linsysfs': 'linsysfs', 'tmpfs': 'tmpfs',
            'fdescfs': 'fdescfs', 'proc': 'proc', 'sysfs': 'sysfs', 'devpts': 'devpts', 'dev': '/dev'}
WORD_RE = re.compile(r'^[A-Za-z0-9_.=:/+-]+\Z')
PATH_RE = re.compile(r'^/[^\s#\\,\x00-\x1f\x7f]*\Z')


def normalize(entries, platform, root):
    """Declared mounts with the platform's types and absolute host paths; ParameterError on bad input."""
    result = []
    seen = set()
    if entries and not PATH_RE.match(root):
        # Every mount point is below the root, and each becomes one field of an fstab line.
        raise ParameterError('path', '%r cannot hold mounts: fstab(5) fields cannot contain blanks, "#", "," or '
                                     'backslashes' % root)
    for index, entry in enumerate(entries or []):
        where = 'mounts[%d]' % index
        declared = entry['type']
        fstype = TYPES[platform].get(declared)
        if fstype is None:
            raise ParameterError(where + '.type', '%s has no %s mounts (use one of %s)'
                                 % (platform, declared, ', '.join(sorted(TYPES[platform]))))
        target = entry.get('target') or DEFAULT_TARGETS.get(declared)
        if not target:
            raise ParameterError(where + '.target', 'required for %s mounts' % declared)
        if not PATH_RE.match(target) or '..' in target.split('/'):
            raise ParameterError(where + '.target', '%r must be an absolute path inside the chroot, without '
                                                    '"..", blanks, "#", "," or backslashes' % target)
        source = entry.get('source')
        if fstype in ('bind', 'nullfs'):
            if not source or not PATH_RE.match(source) or '..' in source.split('/'):
                raise ParameterError(where + '.source', '%r must be an absolute host path without "..", blanks, '
                                                        '"#", "," or backslashes' % source)
            source = os.path.normpath(source)
        elif source:
            raise ParameterError(where + '.source', 'only used with nullfs/bind mounts')
        options = list(entry.get('options') or [])
        for option in options:
            if not WORD_RE.match(option):
                raise ParameterError(where + '.options', '%r is not a single mount option' % option)
        ruleset = entry.get('ruleset')
        if ruleset is not None:
            if declared != 'devfs' or platform != FREEBSD:
                raise ParameterError(where + '.ruleset', 'only used with devfs mounts on FreeBSD')
            options.append('ruleset=%d' % ruleset)
        node = os.path.normpath(os.path.join(root, target.lstrip('/')))
        if node in seen:
            raise ParameterError(where + '.target', '%s is declared twice' % target)
        seen.add(node)
        result.append(dict(type=fstype, declared=declared, target=os.path.normpath(target), node=node,
                           source=source, read_only=bool(entry.get('read_only')), options=options))
    return result


def _option_list(entry):
    return (['ro'] if entry['read_only'] else []) + entry['options']


def mount_argv(entry, platform):
    options = _option_list(entry)
    if platform == LINUX and entry['type'] in ('bind', 'dev'):
        source = entry['source'] if entry['type'] == 'bind' else '/dev'
        return ['mount', '-o', ','.join(['bind'] + options), source, entry['node']]
    special = entry['source'] if entry['type'] == 'nullfs' else SPECIALS[entry['type']]
    argv = ['mount', '-t', entry['type']]
    if options:
        argv += ['-o', ','.join(options)]
    return argv + [special, entry['node']]


def fstab_line(entry, platform):
    options = _option_list(entry)
    if platform == LINUX and entry['type'] in ('bind', 'dev'):
        source = entry['source'] if entry['type'] == 'bind' else '/dev'
        return '%s %s none %s 0 0' % (source, entry['node'], ','.join(['bind'] + options))
    special = entry['source'] if entry['type'] == 'nullfs' else SPECIALS[entry['type']]
    if platform == FREEBSD and not entry['read_only']:
        # getfsent(3) passes over a line whose options name no rw, ro or rq: mount -a (rc at boot) never sees it.
        options = ['rw'] + options
    return '%s %s %s %s 0 0' % (special, entry['node'], entry['type'], ','.join(options) or 'defaults')


def _unescape(field):
    """Mount table paths escape blanks and backslashes as octal (\\040)."""
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), field)


def parse_mount_p(text):
    """FreeBSD ``mount -p`` (fstab format) -> [{node, type, source, read_only}] in mount order."""
    table = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            table.append(dict(source=_unescape(fields[0]), node=_unescape(fields[1]), type=fields[2],
                              read_only='ro' in fields[3].split(',')))
    return table


def parse_mountinfo(text):
    """Linux /proc/self/mountinfo -> [{node, type, source, read_only}] in mount order."""
    table = []
    for line in text.splitlines():
        fields = line.split()
        if '-' not in fields[6:]:
            continue
        dash = fields.index('-', 6)
        table.append(dict(node=_unescape(fields[4]), type=fields[dash + 1],
                          source=_unescape(fields[dash + 2]) if len(fields) > dash + 2 else '',
                          read_only='ro' in fields[5].split(','), root=_unescape(fields[3])))
    return table


# Linux reports a bind mount with the type of the filesystem it comes from.
LINUX_SEEN_AS = {'proc': ('proc',), 'sysfs': ('sysfs',), 'tmpfs': ('tmpfs',), 'devpts': ('devpts',)}


def satisfied(entry, mounted, platform):
    """True when ``mounted`` (the last mount on the entry's node) is the declared one."""
    if mounted is None or mounted['read_only'] != entry['read_only']:
        return False
    if platform == FREEBSD:
        if mounted['type'] != entry['type']:
            return False
        return entry['type'] != 'nullfs' or mounted['source'] == entry['source']
    if entry['type'] in LINUX_SEEN_AS:
        return mounted['type'] in LINUX_SEEN_AS[entry['type']]
    return True


def read_table(view, platform, fresh=False):
    """The mount table: FreeBSD's ``mount -p`` (read once per call through ``view``, again with
    ``fresh``), Linux's /proc/self/mountinfo."""
    if platform == LINUX:
        return parse_mountinfo(read_text('/proc/self/mountinfo') or '')
    return parse_mount_p(view.run(['mount', '-p'], action='read the mount table', fresh=fresh).stdout)


def _key(mount):
    return tuple(sorted((k, str(v)) for k, v in mount.items()))


def mount_checked(runner, entry, platform, before):
    """Mount ``entry`` and read where it landed; the table after it.

    mount(8) resolves its node with realpath: a guest that turns the checked mount point into a
    symlink between the check and the mount gets the filesystem mounted where the link points (on
    the host).  A new mount of this entry elsewhere than its node is unmounted at once and the run
    fails, naming both; mounts made meanwhile by others are left alone (they are not this entry's).
    """
    runner.run(mount_argv(entry, platform), action='mount %s on %s' % (entry['declared'], entry['node']))
    after = read_table(HostView(runner), platform)
    new = collections.Counter(_key(m) for m in after) - collections.Counter(_key(m) for m in before)
    ours = [m for m in after if _key(m) in new and satisfied(entry, m, platform)]
    if ours and not any(m['node'] == entry['node'] for m in ours):
        for mount in reversed(ours):
            runner.run(['umount', mount['node']], action='unmount %s, where a mount meant for %s landed'
                       % (mount['node'], entry['node']))
        raise MultiplicityError('The mount of %s on %s landed on %s: the mount point was changed (into a symlink) '
                                'after it was checked; it was unmounted again and nothing is mounted there'
                                % (entry['declared'], entry['node'], ', '.join(m['node'] for m in ours)))
    return after


def below(table, root):
    """Mounts on ``root`` or under it, in mount order."""
    prefix = root.rstrip('/') + '/'
    return [m for m in table if m['node'] == root or m['node'].startswith(prefix)]


def last_on(table, node):
    found = [m for m in table if m['node'] == node]
    return found[-1] if found else None


def fstab_edit(owner, lines, adopt=()):
    """The edit that makes ``owner``'s block of an fstab hold ``lines`` (:func:`edits.block_edit`)."""
    return block_edit(owner, lines, adopt)
