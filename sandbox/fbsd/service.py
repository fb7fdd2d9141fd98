"""service(8), for the rc.d scripts the simulation knows (devfs so far).

[mem] The "does not exist" wording follows service(8)'s message for unknown
scripts.  `service devfs start|restart` reads /etc/devfs.rules and records
its ruleset headers ([name=number]) in the state, refusing malformed ones
the way devfs(8) would not load them.
"""

import re

from fbsd.core import Command, locked_state

USAGE = ['usage: service [-j <jail name or id>] -e', '       service [-j <jail name or id>] -R',
         '       service [-j <jail name or id>] [-v] -l | -r',
         '       service [-j <jail name or id>] [-v] <rc.d script> start|stop|etc.',
         '       service -h']
HEADER = re.compile(r'^\[([A-Za-z0-9_]+)=([0-9]+)\]\s*$')


def devfs(cmd, action):
    if action in ('status', 'stop'):
        return 0
    if action not in ('start', 'restart', 'onestart', 'onerestart'):
        cmd.err('/etc/rc.d/devfs: unknown directive \'%s\'.' % action)
        return 1
    rulesets = {}
    for path in ('/etc/defaults/devfs.rules', '/etc/devfs.rules'):
        try:
            with open(path) as handle:
                lines = handle.read().splitlines()
        except OSError:
            continue
        for line in lines:
            match = HEADER.match(line.strip())
            if match:
                rulesets[match.group(1)] = int(match.group(2))
            elif line.strip().startswith('['):
                cmd.err('devfs rules: bad ruleset header in %s: %s' % (path, line.strip()))
                return 1
    with locked_state() as state:
        state['devfs_rulesets'] = rulesets
    return 0


SCRIPTS = {'devfs': devfs}


def service_main(prog, args):
    cmd = Command(prog, USAGE)
    if len(args) < 2 or args[0].startswith('-'):
        cmd.bad_option()
    name, action = args[0], args[1]
    if name not in SCRIPTS:
        cmd.err('%s does not exist in /etc/rc.d or the local startup directories (/usr/local/etc/rc.d), '
                'or is not executable' % name)
        return 1
    return SCRIPTS[name](cmd, action)
