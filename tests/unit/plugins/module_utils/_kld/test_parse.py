# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import os

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParseError
from ansible_collections.bsd.multiplicity.plugins.module_utils._kld.parse import (
    file_stem, find_loaded, is_yes, parse_kldstat, parse_loader_conf, split_list,
)

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures')


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def test_modern_layout_from_reference():
    files = parse_kldstat(fixture('kldstat-14-reference.txt'))
    assert files == [
        {'id': 1, 'refs': 70, 'address': '0xffffffff80200000', 'size': 0x1f3c6c0, 'name': 'kernel',
         'path': None, 'modules': []},
        {'id': 2, 'refs': 1, 'address': '0xffffffff82a10000', 'size': 0x3320, 'name': 'vmm.ko',
         'path': None, 'modules': []},
    ]


def test_old_left_aligned_layout():
    files = parse_kldstat(fixture('kldstat-9-default.txt'))
    assert [(f['id'], f['refs'], f['name'], f['size']) for f in files] == [
        (1, 17, 'kernel', 0x12a6b08), (2, 1, 'zfs.ko', 0x1f5d58), (3, 2, 'opensolaris.ko', 0x3e08)]


def test_verbose_layout_with_paths_and_modules():
    files = parse_kldstat(fixture('kldstat-14-verbose.txt'))
    assert [(f['name'], f['path']) for f in files] == [
        ('kernel', '/boot/kernel/kernel'), ('zfs.ko', '/boot/kernel/zfs.ko'), ('vmm.ko', '/boot/kernel/vmm.ko')]
    assert files[0]['modules'] == ['if_lo', 'if_bridge_compiled', 'elf64']
    assert files[1]['modules'] == ['zfs_zvol', 'zfs']


def test_find_loaded_by_file_then_module():
    files = parse_kldstat(fixture('kldstat-14-verbose.txt'))
    assert find_loaded(files, 'vmm')[1] == 'file'
    entry, how = find_loaded(files, 'if_lo')
    assert (entry['name'], how) == ('kernel', 'module')
    assert find_loaded(files, 'zfs_zvol')[0]['name'] == 'zfs.ko'
    assert find_loaded(files, 'nmdm') == (None, None)


@pytest.mark.parametrize('text', [
    'Id Refs Address Size Name\n garbage line\n',
    '\tContains modules:\n',
])
def test_unexpected_lines_raise_with_output(text):
    with pytest.raises(ParseError) as info:
        parse_kldstat(text)
    assert info.value.output == text


def test_empty_output_is_no_files():
    assert parse_kldstat('') == []


def test_loader_conf_values():
    text = ('# comment\nvmm_load="YES"\nif_bridge_load=YES # trailing\n'
            'kern.geom.label.disk_ident.enable="0"\nvmm_load="NO"\n  nmdm_load = \'YES\'\nnot a line\n')
    assert parse_loader_conf(text) == {'vmm_load': 'NO', 'if_bridge_load': 'YES',
                                       'kern.geom.label.disk_ident.enable': '0', 'nmdm_load': 'YES'}
    assert parse_loader_conf(None) == {}


def test_small_helpers():
    assert file_stem('/boot/kernel/vmm.ko') == 'vmm'
    assert file_stem('linux64') == 'linux64'
    assert split_list(' vmm  nmdm\n') == ['vmm', 'nmdm']
    assert is_yes('yes') and is_yes('YES') and not is_yes('NO') and not is_yes(None)
