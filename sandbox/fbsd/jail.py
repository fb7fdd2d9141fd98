"""jail(8), jls(8) and jexec(8) over simulated kernel jails.

Jails are records in the instance state; their root is a real directory in
the instance, and exec.start/exec.stop, the command= parameter and jexec run
real programs chrooted into it.  Processes are not tracked: a jail stays
until it is removed (as with persist).  jail.conf mode (jail names instead of
name=value parameters) is not simulated yet and says so.
"""

import json
import os
import subprocess
import sys

from fbsd import jailconf, mount, net, rcconf, store
from fbsd.prison import find_jail
from fbsd.core import Command, Exit, commit, getopt, locked_state, released

# Kernel parameters (security.jail.param) and their types; 'ro' ones cannot be set.
INT, STR, BOOL, IPV4, IPV6, JAILSYS = 'int', 'str', 'bool', 'ip4', 'ip6', 'jailsys'
KERNEL_PARAMS = {
    'jid': INT, 'name': STR, 'path': STR, 'parent': INT, 'osrelease': STR, 'osreldate': INT,
    'host': JAILSYS, 'host.hostname': STR, 'host.domainname': STR, 'host.hostuuid': STR, 'host.hostid': INT,
    'ip4': JAILSYS, 'ip4.addr': IPV4, 'ip4.saddrsel': BOOL, 'ip6': JAILSYS, 'ip6.addr': IPV6, 'ip6.saddrsel': BOOL,
    'vnet': JAILSYS, 'securelevel': INT, 'devfs_ruleset': INT, 'children.max': INT, 'children.cur': INT,
    'enforce_statfs': INT, 'persist': BOOL, 'dying': BOOL, 'cpuset.id': INT, 'meta': STR, 'env': STR,
    'sysvmsg': JAILSYS, 'sysvsem': JAILSYS, 'sysvshm': JAILSYS, 'linux': JAILSYS, 'linux.osname': STR,
    'linux.osrelease': STR, 'linux.oss_version': INT,
}
ALLOW = ('set_hostname', 'sysvipc', 'raw_sockets', 'chflags', 'mount', 'mount.devfs', 'quotas', 'read_msgbuf',
         'socket_af', 'mlock', 'nfsd', 'reserved_ports', 'unprivileged_parent_tampering',
         'unprivileged_proc_debug', 'suser', 'extattr', 'adjtime', 'settime', 'routing', 'setaudit',
         'mount.fdescfs', 'mount.fusefs', 'mount.nullfs', 'mount.procfs', 'mount.linprocfs', 'mount.linsysfs',
         'mount.tmpfs', 'mount.zfs', 'vmm', 'vmm_ppt')
KERNEL_PARAMS.update(('allow.' + name, BOOL) for name in ALLOW)
READ_ONLY = {'jid', 'parent', 'osreldate', 'children.cur', 'dying', 'cpuset.id'}
# Set at creation only.
FIXED = {'path', 'vnet', 'ip4', 'ip6', 'name'}
ALLOW_DEFAULTS = {'set_hostname': True, 'reserved_ports': False, 'suser': True, 'unprivileged_proc_debug': True}

# jail(8) pseudo-parameters: handled by jail(8), never passed to the kernel.
PSEUDO_LISTS = {'exec.prepare', 'exec.prestart', 'exec.created', 'exec.start', 'command', 'exec.poststart',
                'exec.prestop', 'exec.stop', 'exec.poststop', 'exec.release', 'mount', 'vnet.interface',
                'zfs.dataset', 'depend', 'interface'}
PSEUDO_SCALARS = {'exec.clean': BOOL, 'exec.jail_user': STR, 'exec.system_jail_user': BOOL,
                  'exec.system_user': STR, 'exec.timeout': INT, 'exec.consolelog': STR, 'exec.fib': INT,
                  'stop.timeout': INT, 'ip_hostname': BOOL, 'mount.fstab': STR, 'mount.devfs': BOOL,
                  'mount.fdescfs': BOOL, 'mount.procfs': BOOL, 'allow.dying': BOOL}

JAIL_USAGE = ['usage: jail [-dhilqv] [-J jid_file] [-u username] [-U username]',
              '            -[cmr] param=value ... [command=command ...]',
              '       jail [-dqv] [-f file] -[cmr] [jail]',
              '       jail [-qv] [-f file] -[rR] [\'*\' | jail ...]',
              '       jail [-dhilqv] [-J jid_file] [-u username] [-U username]',
              '            [-n jailname] [-s securelevel]',
              '            path hostname ip[,...] command ...',
              '       jail [-f file] -e separator']


def negate(name):
    """'persist' -> 'nopersist', 'allow.mount' -> 'allow.nomount'."""
    head, dot, tail = name.rpartition('.')
    return '%s%sno%s' % (head, dot, tail)


