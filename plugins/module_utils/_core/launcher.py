# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Long-running processes a guest is made of (a bhyve VM's supervisor), run under daemon(8).

daemon(8) detaches the program, writes the child's pid to ``-p`` and its own to ``-P`` with
pidfile(3), which keeps each file locked while its process lives (so a stale file from a crashed
run is told apart: nothing holds its lock; :meth:`Supervised.alive`), and forwards SIGTERM to the
child (``pkill -L -F`` of its pidfile).  The program is an absolute path and every argument one argv element: nothing goes through
a shell.  Names are checked by the grammar of a pidfile name, so none can leave the run directory.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParameterError

RUN_DIR = '/var/run'
NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*\Z')


class Supervised(object):
    """One supervised process: ``name`` (of its pidfiles and title), the program's ``argv``, where its
    output goes (``output``, a host file, appended) and whether daemon(8) restarts it when it exits
    (``restart_delay`` seconds, None: not restarted)."""

    def __init__(self, kind, name, argv, output=None, restart_delay=None, run_dir=None):
        for what, value in (('name', name), ('kind', kind)):
            if not isinstance(value, str) or not NAME_RE.match(value):
                raise ParameterError(what, '%r cannot name a pidfile (letters, digits, ".", "_", "-")' % (value,))
        if not argv or not str(argv[0]).startswith('/'):
            raise ParameterError('argv', 'the program must be an absolute path, not %r' % (argv[:1],))
        if any('\x00' in str(a) for a in argv):
            raise ParameterError('argv', 'an argument holds a NUL byte')
        if output is not None and not str(output).startswith('/'):
            raise ParameterError('output', 'must be an absolute path, not %r' % (output,))
        if restart_delay is not None and (not isinstance(restart_delay, int) or restart_delay < 1):
            raise ParameterError('restart_delay', 'must be a whole number of seconds, 1 or more')
        self.kind = kind
        self.name = name
        self.argv = [str(a) for a in argv]
        self.output = output
        self.restart_delay = restart_delay
        base = os.path.join(run_dir or RUN_DIR, 'bsd-multiplicity-%s.%s' % (kind, name))
        self.pidfile = base + '.pid'                    # the program's
        self.supervisor_pidfile = base + '.daemon.pid'  # daemon(8)'s own

    @staticmethod
    def valid_name(name):
        return isinstance(name, str) and bool(NAME_RE.match(name))

    @property
    def title(self):
        return '%s %s' % (self.kind, self.name)

    def start_argv(self):
        """daemon(8) running the program detached, its pidfiles locked while it lives."""
        argv = ['daemon', '-c', '-t', self.title, '-p', self.pidfile, '-P', self.supervisor_pidfile]
        if self.restart_delay is not None:
            argv += ['-r', '-R', str(self.restart_delay)]
        argv += ['-o', self.output] if self.output else ['-f']
        return argv + self.argv

    def stop_argv(self, signal='TERM'):
        """A signal to daemon(8), which passes it to the program (SIGTERM: bhyve's ACPI power button)
        and exits when the program does (it does not restart a program it was told to stop)."""
        return ['pkill', '-%s' % signal, '-L', '-F', self.supervisor_pidfile]

    def alive(self):
        """Whether the supervisor runs, without a command: its pidfile is locked (pidfile(3) holds a flock
        while daemon(8) lives).  The probe takes a shared lock for an instant, as ``pgrep -L`` does."""
        try:
            fd = os.open(self.supervisor_pidfile, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            return exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN)
        finally:
            os.close(fd)
        return False

    def pid(self):
        """The program's pid as its pidfile says (None without one): what identifies its run."""
        try:
            with open(self.pidfile, 'r', encoding='ascii') as handle:
                text = handle.read().strip()
        except (OSError, ValueError):
            return None
        return int(text) if text.isdigit() else None
