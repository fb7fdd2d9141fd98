"""What every simulated command shares: state, the command log, errors, getopt."""

import contextlib
import fcntl
import json
import os
import sys
import time

from fbsd import store

STATE_DIR = '/var/db/fbsdsim'
STORE_DIR = STATE_DIR + '/state.d'
LOCK_FILE = STATE_DIR + '/lock'
LOG_FILE = '/var/log/fbsdsim/commands.log'


class Exit(Exception):
    """Stop the command with this exit status (messages already printed)."""

    def __init__(self, status):
        super().__init__(status)
        self.status = status


class Command(object):
    """Context of one invocation: its name, output streams and the shared state."""

    def __init__(self, prog, usage_lines, usage_status=1):
        self.prog = prog
        self.usage_lines = usage_lines
        self.usage_status = usage_status

    def bad_option(self, flag=None):
        self.usage(*self.usage_lines, status=self.usage_status)

    def option_error(self, flag, missing):
        """getopt(3) with opterr set: libc's message, then the command's usage."""
        if missing:
            self.err('%s: option requires an argument -- %s' % (self.prog, flag))
        else:
            self.err('%s: illegal option -- %s' % (self.prog, flag))
        self.bad_option(flag)

    def out(self, text=''):
        sys.stdout.write(text + '\n')

    def err(self, text):
        sys.stderr.write(text + '\n')

    def warnx(self, message):
        self.err('%s: %s' % (self.prog, message))

    def warn(self, message, errno_name):
        self.warnx('%s: %s' % (message, ERRNO_TEXT[errno_name]))

    def errx(self, status, message):
        self.warnx(message)
        raise Exit(status)

    def fail(self, status, message, errno_name):
        self.warn(message, errno_name)
        raise Exit(status)

    def usage(self, *lines, status=1):
        for line in lines:
            self.err(line)
        raise Exit(status)


ERRNO_TEXT = {
    'ENOENT': 'No such file or directory',
    'EEXIST': 'File exists',
    'EBUSY': 'Device busy',
    'EINVAL': 'Invalid argument',
    'EPERM': 'Operation not permitted',
    'ENXIO': 'Device not configured',
}


def getopt(cmd, args, optstring):
    """BSD getopt(3): options end at the first operand or '--'; bad ones call usage.

    Returns (list of (flag, value), operands).  ``cmd.option_error(flag,
    missing)`` is expected to print the messages and raise.
    """
    options = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == '--':
            index += 1
            break
        if not arg.startswith('-') or arg == '-':
            break
        position = 1
        while position < len(arg):
            flag = arg[position]
            spec = optstring.find(flag)
            if spec < 0 or flag == ':':
                cmd.option_error(flag, False)
            if spec + 1 < len(optstring) and optstring[spec + 1] == ':':
                if position + 1 < len(arg):
                    value = arg[position + 1:]
                elif index + 1 < len(args):
                    index += 1
                    value = args[index]
                else:
                    cmd.option_error(flag, True)
                options.append((flag, value))
                break
            options.append((flag, None))
            position += 1
        index += 1
    return options, args[index:]


_LOCKS = {}


@contextlib.contextmanager
def locked_state(write=True):
    """The instance's simulated kernel state, under an exclusive lock.

    Changes are saved only when the block ends normally: a command that fails
    leaves the state as it found it.  The state is read piecewise (see store.py).
    """
    os.makedirs(STATE_DIR, exist_ok=True)
    with open(LOCK_FILE, 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if write else fcntl.LOCK_SH)
        state = store.State(STORE_DIR)
        _LOCKS[id(state)] = lock
        try:
            yield state
            if write:
                state.save()
        finally:
            del _LOCKS[id(state)]


def commit(state):
    """Save the state now, even if the command goes on to fail (undo already done)."""
    state.save()


@contextlib.contextmanager
def released(state):
    """Save the state and drop the lock while other commands run (exec.* hooks).

    The hook may run jls, ifconfig or jail itself; afterwards the lock is taken
    again and ``state`` read afresh, so callers must look up nested records again.
    """
    lock = _LOCKS[id(state)]
    state.save()
    fcntl.flock(lock, fcntl.LOCK_UN)
    try:
        yield
    finally:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state.reload()


def log_invocation(prog, argv, status, started):
    """Append one line per command run: what tests and benchmarks count."""
    record = {'time': round(started, 3), 'duration': round(time.time() - started, 4),
              'argv': [prog] + list(argv), 'rc': status, 'pid': os.getpid()}
    os.makedirs(os.path.dirname(LOG_FILE), exist_ok=True)
    with open(LOG_FILE, 'a') as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(json.dumps(record) + '\n')
