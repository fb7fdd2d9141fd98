"""Entry point: dispatch on the name the command was called by, and log it."""

import os
import sys
import time

from fbsd import core, registry


def handler_of(prog):
    return registry.handler(prog)


def main():
    prog = os.path.basename(sys.argv[0])
    args = sys.argv[1:]
    started = time.time()
    status = 0
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
    return status
