"""service(8), for the rc.d scripts the simulation knows: devfs, jail, netif.

rc.d/jail and rc.d/netif are written from their shell scripts (src-notes
section 4; rc.conf(5)): they run the same simulated commands (jail, jls,
ifconfig) with the same arguments, and print what those scripts print.
[mem] The "does not exist" wording follows service(8)'s message for unknown
scripts, the "Cannot 'start'" text and exit status 0 follow rc.subr as
remembered.  `service devfs start|restart` reads /etc/devfs.rules and records
its ruleset headers ([name=number]) in the state, refusing malformed ones
the way devfs(8) would not load them.
"""

import os
import re
import subprocess

from fbsd import localrc, rcconf, registry
from fbsd.console import PATH, Console, yes
from fbsd.core import Command, getopt, locked_state

USAGE = ['usage: service [-j <jail name or id>] -e', '       service [-j <jail name or id>] -R',
         '       service [-j <jail name or id>] [-v] -l | -r',
         '       service [-j <jail name or id>] [-v] <rc.d script> start|stop|etc.',
         '       service -h']
HEADER = re.compile(r'^\[([A-Za-z0-9_]+)=([0-9]+)\]\s*$')


def devfs(cmd, action, names):
    if action in ('status', 'stop'):
        return 0
    if action not in ('start', 'restart', 'onestart', 'onerestart'):
        return unknown_directive(cmd, 'devfs', action)
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


def unknown_directive(cmd, script, action):
    cmd.err('/etc/rc.d/%s: unknown directive \'%s\'.' % (script, action))
    cmd.err('Usage: /etc/rc.d/%s [fast|force|one|quiet](start|stop|restart|rcvar|enable|disable|delete|enabled|'
            'describe|extracommands|status)' % script)
    return 1


def run_steps(cmd, script_step, base, names, rc):
    """start, stop, or restart as stop then start; what the script printed goes to stdout."""
    console = Console()
    for step in (('stop', 'start') if base == 'restart' else (base,)):
        script_step(console, step, names, rc)
    for line in console.lines:
        cmd.out(line)
    return 0


# ---------------------------------------------------------------- rc.d/jail

def jail_variable(name):
    return re.sub(r'[^A-Za-z0-9]', '_', name)


def jail_conf_for(name, rc):
    """jail_<jv>_conf, /etc/jail.<j>.conf, /etc/jail.conf.d/<j>.conf, then jail_conf: the first readable."""
    candidates = [rc.get('jail_%s_conf' % jail_variable(name)) or '/etc/jail.%s.conf' % name,
                  '/etc/jail.conf.d/%s.conf' % name, rc.get('jail_conf') or '/etc/jail.conf']
    for path in candidates:
        if os.access(path, os.R_OK):
            return path
    return candidates[-1]


def write_jid(name, jid):
    os.makedirs('/var/run', exist_ok=True)
    with open('/var/run/jail_%s.id' % name, 'w') as handle:
        handle.write('%s\n' % jid)


def remove_jid(name):
    try:
        os.unlink('/var/run/jail_%s.id' % name)
    except OSError:
        pass


def rc_jail(console, action, names, rc):
    """rc.d/jail start/stop for jail_list (or every jail of jail_conf) or the jails named."""
    flags = (rc.get('jail_flags') or '').split()
    conf = rc.get('jail_conf') or '/etc/jail.conf'
    listed = names or [n.replace('/', '_').replace('.', '_') for n in (rc.get('jail_list') or '').split()]
    if action == 'start':
        line = 'Starting jails:'
        if not listed:
            argv = ['jail'] + flags + ['-f', conf, '-c'] + ([] if yes(rc.get('jail_parallel_start')) else ['-p1'])
            status, out = console.run(*argv, show=False)
            if status == 0:
                for row in console.run('jls', 'jid', 'name', show=False)[1].splitlines():
                    jid, name = row.split(None, 1)
                    line += ' ' + name
                    write_jid(name, jid)
                console.say(line + '.')
            else:
                # rc.d/jail: echo -n 'Starting jails:', then the captured output of jail(8), then '.'.
                console.lines.extend((line + out + '.').split('\n'))
            return 0
        for name in listed:
            if console.run('jls', '-j', name, show=False)[0] == 0:
                line += ' [%s already running (/var/run/jail_%s.id exists)]' % (name, name)
                continue
            status, out = console.run('jail', *(flags + ['-i', '-f', jail_conf_for(name, rc), '-c', name]), show=False)
            if status == 0:
                line += ' ' + name
                write_jid(name, out.strip().splitlines()[-1] if out.strip() else '')
            else:
                console.say(line + ' cannot start jail "%s": ' % name)
                console.lines.extend(out.rstrip('\n').split('\n'))
                line = ''
        console.say(line + '.')
        return 0
    # stop
    line = 'Stopping jails:'
    if not listed:
        running = console.run('jls', 'name', show=False)[1].split()
        targets = [(n, conf) for n in (list(reversed(running)) if yes(rc.get('jail_reverse_stop')) else running)]
    else:
        ordered = list(reversed(listed)) if yes(rc.get('jail_reverse_stop')) else listed
        targets = [(n, jail_conf_for(n, rc)) for n in ordered]
    for name, path in targets:
        if console.run('jls', '-j', name, show=False)[0] != 0:
            continue
        console.run('jail', '-q', '-f', path, '-r', name, show=False)
        line += ' ' + name
        remove_jid(name)
    console.say(line + '.')
    return 0


