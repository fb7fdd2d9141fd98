# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files shared with people and files inside guests: reading, atomic writes under a lock,
owned-block editing, and purging that never crosses a mount or follows a symlink.

Text is decoded as UTF-8 with ``surrogateescape``: bytes that are not UTF-8
survive a read-edit-write cycle unchanged instead of crashing the module.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import stat
import tempfile
import time

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError

ENCODING = 'utf-8'
ERRORS = 'surrogateescape'
# Host configuration files are small; a bigger one is a mistake or an attack.
READ_LIMIT = 16 * 1024 * 1024
# Both Linux (ELOOP) and FreeBSD (EMLINK) answer O_NOFOLLOW on a symlink with their own errno.
_SYMLINK_ERRNOS = (errno.ELOOP, errno.EMLINK, errno.ENOTDIR)


class NotUtf8Error(MultiplicityError):
    """A file that must be UTF-8 (its reader accepts nothing else) is not."""


def _read_fd(fd, what, limit, strict=False):
    data = _read_fd_bytes(fd, what, limit)
    if strict:
        try:
            return data.decode(ENCODING)
        except UnicodeDecodeError as exc:
            raise NotUtf8Error('%s is not UTF-8 text (%s)' % (what, exc))
    return data.decode(ENCODING, ERRORS)


def _read_fd_bytes(fd, what, limit):
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise MultiplicityError('%s is not a regular file; not reading it' % what)
    if info.st_size > limit:
        raise MultiplicityError('%s is %d bytes, more than the %d this module reads' % (what, info.st_size, limit))
    chunks = []
    size = 0
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise MultiplicityError('%s grew beyond %d bytes while being read' % (what, limit))
        chunks.append(chunk)
    return b''.join(chunks)


