# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Work begun and not yet finished: a root being filled (release archives extracted into it).

A tree that an extraction left half made looks made (it is not empty), so the next run cannot tell
from the tree.  Before such work starts, a host-side record names the object and the directory; the
work's last step removes it.  A record found by a later run means the work stopped half way: the
directory holds only what the work put there, and the run empties it and does it again.

The record lives in /var/db (kept across a reboot, as the half-made tree is), written by the host
only: nothing inside a guest's root decides that its contents may be removed.
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import atomic_write, read_text

RECORD_DIR = '/var/db/bsd-multiplicity'


class Unfinished(object):
    """The record of one object's work in ``target`` (a directory it fills)."""

    def __init__(self, kind, name, target):
        self.kind = kind
        self.name = name
        self.target = os.path.normpath(target)

    @property
    def path(self):
        return os.path.join(RECORD_DIR, '%s.%s.unfinished' % (self.kind, quote(self.name, safe='')))

    def found(self):
        """Whether work in ``target`` began and did not finish (a record for another directory does not count)."""
        try:
            data = json.loads(read_text(self.path) or 'null')
        except ValueError:
            return False
        return isinstance(data, dict) and data.get('target') == self.target

    def begin(self, what):
        """Record that ``what`` starts in the target (run as the first step of the work)."""
        os.makedirs(RECORD_DIR, 0o700, exist_ok=True)
        atomic_write(self.path, json.dumps(dict(kind=self.kind, name=self.name, target=self.target, work=what)) + '\n',
                     mode=0o600)

    def finish(self):
        """The work is done (its last step): the record goes."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
