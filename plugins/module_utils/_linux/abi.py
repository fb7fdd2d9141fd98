# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Linux userland expects of the Linux ABI: its C library's version and the oldest Linux
kernel it runs on, read from the userland's own files (never run: it is the guest's code).

glibc records the oldest kernel it supports (its ``--enable-kernel``) in an ELF note of
``libc.so.6``, the ABI tag (``NT_GNU_ABI_TAG``: OS 0 for Linux, then major, minor, patch); its
start-up refuses an older ``uname -r`` ("FATAL: kernel too old"), and under linux(4) that is
``compat.linux.osrelease``.  The version is the banner glibc keeps in ``libc.so.6`` ("GNU C
Library ... release version 2.36"), or the name of the file the link points to on older
releases (``libc-2.31.so``).  Every read goes through :class:`files.GuestTree`: links are
resolved inside the userland, never followed out of it.
"""

from __future__ import annotations

import re
import stat
import struct

# Where distributions put the C library: Debian and Ubuntu by multiarch triplet (through /lib, a link
# to usr/lib on merged-/usr releases), Red Hat's family in lib64.
LIBC_PATHS = ('lib/x86_64-linux-gnu/libc.so.6', 'usr/lib/x86_64-linux-gnu/libc.so.6', 'lib64/libc.so.6',
              'usr/lib64/libc.so.6', 'lib/aarch64-linux-gnu/libc.so.6', 'usr/lib/aarch64-linux-gnu/libc.so.6',
              'lib/i386-linux-gnu/libc.so.6', 'usr/lib/i386-linux-gnu/libc.so.6', 'lib/libc.so.6', 'usr/lib/libc.so.6')
LIBC_LIMIT = 32 * 1024 * 1024
PT_NOTE, NT_GNU_ABI_TAG, ELF_NOTE_OS_LINUX = 4, 1, 0
BANNER = re.compile(rb'GNU C Library [^\n\0]{0,200}?release version (\d+)\.(\d+)')
FILE_VERSION = re.compile(r'libc-(\d+)\.(\d+)(?:\.\d+)?\.so$')
VERSION = re.compile(r'^(\d+)(?:\.(\d+))?(?:\.(\d+))?')


class Userland(object):
    """The C library of a userland: where it is, glibc's version (``(2, 36)``) and the oldest kernel it
    accepts (``(3, 2, 0)``), each None when it could not be read."""

    def __init__(self, path=None, glibc=None, min_kernel=None):
        self.path = path
        self.glibc = glibc
        self.min_kernel = min_kernel

    def facts(self):
        return dict(libc=self.path, glibc=dotted(self.glibc), min_kernel=dotted(self.min_kernel))


def dotted(version):
    return '.'.join(str(v) for v in version) if version else None


def kernel_version(text):
    """``5.15.0`` (or ``6.1.0-13-amd64``, ``4.4``) as a comparable (major, minor, patch); None if not one."""
    match = VERSION.match((text or '').strip())
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())


def abi_tag(data):
    """(major, minor, patch) of the ELF's GNU ABI tag for Linux, or None (not an ELF, or no such note)."""
    if len(data) < 64 or data[:4] != b'\x7fELF' or data[4] not in (1, 2) or data[5] not in (1, 2):
        return None
    wide, order = data[4] == 2, '<' if data[5] == 1 else '>'
    try:
        if wide:
            phoff, = struct.unpack_from(order + 'Q', data, 0x20)
            phentsize, phnum = struct.unpack_from(order + 'HH', data, 0x36)
        else:
            phoff, = struct.unpack_from(order + 'I', data, 0x1c)
            phentsize, phnum = struct.unpack_from(order + 'HH', data, 0x2a)
        for index in range(min(phnum, 256)):
            at = phoff + index * phentsize
            # Elf64_Phdr: type, flags, offset, vaddr, paddr, filesz, memsz, align; Elf32_Phdr: flags after memsz.
            fields = struct.unpack_from(order + ('IIQQQQQQ' if wide else 'IIIIIIII'), data, at)
            p_type, align = fields[0], fields[7]
            offset, size = (fields[2], fields[5]) if wide else (fields[1], fields[4])
            if p_type == PT_NOTE:
                found = _abi_note(data[offset:offset + size], order, 8 if align == 8 else 4)
                if found:
                    return found
    except struct.error:
        return None
    return None


def _abi_note(notes, order, align):
    at = 0
    while at + 12 <= len(notes):
        namesz, descsz, kind = struct.unpack_from(order + 'III', notes, at)
        name_at = at + 12
        desc_at = name_at + _pad(namesz, align)
        name = notes[name_at:name_at + namesz]
        if kind == NT_GNU_ABI_TAG and name == b'GNU\0' and descsz >= 16 and desc_at + 16 <= len(notes):
            os_id, major, minor, patch = struct.unpack_from(order + 'IIII', notes, desc_at)
            return (major, minor, patch) if os_id == ELF_NOTE_OS_LINUX else None
        at = desc_at + _pad(descsz, align)
    return None


def _pad(size, align):
    return (size + align - 1) // align * align


def glibc_version(data, filename=''):
    """(major, minor) of glibc from its banner in ``libc.so.6``, or from the file name it links to."""
    match = BANNER.search(data or b'')
    if match:
        return int(match.group(1)), int(match.group(2))
    match = FILE_VERSION.search(filename or '')
    return (int(match.group(1)), int(match.group(2))) if match else None


def inspect(tree):
    """The :class:`Userland` of the tree (a :class:`files.GuestTree`): its first C library found."""
    for candidate in LIBC_PATHS:
        resolved = tree.resolve(candidate)
        if not resolved:
            continue
        info = tree.lstat(resolved)
        if info is None or not stat.S_ISREG(info.st_mode) or info.st_size > LIBC_LIMIT:
            continue        # a FIFO or device the guest put there is not opened
        data = tree.read_bytes(resolved, LIBC_LIMIT)
        if data is None or data[:4] != b'\x7fELF':
            continue
        return Userland('/' + resolved, glibc_version(data, resolved.rsplit('/', 1)[-1]), abi_tag(data))
    return Userland()


def too_old(userland, osrelease):
    """Why ``osrelease`` (``compat.linux.osrelease``) is too old for the userland, or None."""
    have = kernel_version(osrelease)
    if userland.min_kernel is None or have is None or have >= userland.min_kernel:
        return None
    glibc = dotted(userland.glibc) or 'of unknown version'
    return ('its C library (glibc %s, %s) needs Linux %s or later, and compat.linux.osrelease is %s: its programs '
            'would stop with "FATAL: kernel too old"' % (glibc, userland.path, dotted(userland.min_kernel), osrelease))
