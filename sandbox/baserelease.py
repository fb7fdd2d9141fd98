"""A small FreeBSD-like base.txz: a busybox userland laid out like FreeBSD's.

It stands in for the release archives of download.freebsd.org: the same name,
a MANIFEST in the same format, xz-compressed tar of a tree with /bin/sh,
/etc/rc, /etc/rc.conf and /bin/freebsd-version.  The programs are Linux
busybox applets; that is said in /etc/fbsdsim-notice inside the tree.
"""

import hashlib
import io
import os
import tarfile
import time

# Applets that answer to FreeBSD's names for basic tools.
APPLETS = {
    'bin': ['sh', 'cat', 'chmod', 'cp', 'date', 'echo', 'expr', 'hostname', 'kill', 'ln', 'ls', 'mkdir', 'mv',
            'ps', 'pwd', 'realpath', 'rm', 'rmdir', 'sleep', 'test', '[', 'sync'],
    'sbin': ['init', 'reboot'],
    'usr/bin': ['awk', 'basename', 'cut', 'dirname', 'env', 'find', 'grep', 'head', 'id', 'sed', 'sort', 'tail',
                'touch', 'tr', 'true', 'false', 'uniq', 'wc', 'which', 'xargs'],
    'usr/sbin': ['chroot'],
}
DIRECTORIES = {'dev': 0o555, 'etc': 0o755, 'etc/rc.d': 0o755, 'root': 0o750, 'tmp': 0o1777, 'var': 0o755,
               'var/log': 0o755, 'var/run': 0o755, 'var/tmp': 0o1777, 'usr': 0o755, 'usr/local': 0o755,
               'usr/local/etc': 0o755, 'boot': 0o755, 'proc': 0o555, 'mnt': 0o755}
FILES = {
    'etc/rc': ('#!/bin/sh\n# fbsdsim base: a stand-in for FreeBSD\'s /etc/rc.  It runs the\n'
               '# executable scripts in /etc/rc.d in name order, then exits.\n'
               'for script in /etc/rc.d/*; do [ -x "$script" ] && "$script" start; done\nexit 0\n', 0o644),
    'etc/rc.shutdown': ('#!/bin/sh\nfor script in /etc/rc.d/*; do [ -x "$script" ] && "$script" stop; done\n'
                        'exit 0\n', 0o644),
    'etc/rc.conf': ('# /etc/rc.conf of the jail or chroot\n', 0o644),
    'etc/passwd': ('root:*:0:0:Charlie &:/root:/bin/sh\ntoor:*:0:0:Bourne-again Superuser:/root:\n'
                   'daemon:*:1:1:Owner of many system processes:/root:/usr/sbin/nologin\n'
                   'www:*:80:80:World Wide Web Owner:/nonexistent:/usr/sbin/nologin\n'
                   'nobody:*:65534:65534:Unprivileged user:/nonexistent:/usr/sbin/nologin\n', 0o644),
    'etc/group': ('wheel:*:0:root\ndaemon:*:1:\nwww:*:80:\nnogroup:*:65533:\nnobody:*:65534:\n', 0o644),
    'etc/hosts': ('::1\t\t\tlocalhost localhost.my.domain\n127.0.0.1\t\tlocalhost localhost.my.domain\n',
                  0o644),
    'etc/fbsdsim-notice': ('This tree is the sandbox\'s stand-in for a FreeBSD base.txz.  Its programs are\n'
                           'busybox applets for Linux, arranged under FreeBSD\'s paths, so that jails and\n'
                           'chroots made from it can run commands in the sandbox.  It is not FreeBSD.\n', 0o444),
}


# The placeholder the host's /boot/kernel/kernel holds too (sandbox/cli.py).
KERNEL_TEXT = 'fbsdsim: simulated kernel\n'


def freebsd_version_script(release):
    """/bin/freebsd-version: like FreeBSD's, the userland version is a variable in the script."""
    return ('#!/bin/sh\n# fbsdsim base: freebsd-version(1) of this userland\n'
            'USERLAND_VERSION="%s"\n'
            'case "$1" in -u|"") echo "$USERLAND_VERSION" ;; *) echo "usage: freebsd-version [-kru]" >&2; exit 1 ;;'
            ' esac\n' % release)


def build(busybox, release, target):
    """Write base.txz and MANIFEST into the directory ``target``; returns the archive path."""
    os.makedirs(target, exist_ok=True)
    archive = os.path.join(target, 'base.txz')
    now = int(time.time())
    count = 0
    with tarfile.open(archive + '.tmp', 'w:xz') as tar:
        def add(name, kind, mode, data=None, link=None):
            info = tarfile.TarInfo('./' + name)
            info.type, info.mode, info.mtime = kind, mode, now
            if link:
                info.linkname = link
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)

        add('', tarfile.DIRTYPE, 0o755)
        for directory in sorted(set(DIRECTORIES) | set(APPLETS)):
            add(directory, tarfile.DIRTYPE, DIRECTORIES.get(directory, 0o755))
            count += 1
        with open(busybox, 'rb') as handle:
            add('bin/busybox', tarfile.REGTYPE, 0o555, handle.read())
        for directory, names in APPLETS.items():
            depth = directory.count('/') + 1
            for name in names:
                add('%s/%s' % (directory, name), tarfile.SYMTYPE, 0o777, link='../' * depth + 'bin/busybox'
                    if directory != 'bin' else 'busybox')
                count += 1
        for name, (text, mode) in sorted(FILES.items()):
            add(name, tarfile.REGTYPE, mode, text.encode())
            count += 1
        add('bin/freebsd-version', tarfile.REGTYPE, 0o555, freebsd_version_script(release).encode())
        count += 2
    os.rename(archive + '.tmp', archive)
    kernel, kernel_count = build_kernel(target, now)
    with open(os.path.join(target, 'MANIFEST'), 'w') as handle:
        handle.write('base.txz\t%s\t%d\tbase\t"Base system (fbsdsim stand-in)"\ton\n' % (sha256(archive), count))
        handle.write('kernel.txz\t%s\t%d\tkernel\t"Kernel (fbsdsim stand-in)"\ton\n' % (sha256(kernel), kernel_count))
    return archive


def build_kernel(target, now):
    """kernel.txz: /boot/kernel/kernel as the sandbox's own placeholder (what bhyveload looks for on a guest's
    disk; nothing runs it), as the release's kernel.txz holds the kernel and its modules."""
    archive = os.path.join(target, 'kernel.txz')
    entries = [('boot', tarfile.DIRTYPE, 0o755, None), ('boot/kernel', tarfile.DIRTYPE, 0o755, None),
               ('boot/kernel/kernel', tarfile.REGTYPE, 0o555, KERNEL_TEXT.encode())]
    with tarfile.open(archive + '.tmp', 'w:xz') as tar:
        for name, kind, mode, data in entries:
            info = tarfile.TarInfo('./' + name)
            info.type, info.mode, info.mtime = kind, mode, now
            info.size = len(data) if data is not None else 0
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    os.rename(archive + '.tmp', archive)
    return archive, len(entries)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()
