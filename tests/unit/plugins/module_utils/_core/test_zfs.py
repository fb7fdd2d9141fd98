# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""zfs reads and property comparison, shared by every kind."""
from __future__ import annotations

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import zfs
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParseError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.runner import CommandResult


class Runner(object):
    def __init__(self, rc, stdout, stderr=''):
        self.answer = CommandResult([], rc, stdout, stderr)
        self.ran = []

    def run(self, argv, action=None):
        self.ran.append(argv)
        return self.answer

    def run_lookup(self, argv, missing, action=None):
        self.ran.append(argv)
        return None if self.answer.rc and missing(self.answer) else self.answer


def test_get_output_is_parsed_and_garbage_refused():
    assert zfs.parse_get('quota\t0\norigin\t-\n\n') == {'quota': '0', 'origin': '-'}
    with pytest.raises(ParseError):
        zfs.parse_get('garbage\n')


@pytest.mark.parametrize('prop, wanted, current, equal', [
    ('quota', '1G', '1073741824', True), ('quota', '1024M', '1073741824', True), ('quota', 'none', '0', True),
    ('quota', '2G', '1073741824', False), ('compression', 'LZ4', 'lz4', True), ('compression', 'off', 'lz4', False),
    ('volsize', '10G', '10737418240', True), ('user:note', 'a b', 'a b', True),
])
def test_declared_values_compare_as_zfs_prints_them(prop, wanted, current, equal):
    assert zfs.value_equal(prop, wanted, current) is equal


def test_only_differing_properties_are_set():
    assert zfs.property_changes({'quota': '1G', 'compression': 'lz4'},
                                {'quota': '1073741824', 'compression': 'off'}) == {'compression': 'lz4'}
    assert zfs.property_changes(None, {'quota': '0'}) == {}


def test_one_dataset_is_read_or_is_missing():
    runner = Runner(0, 'mountpoint\t/j/web\norigin\tzroot/t@base\nquota\t0\n')
    assert zfs.read_dataset(runner, 'zroot/j/web', ['quota'])['origin'] == 'zroot/t@base'
    assert runner.ran == [['zfs', 'get', '-H', '-p', '-o', 'property,value', 'mountpoint,origin,quota', 'zroot/j/web']]
    missing = Runner(1, '', "cannot open 'zroot/j/x': dataset does not exist\n")
    assert zfs.read_dataset(missing, 'zroot/j/x', []) is None


def test_every_dataset_is_one_read():
    runner = Runner(0, 'zroot/a\tmountpoint\t/a\nzroot/a\torigin\t-\nzroot/v\tvolsize\t1073741824\n')
    found = zfs.read_datasets(runner, ['volsize'], types='filesystem,volume')
    assert found == {'zroot/a': {'mountpoint': '/a', 'origin': '-'}, 'zroot/v': {'volsize': '1073741824'}}
    assert runner.ran[0][-2:] == ['filesystem,volume', 'mountpoint,origin,volsize']
