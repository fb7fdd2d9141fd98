"""How the simulated kernel state is kept on disk: read and written piecewise.

Every simulated command is a new process, so whatever it loads and saves is paid per command.
The state is one file per top-level key (``sysctl``, ``kld``...), read only when a command looks at
that key and written only when its content changed.  The collections that grow with the number of
guests (jails, datasets, interfaces, mounts) are one file per record: a command reads a record by
its key alone, and finds records by the value of a searched field (a jail's name, the jail an
interface is in, a mount's node) through one small file per value listing their keys.  So ``jail
-c`` of the ten-thousandth jail reads and writes what it touches, not the other 9,999 jails.  The
index of a collection (its keys in order, with the fields commands list by) is read only by a
command that goes through every record (``jls``, ``mount``); it is a log a command appends the
entries it changed to (a removal is an entry without a summary), rewritten when it has grown to
twice the live entries (both counts are kept beside it).
"""

import json
import os
from collections.abc import MutableMapping
from urllib.parse import quote

# Collections stored one record per file: dotted path in the state -> (fields kept in the index,
# those of them searched by value through lookup files).
COLLECTIONS = {
    'jails': (('name',), ('name',)),
    'zfs.datasets': (('type', 'origin'), ('origin',)),
    'net.ifaces': (('kind', 'index', 'vnet', 'pair'), ('kind', 'vnet', 'pair')),
    'mounts': (('node', 'special', 'jail', 'parent'), ('node', 'special', 'jail', 'parent')),
}
PLACEHOLDER = '@records'    # where a collection sits inside its top-level key's file
INDEX = '.index'
COUNTS = '.counts'


def _dumps(value):
    return json.dumps(value, separators=(',', ':'))


def _write(path, text):
    tmp = path + '.tmp'
    with open(tmp, 'w') as handle:
        handle.write(text)
    os.rename(tmp, path)


class _Lazy(MutableMapping):
    """A mapping whose keys ``_keys()`` lists (read once) and whose values are read when first used."""

    @staticmethod
    def _key(key):
        return key

    def _keys(self):
        raise NotImplementedError

    def __iter__(self):
        return iter(list(self._keys()))

    def __len__(self):
        return len(self._keys())

    def __contains__(self, key):
        return self._key(key) in self._keys()