def param_type(name):
    if name in KERNEL_PARAMS:
        return KERNEL_PARAMS[name]
    if name in PSEUDO_SCALARS:
        return PSEUDO_SCALARS[name]
    if name in PSEUDO_LISTS:
        return 'list'
    if name.startswith(('meta.', 'env.')):
        return STR
    return None


def parse_bool(cmd, name, value):
    if value is None:
        return True
    # config.c check_intparams: true/false in any case, or an integer.
    lowered = value.lower()
    if lowered == 'true':
        return True
    if lowered == 'false':
        return False
    if value.lstrip('-').isdigit():
        return int(value) != 0
    cmd.errx(1, '%s: unknown boolean value "%s"' % (name, value))
    return None


def parse_params(cmd, operands):
    """name=value operands into {param: value}; lists collect, scalars keep the last."""
    params = {}
    for operand in operands:
        name, has_value, value = operand.partition('=')
        kind = param_type(name)
        if has_value and kind in (IPV4, IPV6):
            values = [] if value == '' else value.split(',')
        else:
            values = [value] if has_value else []
        add_typed(cmd, params, name, values, '')
    return params


def add_typed(cmd, params, name, values, prefix, append=True):
    """One parameter with its string values into {param: typed value}.

    ``prefix`` is what jail(8) puts before messages about this jail ('name: ' in
    jail.conf mode); scalars keep the last value, lists collect.
    """
    kind = param_type(name)
    value = values[-1] if values else None
    if kind is None:
        head, dot, tail = name.rpartition('.')
        positive = head + dot + tail[2:] if tail.startswith('no') else None
        if positive and param_type(positive) == BOOL and value is None:
            params[positive] = False
            return
        cmd.errx(1, '%sunknown parameter: %s' % (prefix, name))
    if kind == BOOL:
        params[name] = parse_bool(cmd, prefix + name, value)
    elif kind in (IPV4, IPV6, 'list'):
        if not append:
            params[name] = []
        params.setdefault(name, []).extend(values)
    elif kind == INT:
        if value is None or not value.lstrip('-').isdigit():
            cmd.errx(1, '%s%s: non-integer value "%s"' % (prefix, name, value or ''))
        params[name] = int(value)
    elif kind == JAILSYS:
        if value is None:
            value = 'new'      # a bare 'vnet;' or 'host;' asks for a new one
        if value not in ('new', 'inherit', 'disable'):
            cmd.errx(1, '%s%s: unknown value "%s"' % (prefix, name, value))
        params[name] = value
    else:
        params[name] = '' if value is None else value


def kernel_address(entry):
    """'em0|10.0.0.5/24' (what jail(8) accepts) -> '10.0.0.5' (what the kernel keeps)."""
    return entry.split('|', 1)[-1].split('/', 1)[0].split()[0]


def jail_matches(jail, key):
    """jls -j / jexec / sysrc -j: a purely numeric key is a jid, anything else a name."""
    return key == str(jail['jid']) or (not key.isdigit() and key == jail['name'])


def new_jail(state, params):
    jid = params.get('jid') or state.setdefault('next_jid', 1)
    state['next_jid'] = max(state.get('next_jid', 1), jid) + 1
    release = state['release']
    jail = {
        'jid': jid, 'name': str(jid), 'path': '/', 'parent': 0, 'osrelease': release['kernel'],
        'osreldate': release['osreldate'], 'host': 'new', 'host.hostname': '', 'host.domainname': '',
        'host.hostuuid': '00000000-0000-0000-0000-000000000000', 'host.hostid': 0,
        'ip4': 'disable', 'ip4.addr': [], 'ip4.saddrsel': True, 'ip6': 'disable', 'ip6.addr': [],
        'ip6.saddrsel': True, 'vnet': 'inherit', 'securelevel': -1, 'devfs_ruleset': 0, 'children.max': 0,
        'children.cur': 0, 'enforce_statfs': 2, 'persist': False, 'dying': False, 'cpuset.id': jid + 1,
        'meta': '', 'env': '', 'sysvmsg': 'disable', 'sysvsem': 'disable', 'sysvshm': 'disable',
        'linux': 'new', 'linux.osname': 'Linux', 'linux.osrelease': '5.15.0', 'linux.oss_version': 198144,
        'userland': release['userland'],
    }
    for name in ALLOW:
        jail['allow.' + name] = ALLOW_DEFAULTS.get(name, False)
    return jail


def apply_kernel_params(cmd, jail, params, creating):
    for name, value in params.items():
        if name not in KERNEL_PARAMS and not name.startswith(('meta.', 'env.')):
            continue
        if name in READ_ONLY and not (creating and name == 'jid'):
            cmd.errx(1, '%s: jail_set: Invalid argument' % jail['name'])
        if not creating and name in FIXED and jail.get(name) != value:
            cmd.errx(1, '%s: jail_set: Operation not permitted' % jail['name'])
        if name in ('ip4.addr', 'ip6.addr'):
            jail.setdefault('_ifaddrs', {})[name] = [entry for entry in value if '|' in entry]
            jail[name] = [kernel_address(entry) for entry in value]
            jail[name.split('.')[0]] = 'new' if value else 'disable'
        else:
            jail[name] = value
    if creating and 'devfs_ruleset' not in params and params.get('mount.devfs'):
        jail['devfs_ruleset'] = 4   # jail(8): mount.devfs defaults to ruleset 4 (devfsrules_jail)
    if creating and 'host.hostname' not in params:
        jail['host.hostname'] = jail['name'] if 'name' in params else ''


