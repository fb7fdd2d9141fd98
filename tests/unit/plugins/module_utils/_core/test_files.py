# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import multiprocessing
import os
import stat

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import ownership
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import (
    GuestTree, atomic_write, edit_locked, mounts_below, read_text, remove_tree, replace_block,
    split_lines,
)

BEGIN, END = ownership.block_markers('jail web')


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


# ---------------------------------------------------------------- hostile files
def test_read_text_keeps_bytes_that_are_not_utf8_and_refuses_fifos(tmp_path):
    target = tmp_path / 'rc.conf'
    target.write_bytes(b'a="\xff\xfe"\n')
    text = read_text(str(target))
    atomic_write(str(target), text + 'b="x"\n')
    assert target.read_bytes() == b'a="\xff\xfe"\nb="x"\n'
    fifo = tmp_path / 'fifo'
    os.mkfifo(str(fifo))
    with pytest.raises(MultiplicityError, match='fifo is not a regular file'):
        read_text(str(fifo))            # returns at once: opened non-blocking
    with pytest.raises(MultiplicityError, match='NOT_UTF8|not UTF-8'):
        read_text(str(target), strict=True)


def test_split_lines_breaks_only_at_newline():
    text = 'a\x1cb\u2028c\x85d\fe\r\nf\ng'
    assert split_lines(text) == ['a\x1cb\u2028c\x85d\fe\r\n', 'f\n', 'g']
    begin, end = ownership.block_markers('x')
    block = replace_block('k="\u2028"\n', begin, end, 'v\x85w\n')
    assert replace_block(block, begin, end, None) == 'k="\u2028"\n'


@pytest.fixture
def guest(tmp_path):
    root = tmp_path / 'jail'
    (root / 'etc').mkdir(parents=True)
    (root / 'etc' / 'rc.conf').write_text('x="1"\n')
    host = tmp_path / 'host'
    host.mkdir()
    (host / 'secret').write_text('host data\n')
    return root, host


def test_guest_tree_refuses_symlinks_and_fifos(guest):
    root, host = guest
    tree = GuestTree(str(root), 'Jail web root')
    assert tree.read('etc/rc.conf') == 'x="1"\n'
    assert tree.read('etc/missing') is None and tree.read('nodir/file') is None
    os.symlink(str(host / 'secret'), str(root / 'etc' / 'link'))
    with pytest.raises(MultiplicityError, match='link is a symlink; not touching it'):
        tree.read('etc/link')
    with pytest.raises(MultiplicityError, match='is a symlink'):
        tree.write('etc/link', 'overwritten\n')
    assert (host / 'secret').read_text() == 'host data\n'
    os.symlink(str(host), str(root / 'var'))
    for action in (lambda: tree.read('var/secret'), lambda: tree.write('var/secret', 'x'),
                   lambda: tree.makedirs('var/db'), lambda: tree.symlink('x', 'var/link'), lambda: tree.lstat('var/x')):
        with pytest.raises(MultiplicityError, match='var is a symlink'):
            action()
    assert sorted(os.listdir(str(host))) == ['secret']
    os.mkfifo(str(root / 'etc' / 'fifo'))
    with pytest.raises(MultiplicityError, match='not a regular file'):
        tree.read('etc/fifo')
    assert tree.read_optional('etc/fifo') is None
    with pytest.raises(MultiplicityError, match='not a path inside'):
        tree.read('../host/secret')


def test_guest_tree_write_is_atomic_and_keeps_mode(guest):
    root, unused = guest
    os.chmod(str(root / 'etc' / 'rc.conf'), 0o600)
    tree = GuestTree(str(root))
    tree.write('etc/rc.conf', 'x="2"\n')
    assert (root / 'etc' / 'rc.conf').read_text() == 'x="2"\n'
    assert stat.S_IMODE((root / 'etc' / 'rc.conf').stat().st_mode) == 0o600
    assert sorted(os.listdir(str(root / 'etc'))) == ['rc.conf']
    tree.makedirs('usr/local/etc')
    tree.write('usr/local/etc/new.conf', 'n\n', mode=0o640)
    assert stat.S_IMODE((root / 'usr/local/etc/new.conf').stat().st_mode) == 0o640


def test_remove_tree_never_follows_or_crosses(tmp_path):
    host = tmp_path / 'host'
    host.mkdir()
    (host / 'keep').write_text('k')
    victim = tmp_path / 'jails' / 'web'
    (victim / 'etc').mkdir(parents=True)
    os.symlink(str(host), str(victim / 'etc' / 'link'))
    os.mkfifo(str(victim / 'fifo'))
    link = tmp_path / 'jails' / 'alias'
    os.symlink(str(victim), str(link))
    with pytest.raises(MultiplicityError, match='is a symlink'):
        remove_tree(str(link))
    remove_tree(str(victim))
    assert not victim.exists() and (host / 'keep').read_text() == 'k'
    with pytest.raises(MultiplicityError, match='too close'):
        remove_tree('/tmp')


def test_mounts_below_compares_resolved_paths(tmp_path, monkeypatch):
    real = tmp_path / 'real' / 'web'
    (real / 'dev').mkdir(parents=True)
    os.symlink(str(tmp_path / 'real'), str(tmp_path / 'via'))
    from ansible_collections.bsd.multiplicity.plugins.module_utils._core import files
    monkeypatch.setattr(files, 'mount_table_nodes', lambda: [str(real / 'dev')])
    assert mounts_below(str(tmp_path / 'via' / 'web')) == [str(real / 'dev')]
    with pytest.raises(MultiplicityError, match='mounted on or below'):
        remove_tree(str(tmp_path / 'via' / 'web'))
    assert (real / 'dev').is_dir()
    monkeypatch.setattr(files, 'mount_table_nodes', lambda: [str(real)])
    with pytest.raises(MultiplicityError, match='mounted on or below'):
        remove_tree(str(real))


def _append_many(path, tag):
    for number in range(40):
        edit_locked(path, lambda text, n=number: (text or '') + '%s%d\n' % (tag, n))


def test_concurrent_locked_edits_lose_nothing(tmp_path):
    """Four processes read-modify-write one file at once, as two playbooks would."""
    target = str(tmp_path / 'shared.conf')
    workers = [multiprocessing.Process(target=_append_many, args=(target, tag)) for tag in 'abcd']
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
        assert worker.exitcode == 0
    lines = sorted(open(target).read().split())
    assert lines == sorted('%s%d' % (tag, n) for tag in 'abcd' for n in range(40))
    assert edit_locked(target, lambda text: text) is False
    assert edit_locked(target, lambda text: None) is True and not os.path.exists(target)