def jail(cmd, action, names):
    rc = rcconf.rc_settings()
    base = action[3:] if action.startswith('one') else action
    if base not in ('start', 'stop', 'restart', 'status'):
        return unknown_directive(cmd, 'jail', action)
    if base == 'status':
        return os.spawnv(os.P_WAIT, '/usr/sbin/jls', ['jls', '-N'])
    if not action.startswith('one') and not yes(rc.get('jail_enable')):
        cmd.out("Cannot '%s' jail. Set jail_enable to YES in /etc/rc.conf or use 'one%s' instead of '%s'."
                % (action, action, action))
        return 0
    return run_steps(cmd, rc_jail, base, names, rc)


# ---------------------------------------------------------------- rc.d/netif

# Words of ifconfig_<if> that are for rc (dhclient, wpa_supplicant, ...), not ifconfig.
RC_KEYWORDS = ('DHCP', 'SYNCDHCP', 'NOSYNCDHCP', 'NOAUTO', 'WPA', 'HOSTAP', 'POLLING', 'AUTO')


def cloned(rc):
    """cloned_interfaces with the names ifconfig will give: epairN stands for epairNa and epairNb."""
    return (rc.get('cloned_interfaces') or '').split()


def interface_settings(rc, name):
    """(ifconfig argument lists) rc.d/netif applies to one interface, in its order."""
    key = 'ifconfig_' + re.sub(r'[.\-/+]', '_', name)
    steps = []
    words = [w for w in (rc.get(key) or '').split() if w.upper() not in RC_KEYWORDS]
    if words:
        steps.append(words)
    if (rc.get(key) or '').strip():
        steps.append(['up'])   # ifconfig_up brings a configured interface up with a command of its own
    if rc.get(key + '_ipv6'):
        steps.append(rc[key + '_ipv6'].split())
    number = 0
    while rc.get('%s_alias%d' % (key, number)):
        steps.append(rc['%s_alias%d' % (key, number)].split() + ['alias'])
        number += 1
    return steps


def rc_netif(console, action, names, rc):
    """rc.d/netif: cloned interfaces created (destroyed), then each interface configured (stopped)."""
    clones = [c for c in cloned(rc) if not names or c in names or c + 'a' in names]
    if action == 'start' and clones:
        made = [c for c in clones if console.run('ifconfig', c, 'create', show=False)[0] == 0]
        if made:
            console.say('Created clone interfaces: %s.' % ' '.join(made))
    present = console.run('ifconfig', '-l', show=False)[1].split()
    done = []
    for name in (names or present):
        if name not in present:
            continue
        steps = interface_settings(rc, name)
        if not steps:
            continue
        if action == 'start':
            for argv in steps:
                console.run('ifconfig', name, *argv)
        else:
            console.run('ifconfig', name, 'down', show=False)
        done.append(name)
    if done:
        console.say('%s Network: %s.' % ('Starting' if action == 'start' else 'Stopping', ' '.join(done)))
        if action == 'start' and not yes(rc.get('rc_quiet')):
            for name in done:
                console.run('ifconfig', name)
    if action == 'stop' and clones:
        gone = [c for c in clones if console.run('ifconfig', c + 'a' if c.startswith('epair') else c, 'destroy',
                                                 show=False)[0] == 0]
        if gone:
            console.say('Destroyed clone interfaces: %s.' % ' '.join(gone))
    return 0


def netif(cmd, action, names):
    base = action[3:] if action.startswith('one') else action
    if base not in ('start', 'stop', 'restart'):
        return unknown_directive(cmd, 'netif', action)
    rc = rcconf.rc_settings()
    return run_steps(cmd, rc_netif, base, names, rc)


# ---------------------------------------------------------------- rc steps (registry)

def rc_devfs(console, rc):
    console.run('service', 'devfs', 'start')


def rc_netif_start(console, rc):
    rc_netif(console, 'start', [], rc)


def rc_jail_start(console, rc):
    if yes(rc.get('jail_enable')):
        rc_jail(console, 'start', [], rc)


def rc_jail_stop(console, rc):
    """rc.shutdown runs rc.d/jail stop when jail_enable is set; other jails just vanish with the kernel."""
    if yes(rc.get('jail_enable')):
        rc_jail(console, 'stop', [], rc)


def service_main(prog, args):
    cmd = Command(prog, USAGE)
    options, operands = getopt(cmd, args, 'ehj:lrRv')
    flags = dict(options)
    if 'e' in flags or 'l' in flags:
        rc = rcconf.rc_settings()
        for name, (unused, unused_function, rcvar) in sorted(registry.scripts().items()):
            if 'l' in flags:
                cmd.out(name)
            elif rcvar is None or yes(rc.get(rcvar)):
                cmd.out('/etc/rc.d/%s' % name)
        return 0
    if 'j' in flags:
        cmd.errx(1, 'fbsdsim: service -j is not simulated')
    if len(operands) < 2:
        cmd.bad_option()
    name, action = operands[0], operands[1]
    known = registry.scripts()
    if name not in known and localrc.find(name):
        # A package's (or the collection's) own script: a real shell script, run as service(8) runs it.
        return subprocess.call(['/bin/sh', localrc.find(name), action] + operands[2:],
                               env={'PATH': PATH, 'LANG': 'C'})
    if name not in known:
        cmd.err('%s does not exist in /etc/rc.d or the local startup directories (/usr/local/etc/rc.d), '
                'or is not executable' % name)
        return 1
    module, function, rcvar = known[name]
    return registry.function(module, function)(cmd, action, operands[2:])