def run_hook(cmd, state, jail, pseudo, name, inside):
    """Run exec.* commands for real: on the host, or chrooted into the jail.

    The state lock is released meanwhile: hooks often run jls, ifconfig or zfs.
    """
    env = dict(os.environ)
    if pseudo.get('exec.clean'):
        env = {'PATH': '/sbin:/bin:/usr/sbin:/usr/bin', 'HOME': '/', 'TERM': os.environ.get('TERM', 'dumb')}
    env.update(JID=str(jail['jid']), JNAME=jail['name'], JPATH=jail['path'])
    consolelog = pseudo.get('exec.consolelog')
    for command in pseudo.get(name, []):
        preexec = (lambda: (os.chroot(jail['path']), os.chdir('/'))) if inside else None
        sys.stdout.flush()
        with released(state):
            try:
                if consolelog:
                    with open(consolelog, 'a') as log:
                        status = subprocess.call(['/bin/sh', '-c', command], env=env, preexec_fn=preexec,
                                                 stdout=log, stderr=subprocess.STDOUT)
                else:
                    status = subprocess.call(['/bin/sh', '-c', command], env=env, preexec_fn=preexec)
            except OSError as exc:
                # [mem] wording: jail(8) reports the failed exec through warn().
                cmd.errx(1, '%s: %s: /bin/sh: %s' % (jail['name'], name, exc.strerror))
        if status != 0:
            # command.c finish_command(): jail_warnx(j, "%s: failed", j->comline).
            cmd.errx(1, '%s: %s: failed' % (jail['name'], command_line(command)))


SHELL_SPECIALS = set('!"$&\'()*;<>?[\\]`{|}~')


def command_line(command):
    """How jail(8) runs (and names) an exec.* string: through /bin/sh -c when it holds a shell special
    character, else split on white space (command.c run_command())."""
    first = next((index for index, c in enumerate(command) if c in SHELL_SPECIALS), None)
    if first is None:
        return ' '.join(command.split())
    if command[first] == '&' and first == len(command) - 1:
        return ' '.join(command[:first].split())     # a lone trailing "&": run in the background
    return '/bin/sh -c ' + command


def split_pseudo(params):
    return dict((k, v) for k, v in params.items() if k not in KERNEL_PARAMS and not k.startswith(('meta.', 'env.')))


def jail_main(prog, args):
    cmd = Command(prog, JAIL_USAGE)
    options, operands = getopt(cmd, args, 'cCdf:hiJ:lmn:p:qrRs:u:U:ve:')
    opts = dict(options)
    flags = set(flag for flag, value in options)
    actions = flags & set('cmrR')
    if 'e' in flags:
        return exhibit(cmd, opts.get('f', CONF_FILE), opts['e'])
    if not actions or ('R' in actions and actions & set('cm')):
        cmd.bad_option()
    quiet = bool(flags & {'q', 'i'})
    removing = actions == {'r'}
    # jail.c main(): a removal takes any number of jails; otherwise more than one operand, or one with
    # '=', is a jail given by its parameters (so "jail -f FILE -c a b" reads "a" and "b" as parameters).
    if (removing and any('=' in o for o in operands)) or (
            not removing and (len(operands) > 1 or (operands and '=' in operands[0]))):
        return command_line_mode(cmd, actions, flags, operands, quiet)
    if 'R' in actions:
        with locked_state() as state:
            return remove_jails(cmd, state, operands, {}, True, quiet)
    return config_mode(cmd, opts.get('f'), actions, flags, operands, quiet)


def command_line_mode(cmd, actions, flags, operands, quiet):
    if 'r' in actions and 'c' not in actions:
        cmd.bad_option()
    with locked_state() as state:
        state.setdefault('jails', {})
        params = parse_params(cmd, operands)
        key = params.get('name') or (str(params['jid']) if 'jid' in params else None)
        existing = find_jail(state, key) if key else None
        if 'r' in actions and existing is not None:
            remove_one(cmd, state, existing, existing.get('pseudo', {}), False, quiet)
            existing = None
        if 'c' in actions and existing is not None and 'm' not in actions:
            cmd.errx(1, '%s: jail %d already exists' % (key, existing['jid']))
        if existing is None and 'c' not in actions:
            cmd.errx(1, '"%s" not found' % key if key else 'jail_set: No such file or directory')
        if existing is None:
            create_one(cmd, state, params, quiet, 'i' in flags)
        else:
            modify_one(cmd, existing, params, quiet)
    return 0


