# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sysctl.conf(5) as rc.d/sysctl reads it, and an owner's block of settings in it.

rc.d/sysctl reads the file line by line with the shell's ``read config extra``: leading blanks go,
backslashes are taken as escapes, the first word is the setting and the rest of the line is
ignored; a word that starts with ``#`` is a comment; a word of the form ``*[^=]=[^=]*`` is set,
its MIB being what comes before the *last* ``=`` and its value what comes after the *first*.  It
runs at boot (``sysctl``, before kernel modules load: a MIB that does not exist yet is passed
over) and again late (``sysctl_lastload``, which says so of a MIB still missing), so a setting of
a module that rc.d/kld or rc.d/linux loads takes effect at boot.  A value is written only when
reading the line back gives it exactly; any other is refused.
"""

from __future__ import annotations

import re

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.edits import block_edit, block_text
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParameterError

MIB_RE = re.compile(r'^[A-Za-z0-9_%][A-Za-z0-9_%-]*(\.[A-Za-z0-9_%-]+)+\Z')
PATH = '/etc/sysctl.conf'


def parse(text):
    """{MIB: value} of the settings rc.d/sysctl makes from ``text``, in file order (a later line wins)."""
    found = {}
    for line in (text or '').split('\n'):
        words = _read_words(line)
        if not words or words[0].startswith('#'):
            continue
        config = words[0]
        if not re.match(r'^.*[^=]=[^=].*\Z', config, re.S):
            continue
        found[config.rsplit('=', 1)[0]] = config.split('=', 1)[1]
    return found


def _read_words(line):
    """The words of ``read`` (without -r) on one line: backslash escapes removed, split on blanks."""
    words, word, escaped, started = [], '', False, False
    for char in line:
        if escaped:
            word, escaped, started = word + char, False, True
        elif char == '\\':
            escaped = True
        elif char in ' \t':
            if started:
                words.append(word)
                word, started = '', False
        else:
            word, started = word + char, True
    if started:
        words.append(word)
    return words


def setting_line(mib, value, option):
    """``mib=value`` for sysctl.conf; ParameterError naming ``option`` unless rc.d/sysctl reads it back as is."""
    value = str(value)
    if not MIB_RE.match(mib or ''):
        raise ParameterError(option, '%r is not a sysctl name' % mib)
    line = '%s=%s' % (mib, value)
    if not value or parse(line) != {mib: value} or '#' in value or any(ord(c) < 0x20 or c == '\x7f' for c in value):
        raise ParameterError(option, '%r cannot be written to sysctl.conf: rc.d/sysctl would not read it back as '
                                     'it is (no blanks, "=", "#", backslashes or control characters)' % value)
    return line


def owned_edit(owner, settings, option):
    """The edit (text -> text) that gives ``owner``'s block of sysctl.conf these {MIB: value} settings
    (none: no block); every other line is kept."""
    return block_edit(owner, [setting_line(mib, value, option) for mib, value in settings.items()])


def owned_settings(text, owner):
    """{MIB: value} of ``owner``'s block as it is in ``text``."""
    return parse(block_text(text, owner))
