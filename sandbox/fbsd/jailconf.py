"""jail.conf(5) as jail(8) reads it: lexer, grammar, wildcard merge, variables.

Follows src-notes section 1 (jaillex.l, jailparse.y, config.c load_config and
add_param).  This reader is deliberately independent of the collection's own
jail.conf engine: the sandbox is what that engine is tested against.
"""

import glob
import os
import re

ATOM = set('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_!%&()-.:<>?@[]^`|~')
SINGLE = set('$*+/\\')
ESCAPES = {'a': '\a', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v'}
VARNAME = re.compile(r'[A-Za-z_][A-Za-z_0-9]*')
# Parameters jail(8) keeps whole (config.c intparams marked PF_IMMUTABLE).
IMMUTABLE = ('jid', 'name')
# Parameters jail(8) itself knows by name (config.c intparams); a $variable may not share one.
INTERNAL = ('allow.dying', 'command', 'depend', 'exec.clean', 'exec.consolelog', 'exec.created', 'exec.fib',
            'exec.jail_user', 'exec.poststart', 'exec.poststop', 'exec.prepare', 'exec.prestart', 'exec.prestop',
            'exec.release', 'exec.start', 'exec.stop', 'exec.system_jail_user', 'exec.system_user', 'exec.timeout',
            'interface', 'ip_hostname', 'mount', 'mount.devfs', 'mount.fdescfs', 'mount.procfs', 'mount.fstab',
            'stop.timeout', 'vnet.interface', 'zfs.dataset', 'allow.chflags', 'allow.mount', 'allow.raw_sockets',
            'allow.set_hostname', 'allow.socket_af', 'allow.sysvipc', 'devfs_ruleset', 'host.hostname',
            'ip4.addr', 'ip6.addr', 'jid', 'name', 'path', 'persist', 'securelevel', 'vnet')


class ConfError(Exception):
    """A message jail(8) prints with warnx before exiting 1."""


class Value(object):
    """One string of a parameter value and the variables still to substitute in it."""

    def __init__(self, text='', variables=None):
        self.text = text
        self.variables = list(variables or [])   # (name, position in text)

    def copy(self):
        return Value(self.text, self.variables)


class Param(object):
    def __init__(self, name, values, append=False, variable=False):
        self.name = name
        self.values = values
        self.append = append
        self.variable = variable


class Block(object):
    def __init__(self, name, seq):
        self.name = name
        self.seq = seq
        self.params = []


# ---------------------------------------------------------------- lexer

class Lexer(object):
    """Tokens: (kind, value, line, glued).  kind is STR, ';', ',', '=', '+=', '{', '}'.

    ``glued`` is True when a string follows the previous string with no space:
    jail(8) joins such pieces into one value (STR1/VAR1 in jaillex.l).
    """

    def __init__(self, text, cfname):
        self.text = text
        self.cfname = cfname
        self.pos = 0
        self.line = 1

    def error(self, message, line=None):
        raise ConfError('%s line %d: %s' % (self.cfname, line or self.line, message))

    def skip_space(self):
        """Skip whitespace and comments; True if anything was skipped."""
        start = self.pos
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in ' \t\r\n':
                self.line += char == '\n'
                self.pos += 1
            elif char == '#' or text.startswith('//', self.pos):
                end = text.find('\n', self.pos)
                self.pos = len(text) if end < 0 else end
            elif text.startswith('/*', self.pos):
                end = text.find('*/', self.pos + 2)
                if end < 0:
                    self.error('unterminated comment')
                self.line += text.count('\n', self.pos, end)
                self.pos = end + 2
            else:
                break
        return self.pos != start

    def escape(self, value):
        """Decode the backslash escape at self.pos (text2lval); append it to value."""
        text = self.text
        nxt = text[self.pos + 1:self.pos + 2]
        if nxt == '':
            self.pos += 1
            value.text += '\\'
            return
        if nxt == '\n':                       # line continuation
            self.line += 1
            self.pos += 2
            return
        if nxt in ESCAPES:
            value.text += ESCAPES[nxt]
            self.pos += 2
            return
        octal = re.match(r'[0-7]{1,3}', text[self.pos + 1:self.pos + 4])
        if octal:
            value.text += chr(int(octal.group(0), 8) & 0xff)
            self.pos += 1 + len(octal.group(0))
            return
        if nxt == 'x':
            hexa = re.match(r'[0-9A-Fa-f]{1,2}', text[self.pos + 2:self.pos + 4])
            if hexa:
                value.text += chr(int(hexa.group(0), 16))
                self.pos += 2 + len(hexa.group(0))
                return
        value.text += nxt
        self.line += nxt == '\n'
        self.pos += 2

    def variable(self, value, in_quotes):
        """$name or ${name} at self.pos; records its position in value."""
        text = self.text
        if text.startswith('${', self.pos):
            end = self.pos + 2
            while end < len(text) and text[end] not in '}\n' and not (in_quotes and text[end] == '"'):
                end += 1
            if end >= len(text) or text[end] != '}':
                self.error('unterminated variable')
            name = text[self.pos + 2:end]
            self.pos = end + 1
        else:
            match = VARNAME.match(text, self.pos + 1)
            if not match:
                return False
            name = match.group(0)
            self.pos = match.end()
        value.variables.append((name, len(value.text)))
        return True

    def quoted(self, value):
        text = self.text
        quote = text[self.pos]
        start_line = self.line
        self.pos += 1
        while True:
            if self.pos >= len(text):
                self.error('unterminated string', start_line)
            char = text[self.pos]
            if char == quote:
                self.pos += 1
                return
            if char == '\\':
                self.escape(value)
            elif char == '$' and quote == '"' and self.variable(value, True):
                continue
            else:
                value.text += char
                self.line += char == '\n'
                self.pos += 1

    def unquoted(self, value):
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in ATOM:
                value.text += char
                self.pos += 1
            elif char == '\\':
                self.escape(value)
            elif char == '$':
                if not self.variable(value, False):
                    value.text += char
                    self.pos += 1
            elif char == '/' and text[self.pos + 1:self.pos + 2] in ('/', '*'):
                return
            elif char == '+' and text[self.pos + 1:self.pos + 2] == '=':
                return
            elif char in SINGLE:
                value.text += char
                self.pos += 1
            else:
                return

    def tokens(self):
        previous_was_string = False
        while True:
            spaced = self.skip_space()
            if self.pos >= len(self.text):
                return
            char = self.text[self.pos]
            line = self.line
            if self.text.startswith('+=', self.pos):
                self.pos += 2
                previous_was_string = False
                yield ('+=', '+=', line, False)
                continue
            if char in ';,={}':
                self.pos += 1
                previous_was_string = False
                yield (char, char, line, False)
                continue
            value = Value()
            start = self.pos
            if char in '"\'':
                self.quoted(value)
            else:
                self.unquoted(value)
            if self.pos == start:
                self.error('%s: syntax error' % char)
            glued = previous_was_string and not spaced
            previous_was_string = True
            yield ('STR', value, line, glued)


# ---------------------------------------------------------------- grammar

class Parser(object):
    """jailparse.y over the lexer's tokens, with .include expanded in place."""

    def __init__(self, reader):
        self.read_file = reader
        self.blocks = []

    def parse(self, text, cfname, depth=0):
        tokens = list(self.merge(Lexer(text, cfname).tokens()))
        index = 0
        current = None                               # the open jail block, if any

        def expect(kinds):
            if index >= len(tokens):
                raise ConfError('%s: unexpected EOF' % cfname)
            token = tokens[index]
            if token[0] not in kinds:
                shown = token[1].text if token[0] == 'STR' else token[1]
                raise ConfError('%s line %d: %s: syntax error' % (cfname, token[2], shown))
            return token

        while index < len(tokens):
            kind = tokens[index][0]
            if kind == ';':
                index += 1
                continue
            if kind == '}' and current is not None:
                current = None
                index += 1
                continue
            token = expect(('STR',))
            name_value = token[1]
            index += 1
            following = expect(('{', ';', '=', '+=', 'STR'))
            if following[0] == '{':
                if current is not None:
                    raise ConfError('%s line %d: {: syntax error' % (cfname, following[2]))
                current = Block(name_value.text, len(self.blocks))
                self.blocks.append(current)
                index += 1
                continue
            values, append = [], False
            if following[0] in ('=', '+=', 'STR'):
                append = following[0] == '+='
                if following[0] != 'STR':
                    index += 1
                values.append(expect(('STR',))[1])
                index += 1
                while index < len(tokens) and tokens[index][0] == ',':
                    index += 1
                    values.append(expect(('STR',))[1])
                    index += 1
            expect((';',))
            index += 1
            is_var = bool(name_value.variables) and name_value.text == '' and len(name_value.variables) == 1
            name = name_value.variables[0][0] if is_var else name_value.text
            if name == '.include' and current is None and not is_var:
                for value in values:
                    self.include(value.text, cfname, depth)
                continue
            param = Param(name, values, append, is_var)
            if current is not None:
                current.params.append(param)
            else:
                # Global statements join a directly preceding '*' block, or open one here.
                last = self.blocks[-1] if self.blocks else None
                if last is None or last.name != '*':
                    last = Block('*', len(self.blocks))
                    self.blocks.append(last)
                last.params.append(param)
        if current is not None:
            raise ConfError('%s: unexpected EOF' % cfname)

    @staticmethod
    def merge(tokens):
        """Join glued string pieces into one Value (jail(8)'s token concatenation)."""
        pending = None
        for token in tokens:
            if token[0] == 'STR' and token[3] and pending is not None:
                joined = pending[1]
                offset = len(joined.text)
                joined.text += token[1].text
                joined.variables.extend((name, pos + offset) for name, pos in token[1].variables)
                continue
            if pending is not None:
                yield pending
            pending = token if token[0] == 'STR' else None
            if pending is None:
                yield token
        if pending is not None:
            yield pending

    def include(self, pattern, cfname, depth):
        # [mem] the parser with .include was not stored: glob(3) semantics are
        # inferred from jail.conf(5)'s examples (a pattern may match nothing).
        if depth > 16:
            raise ConfError('%s: .include nested too deeply' % cfname)
        if not os.path.isabs(pattern) and cfname not in ('STDIN', '-'):
            pattern = os.path.join(os.path.dirname(cfname), pattern)
        if any(c in pattern for c in '*?['):
            paths = sorted(glob.glob(pattern))
        else:
            paths = [pattern]
        for path in paths:
            self.parse(self.read_file(path), path, depth + 1)


# ---------------------------------------------------------------- merge

def wild_name(name):
    return '*' in name


def wild_match(jname, wname):
    """A '*' component matches one component; a final '*' matches one or more."""
    jparts, wparts = jname.split('.'), wname.split('.')
    while len(jparts) > 1 and len(wparts) > 1:
        if wparts[0] != '*' and wparts[0] != jparts[0]:
            return False
        jparts, wparts = jparts[1:], wparts[1:]
    return wparts == ['*'] or wparts == jparts


def base_name(name):
    """'nopersist' and 'persist', 'allow.nomount' and 'allow.mount' are one parameter."""
    head, dot, tail = name.rpartition('.')
    if tail.startswith('no'):
        tail = tail[2:]
    return head + dot + tail


class ConfJail(object):
    """One non-wildcard jail after merging: params in order, name -> Param."""

    def __init__(self, name, seq):
        self.name = name
        self.seq = seq
        self.params = []
        self.errors = []

    def find(self, name):
        for param in self.params:
            if base_name(param.name) == base_name(name):
                return param
        return None

    def add(self, param):
        existing = self.find(param.name)
        values = [v.copy() for v in param.values]
        if existing is None:
            if param.variable and any(base_name(param.name) == base_name(p) for p in INTERNAL):
                self.errors.append('variable "$%s" cannot have the same name as a parameter.' % param.name)
                return
            self.params.append(Param(param.name, values, param.append, param.variable))
            return
        if existing.variable != param.variable:
            self.errors.append('variable "$%s" cannot have the same name as a parameter.' % param.name)
            return
        if existing.name in IMMUTABLE:
            self.errors.append('cannot redefine parameter "%s".' % existing.name)
            return
        existing.name = param.name
        if not param.append or not values:
            existing.values = []
        existing.values.extend(values)

    def value(self, name):
        param = self.find(name)
        return None if param is None else [v.text for v in param.values]


def load(text, cfname, reader):
    """The configured jails of a file, merged and substituted, in file order."""
    parser = Parser(reader)
    parser.parse(text, cfname)
    wild = [b for b in parser.blocks if wild_name(b.name)]
    jails = []
    for block in parser.blocks:
        if wild_name(block.name):
            continue
        jail = ConfJail(block.name, block.seq)
        implied = 'jid' if block.name.isdigit() and int(block.name) != 0 else 'name'
        jail.add(Param(implied, [Value(block.name)]))
        did_self = False
        for wildcard in wild:
            if block.seq < wildcard.seq and not did_self:
                for param in block.params:
                    jail.add(param)
                did_self = True
            if wild_match(block.name, wildcard.name):
                for param in wildcard.params:
                    jail.add(param)
        if not did_self:
            for param in block.params:
                jail.add(param)
        substitute(jail)
        jail.params = [p for p in jail.params if not p.variable]
        jails.append(jail)
    return jails


def substitute(jail):
    resolving = set()
    failed = set()

    def resolve(param):
        if param.name in failed:
            return False
        if param.name in resolving:
            return False
        resolving.add(param.name)
        expanded = []
        for value in param.values:
            pieces = [value]
            for name, position in reversed(value.variables):
                source = param if name == param.name else jail.find(name)
                if source is not None and source.name in failed:
                    failed.add(param.name)          # already reported (PF_BAD in config.c)
                    return False
                if source is None or not source.values:
                    jail.errors.append('%s: variable "%s" not found' % (param.name, name))
                    failed.add(param.name)
                    return False
                if source is param or source.name in resolving:
                    jail.errors.append('%s: variable loop' % name)
                    failed.add(param.name)
                    return False
                if any(v.variables for v in source.values) and not resolve(source):
                    failed.add(param.name)
                    return False
                if len(source.values) > 1:
                    if value.text != '' or len(value.variables) > 1:
                        jail.errors.append('%s: array cannot be substituted inline' % param.name)
                        failed.add(param.name)
                        return False
                    pieces = [Value(v.text) for v in source.values]
                    break
                insert = source.values[0].text
                value.text = value.text[:position] + insert + value.text[position:]
            for piece in pieces:
                piece.variables = []
            expanded.extend(pieces)
        param.values = expanded
        resolving.discard(param.name)
        return True

    for param in list(jail.params):
        if any(v.variables for v in param.values):
            resolve(param)
