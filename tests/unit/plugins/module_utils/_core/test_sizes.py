# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParameterError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.sizes import require_size, size_bytes


@pytest.mark.parametrize('text, value', [
    ('10G', 10 * 1024 ** 3), ('1.5K', 1536), ('512m', 512 * 1024 ** 2), ('3', 3), (' 2 T ', 2 * 1024 ** 4),
    ('1GB', 1024 ** 3), ('1GiB', 1024 ** 3), ('1E', 1024 ** 6),
])
def test_sizes_as_zfs_reads_them(text, value):
    assert size_bytes(text) == value == require_size(text, 'x')


@pytest.mark.parametrize('text', ['lz4', '-1G', '1X', '', 'G', '1.G', '10 G B', None])
def test_not_sizes(text):
    assert size_bytes(text) is None
    with pytest.raises(ParameterError) as failure:
        require_size(text, 'disks[0].size')
    assert str(failure.value).startswith('disks[0].size: ')
