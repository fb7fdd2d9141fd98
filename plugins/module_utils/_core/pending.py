# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restarts owed across runs: settings written to an object's configuration that its running instance
has not picked up, because no restart was allowed.

A later run with the restart allowed still restarts it, though its configuration already says what
is wanted.  The record is a host-side file in /var/run (cleared at boot, as the instance is) naming
the instance it applies to (a jail's jid, a domain's domid, a VM's pid): an instance started again by
anyone else has another id, and the record no longer counts.
"""

from __future__ import annotations

import json
import os

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.edits import OwnedFile
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import read_text

PENDING_DIR = '/var/run'


class PendingRestart(object):
    """The record of one object: ``kind`` and ``name`` name its file, ``id_key`` the instance id in it."""

    def __init__(self, kind, name, id_key='id'):
        self.kind = kind
        self.name = name
        self.id_key = id_key

    @property
    def path(self):
        return os.path.join(PENDING_DIR, 'bsd-multiplicity-%s.%s.pending' % (self.kind, self.name))

    def recorded(self, instance):
        """The settings recorded for this running ``instance`` (its id), [] when none or another's."""
        if instance is None:
            return []
        try:
            data = json.loads(read_text(self.path) or '{}')
        except ValueError:
            return []       # a record this collection did not write: nothing owed
        return list(data.get('settings') or data.get('params') or []) if data.get(self.id_key) == instance else []

    def plan(self, plan, instance, recorded, restarting):
        """Add to ``plan`` the record's update: forgotten when the plan restarts the object, written when
        the plan leaves settings pending on a running ``instance`` that the record does not hold yet."""
        target = self.path
        if restarting or instance is None:
            if restarting and os.path.exists(target):
                plan.write(OwnedFile(target, None, 'forget the restart pending for %s %s' % (self.kind, self.name),
                                     verb='pending'))
            return
        settings = plan.pending_names
        if settings and settings != sorted(recorded):
            # "params" is what earlier versions wrote and read back.
            text = json.dumps({self.id_key: instance, 'params': settings}) + '\n'
            plan.write(OwnedFile(target, text, 'record that %s %s must be restarted for %s' % (
                self.kind, self.name, ', '.join(settings)), mode=0o600, verb='pending'))