def read_text(path, limit=READ_LIMIT, strict=False):
    """The text of a host file, or None when it does not exist.

    A FIFO, device or directory in its place is refused (opened non-blocking so
    that a FIFO cannot hang the module); every failure names the file.  Bytes
    that are not UTF-8 are kept (see ENCODING), or refused with ``strict``.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, 'O_NOCTTY', 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise MultiplicityError('Cannot read %s: %s' % (path, exc.strerror or exc))
    try:
        return _read_fd(fd, path, limit, strict)
    except OSError as exc:
        raise MultiplicityError('Cannot read %s: %s' % (path, exc.strerror or exc))
    finally:
        os.close(fd)


def encode(text):
    """Text as written back: the bytes it was read from, for bytes that are not UTF-8."""
    return text.encode(ENCODING, ERRORS)


@contextlib.contextmanager
def locked(path):
    """Hold an exclusive lock for a read-modify-write of ``path``.

    The lock is an flock(2) on the file's directory: the file itself is
    replaced by rename on every write, so a lock on its inode would not
    serialise the next writer.  Every writer in this collection takes it
    before re-reading the file, so two runs on one host never lose an edit.
    """
    directory = os.path.dirname(os.path.abspath(path)) or '.'
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0))
    except OSError as exc:
        raise MultiplicityError('Cannot lock %s: %s: %s' % (path, directory, exc.strerror or exc))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def edit_locked(path, edit, mode=None, private=False):
    """Apply ``edit(current text or None) -> new text`` to ``path`` from a fresh read, under the lock.

    Returns True when the file changed.  ``edit`` returning None removes the
    file.  ``private``: the file holds a secret, so it is written 0600 whatever
    its mode was.  This is how shared files (rc.conf, rctl.conf, fstab, a jail.conf
    holding several jails) are changed: never from a text read at plan time.
    """
    with locked(path):
        current = read_text(path)
        new = edit(current)
        if new == current:
            return False
        if new is None:
            os.unlink(path)
        else:
            atomic_write(path, new, mode=0o600 if private else mode, keep_mode=not private)
        return True


def atomic_write(path, content, mode=None, backup=False, keep_mode=True):
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
        with os.fdopen(fd, 'w', encoding=ENCODING, errors=ERRORS, newline='') as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        if existing is not None and keep_mode:
            os.chmod(tmp, stat.S_IMODE(existing.st_mode))
            if (existing.st_uid, existing.st_gid) != (os.getuid(), os.getgid()):
                os.chown(tmp, existing.st_uid, existing.st_gid)
        if existing is None or not keep_mode:
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


def parsed_files(directory, accept, parse):
    """([(path, parsed)], {path: error}) of the regular files of ``directory`` whose name ``accept``s, each
    read as UTF-8 text and given to ``parse`` (a ValueError it raises is that file's error), in name order.
    A directory that cannot be listed has none."""
    found, errors = [], {}
    try:
        entries = sorted(os.listdir(directory))
    except OSError:
        return found, errors
    for entry in entries:
        path = os.path.join(directory, entry)
        if entry.startswith('.') or not accept(entry) or not os.path.isfile(path):
            continue
        try:
            found.append((path, parse(read_text(path, strict=True) or '')))
        except ValueError as exc:
            errors[path] = str(exc)
        except MultiplicityError as exc:
            errors[path] = 'not readable as UTF-8 text: %s' % exc
    return found, errors


def split_lines(text):
    """Lines with their endings, split on \\n only.

    ``str.splitlines()`` also breaks at \\f, \\v, \\x1c-\\x1e, \\x85, \\u2028 and
    \\u2029, which are ordinary characters to sh, jail(8) and xl: an edit must
    see the lines the file's own reader sees.
    """
    parts = text.split('\n')
    lines = [part + '\n' for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def find_block(text, begin, end):
    """Return (start, stop) character offsets of the block including markers, or None."""
    offset = 0
    start = None
    for line in split_lines(text):
        stripped = line.rstrip('\n')
        stripped = stripped[:-1] if stripped.endswith('\r') else stripped
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


class GuestTree(object):
    """A guest's root seen from the host, opened one component at a time with ``O_NOFOLLOW``.

    The root directory itself is the host's choice and may be reached through
    symlinks; every component below it belongs to the guest's root user, so a
    symlink, FIFO or device there is refused instead of followed or opened.
    Paths are relative to the root (a leading / is ignored).
    """

    def __init__(self, root, what='guest'):
        self.root = root
        self.what = what

    def _fail(self, relpath, message):
        raise MultiplicityError('%s %s: %s/%s %s; not touching it' % (self.what, self.root, self.root.rstrip('/'),
                                                                      relpath.lstrip('/'), message))

    def _parts(self, relpath):
        parts = [p for p in relpath.split('/') if p not in ('', '.')]
        if '..' in parts or not parts:
            raise MultiplicityError('%s %s: %r is not a path inside it' % (self.what, self.root, relpath))
        return parts

    def _open_dir(self, relpath, parts, create=False, mode=0o755):
        """An fd of the directory ``parts`` below the root; None when a component is missing."""
        try:
            fd = os.open(self.root, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise MultiplicityError('%s %s: cannot open it: %s' % (self.what, self.root, exc.strerror or exc))
        for index, part in enumerate(parts):
            try:
                try:
                    info = os.stat(part, dir_fd=fd, follow_symlinks=False)
                except FileNotFoundError:
                    if not create:
                        os.close(fd)
                        return None
                    os.mkdir(part, mode, dir_fd=fd)
                    info = os.stat(part, dir_fd=fd, follow_symlinks=False)
                if stat.S_ISLNK(info.st_mode):
                    os.close(fd)
                    self._fail('/'.join(parts[:index + 1]), 'is a symlink')
                if not stat.S_ISDIR(info.st_mode):
                    os.close(fd)
                    self._fail('/'.join(parts[:index + 1]), 'is not a directory')
                child = os.open(part, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, 'O_DIRECTORY', 0), dir_fd=fd)
            except OSError as exc:
                os.close(fd)
                if exc.errno in _SYMLINK_ERRNOS:
                    self._fail('/'.join(parts[:index + 1]), 'changed into a symlink or non-directory')
                raise MultiplicityError('%s %s: cannot open %s: %s' % (self.what, self.root, relpath,
                                                                       exc.strerror or exc))
            os.close(fd)
            fd = child
        return fd

    def lstat(self, relpath):
        """os.lstat of the entry (None when it or a directory on the way is missing)."""
        parts = self._parts(relpath)
        fd = self._open_dir(relpath, parts[:-1])
        if fd is None:
            return None
        try:
            return os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        finally:
            os.close(fd)

    def read(self, relpath, limit=1024 * 1024):
        """Text of a regular file; None when it does not exist.  A symlink, FIFO or device is refused."""
        data = self.read_bytes(relpath, limit)
        return None if data is None else data.decode(ENCODING, ERRORS)

    def read_bytes(self, relpath, limit=16 * 1024 * 1024):
        """The bytes of a regular file (a library, a binary); None when it does not exist.  A symlink, FIFO
        or device is refused."""
        parts = self._parts(relpath)
        fd = self._open_dir(relpath, parts[:-1])
        if fd is None:
            return None
        try:
            try:
                info = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                return None
            if not stat.S_ISREG(info.st_mode):
                self._fail(relpath, 'is a symlink' if stat.S_ISLNK(info.st_mode) else 'is not a regular file')
            try:
                # O_NONBLOCK: a FIFO swapped in since the check is not waited on (and then refused).
                handle = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
            except OSError as exc:
                if exc.errno in _SYMLINK_ERRNOS:
                    self._fail(relpath, 'changed into a symlink')
                raise MultiplicityError('%s %s: cannot read %s: %s' % (self.what, self.root, relpath,
                                                                       exc.strerror or exc))
            try:
                return _read_fd_bytes(handle, '%s/%s' % (self.root.rstrip('/'), relpath.lstrip('/')), limit)
            finally:
                os.close(handle)
        finally:
            os.close(fd)

    def resolve(self, relpath, max_links=32):
        """The path, relative to the root, that ``relpath`` names as a process chrooted there sees it, every
        symlink on the way replaced by its target (absolute targets start at the root; ``..`` stops at it),
        or None when something on the way is missing or a loop.  Links are read, never followed, so the
        answer stays inside the root; open it with :meth:`read` or :meth:`read_bytes`, which refuse a
        symlink swapped in since."""
        pending = [p for p in relpath.split('/') if p not in ('', '.')]
        done = []
        links = 0
        while pending:
            part = pending.pop(0)
            if part == '..':
                if done:
                    done.pop()
                continue
            info = self.lstat('/'.join(done + [part]))
            if info is None:
                return None
            if stat.S_ISLNK(info.st_mode):
                links += 1
                if links > max_links:
                    return None
                target = self._readlink('/'.join(done + [part]))
                if target.startswith('/'):
                    done = []
                pending = [p for p in target.split('/') if p not in ('', '.')] + pending
                continue
            if pending and not stat.S_ISDIR(info.st_mode):
                return None
            done.append(part)
        return '/'.join(done)

    def _readlink(self, relpath):
        parts = self._parts(relpath)
        fd = self._open_dir(relpath, parts[:-1])
        if fd is None:
            self._fail(relpath, 'vanished')
        try:
            return os.readlink(parts[-1], dir_fd=fd)
        except OSError as exc:
            raise MultiplicityError('%s %s: cannot read the link %s: %s' % (self.what, self.root, relpath,
                                                                            exc.strerror or exc))
        finally:
            os.close(fd)

    def read_optional(self, relpath, limit=1024 * 1024):
        """Like :meth:`read`, but None instead of a refusal: for facts, never for edits."""
        try:
            return self.read(relpath, limit)
        except MultiplicityError:
            return None

    def makedirs(self, relpath, mode=0o755):
        """Create the directories of ``relpath`` below the root, refusing symlinks on the way."""
        parts = self._parts(relpath)
        os.close(self._open_dir(relpath, parts, create=True, mode=mode))

    def write(self, relpath, text, mode=0o644):
        """Replace a file atomically: a new file beside it, renamed over it, all relative to the
        directory's fd, so a symlink planted by the guest is replaced rather than followed."""
        parts = self._parts(relpath)
        fd = self._open_dir(relpath, parts[:-1])
        if fd is None:
            self._fail(relpath, 'has no parent directory')
        name = parts[-1]
        tmp = '.%s.bsdm%d' % (name, os.getpid())
        try:
            try:
                existing = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                existing = None
            if existing is not None and not stat.S_ISREG(existing.st_mode):
                self._fail(relpath, 'is a symlink' if stat.S_ISLNK(existing.st_mode) else 'is not a regular file')
            try:
                os.unlink(tmp, dir_fd=fd)
            except FileNotFoundError:
                pass
            handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=fd)
            try:
                data = encode(text)
                while data:
                    data = data[os.write(handle, data):]
                os.fsync(handle)
                os.fchmod(handle, stat.S_IMODE(existing.st_mode) if existing else mode)
                if existing is not None:
                    os.fchown(handle, existing.st_uid, existing.st_gid)
            finally:
                os.close(handle)
            os.rename(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        except OSError as exc:
            try:
                os.unlink(tmp, dir_fd=fd)
            except OSError:
                pass
            raise MultiplicityError('%s %s: cannot write %s: %s' % (self.what, self.root, relpath,
                                                                    exc.strerror or exc))
        finally:
            os.close(fd)

    def symlink(self, target, relpath):
        """Create the symlink ``relpath`` -> ``target`` (the link's text), inside a checked directory."""
        parts = self._parts(relpath)
        fd = self._open_dir(relpath, parts[:-1])
        if fd is None:
            self._fail(relpath, 'has no parent directory')
        try:
            os.symlink(target, parts[-1], dir_fd=fd)
        finally:
            os.close(fd)


def remove_tree(path, keep_top=False):
    """Remove a directory tree the user asked to purge (BSD file flags such as schg cleared first);
    with ``keep_top``, only what is in it (the directory may be a dataset's mount point).

    Refuses a path near the root, a path that is itself a symlink, and any
    tree with a filesystem mounted on or below it (checked against the path
    with symlinks resolved): removing would reach into that filesystem (host
    data through nullfs or a bind mount, /dev, /proc).  Nothing below is
    followed: flags are cleared with lchflags and rmtree removes links, FIFOs
    and devices without opening them.
    """
    path = os.path.normpath(path)
    if os.path.realpath(path).count('/') < 2 or path.count('/') < 2:
        raise MultiplicityError('Refusing to purge %s: too close to the filesystem root' % path)
    if not os.path.lexists(path):
        return
    if os.path.islink(path):
        raise MultiplicityError('Refusing to purge %s: it is a symlink (to %s); remove the link itself if that '
                                'is what you want' % (path, os.readlink(path)))
    mounted = [m for m in mounts_below(path) if not (keep_top and m == os.path.realpath(path))]
    if mounted:
        raise MultiplicityError('Refusing to purge %s: %s is mounted on or below it (unmount it first)'
                                % (path, ', '.join(mounted)))
    clear_flags = getattr(os, 'lchflags', None)
    if clear_flags is not None:
        for directory, subdirs, files in os.walk(path):
            for entry in subdirs + files:
                try:
                    clear_flags(os.path.join(directory, entry), 0)
                except OSError:
                    pass
    # A mount that appeared since the check makes rmtree fail (EBUSY/EXDEV at the mount point's
    # directory) rather than descend: rmtree compares each directory it opens with what it lstat'ed.
    if not keep_top:
        shutil.rmtree(path)
        return
    for entry in os.listdir(path):
        full = os.path.join(path, entry)
        if stat.S_ISDIR(os.lstat(full).st_mode):
            shutil.rmtree(full)
        else:
            os.unlink(full)


def mount_table_nodes():
    """Mount points the kernel reports, from /proc/self/mounts where it exists (Linux).

    FreeBSD has no such file; there a mount below a tree always shows as a
    change of st_dev (nullfs and devfs report their own), which
    :func:`mounts_below` also checks.
    """
    text = read_text('/proc/self/mounts') if os.path.exists('/proc/self/mounts') else None
    nodes = []
    for line in (text or '').split('\n'):
        fields = line.split()
        if len(fields) > 1:
            nodes.append(fields[1].replace('\\040', ' ').replace('\\011', '\t').replace('\\012', '\n')
                         .replace('\\134', '\\'))
    return nodes


def mounts_below(path):
    """Mount points on ``path`` or under it (compared with symlinks resolved): another device,
    or a Linux bind mount of the same filesystem, listed in /proc/self/mounts."""
    real = os.path.realpath(path)
    found = [real] if os.path.ismount(real) else []
    top = os.lstat(real).st_dev
    for directory, subdirs, files in os.walk(real):
        for entry in list(subdirs):
            full = os.path.join(directory, entry)
            if os.lstat(full).st_dev != top or os.path.ismount(full):
                found.append(full)
                subdirs.remove(entry)
    prefix = real.rstrip('/') + '/'
    found += [m for m in mount_table_nodes() if (m == real or m.startswith(prefix)) and m not in found]
    return sorted(found)


def os_release(tree):
    """{KEY: value} of a userland's os-release(5) (``ID``, ``VERSION_ID``, ``PRETTY_NAME``...), read through
    ``tree`` (a :class:`GuestTree`): Debian's ``etc/os-release`` is a link to ``../usr/lib/os-release``, which
    is then read directly; quotes around a value are dropped."""
    text = tree.read_optional('etc/os-release')
    if text is None:
        text = tree.read_optional('usr/lib/os-release')
    found = {}
    for line in (text or '').split('\n'):
        key, sep, value = line.strip().partition('=')
        if sep and key and not key.startswith('#'):
            found[key] = value.strip().strip('"\'')
    return found
