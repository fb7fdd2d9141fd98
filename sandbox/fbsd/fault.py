"""Injected faults: a chosen command fails, or the host loses power right after it (boot.power_loss).

`sandbox fault NAME --fail K` or `--crash K` arms one fault, counted over the
simulated commands run from then on (the K-th, in the order they take the
fault file's lock).  A failing command does nothing and exits 1.  A crash lets
the K-th command finish, then the host loses power: what the simulated kernel
held is dropped without any stop hook or rc.d script running (the power cycle
of a reboot without its shutdown), every process of the instance is killed,
the module that ran the command included, and the host stays down, every
simulated command refusing to run, until `sandbox boot NAME` powers it on
(loader and rc, as after a reboot).  Files stay as they were written: the
page cache is not simulated, so a file whose write returned is on disk.
"""

import errno
import fcntl
import json
import os
import sys

from fbsd.core import STATE_DIR

FAULT_FILE = STATE_DIR + '/fault.json'
DOWN_FILE = STATE_DIR + '/down'
MODES = ('fail', 'crash')


def arm(mode, at):
    """Arm one fault at the ``at``-th simulated command from now (what `sandbox fault` writes)."""
    if mode not in MODES or at < 1:
        raise ValueError('fault: mode is one of %s and the command number is 1 or more' % ', '.join(MODES))
    os.makedirs(STATE_DIR, exist_ok=True)
    with open(FAULT_FILE, 'w') as handle:
        json.dump({'mode': mode, 'at': at, 'seen': 0}, handle)


def host_is_down():
    return os.path.exists(DOWN_FILE)


def take(prog):
    """Count this command against the armed fault; the fault's mode if it falls on this one."""
    try:
        handle = open(FAULT_FILE, 'r+')
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        text = handle.read()
        if not text:
            return None
        fault = json.loads(text)
        fault['seen'] += 1
        if fault['seen'] < fault['at']:
            handle.seek(0)
            handle.truncate()
            json.dump(fault, handle)
            return None
        # One shot: the fault is spent whatever it does.
        os.unlink(FAULT_FILE)
        fault['command'] = prog
        return fault


def fail(prog):
    sys.stderr.write('%s: fbsdsim: injected fault: this command failed before doing anything\n' % prog)
    return 1
