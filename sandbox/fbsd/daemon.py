"""daemon(8), pgrep(1) and pkill(1) as far as supervised programs need them.

daemon(8) [man daemon.8, src usr.sbin/daemon/daemon.c]: the program runs detached in its own
session; with ``-p``/``-P`` its pid and the supervisor's own are written to pidfiles that pidfile(3)
keeps locked (flock) while the process lives; SIGTERM to the supervisor is passed to the program and
the supervisor exits when the program does; ``-r``/``-R N`` restart a program that exited (not one
that was told to stop); ``-o FILE`` appends the program's output to FILE (mode 0600), ``-f`` sends it
to /dev/null; ``-c`` changes to /; ``-t`` is the process title (not shown by the sandbox).
The processes are **real** (Linux) processes of the instance.

pgrep/pkill [src bin/pkill/pkill.c]: only the pidfile criteria are simulated: ``-F FILE`` (the pid
in FILE) and ``-L`` (fail with status 3 when FILE is not locked, "File '...' can be locked"), with
``-q`` and pkill's ``-SIGNAL``; any other criterion is refused (status 2, "not simulated").  FreeBSD
refuses pids above 99999; Linux gives larger ones, so the sandbox accepts them.
"""

import errno
import fcntl
import os
import signal
import sys
import time

from fbsd.core import Command, Exit, getopt

DAEMON_USAGE = ['usage: daemon [-cfHrS] [-p child_pidfile] [-P supervisor_pidfile]',
                '              [-u user] [-o output_file] [-t title]',
                '              [-l syslog_facility] [-s syslog_priority]',
                '              [-T syslog_tag] [-m output_mask] [-R restart_delay_secs]',
                'command arguments ...']


def _open_pidfile(cmd, path):
    """pidfile_open(3): the file opened and locked, or the supervisor fails as daemon does."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            try:
                with open(path) as handle:
                    other = handle.read().strip()
            except OSError:
                other = '?'
            cmd.errx(3, 'process already running, pid: %s' % other)
        raise
    return fd


def _write_pid(fd, pid):
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, ('%d\n' % pid).encode())


def daemon_main(prog, args):
    cmd = Command(prog, DAEMON_USAGE)
    options, operands = getopt(cmd, args, 'cfHSp:P:ru:o:s:l:t:m:R:T:')
    opts = dict(options)
    if not operands:
        cmd.usage(*DAEMON_USAGE, status=1)
    restart = 'r' in opts or 'R' in opts
    delay = int(opts.get('R', '1')) if opts.get('R', '1').isdigit() else None
    if delay is None or delay < 1:
        cmd.errx(6, 'invalid restart delay')
    child_fd = _open_pidfile(cmd, opts['p']) if 'p' in opts else None
    own_fd = _open_pidfile(cmd, opts['P']) if 'P' in opts else None
    output = None
    if 'o' in opts:
        output = os.open(opts['o'], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    sys.stdout.flush()
    if os.fork() != 0:
        return 0                    # daemon(3): the parent exits, the rest goes on detached
    os.setsid()
    if 'c' in opts:
        os.chdir('/')
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(output if output is not None else null, 1)
    os.dup2(output if output is not None else null, 2)
    if own_fd is not None:
        _write_pid(own_fd, os.getpid())
    stopping = []
    child = []

    def terminate(signum, frame):
        stopping.append(signum)
        if child:
            try:
                os.kill(child[0], signal.SIGTERM)
            except ProcessLookupError:
                pass
    signal.signal(signal.SIGTERM, terminate)
    status = 0
    while True:
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            try:
                os.execv(operands[0], operands)
            except OSError as exc:
                sys.stderr.write('%s: execv: %s: %s\n' % (prog, operands[0], exc.strerror))
            os._exit(127)
        child[:] = [pid]
        if child_fd is not None:
            _write_pid(child_fd, pid)
        while True:
            try:
                status = os.waitpid(pid, 0)[1]
                break
            except InterruptedError:
                continue
        del child[:]
        if stopping or not restart:
            break
        time.sleep(delay)
        if stopping:
            break
    for path in (opts.get('p'), opts.get('P')):
        if path:
            try:
                os.unlink(path)
            except OSError:
                pass
    os._exit(os.waitstatus_to_exitcode(status) if status >= 0 else 1)


PKILL_STATUS_ERROR = 3


def pkill_main(prog, args):
    pgrep = prog == 'pgrep'
    usage = ['usage: %s %s [-F pidfile] [-G gid] [-M core] [-N system]' % (
        prog, '[-LSfilnoqvx] [-d delim]' if pgrep else '[-signal] [-ILfilnovx]'),
        '             [-P ppid] [-U uid] [-c class] [-g pgrp] [-j jail]',
        '             [-s sid] [-t tty] [-u euid] pattern ...']
    cmd = Command(prog, usage, usage_status=2)
    signum = signal.SIGTERM
    if not pgrep and args and args[0].startswith('-') and len(args[0]) > 1:
        word = args[0][1:]
        name = word.upper()[3:] if word.upper().startswith('SIG') else word.upper()
        if word.isdigit():
            signum, args = int(word), args[1:]
        elif hasattr(signal, 'SIG' + name) and not name.startswith('_'):
            signum, args = getattr(signal, 'SIG' + name), args[1:]
    options, operands = getopt(cmd, args, 'DF:G:ILM:N:P:SU:ac:d:fg:ij:lnoqs:t:u:vx')
    opts = dict(options)
    simulated = set('FLq')
    if operands or set(opts) - simulated:
        cmd.errx(2, 'fbsdsim: only -F, -L and -q are simulated')
    if 'F' not in opts:
        if 'L' in opts:
            cmd.errx(PKILL_STATUS_ERROR, "Option -L doesn't make sense without -F")
        cmd.usage(*usage, status=2)
    path = opts['F']
    try:
        handle = open(path)
    except OSError:
        cmd.errx(PKILL_STATUS_ERROR, "Cannot open pidfile `%s': %s" % (path, 'No such file or directory'))
    with handle:
        if 'L' in opts:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    cmd.errx(PKILL_STATUS_ERROR, "Error while locking file '%s'" % path)
            else:
                cmd.errx(PKILL_STATUS_ERROR, "File '%s' can be locked" % path)
        line = handle.readline()
    if not line:
        cmd.errx(PKILL_STATUS_ERROR, "Pidfile `%s' is empty" % path)
    text = line.strip()
    if not text.isdigit() or int(text) < 5:
        cmd.errx(PKILL_STATUS_ERROR, "Invalid pid in file `%s'" % path)
    pid = int(text)
    try:
        os.kill(pid, 0 if pgrep else signum)
    except ProcessLookupError:
        raise Exit(1)
    if pgrep and 'q' not in opts:
        cmd.out(str(pid))
    return 0
