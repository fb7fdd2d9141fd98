"""The rc.d scripts of packages and of the collection (/usr/local/etc/rc.d), run for real.

At boot rc runs every script in rcorder(8) order with ``faststart``, after the base system's steps
(the simulated ones in registry.RC_ORDER: their PROVIDEs are taken as done); rc.shutdown runs those
with ``KEYWORD: shutdown`` in reverse with ``faststop``.  rcorder is followed for PROVIDE, REQUIRE
and BEFORE among the local scripts.  The scripts are real shell scripts and source the sandbox's
/etc/rc.subr (a subset of FreeBSD's, see that file).
"""

import os
import re

LOCAL_DIR = '/usr/local/etc/rc.d'


def _headers(path):
    found = {'PROVIDE': [], 'REQUIRE': [], 'BEFORE': [], 'KEYWORD': []}
    try:
        with open(path, errors='replace') as handle:
            for line in handle:
                match = re.match(r'^#\s*(PROVIDE|REQUIRE|BEFORE|KEYWORD):(.*)$', line)
                if match:
                    found[match.group(1)].extend(match.group(2).split())
    except OSError:
        pass
    return found


def scripts():
    """(path, headers) of the executable local scripts, in rcorder's order."""
    try:
        names = sorted(os.listdir(LOCAL_DIR))
    except OSError:
        return []
    found = {}
    for name in names:
        path = os.path.join(LOCAL_DIR, name)
        if os.path.isfile(path) and os.access(path, os.X_OK) and not name.startswith('.'):
            found[path] = _headers(path)
    provider = dict((p, path) for path, h in found.items() for p in h['PROVIDE'])
    after = dict((path, set()) for path in found)
    for path, headers in found.items():
        after[path].update(provider[r] for r in headers['REQUIRE'] if r in provider and provider[r] != path)
        for before in headers['BEFORE']:
            if before in provider and provider[before] != path:
                after[provider[before]].add(path)
    ordered, done = [], set()

    def visit(path, seen):
        if path in done or path in seen:
            return
        for other in sorted(after[path]):
            visit(other, seen | {path})
        done.add(path)
        ordered.append(path)
    for path in sorted(found):
        visit(path, set())
    return [(path, found[path]) for path in ordered]


def rc_local_start(console, rc):
    for path, unused in scripts():
        console.run('/bin/sh', path, 'faststart')


def rc_local_stop(console, rc):
    for path, headers in reversed(scripts()):
        if 'shutdown' in headers['KEYWORD']:
            console.run('/bin/sh', path, 'faststop')


def find(name):
    """The local script service(8) runs for ``name``, or None."""
    path = os.path.join(LOCAL_DIR, name)
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None