def create_one(cmd, state, params, quiet, print_jid):
    """exec.prepare, mounts, exec.prestart, create, exec.created, exec.start, command, exec.poststart.

    A step that fails undoes what was done: the jail is removed and its mounts
    unmounted, and jail(8) exits 1.
    """
    pseudo = split_pseudo(params)
    jail = new_jail(state, params)
    if 'name' in params:
        jail['name'] = params['name']
    apply_kernel_params(cmd, jail, params, creating=True)
    if not os.path.isdir(jail['path']):
        cmd.errx(1, '%s: path %s: No such file or directory' % (jail['name'], jail['path']))
    jid = str(jail['jid'])
    try:
        if jail.get('vnet') == 'new':
            net.vnet_made(state, jail['name'])
        run_hook(cmd, state, jail, pseudo, 'exec.prepare', inside=False)
        mount_for_jail(cmd, state, jail, pseudo)
        run_hook(cmd, state, jail, pseudo, 'exec.prestart', inside=False)
        attach_interfaces(cmd, state, jail, pseudo)
        jail['pseudo'] = pseudo
        state['jails'][jid] = jail
        if print_jid:
            cmd.out(str(jail['jid']))
        elif not quiet:
            cmd.out('%s: created' % jail['name'])
        for hook, inside in (('exec.created', False), ('exec.start', True), ('command', True),
                             ('exec.poststart', False)):
            run_hook(cmd, state, jail, pseudo, hook, inside)
            if hook == 'exec.start' and any('/etc/rc' in c.split() for c in pseudo.get(hook, [])):
                jail_netif(cmd, state, jail)
    except Exit:
        failed = state['jails'].pop(jid, None) or jail
        detach_interfaces(state, failed)
        unmount_for_jail(state, failed)
        commit(state)
        raise
    return state['jails'][jid]


def modify_one(cmd, jail, params, quiet):
    apply_kernel_params(cmd, jail, params, creating=False)
    jail.setdefault('pseudo', {}).update(split_pseudo(params))
    if not quiet:
        cmd.out('%s: updated' % jail['name'])


def remove_one(cmd, state, jail, pseudo, skip_hooks, quiet):
    """exec.prestop, exec.stop inside, remove, exec.poststop, unmount, exec.release."""
    jid = str(jail['jid'])
    if not skip_hooks:
        run_hook(cmd, state, jail, pseudo, 'exec.prestop', inside=False)
        run_hook(cmd, state, jail, pseudo, 'exec.stop', inside=True)
    jail = state['jails'].pop(jid, jail)
    detach_interfaces(state, jail)
    if not quiet:
        cmd.out('%s: removed' % jail['name'])
    if not skip_hooks:
        run_hook(cmd, state, jail, pseudo, 'exec.poststop', inside=False)
    unmount_for_jail(state, jail)
    if not skip_hooks:
        run_hook(cmd, state, jail, pseudo, 'exec.release', inside=False)


def remove_jails(cmd, state, operands, configured, skip_hooks, quiet):
    """-r/-R of running jails by name or jid; '*' means every running jail."""
    state.setdefault('jails', {})
    if operands == ['*']:
        operands = [j['name'] for j in sorted(state['jails'].values(), key=lambda j: -j['jid'])]
    elif not operands:
        cmd.bad_option()
    status = 0
    for key in operands:
        jail = find_jail(state, key)
        if jail is None:
            cmd.warnx('"%s" not found' % key)
            status = 1
            continue
        pseudo = jail.get('pseudo', {})
        if jail['name'] in configured:
            pseudo = configured[jail['name']]
        remove_one(cmd, state, jail, pseudo, skip_hooks, quiet)
    return status


def fstab_lines(cmd, jail, pseudo):
    """mount entries and mount.fstab files: (special, node, fstype, options) in order."""
    lines = list(pseudo.get('mount', []))
    fstab = pseudo.get('mount.fstab')
    if fstab:
        try:
            lines.extend(read_text(fstab).splitlines())
        except OSError as exc:
            cmd.errx(1, '%s: mount.fstab: %s: %s' % (jail['name'], fstab, exc.strerror))
    entries = []
    for line in lines:
        fields = line.split('#', 1)[0].split()
        if not fields:
            continue
        if len(fields) < 4:
            cmd.errx(1, '%s: %s: not enough fields' % (jail['name'], line))
        entries.append((fields[0], fields[1], fields[2], fields[3]))
    return entries


