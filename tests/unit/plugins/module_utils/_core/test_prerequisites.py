# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prerequisites: declared by the verbs, checked by the engine before the first change."""
from __future__ import annotations

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import prerequisites as pre
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import Plan
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.runner import CommandResult


class View(object):
    """Answers lookups for the names it holds and sysctl with a module path."""

    def __init__(self, present=(), module_path=''):
        self.present = set(present)
        self.module_path = module_path
        self.asked = []

    def lookup(self, argv, missing, action=None):
        self.asked.append(argv)
        return object() if argv[-1] in self.present else None

    def run(self, argv, action=None):
        self.asked.append(argv)
        return CommandResult(argv, 0, self.module_path + '\n', '')


def test_each_kind_of_prerequisite_is_looked_for_where_it_lives(tmp_path):
    (tmp_path / 'base.txz').write_text('')
    (tmp_path / 'kernel').mkdir()
    (tmp_path / 'kernel' / 'vmm.ko').write_text('')
    view = View(present=['bridge0', 'zroot/t@base'], module_path=str(tmp_path / 'kernel'))
    assert pre.Bridge('bridge0', 'vnet.bridge').met(view) and not pre.Bridge('bridge9', 'vnet.bridge').met(view)
    assert pre.Snapshot('zroot/t@base', 'root.template').met(view)
    assert pre.File(str(tmp_path / 'base.txz'), 'root.archives').met(view)
    assert not pre.File(str(tmp_path), 'root.archives').met(view)          # a directory is not a file
    assert pre.Directory(str(tmp_path), 'path').met(view) and pre.Path(str(tmp_path / 'base.txz'), 'x').met(view)
    assert pre.KernelModule('vmm', 'name').met(view) and not pre.KernelModule('nmdm', 'name').met(view)
    assert ['zfs', 'list', '-H', '-o', 'name', '-t', 'snapshot', 'zroot/t@base'] in view.asked


def test_the_first_missing_one_fails_naming_the_object_option_and_value():
    plan = Plan()
    plan.require(pre.Snapshot('zroot/t@base', 'root.template'))
    plan.require(pre.Bridge('bridge9', 'vnet.bridge', hint='; create it first'))
    with pytest.raises(MultiplicityError) as failed:
        pre.check(View(present=['zroot/t@base']), plan, 'Jail web')
    assert str(failed.value) == 'Jail web: vnet.bridge bridge9 does not exist; create it first; nothing was changed'
    pre.check(View(present=['zroot/t@base', 'bridge9']), plan, 'Jail web')     # all there: nothing raised


def test_one_made_by_an_object_the_call_converges_first_is_met():
    plan = Plan()
    plan.require(pre.Directory('/nonexistent/newroot', 'path'))
    provided = {('Directory', '/nonexistent/newroot'): '/nonexistent/newroot'}
    pre.check(View(), plan, 'Jail web', provided, depends=['/nonexistent/newroot'])
    with pytest.raises(MultiplicityError) as failed:
        pre.check(View(), plan, 'Jail web', provided, depends=[])
    assert 'path /nonexistent/newroot does not exist (/nonexistent/newroot of this call makes it: add it to ' \
           'depend); nothing was changed' in str(failed.value)
