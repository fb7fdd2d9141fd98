# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an action needs that the collection does not make there: a bridge, a snapshot, a file, a
directory, a kernel module it can load.

A verb that plans such an action says so (``plan.require(Bridge(...))``); the engine checks every
prerequisite of every object through the host view after planning and before the first change, in
check mode too, so that check mode fails where the real run would, and the real run fails before
it has changed anything.  A failure names the object, the option the value came from and the value.
"""

from __future__ import annotations

import os

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import zfs
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError


class Prerequisite(object):
    """``value`` (from option ``option``) must exist; ``hint`` says what to do about it when it does not.

    Another object of the same call may make it (``Kind.provides``): then it is met when the object
    that needs it depends on the one that makes it (which is then converged first).
    """

    noun = ''

    def __init__(self, value, option, hint=''):
        self.value = value
        self.option = option
        self.hint = hint

    @property
    def key(self):
        """What it is, as ``Kind.provides`` names what an object makes: (its class's name, the value)."""
        return type(self).__name__, self.value

    def met(self, view):
        raise NotImplementedError

    def message(self, who, maker=None):
        noun = (self.noun + ' ') if self.noun else ''
        made = ' (%s of this call makes it: add it to depend)' % maker if maker else ''
        return '%s: %s %s%s does not exist%s%s; nothing was changed' % (
            who, self.option, noun, self.value, self.hint, made)


class Bridge(Prerequisite):
    """A network interface (an if_bridge) that a guest's interface is attached to."""

    def met(self, view):
        return view.lookup(['ifconfig', self.value], missing=lambda failed: 'does not exist' in failed.stderr,
                           action='look for bridge %s' % self.value) is not None


class Snapshot(Prerequisite):
    noun = 'snapshot'

    def met(self, view):
        return zfs.exists(view, self.value, snapshot=True)


class File(Prerequisite):
    noun = 'file'

    def met(self, view):
        return os.path.isfile(self.value)


class Path(Prerequisite):
    """A file or a directory (a bind or nullfs mount's source)."""

    def met(self, view):
        return os.path.exists(self.value)


class Directory(Prerequisite):
    def met(self, view):
        return os.path.isdir(self.value)


class KernelModule(Prerequisite):
    """A kernel module kldload can load: a ``NAME.ko`` in one of the directories of kern.module_path."""

    def met(self, view):
        self.path = view.run(['sysctl', '-n', 'kern.module_path'], action='read kern.module_path').stdout.strip()
        directories = [d for d in self.path.split(';') if d]
        return any(os.path.exists(os.path.join(d, self.value + '.ko')) for d in directories)

    def message(self, who, maker=None):
        return "Cannot load kernel module '%s': no %s.ko in kern.module_path (%s)" % (
            self.value, self.value, self.path)


def check(view, plan, who, provided=None, depends=()):
    """Raise, naming ``who`` and the first missing prerequisite of ``plan``, before anything is changed.

    ``provided`` maps a prerequisite's key to the object of the call that makes it; one of those that
    ``who`` depends on meets it."""
    for prerequisite in plan.prerequisites:
        if prerequisite.key in plan.made:
            continue
        maker = (provided or {}).get(prerequisite.key)
        if maker is not None and maker in depends:
            continue
        if not prerequisite.met(view):
            raise MultiplicityError(prerequisite.message(who, maker))
