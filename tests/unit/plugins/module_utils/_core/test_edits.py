# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed file edits: merged in order into one locked rewrite, from the file as it is then."""
from __future__ import annotations

import os

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import edits
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import Plan, execute


def test_edits_of_one_file_apply_in_order_to_the_file_as_it_is_then(tmp_path):
    path = str(tmp_path / 'shared.conf')
    with open(path, 'w') as handle:
        handle.write('written by hand\n')
    first = edits.FileEdit(path, lambda text: text + 'a\n', 'add a')
    second = edits.FileEdit(path, lambda text: text + 'b\n', 'add b')
    edits.rewrite(path, [first, second])
    assert open(path).read() == 'written by hand\na\nb\n'


def test_an_owned_file_is_written_whole_and_removed_and_its_directory_made_when_asked(tmp_path):
    path = str(tmp_path / 'new' / 'owned.json')
    edits.rewrite(path, [edits.OwnedFile(path, '{}\n', 'record', mode=0o600, parent=True)])
    assert open(path).read() == '{}\n' and os.stat(path).st_mode & 0o777 == 0o600
    edits.rewrite(path, [edits.OwnedFile(path, None, 'forget')])
    assert not os.path.exists(path)
    # Removing what is not there (nor its directory) does nothing.
    edits.rewrite(str(tmp_path / 'none' / 'x'), [edits.OwnedFile(str(tmp_path / 'none' / 'x'), None, 'forget')])
    assert not os.path.exists(str(tmp_path / 'none'))


def test_a_write_in_a_plan_is_an_action_in_its_place_merged_by_file(tmp_path):
    path = str(tmp_path / 'jail.conf')
    plan = Plan()
    plan.add('first', 'something before', func=lambda: None)
    action = plan.write(edits.FileEdit(path, lambda text: (text or '') + 'web {}\n', 'write web', verb='config'))
    assert action.batch == ('file', path) and action.edit.path == path
    assert [a['verb'] for a in plan.describe()] == ['first', 'config']
    execute(plan, None, False)
    assert open(path).read() == 'web {}\n' and plan.done == 2
