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

from fbsd.core import Command, getopt, locked_state

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
    lowered = value.lower()
    if lowered in ('true', 'yes', 'on'):
        return True
    if lowered in ('false', 'no', 'off'):
        return False
    if value.isdigit():
        return int(value) != 0
    cmd.errx(1, '%s: unknown boolean value "%s"' % (name, value))
    return None


def parse_params(cmd, operands):
    """name=value operands into {param: value}; lists collect, scalars keep the last."""
    params = {}
    for operand in operands:
        name, has_value, value = operand.partition('=')
        if not has_value:
            value = None
        kind = param_type(name)
        if kind is None:
            head, dot, tail = name.rpartition('.')
            positive = head + dot + tail[2:] if tail.startswith('no') else None
            if positive and param_type(positive) == BOOL and value is None:
                params[positive] = False
                continue
            cmd.errx(1, 'unknown parameter: %s' % name)
        if kind == BOOL:
            params[name] = parse_bool(cmd, name, value)
        elif kind in (IPV4, IPV6, 'list'):
            items = [] if value in (None, '') else value.split(',') if kind != 'list' else [value]
            params.setdefault(name, []).extend(items)
        elif kind == INT:
            if value is None or not value.lstrip('-').isdigit():
                cmd.errx(1, '%s: non-integer value "%s"' % (name, value or ''))
            params[name] = int(value)
        elif kind == JAILSYS:
            if value not in ('new', 'inherit', 'disable'):
                cmd.errx(1, '%s: unknown value "%s"' % (name, value))
            params[name] = value
        else:
            params[name] = '' if value is None else value
    return params


def kernel_address(entry):
    """'em0|10.0.0.5/24' (what jail(8) accepts) -> '10.0.0.5' (what the kernel keeps)."""
    return entry.split('|', 1)[-1].split('/', 1)[0].split()[0]


def jail_matches(jail, key):
    """jls -j / jexec / sysrc -j: a purely numeric key is a jid, anything else a name."""
    return key == str(jail['jid']) or (not key.isdigit() and key == jail['name'])


def find_jail(state, key):
    for jail in state['jails'].values():
        if jail_matches(jail, key):
            return jail
    return None


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
            jail[name] = [kernel_address(entry) for entry in value]
            jail[name.split('.')[0]] = 'new' if value else 'disable'
        else:
            jail[name] = value
    if creating and 'host.hostname' not in params:
        jail['host.hostname'] = jail['name'] if 'name' in params else ''


def run_hook(cmd, jail, pseudo, name, inside):
    """Run exec.* commands for real: on the host, or chrooted into the jail."""
    env = dict(os.environ)
    if pseudo.get('exec.clean'):
        env = {'PATH': '/sbin:/bin:/usr/sbin:/usr/bin', 'HOME': '/', 'TERM': os.environ.get('TERM', 'dumb')}
    env.update(JID=str(jail['jid']), JNAME=jail['name'], JPATH=jail['path'])
    for command in pseudo.get(name, []):
        preexec = (lambda: (os.chroot(jail['path']), os.chdir('/'))) if inside else None
        sys.stdout.flush()
        status = subprocess.call(['/bin/sh', '-c', command], env=env, preexec_fn=preexec)
        if status != 0:
            cmd.errx(1, '%s: %s failed' % (jail['name'], name))


def jail_main(prog, args):
    cmd = Command(prog, JAIL_USAGE)
    options, operands = getopt(cmd, args, 'cdf:hiJ:lmn:p:qrRs:u:U:ve:C')
    opts = dict(options)
    flags = set(flag for flag, value in options)
    actions = flags & set('cmrR')
    if 'e' in flags:
        cmd.errx(1, 'fbsdsim: jail.conf is not simulated yet (-e)')
    if not actions or ('r' in actions and 'c' in actions and 'm' not in actions):
        cmd.bad_option()
    if operands and not any('=' in operand for operand in operands) and actions & set('cm'):
        cmd.errx(1, 'fbsdsim: jail.conf mode is not simulated yet; give name=value parameters')
    quiet = 'q' in flags
    with locked_state() as state:
        state.setdefault('jails', {})
        if actions & set('rR') and not actions & set('cm'):
            return remove_jails(cmd, state, operands, 'R' in actions, quiet)
        params = parse_params(cmd, operands)
        pseudo = dict((k, v) for k, v in params.items() if k not in KERNEL_PARAMS and not k.startswith(('meta.', 'env.')))
        key = params.get('name') or (str(params['jid']) if 'jid' in params else None)
        existing = find_jail(state, key) if key else None
        if 'c' in actions and existing is not None and 'm' not in actions:
            cmd.errx(1, '%s: jail %d already exists' % (key, existing['jid']))
        if existing is None and 'c' not in actions:
            cmd.errx(1, '"%s" not found' % key if key else 'jail_set: No such file or directory')
        if existing is None:
            jail = new_jail(state, params)
            if 'name' in params:
                jail['name'] = params['name']
            apply_kernel_params(cmd, jail, params, creating=True)
            if not os.path.isdir(jail['path']):
                cmd.errx(1, '%s: path %s: No such file or directory' % (jail['name'], jail['path']))
            run_hook(cmd, jail, pseudo, 'exec.prestart', inside=False)
            state['jails'][str(jail['jid'])] = jail
            jail['pseudo'] = pseudo
            if 'i' in flags:
                cmd.out(str(jail['jid']))
            elif not quiet:
                cmd.out('%s: created' % jail['name'])
            run_hook(cmd, jail, pseudo, 'exec.start', inside=True)
            run_hook(cmd, jail, pseudo, 'command', inside=True)
            run_hook(cmd, jail, pseudo, 'exec.poststart', inside=False)
        else:
            apply_kernel_params(cmd, existing, params, creating=False)
            existing.setdefault('pseudo', {}).update(pseudo)
            if not quiet:
                cmd.out('%s: updated' % existing['name'])
    return 0


def remove_jails(cmd, state, operands, skip_hooks, quiet):
    if operands == ['*']:
        operands = [j['name'] for j in sorted(state['jails'].values(), key=lambda j: j['jid'])]
    if not operands:
        cmd.bad_option()
    status = 0
    for key in operands:
        jail = find_jail(state, key)
        if jail is None:
            cmd.warnx('"%s" not found' % key)
            status = 1
            continue
        pseudo = jail.get('pseudo', {})
        if not skip_hooks:
            run_hook(cmd, jail, pseudo, 'exec.prestop', inside=False)
            run_hook(cmd, jail, pseudo, 'exec.stop', inside=True)
        del state['jails'][str(jail['jid'])]
        if not quiet:
            cmd.out('%s: removed' % jail['name'])
        if not skip_hooks:
            run_hook(cmd, jail, pseudo, 'exec.poststop', inside=False)
    return status


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
