# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Atomic writes and owned-block editing for files shared with people."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError


def read_text(path):
    """The file's text, or None when it does not exist."""
    try:
        with open(path, 'r', encoding='utf-8', newline='') as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def atomic_write(path, content, mode=None, backup=False):
    """Replace ``path`` with ``content`` atomically.

    The text goes to a temporary file in the same directory, is flushed and
    fsynced, takes over the old file's mode and owner (or ``mode`` for a new
    file), and is renamed over the target.  Returns the backup path, if any.
    """
    directory = os.path.dirname(os.path.abspath(path)) or '.'
    if not os.path.isdir(directory):
        raise MultiplicityError('Cannot write %s: directory %s does not exist' % (path, directory))
    try:
        existing = os.stat(path)
    except FileNotFoundError:
        existing = None

    backup_path = None
    if backup and existing is not None:
        backup_path = '%s.%s~' % (path, time.strftime('%Y%m%d%H%M%S'))
        shutil.copy2(path, backup_path)

    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8', newline='') as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        if existing is not None:
            os.chmod(tmp, stat.S_IMODE(existing.st_mode))
            if (existing.st_uid, existing.st_gid) != (os.getuid(), os.getgid()):
                os.chown(tmp, existing.st_uid, existing.st_gid)
        else:
            os.chmod(tmp, 0o644 if mode is None else mode)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return backup_path


def block_markers(owner, comment='#'):
    """The begin and end lines that delimit the block ``owner`` manages."""
    return ('%s BEGIN %s (managed by bsd.multiplicity)' % (comment, owner),
            '%s END %s (managed by bsd.multiplicity)' % (comment, owner))


def find_block(text, begin, end):
    """Return (start, stop) character offsets of the block including markers, or None."""
    lines = text.splitlines(True)
    offset = 0
    start = None
    for line in lines:
        stripped = line.rstrip('\r\n')
        if start is None and stripped == begin:
            start = offset
        elif start is not None and stripped == end:
            return start, offset + len(line)
        offset += len(line)
    if start is not None:
        raise MultiplicityError('Unterminated managed block: found "%s" but no "%s"' % (begin, end))
    return None


def replace_block(text, begin, end, body):
    """Put ``body`` between the markers; ``body=None`` removes the block.

    Everything outside the block is kept byte for byte.  A new block is
    appended at the end of the file, separated by a newline if needed.
    """
    text = text or ''
    span = find_block(text, begin, end)
    newline = '\r\n' if '\r\n' in text else '\n'
    if body is None:
        if span is None:
            return text
        return text[:span[0]] + text[span[1]:]
    if body and not body.endswith('\n'):
        body += '\n'
    if newline != '\n':
        body = body.replace('\r\n', '\n').replace('\n', newline)
    block = begin + newline + body + end + newline
    if span is not None:
        return text[:span[0]] + block + text[span[1]:]
    if text and not text.endswith('\n'):
        text += newline
    return text + block


def resolve_inside(root, target):
    """``target`` with symlinks resolved, or None when that leads outside ``root``.

    Files under a guest's root belong to the guest's own root user, who could
    point a symlink at the host's files.
    """
    real_root = os.path.realpath(root)
    real = os.path.realpath(target)
    if real != real_root and not real.startswith(real_root.rstrip('/') + '/'):
        return None
    return real


def remove_tree(path):
    """Remove a directory tree the user asked to purge (BSD file flags such as schg cleared first).

    Refuses a path near the root, and any tree with a filesystem mounted
    below it: removing would reach into that filesystem (host data through
    nullfs or a bind mount, /dev, /proc).
    """
    path = os.path.normpath(path)
    if path.count('/') < 2:
        raise MultiplicityError('Refusing to purge %s: too close to the filesystem root' % path)
    if not os.path.lexists(path):
        return
    mounted = mounts_below(path)
    if mounted:
        raise MultiplicityError('Refusing to purge %s: %s is mounted below it (unmount it first)'
                                % (path, ', '.join(mounted)))
    clear_flags = getattr(os, 'lchflags', None)
    if clear_flags is not None:
        for directory, subdirs, files in os.walk(path):
            for entry in subdirs + files:
                try:
                    clear_flags(os.path.join(directory, entry), 0)
                except OSError:
                    pass
    shutil.rmtree(path)


def mounts_below(path):
    """Mount points under ``path``: another device (FreeBSD's nullfs reports its own), or a
    Linux bind mount of the same filesystem, listed in /proc/self/mounts."""
    found = []
    top = os.lstat(path).st_dev
    for directory, subdirs, files in os.walk(path):
        for entry in list(subdirs):
            full = os.path.join(directory, entry)
            if os.lstat(full).st_dev != top or os.path.ismount(full):
                found.append(full)
                subdirs.remove(entry)
    try:
        with open('/proc/self/mounts', 'r', encoding='utf-8') as handle:
            table = [line.split()[1] for line in handle if len(line.split()) > 1]
    except OSError:
        table = []
    found += [m for m in table if m.startswith(path.rstrip('/') + '/') and m not in found]
    return sorted(found)
