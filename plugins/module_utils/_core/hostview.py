# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host as one call sees it: every read at most once, shared by every guest of the call.

A single-guest module reads what its guest needs (``jls -j NAME``); a call that converges
many guests (the topology module) sets ``bulk`` and reads each source once for all of them
(``jls`` of every jail, ``zfs get`` of every filesystem, every rctl rule), so that a run
that changes nothing costs the same few commands whatever the number of guests.
"""

from __future__ import annotations


class HostView(object):
    def __init__(self, runner, bulk=False):
        self.runner = runner
        self.bulk = bulk
        self._cache = {}

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

    def per_object(self, key, name, one, every=None):
        """The record of one object: from ``every()`` ({name: record}, read once for all objects of a
        call of many) or from ``one()`` (a call of one object reads only its own).  Without ``every``, a
        call of many objects does not read it (None): it would cost a command per object."""
        if self.bulk:
            return self.cached(key, every).get(name) if every is not None else None
        return self.cached((key, name), one)
