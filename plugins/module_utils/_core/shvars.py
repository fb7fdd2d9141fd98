# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""rc.conf-style files (``name="value"`` lines read by sh): read and edit single variables.

Only plain one-assignment lines are understood and edited; any other line
(comments, functions, several statements) is kept as it is.  Values are
written double-quoted with the characters special to sh inside double quotes
escaped, so that a value can never end the assignment or run a command.
"""

from __future__ import annotations

import re

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import split_lines

_ASSIGNMENT = re.compile(r'^(\s*)([A-Za-z_][A-Za-z0-9_]*)=(.*?)\s*$')
# loader.conf's names also hold dots (kern.racct.enable, vmm_load); its "..." values read as sh's do
# when they hold no character special inside them.
_LOADER_ASSIGNMENT = re.compile(r'^(\s*)([A-Za-z_][A-Za-z0-9_.]*)=(.*?)\s*$')


def _unquote(raw):
    """The value of a simple sh word; None when the word is more than a plain value."""
    out = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "'":
            end = raw.find("'", index + 1)
            if end < 0:
                return None
            out.append(raw[index + 1:end])
            index = end + 1
        elif char == '"':
            index += 1
            while index < len(raw) and raw[index] != '"':
                if raw[index] == '\\' and index + 1 < len(raw) and raw[index + 1] in '\\"$`\n':
                    index += 1
                elif raw[index] in '$`':
                    return None
                out.append(raw[index])
                index += 1
            if index >= len(raw):
                return None
            index += 1
        elif char == '#' and (index == 0 or raw[index - 1] in ' \t'):
            break
        elif char in ' \t':
            if raw[index:].strip() and not raw[index:].strip().startswith('#'):
                return None
            break
        elif char in ';&|<>()$`\\':
            return None
        else:
            out.append(char)
            index += 1
    return ''.join(out)


def quote(value):
    """``value`` as a double-quoted sh word that reads back exactly.

    sh keeps every byte inside double quotes, but NUL cannot be in a sh variable and a line break
    would make a value that this line-based editor (and sysrc) cannot read back: both refused.
    """
    if any(c in value for c in '\x00\n\r'):
        raise ValueError('NUL and line breaks cannot be written to an rc.conf-style file: %r' % value)
    return '"%s"' % re.sub(r'([\\"$`])', r'\\\1', value)


def _assignments(text, pattern=_ASSIGNMENT):
    """(line index, name, value) of every plain assignment line."""
    found = []
    for number, line in enumerate(line.rstrip('\n') for line in split_lines(text)):
        match = pattern.match(line)
        if match:
            value = _unquote(match.group(3))
            if value is not None:
                found.append((number, match.group(2), value))
    return found


class ShVars(object):
    """One parse of an rc.conf-style text: its plain assignments (``vars``, the last of a name wins,
    as in sh), and the text and variables an edit gives, without parsing again.  ``loader``: names
    as loader.conf takes them (with dots)."""

    def __init__(self, text, loader=False):
        self.text = text or ''
        self._found = _assignments(self.text, _LOADER_ASSIGNMENT if loader else _ASSIGNMENT)
        self.vars = dict((name, value) for unused, name, value in self._found)

    def edited(self, values):
        """(text, vars) after setting each ``name: value`` (None removes the variable).

        The last assignment of a name is rewritten in place and earlier ones are dropped; new
        variables are appended.  Every other line is kept.  Written values read back exactly
        (:func:`quote`), so the new variables are the old ones with ``values`` applied.
        """
        lines = split_lines(self.text)
        last = {}
        for number, name, unused in self._found:
            last.setdefault(name, []).append(number)
        drop = set()
        replace = {}
        for name, value in values.items():
            numbers = last.get(name, [])
            if value is None:
                drop.update(numbers)
                continue
            if numbers:
                drop.update(numbers[:-1])
                replace[numbers[-1]] = '%s=%s\n' % (name, quote(value))
        out = []
        for number, line in enumerate(lines):
            if number in drop:
                continue
            out.append(replace.get(number, line))
        if out and not out[-1].endswith('\n'):
            out[-1] += '\n'
        for name, value in values.items():
            if value is not None and name not in last:
                out.append('%s=%s\n' % (name, quote(value)))
        new_vars = dict(self.vars)
        for name, value in values.items():
            if value is None:
                new_vars.pop(name, None)
            else:
                new_vars[name] = value
        return ''.join(out), new_vars


def read_vars(text):
    """{name: value} of the plain assignments; the last one of a name wins, as in sh."""
    return ShVars(text).vars


def set_vars(text, values):
    """The text with each ``name: value`` set (None removes the variable): see :meth:`ShVars.edited`."""
    return ShVars(text).edited(values)[0]
