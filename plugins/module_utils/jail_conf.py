# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""jail.conf(5): parse as FreeBSD's jail(8) does, resolve one jail, edit one block losslessly.

Public API (also for users' own modules and filters)::

    conf = parse(text, path='/etc/jail.conf')
    conf.jails                  # configured non-wildcard jail names, in file order
    conf.resolve('web')         # effective parameters, as jail(8) would pass them
    conf.set_jail('web', {'path': '/jails/web', 'persist': True, 'ip4.addr': ['10.0.0.5']})
    conf.update_jail('db', {'host.hostname': 'db2'})   # in place, hand-written lines kept
    conf.remove_jail('old')
    conf.render()               # the text; unchanged outside the edited blocks

The grammar follows FreeBSD's jaillex.l/jailparse.y and the merge and variable
rules of config.c: global statements and ``*``/``name.*`` wildcard blocks merged
in file order, ``=`` replaces and ``+=`` appends, ``$var``/``${var}``
substituted per jail after merging (not inside single quotes).
"""

from __future__ import annotations

import glob
import os
import re

_ATOM = frozenset('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_!%&()-.:<>?@[]^`|~$*+/\\')
_ESCAPES = {'a': '\a', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v'}
_VAR = re.compile(r'[A-Za-z_][A-Za-z_0-9]*')
_BLANK = re.compile(r'[ \t\r\n]+')
# Runs of characters that stand for themselves, taken in one step (a jail.conf.d directory holds
# thousands of files): inside double quotes, inside single quotes, and unquoted.
_PLAIN = {'"': re.compile(r'[^"\\$]+'), "'": re.compile(r"[^'\\]+"),
          None: re.compile('[%s]+' % re.escape(''.join(sorted(_ATOM - set('\\$/+')))))}
_SAFE = re.compile(r'^[A-Za-z0-9_.:/-]+\Z')
_SAFE_NAME = re.compile(r'^[A-Za-z0-9_.-]+\Z')
# Parameters jail(8) always treats as lists (jail.8; config.c intparams).
LIST_PARAMS = frozenset(('ip4.addr', 'ip6.addr', 'exec.prepare', 'exec.prestart', 'exec.created', 'exec.start',
                         'command', 'exec.poststart', 'exec.prestop', 'exec.stop', 'exec.poststop', 'exec.release',
                         'mount', 'vnet.interface', 'depend', 'zfs.dataset', 'mount.fstab'))


class JailConfError(ValueError):
    """A syntax or resolution error; the message names the file and line (or the jail)."""


class _Str(object):
    """One parsed string: its text and the variables to substitute (name, offset)."""

    __slots__ = ('text', 'variables')

    def __init__(self):
        self.text = ''
        self.variables = []


class _Statement(object):
    """A parameter statement: name, '=' or '+=' (or None), values, and its source span."""

    __slots__ = ('name', 'is_var', 'append', 'values', 'start', 'end', 'line')

    def __init__(self, name, is_var, append, values, start, end, line):
        self.name, self.is_var, self.append, self.values = name, is_var, append, values
        self.start, self.end, self.line = start, end, line


class _Block(object):
    __slots__ = ('name', 'statements', 'start', 'end', 'seq', 'path')

    def __init__(self, name, start, seq, path):
        self.name, self.statements, self.start, self.end, self.seq, self.path = name, [], start, None, seq, path


class _Scanner(object):
    """jaillex.l: tokens with their offsets; strings glued when nothing separates them."""

    def __init__(self, text, path):
        self.text, self.path, self.pos, self.line = text, path or '<string>', 0, 1

    def fail(self, message, line=None):
        raise JailConfError('%s line %d: %s' % (self.path, line or self.line, message))

    def skip(self):
        text = self.text
        start = self.pos
        while self.pos < len(text):
            char = text[self.pos]
            if char in ' \t\r\n':
                blank = _BLANK.match(text, self.pos).group(0)
                self.line += blank.count('\n')
                self.pos += len(blank)
            elif char == '#' or text.startswith('//', self.pos):
                newline = text.find('\n', self.pos)
                self.pos = len(text) if newline < 0 else newline
            elif text.startswith('/*', self.pos):
                close = text.find('*/', self.pos + 2)
                if close < 0:
                    self.fail('unterminated comment')
                self.line += text.count('\n', self.pos, close)
                self.pos = close + 2
            else:
                break
        return self.pos > start

    def backslash(self, out):
        text, pos = self.text, self.pos
        nxt = text[pos + 1:pos + 2]
        octal = re.match(r'[0-7]{1,3}', text[pos + 1:pos + 4])
        hexa = re.match(r'x([0-9A-Fa-f]{1,2})', text[pos + 1:pos + 4])
        if nxt == '\n':
            self.line += 1
            self.pos += 2
        elif nxt in _ESCAPES:
            out.text += _ESCAPES[nxt]
            self.pos += 2
        elif octal:
            out.text += chr(int(octal.group(0), 8) & 0xff)
            self.pos += 1 + len(octal.group(0))
        elif hexa:
            out.text += chr(int(hexa.group(1), 16))
            self.pos += 1 + len(hexa.group(0))
        else:
            out.text += nxt
            self.pos += 1 + len(nxt)

    def variable(self, out, quoted):
        text, pos = self.text, self.pos
        if text.startswith('${', pos):
            close = pos + 2
            while close < len(text) and text[close] not in '}\n' and not (quoted and text[close] == '"'):
                close += 1
            if close >= len(text) or text[close] != '}':
                self.fail('unterminated variable')
            out.variables.append((text[pos + 2:close], len(out.text)))
            self.pos = close + 1
            return True
        match = _VAR.match(text, pos + 1)
        if not match:
            return False
        out.variables.append((match.group(0), len(out.text)))
        self.pos = match.end()
        return True

    def string(self, out):
        """Append one string piece at self.pos to out; False if none starts here."""
        text = self.text
        quote = text[self.pos]
        if quote in '"\'':
            first_line = self.line
            self.pos += 1
            while True:
                if self.pos >= len(text):
                    self.fail('unterminated string', first_line)
                plain = _PLAIN[quote].match(text, self.pos)
                if plain:
                    self.line += plain.group(0).count('\n')
                    out.text += plain.group(0)
                    self.pos = plain.end()
                    continue
                char = text[self.pos]
                if char == quote:
                    self.pos += 1
                    return True
                if char == '\\':
                    self.backslash(out)
                elif char == '$' and quote == '"' and self.variable(out, True):
                    continue
                else:
                    self.line += char == '\n'
                    out.text += char
                    self.pos += 1
        start = self.pos
        while self.pos < len(text):
            plain = _PLAIN[None].match(text, self.pos)
            if plain:
                out.text += plain.group(0)
                self.pos = plain.end()
                continue
            char = text[self.pos]
            if char == '\\':
                self.backslash(out)
            elif char == '$' and self.variable(out, False):
                continue
            elif char == '/' and text[self.pos + 1:self.pos + 2] in ('/', '*'):
                break
            elif char == '+' and text[self.pos + 1:self.pos + 2] == '=':
                break
            elif char in _ATOM:
                out.text += char
                self.pos += 1
            else:
                break
        return self.pos > start

    def tokens(self):
        """(kind, value, start, end, line): kind is 'str' or one of ; , = += { }."""
        result = []
        while True:
            spaced = self.skip()
            if self.pos >= len(self.text):
                return result
            start, line, char = self.pos, self.line, self.text[self.pos]
            if self.text.startswith('+=', start):
                self.pos += 2
                result.append(('+=', None, start, self.pos, line))
                continue
            if char in ';,={}':
                self.pos += 1
                result.append((char, None, start, self.pos, line))
                continue
            glue = result and result[-1][0] == 'str' and not spaced
            out = result[-1][1] if glue else _Str()
            if not self.string(out):
                self.fail('%s: syntax error' % char)
            if glue:
                result[-1] = ('str', out, result[-1][2], self.pos, result[-1][4])
            else:
                result.append(('str', out, start, self.pos, line))


def _parse_blocks(text, path, reader, depth=0, includes=None):
    """jailparse.y: the top-level blocks ('*' for global statements), in file order; the file's own
    ``.include`` patterns are added to ``includes``."""
    tokens = _Scanner(text, path).tokens()
    blocks = []
    index = 0
    current = None
    label = path or '<string>'

    def need(kinds):
        if index >= len(tokens):
            raise JailConfError('%s: unexpected EOF' % label)
        token = tokens[index]
        if token[0] not in kinds:
            shown = token[1].text if token[0] == 'str' else token[0]
            raise JailConfError('%s line %d: %s: syntax error' % (label, token[4], shown))
        return token

    while index < len(tokens):
        kind = tokens[index][0]
        if kind == ';':
            index += 1
            continue
        if kind == '}' and current is not None:
            current.end = tokens[index][3]
            current = None
            index += 1
            continue
        head = need(('str',))
        index += 1
        follow = need(('{', ';', '=', '+=', 'str'))
        if follow[0] == '{':
            if current is not None:
                raise JailConfError('%s line %d: {: syntax error' % (label, follow[4]))
            current = _Block(head[1].text, head[2], len(blocks), path)
            blocks.append(current)
            index += 1
            continue
        values, append = [], follow[0] == '+='
        if follow[0] != ';':
            if follow[0] != 'str':
                index += 1
            values.append(need(('str',))[1])
            index += 1
            while index < len(tokens) and tokens[index][0] == ',':
                index += 1
                values.append(need(('str',))[1])
                index += 1
        end = need((';',))[3]
        index += 1
        name = head[1]
        is_var = name.text == '' and len(name.variables) == 1 and name.variables[0][1] == 0
        statement = _Statement(name.variables[0][0] if is_var else name.text, is_var, append, values,
                               head[2], end, head[4])
        if statement.name == '.include' and current is None and not is_var:
            if includes is not None:
                includes.extend(value.text for value in values)
            for value in values:
                blocks.extend(_include(value.text, path, reader, depth, len(blocks)))
            continue
        if current is not None:
            current.statements.append(statement)
        else:
            if not blocks or blocks[-1].name != '*' or blocks[-1].end is not None:
                blocks.append(_Block('*', head[2], len(blocks), path))
            blocks[-1].statements.append(statement)
    if current is not None:
        raise JailConfError('%s: unexpected EOF' % label)
    return blocks


def _include(pattern, path, reader, depth, offset):
    if reader is None:
        return []
    if depth > 16:
        raise JailConfError('%s: .include nested too deeply' % path)
    if not os.path.isabs(pattern) and path:
        pattern = os.path.join(os.path.dirname(path), pattern)
    paths = sorted(glob.glob(pattern)) if any(c in pattern for c in '*?[') else [pattern]
    found = []
    for included in paths:
        found.extend(_parse_blocks(reader(included), included, reader, depth + 1))
    for number, block in enumerate(found):
        block.seq = offset + number
    return found


def _wild_match(name, pattern):
    names, patterns = name.split('.'), pattern.split('.')
    while len(names) > 1 and len(patterns) > 1:
        if patterns[0] not in ('*', names[0]):
            return False
        names, patterns = names[1:], patterns[1:]
    return patterns == ['*'] or patterns == names


def _base(name):
    head, dot, tail = name.rpartition('.')
    return head + dot + (tail[2:] if tail.startswith('no') else tail)


class JailConf(object):
    """A parsed jail.conf; edits rewrite only the blocks they touch."""

    def __init__(self, text, path=None, reader=None):
        self.text = text
        self.path = path
        self._reader = reader
        self.includes = []      # the file's own .include patterns
        self._blocks = _parse_blocks(text, path, reader, includes=self.includes)

    @property
    def jails(self):
        return [b.name for b in self._blocks if '*' not in b.name]

    def holds_only(self, name):
        """Whether the file configures this one jail and nothing else: no other block, no parameter
        outside its block, no .include (jail(8) given the file for every jail in it does this jail alone)."""
        return not self.includes and [b.name for b in self._blocks] == [name]

    def _own_blocks(self, name):
        return [b for b in self._blocks if b.name == name and b.path == self.path and b.end is not None]

    def resolve(self, name):
        """Effective parameters of one jail: {param: str | list | True}, variables dropped."""
        blocks = [b for b in self._blocks if b.name == name]
        if not blocks:
            raise JailConfError('jail "%s" is not configured in %s' % (name, self.path or 'the text'))
        merged = []                                   # [name, is_var, [_Str]]
        by_base = {}                                  # _base(name) -> its entry in merged
        errors = []

        def add(statement_name, is_var, append, values):
            entry = by_base.get(_base(statement_name))
            if entry is not None:
                if entry[1] != is_var:
                    errors.append('variable "$%s" cannot have the same name as a parameter.' % statement_name)
                    return
                if entry[0] in ('name', 'jid'):
                    errors.append('cannot redefine parameter "%s".' % entry[0])
                    return
                entry[0] = statement_name
                entry[2] = (entry[2] if append and values else []) + list(values)
                return
            entry = [statement_name, is_var, list(values)]
            merged.append(entry)
            by_base[_base(statement_name)] = entry

        implied = _Str()
        implied.text = name
        add('jid' if name.isdigit() and int(name) else 'name', False, False, [implied])
        own = blocks[0]
        statements = [s for b in blocks for s in b.statements]
        done_self = False
        for wild in (b for b in self._blocks if '*' in b.name):
            if own.seq < wild.seq and not done_self:
                for statement in statements:
                    add(statement.name, statement.is_var, statement.append, statement.values)
                done_self = True
            if _wild_match(name, wild.name):
                for statement in wild.statements:
                    add(statement.name, statement.is_var, statement.append, statement.values)
        if not done_self:
            for statement in statements:
                add(statement.name, statement.is_var, statement.append, statement.values)
        values = dict((entry[0], entry) for entry in merged)
        texts = {}

        def text_of(param, trail):
            if param in texts:
                return texts[param]
            if param in trail:
                raise JailConfError('%s: %s: variable loop' % (name, param))
            entry = values[param]
            out = []
            for piece in entry[2]:
                if not piece.variables:
                    out.append(piece.text)
                    continue
                text = piece.text
                for variable, offset in reversed(piece.variables):
                    if variable not in values or not values[variable][2]:
                        raise JailConfError('%s: %s: variable "%s" not found' % (name, param, variable))
                    substituted = text_of(variable, trail + (param,))
                    if len(substituted) > 1:
                        if piece.text or len(piece.variables) > 1:
                            raise JailConfError('%s: %s: array cannot be substituted inline' % (name, param))
                        out.extend(substituted)
                        text = None
                        break
                    text = text[:offset] + substituted[0] + text[offset:]
                if text is not None:
                    out.append(text)
            texts[param] = out
            return out

        if errors:
            raise JailConfError('%s: %s' % (name, errors[0]))
        result = {}
        for entry in merged:
            if entry[1]:
                continue
            resolved = text_of(entry[0], ())
            if not resolved:
                result[entry[0]] = True
            elif entry[0] in LIST_PARAMS or len(resolved) > 1:
                result[entry[0]] = resolved
            else:
                result[entry[0]] = resolved[0]
        return result

    def block_text(self, name):
        """The source text of a jail's own block in this file, or None."""
        blocks = self._own_blocks(name)
        return self.text[blocks[0].start:blocks[0].end] if blocks else None

    def block_span(self, name):
        """(start, end) offsets of the jail's own block in this file's text, or None."""
        blocks = self._own_blocks(name)
        return (blocks[0].start, blocks[0].end) if blocks else None

    def set_jail(self, name, params, comment=None):
        """Replace the jail's block (or append one) with ``params`` rendered; everything else is kept."""
        block = render_block(name, params, comment)
        own = self._own_blocks(name)
        if own:
            text = self.text[:own[0].start] + block.rstrip('\n') + self.text[own[0].end:]
        else:
            if not self.text or self.text.endswith('\n\n'):
                separator = ''
            else:
                separator = '\n' if self.text.endswith('\n') else '\n\n'
            text = self.text + separator + block
        self.__init__(text, self.path, self._reader)
        return self

    def update_jail(self, name, params):
        """Set ``params`` inside the jail's existing block, keeping every other statement.

        For a block written by hand (adopted): each parameter in ``params`` replaces
        the statements of that parameter in place (``name = ...``, ``name += ...``
        and its ``noname`` form); a value of None deletes them; parameters not yet
        in the block are added before its closing brace.  Comments, variables,
        order and formatting of everything else are kept.  Without a block this
        is :meth:`set_jail`.
        """
        if not self._own_blocks(name):
            return self.set_jail(name, dict((k, v) for k, v in params.items() if v is not None))
        text = self.updated_text(name, params)
        if text != self.text:           # (parsing again is the expensive part; skip it when nothing changed)
            self.__init__(text, self.path, self._reader)
        return self

    def updated_text(self, name, params):
        """The text :meth:`update_jail` makes of a jail's existing block, this object left as it is."""
        block = self._own_blocks(name)[0]
        wanted = dict((_base(key), key) for key in params)
        edits, placed = [], set()
        for statement in block.statements:
            key = None if statement.is_var else wanted.get(_base(statement.name))
            if key is None:
                continue
            if key in placed or params[key] is None:
                edits.append(self._deletion(statement.start, statement.end))
            else:
                edits.append((statement.start, statement.end, render_param(key, params[key])))
                placed.add(key)
        missing = [render_param(k, v) for k, v in params.items() if k not in placed and v is not None]
        if missing:
            close = block.end - 1
            line_start = self.text.rfind('\n', 0, close) + 1
            if self.text[line_start:close].strip():
                edits.append((close, close, '\n' + ''.join('    %s\n' % m for m in missing)))
            else:
                edits.append((line_start, line_start, ''.join('    %s\n' % m for m in missing)))
        text = self.text
        for start, end, replacement in sorted(edits, reverse=True):
            text = text[:start] + replacement + text[end:]
        return text

    def _deletion(self, start, end):
        """A statement's span, widened to its whole line when nothing else is on it."""
        line_start = self.text.rfind('\n', 0, start) + 1
        line_end = self.text.find('\n', end)
        line_end = len(self.text) if line_end < 0 else line_end + 1
        if not self.text[line_start:start].strip() and not self.text[end:line_end].strip():
            return (line_start, line_end, '')
        return (start, end, '')

    def remove_jail(self, name):
        own = self._own_blocks(name)
        if own:
            start, end = own[0].start, own[0].end
            line_start = self.text.rfind('\n', 0, start) + 1
            if not self.text[line_start:start].strip():
                start = line_start
            if self.text[end:end + 1] == '\n':
                end += 1
            if self.text[end:end + 1] == '\n' and self.text[:start].endswith('\n\n'):
                end += 1            # do not leave two blank lines where the block was
            self.__init__(self.text[:start] + self.text[end:], self.path, self._reader)
        return self

    def render(self):
        return self.text


def parse(text, path=None, reader=None):
    """Parse jail.conf text; ``reader(path) -> text`` enables ``.include`` (else includes are skipped)."""
    if text.startswith('\ufeff'):
        text = text[1:]
    return JailConf(text, path, reader)


def quote(value):
    """A value jail(8) reads back exactly: bare if plain, else double-quoted with \\ " $ and controls escaped.

    A bare word may hold "/", but jaillex.l starts a comment at "//" and "/*"
    even inside a word, so such values are quoted too.
    """
    value = str(value)
    if '\x00' in value:
        raise JailConfError('a NUL character cannot be written to jail.conf: %r' % value)
    if _SAFE.match(value) and '//' not in value and '/*' not in value:
        return value
    return '"%s"' % _ESCAPED.sub(_escape, value)


_ESCAPED = re.compile('[\\\\"$\x00-\x1f\x7f]')
_ESCAPE_TEXT = {'\n': '\\n', '\t': '\\t', '\r': '\\r'}


def _escape(match):
    char = match.group(0)
    if char in '\\"$':
        return '\\' + char
    return _ESCAPE_TEXT.get(char) or '\\%03o' % ord(char)


def render_param(name, value):
    """One statement: bare name for True, 'noname' for False, lists comma-separated."""
    if not _SAFE_NAME.match(name):
        raise JailConfError('invalid parameter name %r' % name)
    if value is True:
        return '%s;' % name
    if value is False:
        head, dot, tail = name.rpartition('.')
        return '%s%sno%s;' % (head, dot, tail)
    if isinstance(value, (list, tuple)):
        if not value:
            return '%s = "";' % name
        return '%s = %s;' % (name, ', '.join(quote(v) for v in value))
    return '%s = %s;' % (name, quote(value))


def render_block(name, params, comment=None):
    """A whole jail block, parameters in the given order, four-space indent."""
    lines = []
    if comment:
        lines.extend('# ' + line for line in comment.splitlines())
    lines.append('%s {' % quote(name))
    lines.extend('    ' + render_param(key, value) for key, value in params.items())
    lines.append('}')
    return '\n'.join(lines) + '\n'


def include_lines(paths):
    """``.include "PATH";`` lines for ``paths``, each read back by the parser as that one file, or
    JailConfError: jail(8) takes an .include as a glob and expands no variables in it."""
    for path in paths:
        if not os.path.isabs(path) or any(c in path for c in '*?[$"\\') or _ESCAPED.search(path):
            raise JailConfError('%r cannot be named in an .include (jail(8) takes it as a glob or a variable, '
                                'or it needs quoting)' % path)
    text = ''.join('.include "%s";\n' % path for path in paths)
    read = []
    parse(text, None, reader=lambda path: read.append(path) or '')
    if read != list(paths):
        raise JailConfError('the .include lines of %s do not read back as written' % ', '.join(paths))
    return text
