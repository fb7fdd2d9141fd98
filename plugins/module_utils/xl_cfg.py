# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""xl.cfg(5): parse as Xen's libxlutil does, render safely, edit a file losslessly.

Public API (also for users' own modules and filters)::

    settings = parse(text)          # {'name': 'web', 'memory': '512', 'disk': ['...']}
    parse_statements(text)          # [Statement(name, op, value, line, start, end)], file order
    render({'name': 'web', 'memory': 512, 'vif': ['bridge=xenbr0']})
    update(text, {'memory': 1024}, remove=('vnc',))   # in place; other lines and comments kept
    quote('a "b"')                  # '"a \\"b\\""'

Semantics follow libxlutil (libxlu_cfg_l.l, libxlu_cfg_y.y, libxlu_cfg.c) as
shipped in Xen 4.17, checked against the library itself by the unit tests:

* An assignment is ``name = value`` or ``name += value``, ended by a newline, ``;``
  or a ``#`` comment that runs to the end of the line; the last one may lack it.
* ``name`` is ``[a-z][._0-9a-z]*`` (lower case only).
* A value is a NUMBER (``[0-9][0-9a-fx]*``), a single- or double-quoted string on one
  line, or a ``[...]`` list (may span lines, may hold comments, trailing comma allowed,
  may nest). There are no bare words: ``type = pv`` is a syntax error.
* Every atom is kept as a string: ``memory = 512`` and ``memory = "512"`` are the same.
* A later assignment replaces an earlier one; ``+=`` concatenates with the earlier
  value (string to string, list to list; mixing them is an error).
* String escapes: ``\\" \\' \\\\ \\a \\b \\f \\n \\r \\t \\v``. Xen 4.17's numeric escapes
  are broken (``\\xHH`` is always an error; ``\\ooo`` is dropped from the value), and are
  reproduced as such so that this parser reads files exactly as ``xl`` does.
* A single stray character at the very end of a file (no newline after it) is ignored
  by Xen's lexer; so it is here.

Errors raise :class:`XlCfgError` with the line number. Where Xen reports an error
found at a newline one line early, this parser reports the line the text is on.
"""

from __future__ import annotations

import collections
import re

NAME_RE = re.compile(r'[a-z][._0-9a-z]*\Z')
NUMBER_RE = re.compile(r'[0-9][0-9a-fx]*\Z')

_IDENT = re.compile(r'[a-z][._0-9a-z]*')
_NUMBER = re.compile(r'[0-9][0-9a-fx]*')
_STRING = re.compile(r'"(?:[^"\\\n]|\\[^\n])*"|\'(?:[^\'\\\n]|\\[^\n])*\'')
_COMMENT = re.compile(r'#[^\n]*\n')
_GARBAGE = re.compile(r'[^ \t\n]*')
_PYTHONISH = frozenset('+-.():')
_ESCAPES = {'"': '"', "'": "'", '\\': '\\', 'a': '\a', 'b': '\b', 'f': '\f', 'n': '\n',
            'r': '\r', 't': '\t', 'v': '\v'}
_QUOTE = {'\\': '\\\\', '"': '\\"', '\n': '\\n'}

Statement = collections.namedtuple('Statement', 'name op value line start end')
"""One assignment as written: ``op`` is ``'='`` or ``'+='``; ``value`` is what that line
alone says; ``start``/``end`` are offsets of ``name`` and of the end of the value."""


class XlCfgError(ValueError):
    """A syntax error, with the 1-based line it was found on."""

    def __init__(self, line, message):
        self.line = line
        self.message = message
        super().__init__('line %d: %s' % (line, message))


class _Token(object):
    __slots__ = ('kind', 'text', 'value', 'line', 'start', 'end')

    def __init__(self, kind, text, value, line, start, end):
        self.kind, self.text, self.value = kind, text, value
        self.line, self.start, self.end = line, start, end

    def describe(self):
        if self.kind == 'NEWLINE':
            return '<newline>'
        if not self.text:
            return 'end of file'
        return '`%s\'' % self.text


def _dequote(text, line):
    out = []
    i, end = 1, len(text) - 1
    while i < end:
        c = text[i]
        i += 1
        if c != '\\':
            out.append(c)
            continue
        nc = text[i]
        i += 1
        if nc in _ESCAPES:
            out.append(_ESCAPES[nc])
        elif nc == 'x':
            # Xen 4.17 skips the first hex digit and then requires more than two: never valid.
            raise XlCfgError(line, 'invalid \\x escape in quoted string %s (Xen rejects every \\x escape)' % text)
        elif '0' <= nc <= '7':
            # Xen reads up to three decimal digits after the first one, needs two, and
            # drops the character: "a\0123b" reads as "ab".
            digits = re.match(r'[0-9]{0,3}', text[i:i + 3]).group(0)
            if len(digits) < 2:
                raise XlCfgError(line, 'invalid digit after backslash in octal escape in quoted string %s' % text)
            i += len(digits)
        else:
            raise XlCfgError(line, 'invalid character after backslash in quoted string %s' % text)
    return ''.join(out)


def _tokens(text):
    pos, line, size = 0, 1, len(text)
    last_line = 1
    while pos < size:
        last_line = line
        c = text[pos]
        if c in ' \t':
            pos += 1
            continue
        if c == '\n' or c == '#':
            m = _COMMENT.match(text, pos) if c == '#' else None
            if c == '\n' or m:
                end = m.end() if m else pos + 1
                yield _Token('NEWLINE', '', None, line, pos, end)
                pos, line = end, line + 1
                continue
        for kind, regex in (('IDENT', _IDENT), ('NUMBER', _NUMBER)):
            m = regex.match(text, pos)
            if m:
                yield _Token(kind, m.group(0), m.group(0), line, pos, m.end())
                pos = m.end()
                break
        else:
            m = _STRING.match(text, pos)
            if m:
                yield _Token('STRING', m.group(0), _dequote(m.group(0), line), line, pos, m.end())
                pos = m.end()
            elif text.startswith('+=', pos):
                yield _Token('+=', '+=', None, line, pos, pos + 2)
                pos += 2
            elif c in ',[]=;':
                yield _Token(c, c, None, line, pos, pos + 1)
                pos += 1
            else:
                bad = _GARBAGE.match(text, pos + 1).end()
                if bad >= size and bad == pos + 1:
                    break       # Xen's lexer drops a one-character error token at end of file
                hint = ' (this looks like Python; xl.cfg is not Python)' if c in _PYTHONISH else ''
                raise XlCfgError(line, 'lexical error near `%s\'%s' % (text[pos:bad], hint))
    # Like Xen, place the end of file on the line of the last token (the line of an unclosed list).
    yield _Token('EOF', '', None, last_line, size, size)


class _Parser(object):
    def __init__(self, text):
        self.tokens = _tokens(text)
        self.tok = next(self.tokens)
        self.last_end = 0       # where the last consumed token ended

    def advance(self):
        tok = self.tok
        self.tok = next(self.tokens)
        self.last_end = tok.end
        return tok

    def fail(self, expected):
        raise XlCfgError(self.tok.line, 'syntax error near %s: expected %s' % (self.tok.describe(), expected))

    def skip_newlines(self):
        while self.tok.kind == 'NEWLINE':
            self.advance()

    def value(self):
        if self.tok.kind in ('STRING', 'NUMBER'):
            return self.advance().value
        if self.tok.kind != '[':
            self.fail('a quoted string, a number or [')
        self.advance()
        self.skip_newlines()
        items = []
        while self.tok.kind != ']':
            items.append(self.value())
            self.skip_newlines()
            if self.tok.kind == ',':
                self.advance()
                self.skip_newlines()
            elif self.tok.kind != ']':
                self.fail("',' or ']'")
        self.advance()
        return items

    def statements(self):
        result = []
        while self.tok.kind != 'EOF':
            if self.tok.kind in ('NEWLINE', ';'):
                self.advance()
                continue
            if self.tok.kind != 'IDENT':
                self.fail('a setting name')
            name = self.advance()
            if self.tok.kind not in ('=', '+='):
                self.fail("'=' or '+='")
            op = self.advance().kind
            value = self.value()
            result.append(Statement(name.value, op, value, name.line, name.start, self.last_end))
            if self.tok.kind not in ('NEWLINE', ';', 'EOF'):
                self.fail('the end of the line or ;')
        return result


def parse_statements(text):
    """Every assignment as written, in file order (see :class:`Statement`)."""
    return _Parser(text).statements()


def merge(statements):
    """Apply assignments in order as libxlutil does: ``=`` replaces, ``+=`` concatenates."""
    settings = collections.OrderedDict()
    for st in statements:
        value = st.value
        if st.op == '+=' and st.name in settings:
            previous = settings[st.name]
            if isinstance(previous, list) != isinstance(value, list):
                raise XlCfgError(st.line, "can't add [list] to \"string\" or vice versa (%s)" % st.name)
            value = previous + value
        settings[st.name] = value
    return settings


def parse(text):
    """Settings as xl sees them: name -> string or list (of strings or lists), in the
    order each name first appears."""
    return merge(parse_statements(text))


def quote(value):
    """A double-quoted xl.cfg string that Xen's parser reads back as exactly ``value``."""
    value = str(value)
    if '\0' in value:
        raise ValueError('an xl.cfg string cannot hold a NUL character')
    return '"%s"' % ''.join(_QUOTE.get(c, c) for c in value)


def render_value(value, indent=''):
    """One value: lists of two or more items one per line, numbers bare, the rest quoted."""
    if isinstance(value, (list, tuple)):
        items = [render_value(v, indent + '    ') for v in value]
        if len(items) < 2:
            return '[%s]' % ''.join(items)
        return '[\n%s%s]' % (''.join('%s    %s,\n' % (indent, item) for item in items), indent)
    if isinstance(value, bool):
        return '1' if value else '0'
    text = str(value)
    return text if NUMBER_RE.match(text) else quote(text)


def check_name(name):
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ValueError('%r is not an xl.cfg setting name (lower case letters, digits, "_" and ".", '
                         'starting with a letter)' % (name,))
    return name


def render_setting(name, value):
    return '%s = %s' % (check_name(name), render_value(value))


def render(settings, header=None):
    """A whole file: an optional comment header, then one assignment per setting."""
    lines = ['# %s' % line for line in (header or '').splitlines()]
    lines.extend(render_setting(name, value) for name, value in settings.items())
    return '\n'.join(lines) + '\n' if lines else ''


def normalize(value):
    """A value as the parser returns it: every atom a string (bools as 1/0)."""
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    if isinstance(value, bool):
        return '1' if value else '0'
    return str(value)


def update(text, settings, remove=()):
    """``text`` with each of ``settings`` set and each of ``remove`` gone, touching only their
    statements: the first assignment of a name is replaced in place, later ones (and ``+=``
    lines) are deleted, new names are appended. Everything else, comments included, is kept
    byte for byte."""
    statements = parse_statements(text)
    targets = set(settings) | set(remove)
    edits = []          # (start, end, replacement)
    placed = set()
    for st in statements:
        if st.name not in targets:
            continue
        if st.name in settings and st.name not in placed:
            placed.add(st.name)
            edits.append((st.start, st.end, render_setting(st.name, settings[st.name])))
        else:
            edits.append(_deletion(text, st.start, st.end))
    out = text
    for start, end, replacement in sorted(edits, reverse=True):
        out = out[:start] + replacement + out[end:]
    missing = [name for name in settings if name not in placed]
    if missing:
        if out and not out.endswith('\n'):
            out += '\n'
        out += ''.join(render_setting(name, settings[name]) + '\n' for name in missing)
    return out


def _deletion(text, start, end):
    """The span that removes one statement: its whole line when nothing else is on it,
    else the statement and a following ``;``."""
    line_start = text.rfind('\n', 0, start) + 1
    m = re.compile(r'[ \t]*;?[ \t]*').match(text, end)
    after = m.end()
    if not text[line_start:start].strip() and (after >= len(text) or text[after] == '\n'):
        return (line_start, min(after + 1, len(text)), '')
    if text[end:after].strip() == ';':
        return (start, after, '')
    return (start, end, '')