class Records(_Lazy):
    """A dict whose values live in one file each under ``directory``; keys are strings (as JSON's).

    One record is read by its key alone (its file), without the index.  The index (the keys in
    order, with the ``fields`` commands list by) is read only to go through every record.  Searches
    by a ``lookups`` field read one small file of the keys that hold a value (``by-FIELD/VALUE``),
    then those records: finding a jail by its name reads the jail, not the other 9,999.
    """

    _key = staticmethod(str)

    def __init__(self, directory, fields, lookups=()):
        self.directory = directory
        self.fields = fields
        self.lookups = lookups
        self._index = None      # key -> summary of the indexed fields as saved, in insertion order
        self._logged = 0        # entries in the index file
        self._values = {}       # records loaded or set by this command
        self._saved = {}        # summaries of records as saved, where known (read, or looked up at save)
        self._texts = {}        # their text as read (to write back only what changed)
        self._removed = set()
        self._cleared = False   # every record dropped (a reboot's fresh state): files removed wholesale

    def _file(self, key):
        return os.path.join(self.directory, 'r-' + quote(key, safe=''))

    def _summary(self, value):
        return dict((field, value.get(field)) for field in self.fields)

    def _keys(self):
        if self._index is None:
            self._index, self._logged = {}, 0
            try:
                with open(os.path.join(self.directory, INDEX)) as handle:
                    text = handle.read()
            except FileNotFoundError:
                text = ''
            # Entries end with ",\n"; the last one wins, a null summary is a removal.
            entries = [] if self._cleared else json.loads('[' + text.rstrip(',\n') + ']')
            for key, summary in entries:
                if summary is None:
                    self._index.pop(key, None)
                else:
                    self._index[key] = summary
            self._logged = len(entries)
            # What this command changed before the index was read.
            for key in self._removed:
                self._index.pop(key, None)
            for key in self._values:
                self._index.setdefault(key, {})
        return self._index

    def __contains__(self, key):
        key = str(key)
        if self._index is not None or self._cleared:
            return key in self._keys()
        if key in self._values:
            return True
        return key not in self._removed and os.path.exists(self._file(key))

    def __getitem__(self, key):
        key = str(key)
        if key in self._values:
            return self._values[key]
        if key in self._removed or self._cleared or (self._index is not None and key not in self._index):
            raise KeyError(key)
        try:
            with open(self._file(key)) as handle:
                text = handle.read()
        except FileNotFoundError:
            raise KeyError(key)
        self._texts[key] = text
        value = self._values[key] = json.loads(text)
        self._saved[key] = self._summary(value)
        return value

    def __setitem__(self, key, value):
        key = str(key)
        if self._index is not None:
            self._index.setdefault(key, {})
        self._values[key] = value

    def __delitem__(self, key):
        key = str(key)
        if key not in self:
            raise KeyError(key)
        if key not in self._saved and key not in self._removed:
            self._saved[key] = self._saved_summary(key)
        if self._index is not None:
            del self._index[key]
        self._values.pop(key, None)
        self._texts.pop(key, None)
        self._removed.add(key)

    def clear(self):
        # Without reading the records (MutableMapping's clear pops them one by one).
        self._cleared = True
        self._index, self._logged = {}, 0
        self._values, self._saved, self._texts, self._removed = {}, {}, {}, set()

    def _saved_summary(self, key):
        """The summary of the record as saved (None when there is none), reading its file if need be."""
        if key in self._saved:
            return self._saved[key]
        if self._cleared:
            return None
        try:
            with open(self._file(key)) as handle:
                return self._summary(json.loads(handle.read()))
        except FileNotFoundError:
            return None

    # ------------------------------------------------------------ lookups
    def _lookup_file(self, field, value):
        return os.path.join(self.directory, 'by-' + field, quote(str(value), safe=''))

    def _ensure_lookups(self):
        """The lookup files, made from the index where a state from before them has none."""
        missing = [f for f in self.lookups if not os.path.isdir(os.path.join(self.directory, 'by-' + f))]
        if not missing or not os.path.exists(os.path.join(self.directory, INDEX)):
            return
        loaded = self._index is not None
        found = {}
        for key, summary in self._keys().items():
            for field in missing:
                # As saved (a record this command set and never saved has no summary yet); this
                # command's changes move keys between the files when it saves.
                if summary.get(field) is not None:
                    found.setdefault((field, summary[field]), []).append(key)
        for field in missing:
            os.makedirs(os.path.join(self.directory, 'by-' + field), exist_ok=True)
        for (field, value), keys in found.items():
            _write(self._lookup_file(field, value), _dumps(keys))
        if not loaded:
            self._index = None      # searches keep to the lookup files

    def _looked_up(self, field, value):
        try:
            with open(self._lookup_file(field, value)) as handle:
                return json.loads(handle.read())
        except FileNotFoundError:
            return []

    def where(self, field, value):
        """[(key, record)] whose indexed ``field`` equals ``value``, reading only those records."""
        if field not in self.fields:
            raise KeyError('%s is not an indexed field' % field)
        if field in self.lookups and value is not None and self._index is None and not self._cleared:
            self._ensure_lookups()
            keys = [k for k in self._looked_up(field, value) if k not in self._removed]
            # This command's changes, not saved yet.
            keys = [k for k in keys if k not in self._values or self._values[k].get(field) == value]
            keys += [k for k, record in self._values.items() if record.get(field) == value and k not in keys]
            return [(key, self[key]) for key in keys]
        found = []
        for key, summary in list(self._keys().items()):
            current = self._values[key].get(field) if key in self._values else summary.get(field)
            if current == value:
                found.append((key, self[key]))
        return found

    def indexed(self, key, field):
        """One indexed field of a record, without reading the record."""
        key = str(key)
        if key in self._values:
            return self._values[key].get(field)
        return self._keys()[key].get(field)

    # ------------------------------------------------------------ saving
    def save(self):
        os.makedirs(self.directory, exist_ok=True)
        if self._cleared:
            kept = set(os.path.basename(self._file(key)) for key in self._values)
            for name in os.listdir(self.directory):
                path = os.path.join(self.directory, name)
                if name.startswith('by-'):
                    for entry in os.listdir(path):
                        os.unlink(os.path.join(path, entry))
                elif name.startswith('r-') and name not in kept:
                    os.unlink(path)
        # Every summary as saved before this save writes anything (the lookups move keys between values).
        before = dict((key, self._saved_summary(key)) for key in set(self._values) | self._removed)
        # A key removed and set again is logged removed first: it moved to the end, as in a dict.
        changed = [(key, None) for key in sorted(self._removed)]
        moves = {}      # (field, value) -> (keys added, keys removed)
        for key in self._removed:
            old = before[key] or {}
            for field in self.lookups:
                if old.get(field) is not None:
                    moves.setdefault((field, old[field]), ([], []))[1].append(key)
        for key in self._removed - set(self._values):
            try:
                os.unlink(self._file(key))
            except FileNotFoundError:
                pass
        for key, value in self._values.items():
            text = _dumps(value)
            if text != self._texts.get(key):
                _write(self._file(key), text)
                self._texts[key] = text
            summary = self._summary(value)
            old = None if key in self._removed else before[key]
            if old != summary or key in self._removed:
                changed.append((key, summary))
                for field in self.lookups:
                    was = (old or {}).get(field)
                    if was != summary.get(field) or key in self._removed:
                        if was is not None and key not in self._removed:
                            moves.setdefault((field, was), ([], []))[1].append(key)
                        if summary.get(field) is not None:
                            moves.setdefault((field, summary[field]), ([], []))[0].append(key)
            self._saved[key] = summary
        if self.lookups:
            if not self._cleared:
                self._ensure_lookups()
            for field in self.lookups:
                os.makedirs(os.path.join(self.directory, 'by-' + field), exist_ok=True)
            for (field, value), (added, removed) in moves.items():
                keys = [k for k in self._looked_up(field, value) if k not in removed or k in added]
                keys += [k for k in added if k not in keys]
                path = self._lookup_file(field, value)
                if keys:
                    _write(path, _dumps(keys))
                elif os.path.exists(path):
                    os.unlink(path)
        path = os.path.join(self.directory, INDEX)
        # How many entries the log holds and how many are live, kept beside it: whether to compact it
        # is decided without reading it.
        live, logged = self._counts()
        live += sum(1 for key in self._values if before[key] is None or key in self._removed)
        live -= sum(1 for key in self._removed if before[key] is not None)
        if self._index is None and (not os.path.exists(path) or logged + len(changed) > 2 * live + 64):
            self._keys()
        if self._index is not None:
            logged, live = self._logged, len(self._index)      # read with the index: the true counts
            for key, summary in changed:
                if summary is not None and key in self._index:
                    self._index[key] = summary
        if self._index is not None and (self._cleared or logged + len(changed) > 2 * live + 64
                                        or not os.path.exists(path)):
            _write(path, ''.join(_dumps(entry) + ',\n' for entry in self._index.items()))
            logged = live
        elif changed:
            with open(path, 'a') as handle:
                handle.write(''.join(_dumps(entry) + ',\n' for entry in changed))
            logged += len(changed)
        self._logged = logged
        for key in self._removed - set(self._values):
            self._saved.pop(key, None)
        self._removed = set()
        self._cleared = False
        if changed or not os.path.exists(os.path.join(self.directory, COUNTS)):
            _write(os.path.join(self.directory, COUNTS), _dumps([live, logged]))

    def _counts(self):
        """(live entries, entries logged) of the index, as the last save left them."""
        if self._cleared:
            return 0, 0
        try:
            with open(os.path.join(self.directory, COUNTS)) as handle:
                live, logged = json.loads(handle.read())
            return live, logged
        except (FileNotFoundError, ValueError):
            # A state from before the counts: read the index once.
            index = self._keys()
            return len(index) - sum(1 for k in self._values if index.get(k) == {}), self._logged


