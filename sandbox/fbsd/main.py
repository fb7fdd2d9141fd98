"""Entry point: dispatch on the name the command was called by, and log it."""

import os
import sys
import time

from fbsd import core, fault, registry


def handler_of(prog):
    return registry.handler(prog)


def main():
    prog = os.path.basename(sys.argv[0])
    args = sys.argv[1:]
    started = time.time()
    status = 0
    if fault.host_is_down():
        sys.stderr.write('%s: fbsdsim: the host is down (it crashed on an injected fault; sandbox boot powers it on)\n'
                         % prog)
        return 255
    injected = fault.take(prog)
    if injected and injected['mode'] == 'fail':
        status = fault.fail(prog)
        core.log_invocation(prog, args, status, started)
        return status
    try:
        handler = handler_of(prog)
        status = handler(prog, args) or 0
    except core.Exit as stop:
        status = stop.status
    except BrokenPipeError:
        status = 1
    finally:
        sys.stdout.flush()
        core.log_invocation(prog, args, status, started)
    if injected and injected['mode'] == 'crash':
        registry.function('boot', 'power_loss')(prog, args)
    return status
