"""Entry point: dispatch on the name the command was called by, and log it."""

import importlib
import os
import sys
import time

from fbsd import core

# Each command imports only its own module: most of a simulated command's cost is Python starting
# up and importing, so the other seventeen modules are not loaded.
COMMANDS = {
    'kldload': 'kld:kldload',
    'kldunload': 'kld:kldunload',
    'kldstat': 'kld:kldstat',
    'sysctl': 'sysctl:main',
    'jail': 'jail:jail_main',
    'jls': 'jail:jls_main',
    'jexec': 'jail:jexec_main',
    'sysrc': 'sysrc:main',
    'uname': 'version:uname',
    'freebsd-version': 'version:freebsd_version',
    'ifconfig': 'net:ifconfig_main',
    'mount': 'mount:mount_main',
    'mount_nullfs': 'mount:mount_main',
    'umount': 'mount:umount_main',
    'zfs': 'zfs:zfs_main',
    'bhyve': 'bhyve:bhyve_main',
    'bhyvectl': 'bhyve:bhyvectl_main',
    'bhyveload': 'bhyve:bhyveload_main',
    'zpool': 'zfs:zpool_main',
    'service': 'service:service_main',
    'rctl': 'rctl:rctl_main',
    'pkg': 'pkg:pkg_main',
    'mdconfig': 'md:mdconfig_main',
    'shutdown': 'boot:shutdown_main',
    'reboot': 'boot:shutdown_main',
}


def handler_of(prog):
    module, function = COMMANDS[prog].split(':')
    return getattr(importlib.import_module('fbsd.' + module), function)


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