def mount_for_jail(cmd, state, jail, pseudo):
    """jail(8)'s mounts before creation: fstab entries, then devfs, fdescfs, procfs."""
    path = jail['path'].rstrip('/')
    wanted = list(fstab_lines(cmd, jail, pseudo))
    if pseudo.get('mount.devfs'):
        wanted.append(('devfs', path + '/dev', 'devfs', 'ruleset=%d' % jail.get('devfs_ruleset', 4)))
    if pseudo.get('mount.fdescfs'):
        wanted.append(('fdescfs', path + '/dev/fd', 'fdescfs', 'rw'))
    if pseudo.get('mount.procfs'):
        wanted.append(('procfs', path + '/proc', 'procfs', 'rw'))
    for special, node, fstype, options in wanted:
        words = [w for w in mount.parse_options(options) if not w.startswith('ruleset=')]
        try:
            mount.add_mount(state, special, node, fstype, words, owner=jail['name'])
        except OSError as exc:
            cmd.errx(1, '%s: %s: %s' % (jail['name'], exc.filename, exc.strerror))


def unmount_for_jail(state, jail):
    for unused, entry in reversed(mount.owned_by(state, jail['name'])):
        mount.remove_mount(state, entry['node'])


def attach_interfaces(cmd, state, jail, pseudo):
    """vnet.interface moves into the jail; 'iface|addr' entries become aliases."""
    ifaces = net.interfaces(state)
    for name in pseudo.get('vnet.interface', []):
        if name not in ifaces or ifaces[name].get('vnet'):
            cmd.errx(1, '%s: vnet.interface: %s: interface does not exist' % (jail['name'], name))
        if jail.get('vnet') != 'new':
            cmd.errx(1, '%s: vnet.interface requires vnet' % jail['name'])
        ifaces[name]['vnet'] = jail['name']
    for family, key in (('inet', 'ip4.addr'), ('inet6', 'ip6.addr')):
        for entry in jail.get('_ifaddrs', {}).get(key, []):
            iface, spec = entry.split('|', 1)
            if iface not in ifaces:
                cmd.errx(1, '%s: %s: interface %s does not exist' % (jail['name'], key, iface))
            addr, prefix = (spec.split()[0] + '/').split('/')[:2]
            net.set_address(ifaces[iface], family, addr, int(prefix or (32 if family == 'inet' else 128)),
                            alias=True, remove=False)


def jail_netif(cmd, state, jail):
    """Stand-in for rc.d/netif and rc.d/routing inside a VNET jail started with /etc/rc.

    The jail's userland (busybox) cannot reach the simulated interfaces, so the
    simulator applies ifconfig_<if>, ifconfig_<if>_ipv6, ifconfig_<if>_aliasN
    (ifconfig_lo0 of /etc/defaults/rc.conf when unset) and defaultrouter from the
    jail's /etc/rc.conf, as FreeBSD's rc would.
    """
    if jail.get('vnet') != 'new':
        return
    try:
        with open(os.path.join(jail['path'], 'etc', 'rc.conf')) as handle:
            settings = rcconf.values(handle.read())
    except OSError:
        return
    settings.setdefault('ifconfig_lo0', 'inet 127.0.0.1')
    for name, iface in sorted(store.where(net.interfaces(state), 'vnet', jail['name'])):
        key = 'ifconfig_' + net.shown(name).replace('.', '_').replace('-', '_')
        entries = [(settings.get(key), False), (settings.get(key + '_ipv6'), False)]
        entries += [(settings[k], True) for k in sorted(settings) if k.startswith(key + '_alias')]
        for value, alias in entries:
            words = (value or '').split()
            if not words:
                continue
            try:
                net.apply(cmd, state, name, words + (['alias'] if alias else []) + ['up'], jail['name'])
            except net.IfError as exc:
                cmd.warnx('%s: /etc/rc.conf %s: %s' % (jail['name'], key, exc))
    for key, family in (('defaultrouter', 'inet'), ('ipv6_defaultrouter', 'inet6')):
        if settings.get(key):
            try:
                net.set_route(state, jail, family, 'default', settings[key])
            except (net.RouteError, ValueError) as exc:
                cmd.warnx('%s: /etc/rc.conf %s: route add default %s: %s' % (jail['name'], key, settings[key], exc))


def detach_interfaces(state, jail):
    ifaces = net.interfaces(state)
    net.vnet_gone(state, jail['name'])
    for family, key in (('inet', 'ip4.addr'), ('inet6', 'ip6.addr')):
        for entry in jail.get('_ifaddrs', {}).get(key, []):
            iface, spec = entry.split('|', 1)
            addr = spec.split()[0].split('/')[0]
            if iface in ifaces:
                ifaces[iface][family] = [a for a in ifaces[iface][family] if a['addr'] != addr]


# ---------------------------------------------------------------- jail.conf mode

CONF_FILE = '/etc/jail.conf'


def read_text(path):
    with open(path) as handle:
        return handle.read()


def load_config(cmd, cfname, required):
    """The configured jails of cfname (jail -f; '-' is stdin), or [] if optional and absent."""
    name = cfname or CONF_FILE
    try:
        text = sys.stdin.read() if name == '-' else read_text(name)
    except OSError as exc:
        if not required and cfname is None:
            return []
        cmd.fail(1, name, {2: 'ENOENT', 13: 'EPERM', 21: 'EISDIR'}.get(exc.errno, 'ENOENT'))
    try:
        jails = jailconf.load(text, 'STDIN' if name == '-' else name, read_text)
    except jailconf.ConfError as exc:
        cmd.errx(1, str(exc))
    except OSError as exc:
        cmd.fail(1, exc.filename, 'ENOENT')
    return jails


