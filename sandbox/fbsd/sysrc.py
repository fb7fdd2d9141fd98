"""sysrc(8): query and change rc.conf(5) variables, as documented in sysrc.8."""

import os
import subprocess

from fbsd import rcconf
from fbsd.core import Command, getopt, locked_state
from fbsd.prison import find_jail

RC_DEFAULTS = '/etc/defaults/rc.conf'
USAGE = ['Usage: sysrc [OPTIONS] {name[[+|-]=value] ...}',
         'Try `sysrc --help\' for more information.']
VERSION = '9.2'


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (FileNotFoundError, IsADirectoryError):
        return None


def _write(path, text):
    directory = os.path.dirname(path) or '.'
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, '.sysrc.%d' % os.getpid())
    with open(tmp, 'w') as handle:
        handle.write(text)
    if os.path.exists(path):
        os.chmod(tmp, os.stat(path).st_mode & 0o7777)
    os.rename(tmp, path)


def _sh_accepts(text):
    """Whether /bin/sh -n finds no syntax error in ``text`` (sysrc's taint check of what it writes)."""
    return subprocess.run(['/bin/sh', '-n'], input=text.encode(), stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, check=False).returncode == 0


def _split(items):
    """Items of ``items`` (the right side of += or -=) and the delimiter they imply."""
    if items[:1] in (' ', ',', ':', ';', '|'):
        delimiter = items[0]
        return [i for i in items[1:].split(delimiter) if i], delimiter
    return items.split(), ' '


def _current_items(value, delimiter):
    return [i for i in (value.split() if delimiter == ' ' else value.split(delimiter)) if i]


class Files(object):
    """The configuration files sysrc works on, under an optional root."""

    def __init__(self, root, explicit):
        self.root = root
        self.explicit = explicit
        # The defaults are read first with -f too (sysrc.subr's f_sysrc_get sources RC_DEFAULTS, then
        # RC_CONFS): `sysrc -f /etc/rc.conf sshd_enable` answers NO from them.  Writes go to the files.
        self.defaults = RC_DEFAULTS
        if explicit:
            self.files = explicit
        else:
            defaults = rcconf.values(_read(self.path(RC_DEFAULTS)))
            self.files = defaults.get('rc_conf_files', '/etc/rc.conf /etc/rc.conf.local').split()

    def path(self, name):
        return os.path.join(self.root, name.lstrip('/')) if self.root != '/' else name

    def lookup(self, name):
        """(value, file) of the last assignment, or (None, None)."""
        found = (None, None)
        for name_of_file in ([self.defaults] if self.defaults else []) + self.files:
            values = rcconf.values(_read(self.path(name_of_file)))
            if name in values:
                found = (values[name], name_of_file)
        return found

    def target(self, name):
        """The file an assignment goes to: the last one setting it, else the first."""
        target = self.files[0]
        for name_of_file in self.files:
            if name in rcconf.values(_read(self.path(name_of_file))):
                target = name_of_file
        return target


def _show(cmd, opts, name, value, found_in):
    if 'N' in opts:
        cmd.out(name)
    elif 'F' in opts:
        cmd.out('%s: %s' % (name, found_in))
    elif 'n' in opts:
        cmd.out(value)
    elif 'e' in opts:
        cmd.out('%s=%s' % (name, rcconf.quote(value)))
    elif 'v' in opts:
        cmd.out('%s: %s: %s' % (found_in, name, value))
    else:
        cmd.out('%s: %s' % (name, value))


def main(prog, args):
    cmd = Command(prog, USAGE)
    if args[:1] == ['--version']:
        cmd.out(VERSION)
        return 0
    if args[:1] == ['--help']:
        cmd.usage(*USAGE)
    options, operands = getopt(cmd, args, 'aAcdDeEf:FhiIj:lLnNqR:s:vx')
    opts = {}
    explicit = []
    for flag, value in options:
        if flag == 'f':
            explicit.extend(value.split())
        opts[flag] = value
    if 'h' in opts:
        cmd.usage(*USAGE)
    root = opts.get('R', '/')
    if 'j' in opts:
        with locked_state(write=False) as state:
            jail = find_jail(state, opts['j'])
        if jail is None:
            cmd.errx(1, '%s: jail not found' % opts['j'])
        root = jail['path']
    files = Files(root, explicit)

    if 'a' in opts or 'A' in opts:
        names = {}
        sources = files.files if 'a' in opts else ([files.defaults] if files.defaults else []) + files.files
        for name_of_file in sources:
            for name, value in rcconf.values(_read(files.path(name_of_file))).items():
                names[name] = (value, name_of_file)
        for name in sorted(names):
            _show(cmd, opts, name, names[name][0], names[name][1])
        return 0
    if not operands:
        cmd.usage(*USAGE)

    status = 0
    for operand in operands:
        name, operator, value = operand, None, None
        for candidate in ('+=', '-=', '='):
            if candidate in operand:
                name, value = operand.split(candidate, 1)
                operator = candidate
                break
        if not rcconf.NAME.match(name):
            cmd.warnx("%s: name contains characters not allowed in shell" % name)
            status = 1
            continue
        current, found_in = files.lookup(name)

        if 'x' in opts:
            if 'c' in opts:
                status = status or (1 if current is not None else 0)
                continue
            for name_of_file in files.files:
                text = _read(files.path(name_of_file))
                if text is not None and name in rcconf.values(text):
                    _write(files.path(name_of_file), rcconf.remove(text, name))
            continue

        if operator is None:
            if current is None:
                if 'c' in opts:
                    status = 1
                elif 'i' not in opts:
                    if 'q' not in opts:
                        cmd.warnx("unknown variable '%s'" % name)
                    status = 1
                continue
            if 'c' not in opts:
                _show(cmd, opts, name, current, found_in)
            continue

        old = current or ''
        if operator == '=':
            new = value
        else:
            items, delimiter = _split(value)
            existing = _current_items(old, delimiter)
            if operator == '+=':
                new_items = existing + [i for i in items if i not in existing]
            else:
                new_items = [i for i in existing if i not in items]
            new = delimiter.join(new_items)
        if 'c' in opts:
            status = status or (0 if (current is not None and new == old) else 1)
            continue
        target = files.target(name)
        text = rcconf.set_value(_read(files.path(target)), name, new, raw=True)
        # f_sysrc_set writes "value" unescaped and keeps the result only if `sh -n` accepts it: a value
        # with a lone double quote fails here; one with $(...) or `...` passes (and runs at boot).
        if not _sh_accepts(text):
            cmd.warnx('Previous syntax errors in %s' % target)
            status = 1
            continue
        _write(files.path(target), text)
        cmd.out('%s: %s -> %s' % (name, old, new))
    return status
