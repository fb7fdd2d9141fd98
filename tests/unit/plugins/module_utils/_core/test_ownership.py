# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One marker scheme for what the collection owns in shared files, and earlier versions' markers."""
from __future__ import annotations

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import ownership


def test_a_marker_names_its_owner_and_what_it_holds():
    line = ownership.marker('domain web', 'settings: name memory')
    assert line == '# Managed by bsd.multiplicity: domain web; settings: name memory'
    assert ownership.read(line + '\n') == ('domain web', 'settings: name memory')
    assert ownership.read(ownership.marker('jail web')) == ('jail web', None)
    assert ownership.marks(ownership.marker('jail web'), 'jail web')
    assert not ownership.marks(ownership.marker('jail old'), 'jail web')       # a neighbour's is not mine
    assert ownership.block_markers('chroot /c') == ('# BEGIN chroot /c (managed by bsd.multiplicity)',
                                                    '# END chroot /c (managed by bsd.multiplicity)')


@pytest.mark.parametrize('line, owner, detail', [
    ('# Managed by bsd.multiplicity.jail: web', 'jail web', None),
    ('# Managed by bsd.multiplicity.jail: this block is rewritten on every run.', 'jail', None),
    ('# bsd.multiplicity.xen_domu manages: name memory', 'domain', 'settings: name memory'),
])
def test_earlier_versions_markers_are_read_as_their_owners(line, owner, detail):
    assert ownership.read(line) == (owner, detail)
    assert ownership.marks(line, 'jail web') is (owner.startswith('jail'))


@pytest.mark.parametrize('line', ['# my comment', 'web {', '# Managed by someone else: jail web', ''])
def test_other_lines_are_nobodys(line):
    assert ownership.read(line) is None and not ownership.marks(line, 'jail web')
