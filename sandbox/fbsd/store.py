"""How the simulated kernel state is kept on disk: read and written piecewise.

Every simulated command is a new process, so whatever it loads and saves is paid per command.
The state is one file per top-level key (``sysctl``, ``kld``, ``mounts``...), read only when a
command looks at that key and written only when its content changed.  The collections that grow
with the number of guests (jails, datasets, interfaces) are one file per record, with an index of
their keys in order and of the few fields commands search by (a jail's name, the jail an interface
is in): ``jail -c`` of the ten-thousandth jail reads and writes what it touches, not the other
9,999 jails.  An index is a log: a command appends the entries it changed (a removal is an
entry without a summary) and the log is rewritten only when it has grown to twice the live entries.
The mount table is still one file, rewritten whole when it changes.
"""

import json
import os
from collections.abc import MutableMapping
from urllib.parse import quote

# Collections stored one record per file: dotted path in the state -> fields kept in the index.
COLLECTIONS = {
    'jails': ('name',),
    'zfs.datasets': ('type', 'origin'),
    'net.ifaces': ('kind', 'index', 'vnet'),
}
PLACEHOLDER = '@records'    # where a collection sits inside its top-level key's file
INDEX = '.index'


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
    """A dict whose values live in one file each under ``directory``; keys are strings (as JSON's)."""

    _key = staticmethod(str)

    def __init__(self, directory, fields):
        self.directory = directory
        self.fields = fields
        self._index = None      # key -> summary of the indexed fields as saved, in insertion order
        self._logged = 0        # entries in the index file
        self._values = {}       # records loaded or set by this command
        self._texts = {}        # their text as read (to write back only what changed)
        self._removed = set()

    def _file(self, key):
        return os.path.join(self.directory, 'r-' + quote(key, safe=''))

    def _keys(self):
        if self._index is None:
            self._index, self._logged = {}, 0
            try:
                with open(os.path.join(self.directory, INDEX)) as handle:
                    text = handle.read()
            except FileNotFoundError:
                text = ''
            # Entries end with ",\n"; the last one wins, a null summary is a removal.
            entries = json.loads('[' + text.rstrip(',\n') + ']')
            for key, summary in entries:
                if summary is None:
                    self._index.pop(key, None)
                else:
                    self._index[key] = summary
            self._logged = len(entries)
        return self._index

    def __getitem__(self, key):
        key = str(key)
        if key in self._values:
            return self._values[key]
        if key not in self._keys():
            raise KeyError(key)
        with open(self._file(key)) as handle:
            text = handle.read()
        self._texts[key] = text
        value = self._values[key] = json.loads(text)
        return value

    def __setitem__(self, key, value):
        key = str(key)
        self._keys().setdefault(key, {})
        self._values[key] = value

    def __delitem__(self, key):
        key = str(key)
        del self._keys()[key]
        self._values.pop(key, None)
        self._texts.pop(key, None)
        self._removed.add(key)

    def clear(self):
        # Without reading the records (MutableMapping's clear pops them one by one).
        for key in list(self._keys()):
            del self[key]

    def where(self, field, value):
        """[(key, record)] whose indexed ``field`` equals ``value``, reading only those records."""
        if field not in self.fields:
            raise KeyError('%s is not an indexed field' % field)
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

    def save(self):
        os.makedirs(self.directory, exist_ok=True)
        index = self._keys()
        # A key removed and set again is logged removed first: it moved to the end, as in a dict.
        changed = [(key, None) for key in sorted(self._removed)]
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
            summary = dict((field, value.get(field)) for field in self.fields)
            # The index holds the saved summary (a key set by this command holds {} until now).
            if index.get(key) != summary or key in self._removed:
                index[key] = summary
                changed.append((key, summary))
        path = os.path.join(self.directory, INDEX)
        if self._logged + len(changed) > 2 * len(index) + 64 or not os.path.exists(path):
            _write(path, ''.join(_dumps(entry) + ',\n' for entry in index.items()))
            self._logged = len(index)
        elif changed:
            with open(path, 'a') as handle:
                handle.write(''.join(_dumps(entry) + ',\n' for entry in changed))
            self._logged += len(changed)
        self._removed = set()


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
                value = Records(directory, fields)
            else:
                parent = _parent(value, path)
                if parent is not None and parent.get(path[-1]) == PLACEHOLDER:
                    parent[path[-1]] = Records(directory, fields)
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
            os.unlink(os.path.join(self.directory, key + '.json'))
            for path, directory, fields in self._collections(key):
                if os.path.isdir(directory):
                    records = Records(directory, fields)
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
                    replacement = Records(directory, fields)
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