def where(mapping, field, value):
    """[(key, record)] of a collection (Records or a plain dict) whose ``field`` equals ``value``."""
    if isinstance(mapping, Records):
        return mapping.where(field, value)
    return [(key, record) for key, record in list(mapping.items()) if record.get(field) == value]


def field_of(mapping, key, field):
    """One field of one record, read from the index when the collection has one."""
    if isinstance(mapping, Records):
        return mapping.indexed(key, field)
    return mapping[key].get(field)


class State(_Lazy):
    """The whole simulated state as a dict, each top-level key read from its file when first used."""

    def __init__(self, directory):
        self.directory = directory
        self._reset()

    def _reset(self):
        self._names = None
        self._values = {}
        self._texts = {}
        self._removed = set()

    def _keys(self):
        if self._names is None:
            try:
                found = os.listdir(self.directory)
            except FileNotFoundError:
                found = []
            self._names = dict.fromkeys(sorted(n[:-5] for n in found if n.endswith('.json')))
        return self._names

    def _collections(self, top):
        """(path below ``top`` as a tuple, directory, fields) of the collections inside key ``top``."""
        for dotted, fields in COLLECTIONS.items():
            parts = dotted.split('.')
            if parts[0] == top:
                yield tuple(parts[1:]), os.path.join(self.directory, dotted), fields

    def __getitem__(self, key):
        if key in self._values:
            return self._values[key]
        if key not in self._keys():
            raise KeyError(key)
        with open(os.path.join(self.directory, key + '.json')) as handle:
            text = handle.read()
        value = json.loads(text)
        for path, directory, fields in self._collections(key):
            if not path:
                value = Records(directory, *fields)
            else:
                parent = _parent(value, path)
                if parent is not None and parent.get(path[-1]) == PLACEHOLDER:
                    parent[path[-1]] = Records(directory, *fields)
        self._texts[key] = text
        self._values[key] = value
        return value

    def __setitem__(self, key, value):
        self._keys()[key] = None
        self._values[key] = value
        self._removed.discard(key)

    def __delitem__(self, key):
        self[key]   # noqa: B018 -- loaded, so that its collections are known and removed with it
        del self._keys()[key]
        del self._values[key]
        self._removed.add(key)

    def reload(self):
        """Forget what was read: another command may have changed the state meanwhile."""
        self._reset()

    def save(self):
        os.makedirs(self.directory, exist_ok=True)
        for key in self._removed:
            try:
                os.unlink(os.path.join(self.directory, key + '.json'))
            except FileNotFoundError:
                pass        # set and removed by this command, never saved
            for path, directory, fields in self._collections(key):
                if os.path.isdir(directory):
                    records = Records(directory, *fields)
                    records.clear()
                    records.save()
        self._removed = set()
        for key, value in self._values.items():
            shallow = value
            for path, directory, fields in self._collections(key):
                records = value if not path else (_parent(value, path) or {}).get(path[-1])
                if records is None:
                    continue
                if not isinstance(records, Records):
                    # A plain dict put in place by a command (a first use, or a reboot's fresh state).
                    replacement = Records(directory, *fields)
                    replacement.clear()
                    replacement.update(records)
                    records = replacement
                    if path:
                        _parent(value, path)[path[-1]] = records
                    else:
                        value = self._values[key] = records
                records.save()
                shallow = PLACEHOLDER if not path else _replaced(shallow, path, PLACEHOLDER)
            text = _dumps(shallow)
            if text != self._texts.get(key):
                _write(os.path.join(self.directory, key + '.json'), text)
                self._texts[key] = text


def _parent(value, path):
    for part in path[:-1]:
        value = value.get(part) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else None


def _replaced(value, path, replacement):
    """A copy of ``value`` (copied only along ``path``) with the item at ``path`` replaced."""
    copy = dict(value)
    if len(path) == 1:
        copy[path[0]] = replacement
    else:
        copy[path[0]] = _replaced(value[path[0]], path[1:], replacement)
    return copy
