"""newfs(8) and UFS, **simulated**: Linux cannot mount UFS2 read-write.

``newfs`` writes a small header where UFS2 keeps its superblock (64 KiB into the device): a
signature and an id.  The file system's contents are a real directory of the instance named by
that id (/var/db/fbsdsim/ufs/ID), which ``mount -t ufs`` binds on the mount point.  So a disk image
made a file system once, detached and attached again (as an md(4) disk of a jail's root, after a
bhyve VM used it) shows the same files; a copy of the image shares them (the id is copied too).
"""

import os
import uuid

from fbsd.core import Command, getopt

SUPERBLOCK = 65536
SIGNATURE = b'fbsdsim-ufs2 '
STORE = '/var/db/fbsdsim/ufs'


def read_id(special):
    """The id newfs wrote on ``special`` (a device node, an md(4) disk, a file), or None."""
    try:
        with open(os.path.realpath(special), 'rb') as handle:
            handle.seek(SUPERBLOCK)
            header = handle.read(64)
    except OSError:
        return None
    if not header.startswith(SIGNATURE):
        return None
    found = header[len(SIGNATURE):].split(b'\n', 1)[0].decode('ascii', 'replace')
    return found if found.isalnum() else None


def directory_of(special):
    """The directory holding the file system on ``special``, or None when it has none."""
    found = read_id(special)
    return os.path.join(STORE, found) if found else None


def newfs_main(prog, args):
    cmd = Command(prog, ['usage: newfs [ -fragment-options ] [-L volname] [-EJNUjlnt] [-S sector-size] special'])
    options, operands = getopt(cmd, args, 'EJL:NO:RS:T:UXa:b:c:d:e:f:g:h:i:jk:lm:no:p:r:s:t')
    if len(operands) != 1:
        cmd.bad_option()
    special = operands[0]
    target = os.path.realpath(special)
    if not os.path.exists(target):
        cmd.errx(1, '%s: failed to get info on device: No such file or directory' % special)    # [mem]
    if os.path.getsize(target) < 2 * 1024 * 1024 and os.path.isfile(target):
        cmd.errx(1, 'file system too small')        # [mem] newfs needs a few MB
    if 'N' in dict(options):
        return 0
    fs_id = uuid.uuid4().hex
    with open(target, 'r+b') as handle:
        handle.seek(SUPERBLOCK)
        handle.write(SIGNATURE + fs_id.encode('ascii') + b'\n')
    os.makedirs(os.path.join(STORE, fs_id), 0o755)
    cmd.out('%s: %.1fMB (%d sectors) block size 32768, fragment size 4096'
            % (special, os.path.getsize(target) / 1048576.0, os.path.getsize(target) // 512))
    cmd.out('\tusing 4 cylinder groups of %.2fMB, %d blks, %d inodes.'
            % (os.path.getsize(target) / 4 / 1048576.0, os.path.getsize(target) // 4 // 32768, 1024))
    return 0
