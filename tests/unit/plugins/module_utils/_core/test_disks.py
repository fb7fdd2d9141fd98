# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Guest disks: zvols and sparse files, made once, never overwritten, recorded as made on the host,
removed only when purged and only when the record says this collection made them."""
from __future__ import annotations

import os

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import disks
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.records import Made
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError, ParameterError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import Plan, execute


class Runner(object):
    def __init__(self):
        self.ran = []

    def run(self, argv, action=None):
        self.ran.append(argv)


class View(object):
    """zfs list answers for the datasets it holds."""

    def __init__(self, datasets=()):
        self.datasets = set(datasets)

    def lookup(self, argv, missing, action=None):
        return object() if argv[-1] in self.datasets else None


def test_a_zvol_is_there_by_its_dataset_and_made_sparse_with_its_properties():
    assert disks.zvol_of('/dev/zvol/zroot/vm/disk0') == 'zroot/vm/disk0' and disks.zvol_of('/vm/d.img') is None
    assert disks.exists(View(['zroot/vm/disk0']), '/dev/zvol/zroot/vm/disk0')
    assert not disks.exists(View(), '/dev/zvol/zroot/vm/disk1')
    plan, runner, made = Plan(), Runner(), Made('vm', 'a')
    disks.plan_create(plan, runner, '/dev/zvol/zroot/vm/disk1', 1 << 30, made, [('volmode', 'dev')])
    argv = ['zfs', 'create', '-p', '-o', 'volmode=dev', '-s', '-V', str(1 << 30), 'zroot/vm/disk1']
    assert plan.actions[0].argv == argv and made.items() == []
    execute(plan, runner, False)
    assert runner.ran == [argv] and made.items() == ['/dev/zvol/zroot/vm/disk1']


def test_a_file_is_made_sparse_once_and_never_overwritten(tmp_path):
    target = str(tmp_path / 'd.img')
    plan, made = Plan(), Made('vm', 'a')
    disks.plan_create(plan, None, target, 1 << 20, made)
    execute(plan, None, False)
    assert os.path.getsize(target) == 1 << 20 and os.stat(target).st_blocks == 0 and made.items() == [target]
    with pytest.raises(MultiplicityError) as failed:
        execute(plan, None, False)      # O_EXCL: an existing image is never written over
    assert 'File exists' in str(failed.value)
    with pytest.raises(ParameterError) as refused:
        disks.check_makeable(str(tmp_path / 'nowhere' / 'd.img'), 'disks[0].target')
    assert 'disks[0].target' in str(refused.value)


def test_purge_removes_only_what_the_record_lists_never_what_a_link_points_at(tmp_path):
    image, other, attached = tmp_path / 'd.img', tmp_path / 'other.img', tmp_path / 'attached.img'
    for path in (image, other, attached):
        path.write_text('')
    os.symlink(str(other), str(tmp_path / 'link.img'))
    made = Made('vm', 'a')
    for target in (image, tmp_path / 'link.img', tmp_path / 'absent.img'):
        made.add(str(target))
    plan = Plan()
    kept = [str(t) for t in (image, tmp_path / 'link.img', tmp_path / 'absent.img', attached)
            if not disks.plan_purge(plan, None, str(t), 'xvda', made)]
    assert kept == [str(attached)]         # the operator's disk: not made here, so not purged
    assert [a.description for a in plan.actions] == ['remove disk image %s' % image]
    execute(plan, None, False)
    assert not image.exists() and other.exists() and attached.exists()
    assert str(image) not in made.items()


def test_a_claim_names_the_live_run_using_a_disk_whatever_its_kind(tmp_path, monkeypatch):
    import fcntl
    from ansible_collections.bsd.multiplicity.plugins.module_utils._core import launcher
    monkeypatch.setattr(disks, 'RECORD_DIR', str(tmp_path / 'db'))
    monkeypatch.setattr(launcher, 'RUN_DIR', str(tmp_path))
    image = tmp_path / 'web.img'
    image.write_text('')
    (tmp_path / 'link.img').symlink_to(image)
    run = launcher.Supervised('bhyve', 'web', ['/bin/true'])
    plan = Plan()
    disks.plan_claim(plan, run, [str(tmp_path / 'link.img')], running=False)
    execute(plan, Runner(), False)
    assert disks.claimed(run) == [str(image)]                      # by its real path
    assert disks.running_user(str(image)) is None                  # claimed, but nothing runs
    with open(run.supervisor_pidfile, 'w') as held:
        fcntl.flock(held, fcntl.LOCK_EX)                           # daemon(8) lives
        assert disks.running_user(str(tmp_path / 'link.img')) == 'bhyve web'
        assert disks.running_user(str(tmp_path / 'other.img')) is None
        # A change while it runs keeps the old disk claimed beside the new one until it stops.
        plan = Plan()
        disks.plan_claim(plan, run, [str(tmp_path / 'new.img')], running=True)
        execute(plan, Runner(), False)
        assert disks.claimed(run) == sorted([str(image), str(tmp_path / 'new.img')])
    plan = Plan()
    disks.plan_claim(plan, run, (), running=False)
    assert [a.verb for a in plan.actions] == ['write']
    execute(plan, Runner(), False)
    assert not os.path.exists(disks.claim_file(run))
