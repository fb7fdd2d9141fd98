# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The disks guests boot from (Xen domUs, bhyve VMs): a zvol (``/dev/zvol/POOL/NAME``) or a file.

Made on request with a size, sparse (a zvol with ``-s``, a file by ``ftruncate``), never shrunk,
never overwritten (a file is opened with O_EXCL), and recorded on the host as made; removed only when
the caller purges, and only when that record lists it.
"""

from __future__ import annotations

import glob
import os

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import zfs
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.edits import OwnedFile
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParameterError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import read_text
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.launcher import Supervised
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.records import RECORD_DIR

ZVOL_PREFIX = '/dev/zvol/'


def zvol_of(target):
    """The dataset of a zvol's device path, or None for a file."""
    return target[len(ZVOL_PREFIX):] if target.startswith(ZVOL_PREFIX) else None


def claim_file(run):
    """Where the disks a supervised run (:class:`launcher.Supervised`) may have open are recorded."""
    return os.path.join(RECORD_DIR, 'disks.%s.%s' % (run.kind, run.name))


def claimed(run):
    """The disks the host-side record says ``run`` may have open (real paths)."""
    return [line for line in (read_text(claim_file(run)) or '').splitlines() if line]


def plan_claim(plan, run, paths, running):
    """Record the disks ``run`` boots from, written with its definition, so another kind (a jail's image root)
    can tell a disk in use without knowing this kind.  While it runs, the disks of the run it is in keep their
    claim until it stops (a change that waits for a restart does not free them)."""
    wanted = sorted(set(os.path.realpath(p) for p in paths if p) | set(claimed(run) if running else ()))
    text = ''.join('%s\n' % p for p in wanted) if wanted else None
    if text != read_text(claim_file(run)):
        plan.write(OwnedFile(claim_file(run), text, '%s the disks of %s in %s' % (
            'record' if text else 'remove the record of', run.title, claim_file(run)), verb='write', parent=True))


def running_user(path):
    """The title (``bhyve NAME``) of a supervised run that claims ``path`` and is alive, or None; whatever kind
    claimed it.  No command: the records and each run's pidfile lock are read directly."""
    wanted = os.path.realpath(path)
    for record in sorted(glob.glob(os.path.join(RECORD_DIR, 'disks.*.*'))):
        kind, unused, name = os.path.basename(record)[len('disks.'):].partition('.')
        if not (Supervised.valid_name(kind) and Supervised.valid_name(name)):
            continue
        run = Supervised(kind, name, ['/bin/true'])
        if wanted in claimed(run) and run.alive():
            return run.title
    return None


def exists(view, target):
    """Whether the disk is there: the file or device node, or for a zvol its dataset (its device node may
    not be made yet, or hidden by volmode)."""
    dataset = zvol_of(target)
    return os.path.exists(target) or (dataset is not None and zfs.exists(view, dataset))


def check_makeable(target, parameter):
    """Refuse, naming ``parameter``, a disk file whose directory does not exist (a zvol's parents are made)."""
    if zvol_of(target) is None and not os.path.isdir(os.path.dirname(target)):
        raise ParameterError(parameter, 'directory %s does not exist' % os.path.dirname(target))


def plan_create(plan, runner, target, size, made, properties=()):
    """Add to ``plan`` the making of a sparse disk of ``size`` bytes (zvol ``properties`` as pairs,
    ``volmode=dev`` for a VM's), recorded in ``made`` (:class:`records.Made`) once it is there."""
    dataset = zvol_of(target)
    if dataset is not None:
        argv = zfs.create_argv(dataset, properties, volume_size=size, sparse=True)

        def create_zvol():
            runner.run(argv, action='create sparse zvol for %s' % target)
            made.add(target)
        plan.add('create', 'create sparse zvol for %s' % target, argv=argv, func=create_zvol)
        return

    def create_file():
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.ftruncate(fd, size)      # sparse: no blocks are written
        finally:
            os.close(fd)
        made.add(target)
    plan.add('create', 'create sparse disk image %s (%d bytes)' % (target, size), func=create_file)


def plan_purge(plan, runner, target, label, made):
    """Add to ``plan`` the removal of a disk that is there and that ``made`` lists (this collection made
    it): its zvol destroyed, or its file removed (never a device or a directory).  False when it is
    kept because something else made it (an operator's disk, install media)."""
    if target not in made.items():
        return not os.path.lexists(target)
    dataset = zvol_of(target)
    if dataset is not None and os.path.exists(target):
        argv = zfs.destroy_argv(dataset)

        def destroy_zvol():
            runner.run(argv, action='destroy zvol of %s' % label)
            made.discard(target)
        plan.add('purge', 'destroy zvol of %s' % label, argv=argv, func=destroy_zvol)
    elif dataset is None and os.path.isfile(target) and not os.path.islink(target):
        def remove_file():
            os.unlink(target)
            made.discard(target)
        plan.add('purge', 'remove disk image %s' % target, func=remove_file)
    return True
