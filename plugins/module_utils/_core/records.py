# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection did on a host, recorded where only the host writes (/var/db/bsd-multiplicity,
kept across reboots): nothing inside a guest decides what the host removes.

- :class:`Unfinished`: work begun and not yet finished (release archives being extracted into a
  root).  A tree an extraction left half made looks made (it is not empty); the record says it is
  not, and that what is in it is the work's own, so the next run empties it and does it again.
- :class:`Made`: what the collection made for an object (a guest's disk images and zvols).  A purge
  removes only what this record lists: a disk the operator attached stays.
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import atomic_write, locked, read_text

RECORD_DIR = '/var/db/bsd-multiplicity'


def _record_path(kind, name, suffix):
    return os.path.join(RECORD_DIR, '%s.%s.%s' % (kind, quote(name, safe=''), suffix))


def _save(path, data):
    """A record written whole and atomically, readable by root only."""
    os.makedirs(RECORD_DIR, 0o700, exist_ok=True)
    atomic_write(path, json.dumps(data) + '\n', mode=0o600)


class Unfinished(object):
    """The record of one object's work in ``target`` (a directory it fills)."""

    def __init__(self, kind, name, target):
        self.kind = kind
        self.name = name
        self.target = os.path.normpath(target)

    @property
    def path(self):
        return _record_path(self.kind, self.name, 'unfinished')

    def found(self):
        """Whether work in ``target`` began and did not finish (a record for another directory does not count)."""
        try:
            data = json.loads(read_text(self.path) or 'null')
        except ValueError:
            return False
        return isinstance(data, dict) and data.get('target') == self.target

    def begin(self, what):
        """Record that ``what`` starts in the target (run as the first step of the work)."""
        _save(self.path, dict(kind=self.kind, name=self.name, target=self.target, work=what))

    def finish(self):
        """The work is done (its last step): the record goes."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class Made(object):
    """The things (paths) the collection made for one object, listed once each."""

    def __init__(self, kind, name):
        self.kind = kind
        self.name = name

    @property
    def path(self):
        return _record_path(self.kind, self.name, 'made')

    def items(self):
        try:
            data = json.loads(read_text(self.path) or '[]')
        except ValueError:
            return []
        return [item for item in data if isinstance(item, str)] if isinstance(data, list) else []

    def _change(self, add=(), remove=()):
        os.makedirs(RECORD_DIR, 0o700, exist_ok=True)       # the lock is taken on this directory
        with locked(self.path):
            items = [i for i in self.items() if i not in remove]
            _save(self.path, items + [i for i in add if i not in items])

    def add(self, item):
        """Record ``item`` as made (right after it was)."""
        self._change(add=[item])

    def discard(self, item):
        """``item`` is gone (purged)."""
        self._change(remove=[item])
