"""rc.conf(5)-style files: the sh assignments sysrc(8) reads and writes."""

import re

ASSIGNMENT = re.compile(r'^\s*(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_.]*)=(?P<rest>.*)$')
NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_.]*$')


def shell_word(text):
    """Expand the first sh word of ``text`` the way sh would for a literal assignment."""
    value = []
    index = 0
    while index < len(text):
        char = text[index]
        if char in ' \t;#' or char == '\n':
            break
        if char == '\\' and index + 1 < len(text):
            value.append(text[index + 1])
            index += 2
            continue
        if char == "'":
            end = text.find("'", index + 1)
            end = len(text) if end < 0 else end
            value.append(text[index + 1:end])
            index = end + 1
            continue
        if char == '"':
            index += 1
            while index < len(text) and text[index] != '"':
                if text[index] == '\\' and index + 1 < len(text) and text[index + 1] in '"\\$`\n':
                    index += 1
                value.append(text[index])
                index += 1
            index += 1
            continue
        value.append(char)
        index += 1
    return ''.join(value)


def assignments(text):
    """(line index, name, value) for every assignment, in file order."""
    found = []
    for number, line in enumerate((text or '').splitlines()):
        match = ASSIGNMENT.match(line)
        if match:
            found.append((number, match.group('name'), shell_word(match.group('rest'))))
    return found


def values(text):
    result = {}
    for line_number, name, value in assignments(text):
        result[name] = value
    return result


def quote(value):
    return '"%s"' % re.sub(r'(["\\$`])', r'\\\1', value)


def set_value(text, name, value, raw=False):
    """Replace the last assignment of ``name`` (or append one); keep every other line.  ``raw`` writes
    the value between double quotes as it is, as sysrc(8) does (sysrc.subr's f_sysrc_set escapes nothing)."""
    lines = (text or '').splitlines(True)
    line = '%s="%s"\n' % (name, value) if raw else '%s=%s\n' % (name, quote(value))
    matches = [number for number, found, value in assignments(text) if found == name]
    if matches:
        lines[matches[-1]] = line
    else:
        if lines and not lines[-1].endswith('\n'):
            lines[-1] += '\n'
        lines.append(line)
    return ''.join(lines)


def remove(text, name):
    lines = (text or '').splitlines(True)
    drop = set(number for number, found, value in assignments(text) if found == name)
    return ''.join(line for number, line in enumerate(lines) if number not in drop)


def rc_settings():
    """What rc sees: /etc/defaults/rc.conf, then each file of its rc_conf_files."""
    settings = {}
    files = ['/etc/defaults/rc.conf']
    while files:
        path = files.pop(0)
        try:
            with open(path) as handle:
                found = values(handle.read())
        except OSError:
            continue
        settings.update(found)
        if path == '/etc/defaults/rc.conf':
            files.extend(settings.get('rc_conf_files', '/etc/rc.conf /etc/rc.conf.local').split())
    return settings
