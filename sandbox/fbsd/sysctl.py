"""sysctl(8) over the instance's simulated MIB.

Static nodes live in the state file (``sysctl``; the writable ones are listed
in ``sysctl_writable``); loaded kernel modules add theirs (``sysctl_dynamic``, the writable ones
in ``sysctl_dynamic_writable``, as their kernel file's placeholder says).
"""

import os
import re

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


def sysctl_conf_settings(text):
    """(MIB, value, line's word) of sysctl.conf as rc.d/sysctl reads it: ``read config extra`` (the first
    word; backslash escapes approximated by dropping the backslash), comments, and only words of the
    form ``*[^=]=[^=]*``, whose MIB is what is before the last "=" and value what is after the first."""
    found = []
    for line in text.split('\n'):
        words = line.replace('\\', '').split()
        if not words or words[0].startswith('#'):
            continue
        config = words[0]
        if not re.match(r'^.*[^=]=[^=].*$', config):
            continue
        found.append((config.rsplit('=', 1)[0], config.split('=', 1)[1], config))
    return found


def _apply_sysctl_conf(console, last):
    """rc.d/sysctl's sysctl_start: a MIB that exists and differs is set; one that does not exist is
    passed over, and said so on the last pass (sysctl_lastload)."""
    for path in ('/etc/sysctl.conf', '/etc/sysctl.conf.local'):
        if not os.path.isfile(path):
            continue
        with open(path) as handle:
            settings = sysctl_conf_settings(handle.read())
        for name, value, config in settings:
            status, current = console.run('sysctl', '-n', name, show=False)
            if status != 0:
                if last:
                    console.say('sysctl %s does not exist.' % name)
                continue
            if current.strip() != value and console.run('sysctl', config, show=False)[0] != 0:
                console.say('/etc/rc: WARNING: unable to set %s' % config)


def rc_sysctl_conf(console, rc):
    """rc.d/sysctl, early in boot: before kernel modules load, so their MIBs are not there yet."""
    _apply_sysctl_conf(console, last=False)


def rc_sysctl_lastload(console, rc):
    """rc.d/sysctl_lastload (REQUIRE: LOGIN, BEFORE: jail): sysctl.conf again, for the MIBs of modules
    that rc.d/kld and rc.d/linux loaded since."""
    _apply_sysctl_conf(console, last=True)


def rc_hostname(console, rc):
    """rc.d/hostname: kern.hostname from rc.conf's hostname."""
    if rc.get('hostname'):
        with locked_state() as state:
            state['sysctl']['kern.hostname'] = rc['hostname']
        console.say('Setting hostname: %s.' % rc['hostname'])
