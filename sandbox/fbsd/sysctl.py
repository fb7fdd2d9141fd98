"""sysctl(8) over the instance's simulated MIB.

Static nodes live in the state file (``sysctl``; the writable ones are listed
in ``sysctl_writable``); loaded kernel modules add theirs (``sysctl_dynamic``, the writable ones
in ``sysctl_dynamic_writable``, as their kernel file's placeholder says).
"""

import os

from fbsd.core import Command, getopt, locked_state

USAGE = ['usage: sysctl [-bdeFhiJlNnoqTtWx] [ -B <bufsize> ] [-f filename] name[=value] ...',
         '       sysctl [-bdeFhJlNnoqTtWx] [ -B <bufsize> ] -a']


def mib(state):
    nodes = dict(state['sysctl'])
    nodes.update(state['sysctl_dynamic'])
    return nodes


def lookup(nodes, name):
    """Exact node, or every node below ``name`` (sysctl hw.vmm), in name order."""
    if name in nodes:
        return [name]
    prefix = name + '.'
    return sorted(n for n in nodes if n.startswith(prefix))


def _show(cmd, name, value, opts):
    if 'N' in opts:
        cmd.out(name)
    elif 'n' in opts:
        cmd.out(str(value))
    elif 'e' in opts:
        cmd.out('%s=%s' % (name, value))
    else:
        cmd.out('%s: %s' % (name, value))


def main(prog, args):
    cmd = Command(prog, USAGE)
    options, operands = getopt(cmd, args, 'AaB:bdeFf:hiJlNnoqTtWXx')
    opts = dict(options)
    if not operands and 'a' not in opts and 'A' not in opts and 'f' not in opts:
        cmd.bad_option()
    status = 0
    with locked_state() as state:
        nodes = mib(state)
        if not operands:
            for name in sorted(nodes):
                _show(cmd, name, nodes[name], opts)
            return 0
        for operand in operands:
            name, value = operand.split('=', 1) if '=' in operand else (operand, None)
            names = lookup(nodes, name)
            if not names:
                if 'i' in opts:
                    continue
                if 'q' not in opts:
                    cmd.warnx("unknown oid '%s'" % name)
                status = 1
                continue
            if '=' not in operand:
                for found in names:
                    _show(cmd, found, nodes[found], opts)
                continue
            writable = state.get('sysctl_writable', []) + state.get('sysctl_dynamic_writable', [])
            if names != [name] or name not in writable:
                cmd.warnx("oid '%s' is read only" % name)
                status = 1
                continue
            old = nodes[name]
            new = int(value) if isinstance(old, int) and value.lstrip('-').isdigit() else value
            if isinstance(old, int) and not isinstance(new, int):
                cmd.warnx("invalid integer '%s'" % value)
                status = 1
                continue
            # A loaded module's node is written where the module keeps it (gone when it is unloaded).
            state['sysctl_dynamic' if name in state['sysctl_dynamic'] else 'sysctl'][name] = new
            if 'n' in opts:
                cmd.out('%s -> %s' % (old, new))
            else:
                cmd.out('%s: %s -> %s' % (name, old, new))
    return status


def rc_sysctl_conf(console, rc):
    """rc.d/sysctl: the settings of /etc/sysctl.conf."""
    if os.path.exists('/etc/sysctl.conf'):
        with open('/etc/sysctl.conf') as handle:
            for line in handle:
                line = line.split('#', 1)[0].strip()
                if '=' in line:
                    console.run('sysctl', line, show=False)


def rc_hostname(console, rc):
    """rc.d/hostname: kern.hostname from rc.conf's hostname."""
    if rc.get('hostname'):
        with locked_state() as state:
            state['sysctl']['kern.hostname'] = rc['hostname']
        console.say('Setting hostname: %s.' % rc['hostname'])