def conf_params(cmd, conf):
    """A configured jail's merged parameters, typed as jail(8) passes them on."""
    for message in conf.errors:
        cmd.warnx('%s: %s' % (conf.name, message))
    if conf.errors:
        raise Exit(1)
    params = {}
    for param in conf.params:
        add_typed(cmd, params, param.name, [v.text for v in param.values], conf.name + ': ', append=False)
    return params


def dependency_setup(cmd, confs, by_name):
    """state.c dep_setup: every configured jail's ``depend`` names a jail of this configuration, or that
    jail is failed with a warning (a running jail defined elsewhere does not count: the configuration
    must define it, usually by including its file); loops fail the jails in them."""
    failed = set()
    for conf in confs:
        for wanted in conf.value('depend') or []:
            if wanted not in by_name:
                cmd.warnx('%s: depends on undefined jail "%s"' % (conf.name, wanted))
                failed.add(conf.name)
    return failed


def dependency_order(cmd, selected, by_name, failed):
    """Jails to act on, each after the jails it depends on (the depend parameter, state.c's queues);
    the jails of a dependency loop are warned about and added to ``failed``."""
    order, done, visiting = [], set(), []

    def visit(conf):
        if conf.name in done:
            return
        if conf.name in visiting:
            for name in visiting[visiting.index(conf.name):]:
                if name not in failed:
                    cmd.warnx('%s: dependency loop' % name)
                    failed.add(name)
            return
        visiting.append(conf.name)
        for wanted in conf.value('depend') or []:
            if wanted in by_name:
                visit(by_name[wanted])
        visiting.pop()
        done.add(conf.name)
        order.append(conf)

    for conf in selected:
        visit(conf)
    return order


def running_dependents(cmd, state, confs, by_name, operands):
    """Running jails that depend, directly or not, on the ones named: they stop first."""
    doomed = set(operands)
    ordered = dependency_order(cmd, confs, by_name, set())
    changed = True
    while changed:
        changed = False
        for conf in ordered:
            if conf.name not in doomed and doomed & set(conf.value('depend') or []):
                doomed.add(conf.name)
                changed = True
    return [c.name for c in reversed(ordered)
            if c.name in doomed and c.name not in operands and find_jail(state, c.name)]


def select_jails(cmd, confs, target):
    """state.c start_state for -c/-m: every jail ('*', or no operand), those a wildcard matches, or the one
    named.  True for the first two (JF_WILD: a jail that already runs is passed over silently)."""
    if target == '*':
        return confs, True
    if '*' in target:
        return [c for c in confs if jailconf.wild_match(c.name, target)], True
    matches = [c for c in confs if target in (c.name, (c.value('name') or [None])[-1])]
    if not matches:
        cmd.errx(1, '"%s" not found' % target)
    return matches[:1], False


def config_mode(cmd, cfname, actions, flags, operands, quiet):
    """jail.c's main loop over the jails of a configuration.

    Each jail is done on its own: one that fails is reported by its name and the loop goes on; a jail
    depending on a failed one is "skipped"; jail(8) exits 1 when any failed.  ``-p`` bounds how many
    jails run their commands at once: the simulator runs one jail's commands at a time, in dependency
    order, which is what ``-p1`` does.
    """
    removing_only = actions == {'r'}
    confs = load_config(cmd, cfname, required=not removing_only)
    by_name = dict((c.name, c) for c in confs)
    if removing_only and not operands:
        cmd.bad_option()
    with locked_state() as state:
        state.setdefault('jails', {})
        if removing_only:
            configured = dict((c.name, split_pseudo(conf_params(cmd, c))) for c in confs
                              if c.name in operands or operands == ['*'])
            dependents = running_dependents(cmd, state, confs, by_name, operands)
            return remove_jails(cmd, state, dependents + [o for o in operands if o not in dependents],
                                configured, False, quiet)
        failed = dependency_setup(cmd, confs, by_name)
        selected, wild = select_jails(cmd, confs, operands[0] if operands else '*')
        status = 0
        for conf in dependency_order(cmd, selected, by_name, failed):
            dependency_only = conf not in selected
            if conf.name in failed:
                status = 1
                continue
            blocked = [d for d in conf.value('depend') or [] if d in failed]
            if blocked:
                if not dependency_only:
                    cmd.warnx('%s: skipped' % conf.name)
                failed.add(conf.name)
                status = 1
                continue
            try:
                do_configured(cmd, state, conf, actions, flags, quiet, wild or dependency_only)
            except Exit:
                failed.add(conf.name)
                status = 1
        return status


