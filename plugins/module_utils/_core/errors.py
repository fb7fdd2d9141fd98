# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors raised by the shared engine; the module glue turns them into fail_json."""

from __future__ import annotations


class MultiplicityError(Exception):
    """Base class: a failure with a message meant for the user."""

    def to_fail_kwargs(self):
        return {'msg': str(self)}


class ParameterError(MultiplicityError):
    """Bad user input, detected before anything on the host is changed."""

    def __init__(self, parameter, message):
        self.parameter = parameter
        super().__init__('%s: %s' % (parameter, message))


class CommandError(MultiplicityError):
    """A command exited non-zero (or could not be run)."""

    def __init__(self, argv, rc, stdout, stderr, action=None):
        self.argv = list(argv)
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.action = action
        super().__init__(self._message())

    def first_error_line(self):
        for stream in (self.stderr, self.stdout):
            for line in (stream or '').splitlines():
                if line.strip():
                    return line.strip()
        return 'no output'

    def _message(self):
        prefix = ('Failed to %s: ' % self.action) if self.action else ''
        return '%s%s exited %s: %s' % (prefix, ' '.join(self.argv), self.rc, self.first_error_line())

    def to_fail_kwargs(self):
        return {'msg': str(self), 'cmd': self.argv, 'rc': self.rc, 'stdout': self.stdout, 'stderr': self.stderr}


class ParseError(MultiplicityError):
    """Output of a command or a file could not be understood; carries the text."""

    def __init__(self, what, detail, output):
        self.what = what
        self.detail = detail
        self.output = output
        super().__init__('Cannot parse %s: %s' % (what, detail))

    def to_fail_kwargs(self):
        return {'msg': str(self), 'output': self.output}


class WaitTimeout(MultiplicityError):
    """A bounded wait ran out; names the object and what was last seen."""

    def __init__(self, what, timeout, last_observed):
        self.what = what
        self.timeout = timeout
        self.last_observed = last_observed
        super().__init__('Timed out after %ss waiting for %s (last observed: %s)' % (timeout, what, last_observed))


def refuse_nul(value, where=''):
    """ParameterError naming the option (``mounts[0].source``) where a string holds a NUL: no path, file
    or command line can carry one (Python's os calls raise ValueError on it)."""
    if isinstance(value, str):
        if '\x00' in value:
            raise ParameterError(where or 'value', 'contains a NUL byte, which no path, file or command can hold')
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_nul(item, '%s.%s' % (where, key) if where else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            refuse_nul(item, '%s[%d]' % (where, index))
