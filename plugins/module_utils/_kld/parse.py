# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsers for kldstat(8) output and loader.conf(5) text."""

from __future__ import annotations

import re

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParseError

# Both the old left-aligned and the modern right-aligned size columns match;
# -v appends " (/path/to/file)".
_FILE_ROW = re.compile(r'^\s*(?P<id>\d+)\s+(?P<refs>\d+)\s+(?P<address>0x[0-9a-fA-F]+)\s+'
                       r'(?P<size>[0-9a-fA-F]+)\s+(?P<name>\S+)(?:\s+\((?P<path>.*)\))?\s*$')
_MODULE_ROW = re.compile(r'^\s*(?P<id>\d+)\s+(?P<name>\S+)\s*$')
_HEADER = re.compile(r'^\s*Id\s+Refs\s+Address\s+Size\s+Name\s*$')
_MODULE_HEADER = re.compile(r'^\s*Id\s+Name\s*$')

_LOADER_LINE = re.compile(r'^\s*(?P<name>[A-Za-z0-9_.\-]+)\s*=\s*(?P<value>.*?)\s*$')


def parse_kldstat(text):
    """Parse ``kldstat`` or ``kldstat -v`` output into a list of file dicts.

    Each dict has id, refs, address, size (int), name, path (None without -v)
    and modules (names the file contains; empty without -v).
    """
    files = []
    current = None
    in_modules = False
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or _HEADER.match(line):
            continue
        if line.strip() == 'Contains modules:':
            if current is None:
                raise ParseError('kldstat output', 'line %d: module list before any file' % number, text)
            in_modules = True
            continue
        if in_modules and _MODULE_HEADER.match(line):
            continue
        file_match = _FILE_ROW.match(line)
        # Module rows are indented with tabs and have two columns only.
        if file_match and not line.startswith('\t'):
            current = {
                'id': int(file_match.group('id')),
                'refs': int(file_match.group('refs')),
                'address': file_match.group('address'),
                'size': int(file_match.group('size'), 16),
                'name': file_match.group('name'),
                'path': file_match.group('path'),
                'modules': [],
            }
            files.append(current)
            in_modules = False
            continue
        module_match = _MODULE_ROW.match(line)
        if in_modules and module_match:
            current['modules'].append(module_match.group('name'))
            continue
        raise ParseError('kldstat output', 'line %d not understood: %r' % (number, line), text)
    return files


def file_stem(name):
    """'vmm.ko' and '/boot/kernel/vmm.ko' -> 'vmm'."""
    base = name.rsplit('/', 1)[-1]
    return base[:-3] if base.endswith('.ko') else base


def find_loaded(files, name):
    """Where ``name`` is loaded: (file dict, how) with how 'file' or 'module', or (None, None)."""
    for entry in files:
        if file_stem(entry['name']) == name:
            return entry, 'file'
    for entry in files:
        if name in entry['modules']:
            return entry, 'module'
    return None, None


def split_list(value):
    """rc.conf list variables are separated by white space."""
    return (value or '').split()


def _unquote(value):
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in '"\'':
        return value[1:-1]
    # Unquoted value: a trailing comment ends it.
    return value.split('#', 1)[0].strip()


def parse_loader_conf(text):
    """Variables set in a loader.conf(5) file (the last assignment wins)."""
    values = {}
    for line in (text or '').split('\n'):
        stripped = line.strip()
        if not stripped or stripped.startswith('#'):
            continue
        match = _LOADER_LINE.match(stripped)
        if match:
            raw = match.group('value')
            if raw[:1] in '"\'':
                end = raw.find(raw[0], 1)
                raw = raw[:end + 1] if end > 0 else raw
            values[match.group('name')] = _unquote(raw)
    return values


def is_yes(value):
    return (value or '').strip().lower() in ('yes', 'true', 'on', '1')