def do_configured(cmd, state, conf, actions, flags, quiet, quiet_if_running):
    """One configured jail: created, modified or restarted; Exit (its message printed) when it fails."""
    params = conf_params(cmd, conf)
    running = find_jail(state, conf.name)
    if running is not None and 'r' in actions:
        remove_one(cmd, state, running, split_pseudo(params), False, quiet)
        running = None
    if running is None and ('c' in actions or 'r' in actions):
        create_one(cmd, state, params, quiet, 'i' in flags)
    elif running is None:
        cmd.errx(1, '"%s" not found' % conf.name)
    elif 'm' in actions:
        modify_one(cmd, running, params, quiet)
    elif not quiet_if_running:
        cmd.errx(1, '"%s" already exists' % conf.name)     # jail.c jail_quoted_warnx


def exhibit(cmd, cfname, separator):
    """jail -e SEP: every configured jail and its parameters, one jail per line.

    [mem] The exact layout of -e output was not in the stored sources: this
    prints name=value pairs (bare names for valueless booleans) joined by SEP.
    """
    for conf in load_config(cmd, cfname, required=True):
        conf_params(cmd, conf)
        fields = []
        for param in conf.params:
            values = [v.text for v in param.values]
            fields.append(param.name if not values else '%s=%s' % (param.name, ','.join(values)))
        cmd.out(separator.join(fields))
    return 0


# ---------------------------------------------------------------- jls(8)

JLS_USAGE = ['usage: jls [-dhNnqv] [-j jail] [param ...]']


def sorted_params():
    """`all`: top-level names first, then dotted names, alphabetically in each group."""
    names = sorted(KERNEL_PARAMS, key=lambda n: ('.' in n, n))
    return names


def text_value(jail, name, quote):
    """One value as jls prints it: an empty list is '-' ('""' with -q), an empty string '""'."""
    value = jail.get(name, '')
    if isinstance(value, list):
        if not value:
            return '""' if quote else '-'
        value = ','.join(value)
    if isinstance(value, bool):
        value = 'true' if value else 'false'
    value = str(value)
    if value == '':
        return '""'
    if quote and any(c in value for c in ' \t"\''):
        mark = '"' if "'" in value or '"' not in value else "'"
        return mark + value + mark
    return value


def jls_main(prog, args):
    cmd = Command(prog, JLS_USAGE)
    libxo = None
    if '--libxo' in args:
        index = args.index('--libxo')
        libxo = args[index + 1] if index + 1 < len(args) else ''
        args = args[:index] + args[index + 2:]
    elif any(a.startswith('--libxo=') or a.startswith('--libxo:') for a in args):
        found = [a for a in args if a.startswith('--libxo')][0]
        libxo = found[8:]
        args = [a for a in args if a != found]
    options, params = getopt(cmd, args, 'acdhj:Nnqsv')
    opts = dict(options)
    flags = set(flag for flag, value in options)
    as_json = libxo is not None and 'json' in libxo
    with locked_state(write=False) as state:
        jails = sorted(state.get('jails', {}).values(), key=lambda j: j['jid'])
        if not flags & {'d', 'a'}:
            jails = [j for j in jails if not j.get('dying')]
        if 'j' in opts:
            jails = [j for j in jails if jail_matches(j, opts['j'])]
            if not jails:
                if 'c' in flags:
                    return 1
                cmd.errx(1, 'jail "%s" not found' % opts['j'])
        if 'c' in flags:
            return 0
    if not params and flags & set('nhs'):
        params = ['all']
    if 'all' in params:
        at = params.index('all')
        params = params[:at] + sorted_params() + params[at + 1:]
    if params:
        return jls_params(cmd, jails, params, flags, as_json)
    if as_json:
        records = []
        for jail in jails:
            if 'v' in flags:
                records.append({'jid': jail['jid'], 'hostname': jail['host.hostname'], 'path': jail['path'],
                                'name': jail['name'], 'state': 'DYING' if jail.get('dying') else 'ACTIVE',
                                'cpusetid': jail['cpuset.id'],
                                'ipv4_addrs': {'ipv4_addr': jail['ip4.addr']},
                                'ipv6_addrs': {'ipv6_addr': jail['ip6.addr']}})
            else:
                record = {'name': jail['name']} if 'N' in flags else {'jid': jail['jid']}
                record.update(ipv4=(jail['ip4.addr'] or [''])[0], hostname=jail['host.hostname'], path=jail['path'])
                records.append(record)
        emit_json(cmd, records)
        return 0
    if 'v' in flags:
        cmd.out('   JID  Hostname                      Path')
        cmd.out('        Name                          State')
        cmd.out('        CPUSetID')
        cmd.out('        IP Address(es)')
        for jail in jails:
            cmd.out('%6d  %-29.29s %.74s' % (jail['jid'], jail['host.hostname'], jail['path']))
            cmd.out('        %-29.29s %s' % (jail['name'], 'DYING' if jail.get('dying') else 'ACTIVE'))
            cmd.out('        %d' % jail['cpuset.id'])
            for address in jail['ip4.addr'] + jail['ip6.addr']:
                cmd.out('        %s' % address)
        return 0
    if 'N' in flags:
        cmd.out(' JID             IP Address      Hostname                      Path')
    else:
        cmd.out('   JID  IP Address      Hostname                      Path')
    for jail in jails:
        first = '%-15s' % jail['name'] if 'N' in flags else '%6d ' % jail['jid']
        lead = ' ' + first if 'N' in flags else first
        cmd.out('%s %-15.15s %-29.29s %.74s' % (lead, (jail['ip4.addr'] or [''])[0], jail['host.hostname'],
                                                jail['path']))
    return 0


