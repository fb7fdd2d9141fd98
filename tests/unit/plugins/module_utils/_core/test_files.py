# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import (
    atomic_write, block_markers, read_text, replace_block,
)

BEGIN, END = block_markers('jail web')


def test_atomic_write_keeps_mode_and_leaves_no_temp(tmp_path):
    target = tmp_path / 'rc.conf'
    target.write_text('old\n')
    os.chmod(str(target), 0o600)
    atomic_write(str(target), 'new\n')
    assert target.read_text() == 'new\n'
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ['rc.conf']


def test_atomic_write_new_file_mode_and_backup(tmp_path):
    target = tmp_path / 'jail.conf'
    atomic_write(str(target), 'a\n', mode=0o640)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    backup = atomic_write(str(target), 'b\n', backup=True)
    assert backup and open(backup).read() == 'a\n'
    assert target.read_text() == 'b\n'


def test_atomic_write_missing_directory_is_an_error(tmp_path):
    with pytest.raises(MultiplicityError, match='does not exist'):
        atomic_write(str(tmp_path / 'no' / 'file'), 'x')


def test_atomic_write_cleans_up_on_failure(tmp_path, monkeypatch):
    target = tmp_path / 'f'
    target.write_text('keep\n')

    def broken_rename(src, dst):
        raise OSError('disk on fire')
    monkeypatch.setattr(os, 'rename', broken_rename)
    with pytest.raises(OSError):
        atomic_write(str(target), 'new\n')
    assert target.read_text() == 'keep\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['f']


def test_read_text_missing_is_none(tmp_path):
    assert read_text(str(tmp_path / 'nope')) is None


HAND = '# my comment\nexec.clean;\n\nother {\n  path = "/o";\n}\n'


def test_block_appended_then_updated_then_removed_keeps_the_rest():
    added = replace_block(HAND, BEGIN, END, 'web { path = "/w"; }')
    assert added.startswith(HAND)
    assert added.endswith(BEGIN + '\nweb { path = "/w"; }\n' + END + '\n')
    updated = replace_block(added + '# trailing hand edit\n', BEGIN, END, 'web { path = "/x"; }\n')
    assert updated == HAND + BEGIN + '\nweb { path = "/x"; }\n' + END + '\n# trailing hand edit\n'
    removed = replace_block(updated, BEGIN, END, None)
    assert removed == HAND + '# trailing hand edit\n'


def test_block_on_file_without_final_newline_and_crlf():
    assert replace_block('a', BEGIN, END, 'x') == 'a\n' + BEGIN + '\nx\n' + END + '\n'
    crlf = replace_block('a\r\n', BEGIN, END, 'x\ny')
    assert crlf == 'a\r\n' + BEGIN + '\r\nx\r\ny\r\n' + END + '\r\n'


def test_removing_an_absent_block_is_a_no_op():
    assert replace_block(HAND, BEGIN, END, None) == HAND


def test_unterminated_block_is_an_error():
    with pytest.raises(MultiplicityError, match='Unterminated'):
        replace_block(BEGIN + '\nx\n', BEGIN, END, 'y')
