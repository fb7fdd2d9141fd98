# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host as one call sees it: every read at most once, shared by every guest of the call.

A single-guest module reads what its guest needs (``jls -j NAME``); a call that converges
many guests (the topology module) sets ``bulk`` and reads each source once for all of them
(``jls`` of every jail, ``zfs get`` of every filesystem, every rctl rule), so that a run
that changes nothing costs the same few commands whatever the number of guests.
"""

from __future__ import annotations

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import edit_locked, locked
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.sysrc import SysrcEdit, merged_sysrc


class HostView(object):
    def __init__(self, runner, bulk=False):
        self.runner = runner
        self.bulk = bulk
        self._cache = {}
        # Filled by the caller before the guests read, in bulk mode: the union of what they need.
        self.dataset_properties = set()
        self._sysrc = []
        self._edits = {}        # path -> [edit(text) -> text], applied in one locked rewrite per file

    def run(self, argv, action=None, fresh=False):
        """A read command's result, run once per call (a failure raises, as runner.run does);
        ``fresh`` runs it again, for a re-read after this call changed what it shows."""
        key = ('run',) + tuple(argv)
        if fresh or key not in self._cache:
            self._cache[key] = self.runner.run(argv, action=action)
        return self._cache[key]

    def lookup(self, argv, missing, action=None):
        """runner.run_lookup, once per call: None when ``missing(result)`` says there is no such object."""
        key = ('lookup',) + tuple(argv)
        if key not in self._cache:
            self._cache[key] = self.runner.run_lookup(argv, missing, action=action)
        return self._cache[key]

    def cached(self, key, read):
        """``read()`` once per call under ``key``: for a bulk read parsed into a structure."""
        if key not in self._cache:
            self._cache[key] = read()
        return self._cache[key]

    def forget(self, key):
        """Drop one cached read (after a change, when the call needs the new state)."""
        self._cache.pop(key, None)

    def defer_sysrc(self, assignments):
        """Keep rc.conf assignments (``VAR=value``, ``VAR+=items``, ``VAR-=items``) for one sysrc at the end."""
        self._sysrc.extend(SysrcEdit.parse(assignment) for assignment in assignments)

    def defer_edit(self, path, edit):
        """Keep an edit of a shared file (``edit(text) -> text``) for one rewrite at the end of the call."""
        self._edits.setdefault(path, []).append(edit)

    def flush_edits(self):
        """Each deferred file rewritten once, under its lock, from the text it has then (every edit of
        the call applied in turn); the paths that changed."""
        changed = []
        pending, self._edits = self._edits, {}
        for path, edits in pending.items():
            def combined(text, edits=edits):
                for edit in edits:
                    text = edit(text)
                return text
            if edit_locked(path, combined):
                changed.append(path)
        return changed

    def flush_sysrc(self, lock_path, action='update rc.conf'):
        """One sysrc for every deferred assignment (list edits of one variable merged), under the lock
        the modules hold for rc.conf; returns the command's result, or None when there was nothing."""
        commands, self._sysrc = merged_sysrc(self._sysrc), []
        result = None
        for unused, argv in commands:
            with locked(lock_path):
                result = self.runner.run(argv, action=action)
        return result