def emit_json(cmd, records):
    body = ','.join(json.dumps(r, separators=(',', ':')) for r in records)
    cmd.out('{"__version": "2", "jail-information": {"jail": [%s]}}' % body)


def jls_params(cmd, jails, params, flags, as_json):
    settable_only = 's' in flags
    named = flags & {'n', 's'}
    quote = flags & {'q', 's'}
    if settable_only:
        params = [p for p in params if p not in READ_ONLY]
    if 'h' in flags and not as_json:
        cmd.out(' '.join(params))
    records = []
    for jail in jails:
        fields = []
        record = {}
        for name in params:
            if name not in jail and not name.startswith(('meta.', 'env.')) and name not in KERNEL_PARAMS:
                cmd.errx(1, 'unknown parameter: %s' % name)
            kind = KERNEL_PARAMS.get(name, STR)
            value = jail.get(name)
            if name.startswith(('meta.', 'env.')) and value is None:
                fields.append(name if named else '')
                continue
            if as_json:
                if kind == BOOL and named:
                    record[name] = bool(value)
                elif kind in (IPV4, IPV6):
                    record[name] = list(value)
                else:
                    record[name] = str(value) if not isinstance(value, bool) else ('true' if value else 'false')
                continue
            if kind == BOOL and named:
                fields.append(name if value else negate(name))
            elif named:
                empty_list = isinstance(value, list) and not value
                fields.append('%s=%s' % (name, '' if empty_list and not quote else text_value(jail, name, quote)))
            else:
                fields.append(text_value(jail, name, quote))
        records.append(record)
        if not as_json:
            cmd.out(' '.join(fields))
    if as_json:
        emit_json(cmd, records)
    return 0


# ---------------------------------------------------------------- jexec(8)

def jail_account(jail, user):
    """(uid, gid) of ``user`` in the jail's own /etc/passwd, read before entering it."""
    try:
        with open(os.path.join(jail['path'], 'etc/passwd')) as handle:
            for line in handle:
                fields = line.rstrip('\n').split(':')
                if len(fields) >= 4 and fields[0] == user and fields[2].isdigit() and fields[3].isdigit():
                    return int(fields[2]), int(fields[3])
    except OSError:
        pass
    return None


def jexec_main(prog, args):
    cmd = Command(prog, ['usage: jexec [-l] [-d working-directory] [-u username | -U username] jail',
                         '       [command ...]'])
    options, operands = getopt(cmd, args, 'd:lnu:U:')
    opts = dict(options)
    if not operands:
        cmd.bad_option()
    with locked_state(write=False) as state:
        jail = find_jail(state, operands[0])
    if jail is None:
        cmd.errx(1, 'jail "%s" not found' % operands[0])
    command = operands[1:]
    user = opts.get('u') or opts.get('U')
    account = jail_account(jail, user) if user else None
    if user and account is None:
        cmd.errx(1, 'unknown user: %s' % user)

    def enter():
        os.chroot(jail['path'])
        os.chdir(opts.get('d', '/'))
        if account:
            os.setgroups([account[1]])
            os.setgid(account[1])
            os.setuid(account[0])

    env = dict(os.environ)
    if 'l' in opts:
        env = {'PATH': '/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin',
               'TERM': os.environ.get('TERM', 'dumb'), 'HOME': '/', 'USER': user or 'root'}
    env.update(JID=str(jail['jid']))
    argv = command or ['/bin/sh']
    sys.stdout.flush()
    try:
        return subprocess.call(argv, env=env, preexec_fn=enter)
    except OSError as exc:
        cmd.errx(1, 'execvp: %s: %s' % (argv[0], exc.strerror))
    return 1  # not reached: errx raises


# ---------------------------------------------------------------- power cycle

def power_off(state):
    """Processes whose root is a jail's path (started by its /etc/rc or jexec) die with the kernel."""
    paths = [j.get('path') for j in state.get('jails', {}).values()]
    for pid in os.listdir('/proc'):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            root = os.readlink('/proc/%s/root' % pid)
        except OSError:
            continue
        if any(root == p or root.startswith(p.rstrip('/') + '/') for p in paths if p and p != '/'):
            try:
                os.kill(int(pid), 9)
            except OSError:
                pass
