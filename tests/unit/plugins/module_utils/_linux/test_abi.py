# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import os
import platform
import shutil
import struct

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import GuestTree
from ansible_collections.bsd.multiplicity.plugins.module_utils._linux import abi

BANNER = b'GNU C Library (Debian GLIBC 2.36-9+deb12u4) stable release version 2.36.\n'


def note(name, kind, desc, order='<', align=4):
    def pad(data):
        return data + b'\0' * ((-len(data)) % align)
    return struct.pack(order + 'III', len(name), len(desc), kind) + pad(name) + pad(desc)


def elf(notes, wide=True, order='<', align=4, tail=b''):
    """A minimal ELF with one PT_NOTE segment holding ``notes`` (the program headers right after the header)."""
    header_size, ph_size = (64, 56) if wide else (52, 32)
    offset = header_size + ph_size
    ident = b'\x7fELF' + bytes([2 if wide else 1, 1 if order == '<' else 2, 1]) + b'\0' * 9
    if wide:
        header = ident + struct.pack(order + 'HHIQQQIHHHHHH', 3, 62, 1, 0, header_size, 0, 0, header_size, ph_size,
                                     1, 64, 0, 0)
        ph = struct.pack(order + 'IIQQQQQQ', abi.PT_NOTE, 4, offset, 0, 0, len(notes), len(notes), align)
    else:
        header = ident + struct.pack(order + 'HHIIIIIHHHHHH', 3, 3, 1, 0, header_size, 0, 0, header_size, ph_size,
                                     1, 40, 0, 0)
        ph = struct.pack(order + 'IIIIIIII', abi.PT_NOTE, offset, 0, 0, len(notes), len(notes), 4, align)
    return header + ph + notes + tail


def abi_note(major, minor, patch, os_id=0, order='<', align=4):
    return note(b'GNU\0', abi.NT_GNU_ABI_TAG, struct.pack(order + 'IIII', os_id, major, minor, patch), order, align)


@pytest.mark.parametrize('wide,order', [(True, '<'), (True, '>'), (False, '<'), (False, '>')])
def test_abi_tag_of_every_elf_class_and_byte_order(wide, order):
    build_id = note(b'GNU\0', 3, b'\x12' * 20, order)
    assert abi.abi_tag(elf(build_id + abi_note(3, 2, 0, order=order), wide, order)) == (3, 2, 0)


def test_abi_tag_in_an_eight_byte_aligned_note_segment():
    prop = note(b'GNU\0', 5, b'\0' * 16, align=8)
    assert abi.abi_tag(elf(prop + abi_note(4, 4, 0, align=8), align=8)) == (4, 4, 0)


@pytest.mark.parametrize('data', [
    b'', b'\x7fELF', b'#!/bin/sh\n' * 10, elf(abi_note(3, 2, 0, os_id=3)),          # a GNU/Hurd tag is not Linux's
    elf(note(b'GNU\0', 3, b'\1' * 20)), elf(abi_note(3, 2, 0))[:130],                 # none; cut short
    elf(b'')[:0x38] + struct.pack('<HH', 56, 65535) + elf(b'')[0x3c:],               # header lies about phnum
])
def test_abi_tag_of_what_is_not_a_tagged_elf_is_none(data):
    assert abi.abi_tag(data) is None


def test_glibc_version_from_banner_or_file_name():
    assert abi.glibc_version(b'\0junk' + BANNER) == (2, 36)
    assert abi.glibc_version(b'no banner', 'libc-2.31.so') == (2, 31)
    assert abi.glibc_version(b'no banner', 'libc.so.6') is None


@pytest.mark.parametrize('text,expected', [('5.15.0', (5, 15, 0)), ('6.1.0-13-amd64', (6, 1, 0)), ('4.4', (4, 4, 0)),
                                           ('3', (3, 0, 0)), ('', None), ('Linux', None)])
def test_kernel_version(text, expected):
    assert abi.kernel_version(text) == expected


def make_userland(root, libc=None, merged=True):
    """A Debian-like tree: lib a link to usr/lib (merged /usr) and libc.so.6 there."""
    target = root / 'usr/lib/x86_64-linux-gnu'
    target.mkdir(parents=True)
    if merged:
        os.symlink('usr/lib', str(root / 'lib'))
    (target / 'libc.so.6').write_bytes(libc if libc is not None else elf(abi_note(3, 2, 0), tail=BANNER))
    return root


def test_inspect_resolves_merged_usr_links_inside_the_tree(tmp_path):
    userland = abi.inspect(GuestTree(str(make_userland(tmp_path))))
    assert userland.facts() == dict(libc='/usr/lib/x86_64-linux-gnu/libc.so.6', glibc='2.36', min_kernel='3.2.0')
    assert abi.too_old(userland, '5.15.0') is None
    message = abi.too_old(userland, '2.6.32')
    assert 'glibc 2.36' in message and 'Linux 3.2.0 or later' in message and 'is 2.6.32' in message


def test_inspect_of_the_real_c_library_of_this_machine(tmp_path):
    """The machine's own glibc, copied into a tree: its version is the one Python reports."""
    source = '/usr/lib/x86_64-linux-gnu/libc.so.6'
    if not os.path.isfile(source):
        pytest.skip('no x86_64 glibc here')
    root = make_userland(tmp_path, libc=b'')
    shutil.copyfile(source, str(root / 'usr/lib/x86_64-linux-gnu/libc.so.6'))
    userland = abi.inspect(GuestTree(str(root)))
    assert abi.dotted(userland.glibc) == platform.libc_ver()[1]
    assert userland.min_kernel is not None and (2, 6, 0) <= userland.min_kernel <= tuple(
        abi.kernel_version(platform.release()))


def test_links_that_point_out_of_the_tree_stay_inside_it(tmp_path):
    root = tmp_path / 'guest'
    (root / 'usr/lib/x86_64-linux-gnu').mkdir(parents=True)
    (root / 'etc').mkdir()
    (root / 'etc/libc.so.6').write_bytes(elf(abi_note(2, 6, 32)))
    outside = tmp_path / 'host-libc.so.6'
    outside.write_bytes(elf(abi_note(9, 9, 9)))
    # Absolute and ../ targets are the guest's: they resolve below its root, as a process chrooted there sees them.
    os.symlink('/../../../../etc/libc.so.6', str(root / 'usr/lib/x86_64-linux-gnu/libc.so.6'))
    os.symlink(str(outside), str(root / 'lib64'))
    tree = GuestTree(str(root))
    assert tree.resolve('usr/lib/x86_64-linux-gnu/libc.so.6') == 'etc/libc.so.6'
    assert tree.resolve('lib64/libc.so.6') is None            # the host's path does not exist in the guest
    assert abi.inspect(tree).min_kernel == (2, 6, 32)


def test_a_link_loop_or_a_fifo_is_not_read(tmp_path):
    root = tmp_path / 'guest'
    (root / 'usr/lib/x86_64-linux-gnu').mkdir(parents=True)
    os.symlink('libc.so.6', str(root / 'usr/lib/x86_64-linux-gnu/libc.so.6'))
    tree = GuestTree(str(root))
    assert tree.resolve('usr/lib/x86_64-linux-gnu/libc.so.6') is None
    os.mkfifo(str(root / 'lib64'))
    os.mkfifo(str(root / 'usr/lib/libc.so.6'))
    with pytest.raises(MultiplicityError, match='is not a regular file'):
        tree.read_bytes('lib64')
    assert abi.inspect(tree).facts() == dict(libc=None, glibc=None, min_kernel=None)
