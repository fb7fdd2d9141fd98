# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""bhyve_config(5) files: read as bhyve(8) reads them (``bhyve -k FILE``), written so that they read back.

bhyve's reader (bhyverun.c, ``bhyve_parse_simple_config_file``) takes a file line by line: a line
that starts with ``#`` and an empty line are skipped; every other line is ``path=value``, split at
its first ``=``, with a value that is not empty and that runs to the end of the line (spaces and
``#`` included: there is no quoting and no trailing comment).  A path is dot-separated node names,
none empty, and no variable may also be a node (config.c).  When bhyve *uses* a value that holds a
``%``, ``%(path)`` is replaced by that variable's value and ``\\`` takes the next character
literally; a value with no ``%`` is used as written.

So a value is written as it is unless it holds a ``%``, and then with ``\\`` before each ``%`` and
``\\``; a value that cannot be written on one line (a line break, NUL, any control character) or is
empty is refused.  Paths are refused unless every node name is letters, digits, ``_`` or ``-``
(stricter than bhyve, so that nothing a path holds can read differently).
"""

from __future__ import annotations

import re

SEGMENT = r'[A-Za-z0-9_-]+'
PATH_RE = re.compile(r'^%s(\.%s)*\Z' % (SEGMENT, SEGMENT))
# What no value may hold: C0 controls (line breaks among them), DEL, and the line breaks of Unicode
# that other tools reading the file split at.
_UNWRITABLE = re.compile('[\x00-\x1f\x7f\x85\u2028\u2029]')


class BhyveConfigError(ValueError):
    """A file bhyve would refuse, or a value or path that cannot be written."""


def check_path(path):
    if not isinstance(path, str) or not PATH_RE.match(path):
        raise BhyveConfigError('%r is not a bhyve_config(5) variable (dot-separated names of letters, digits, '
                               '"_" and "-")' % (path,))
    return path


def encode(value):
    """The text that bhyve reads as ``value`` (see the module's docstring); BhyveConfigError when none can."""
    if not isinstance(value, str):
        raise BhyveConfigError('%r is not a string' % (value,))
    if value == '':
        raise BhyveConfigError('an empty value cannot be written (bhyve refuses "name=")')
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        raise BhyveConfigError('%r is not valid UTF-8 text' % (value,))
    bad = _UNWRITABLE.search(value)
    if bad:
        raise BhyveConfigError('%r holds %r, which cannot be written on one line of a bhyve_config(5) file'
                               % (value, bad.group(0)))
    if '%' not in value:
        return value
    return value.replace('\\', '\\\\').replace('%', '\\%')


def decode(raw):
    """The value bhyve uses for ``raw`` when it refers to no other variable; None when it does
    (``%(path)``) or is malformed (a lone ``%``, a trailing ``\\``): then only bhyve knows its value."""
    if '%' not in raw:
        return raw
    out, index = [], 0
    while index < len(raw):
        char = raw[index]
        if char == '%':
            return None
        if char == '\\':
            index += 1
            if index >= len(raw):
                return None
        out.append(raw[index])
        index += 1
    return ''.join(out)


class Line(object):
    """One line of a file: ``path`` and ``raw`` value for a variable, None for a comment or empty line."""

    __slots__ = ('number', 'text', 'path', 'raw')

    def __init__(self, number, text, path=None, raw=None):
        self.number = number
        self.text = text
        self.path = path
        self.raw = raw


def lines(text):
    """The file's lines as bhyve reads them; BhyveConfigError (naming the line) where bhyve would stop."""
    found, values, nodes = [], set(), set()
    split = text.split('\n')
    if split and split[-1] == '':
        split.pop()
    for number, line in enumerate(split, 1):
        if line.startswith('#') or line == '':
            found.append(Line(number, line))
            continue
        # getline() reads past a NUL, the C string that bhyve parses ends at it.
        line = line.split('\x00', 1)[0]
        path, has_value, raw = line.partition('=')
        if not has_value or raw == '':
            raise BhyveConfigError("line %d: invalid config option '%s'" % (number, line))
        names = path.split('.')
        if len(names) > 1 and '' in names:
            raise BhyveConfigError('line %d: invalid configuration node %s' % (number, path))
        parents = ['.'.join(names[:i]) for i in range(1, len(names))]
        clash = [p for p in parents if p in values]
        if clash:
            raise BhyveConfigError('line %d: configuration node %s is a child of existing variable %s'
                                   % (number, path, clash[0]))
        if path in nodes:
            raise BhyveConfigError('line %d: attempting to add value %s to existing node %s' % (number, raw, path))
        values.add(path)
        nodes.update(parents)
        found.append(Line(number, line, path, raw))
    return found


def parse(text):
    """{path: raw value} of a file, the last line of a path winning (as bhyve sets it again)."""
    return dict((line.path, line.raw) for line in lines(text) if line.path is not None)


def values(text):
    """{path: value as bhyve uses it} (None for a value that refers to another variable)."""
    return dict((path, decode(raw)) for path, raw in parse(text).items())


def render(text, wanted, owned, header=None):
    """The file ``text`` with the variables ``wanted`` ({path: value}, in order) set, the ``owned`` paths
    that ``wanted`` no longer holds removed, and every other line kept where it is.

    A wanted variable is written where its first line was (its other lines dropped); new ones go after
    the last line kept, in ``wanted``'s order.  ``header`` (comment lines) replaces the comment lines at
    the top of the file.  Values and paths that cannot be written raise BhyveConfigError.
    """
    encoded = [(check_path(path), encode(value)) for path, value in wanted.items()]
    wanted_paths = dict(encoded)
    owned = set(owned) | set(wanted_paths)
    old = lines(text or '')
    if header is not None:
        while old and old[0].path is None and old[0].text.startswith('#'):
            old.pop(0)
    out, written = list(header or []), set()
    for line in old:
        if line.path is None or line.path not in owned:
            out.append(line.text)
        elif line.path in wanted_paths and line.path not in written:
            out.append('%s=%s' % (line.path, wanted_paths[line.path]))
            written.add(line.path)
    out.extend('%s=%s' % (path, raw) for path, raw in encoded if path not in written)
    result = '\n'.join(out) + '\n'
    lines(result)       # what it writes, bhyve reads (a kept line and a new one may not clash)
    return result
