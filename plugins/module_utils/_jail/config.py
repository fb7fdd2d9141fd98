# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""From the jail module's options to jail.conf parameters, a config file and the jail's rc.conf.

Everything here is pure: validation happens before anything on the host is
read or changed, and each function returns data the manager compares.
"""

from __future__ import annotations

import glob
import ipaddress
import os
import re

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParameterError

NAME_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_-]*\Z')
# An interface name as ifconfig(8) takes it (IFNAMSIZ 16 with the NUL); it reaches /bin/sh in exec hooks.
IFNAME_RE = re.compile(r'^[A-Za-z0-9_.]{1,15}\Z')
# An fstab(5) field: getfsent splits on blanks, and '#' starts a comment; nothing else is special,
# but control characters and backslashes have no business in a mount line either.
FSTAB_FIELD_RE = re.compile(r'^[^\s#\\\x00-\x1f\x7f\x85\u2028\u2029]+\Z')
PARAM_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*\Z')
IFNAME_MAX = 15             # IFNAMSIZ - 1
HOOKS = ('prepare', 'prestart', 'created', 'start', 'poststart', 'prestop', 'stop', 'poststop', 'release')
DEFAULT_START = ['/bin/sh /etc/rc']
DEFAULT_STOP = ['/bin/sh /etc/rc.shutdown jail']
CONF_D = '/etc/jail.conf.d'
SHARED_CONF = '/etc/jail.conf'

# Kernel parameters that `jail -m` changes in a running jail.  Everything else
# (path, vnet, mounts, exec.* hooks, ...) takes effect at the next start.
LIVE_PARAMS = frozenset(('host.hostname', 'host.domainname', 'ip4.addr', 'ip6.addr', 'securelevel',
                         'enforce_statfs', 'children.max', 'persist'))


def is_live(param):
    return param in LIVE_PARAMS or param.startswith('allow.')


def config_candidates(name):
    """Where rc.d/jail looks for one jail's configuration, in its order (src-notes section 4)."""
    return ['/etc/jail.%s.conf' % name, os.path.join(CONF_D, '%s.conf' % name), SHARED_CONF]


def host_conf_files():
    """Every file jail(8) and rc.d/jail may read a jail's block from, on this host now."""
    own = sorted(glob.glob(os.path.join(os.path.dirname(SHARED_CONF), 'jail.*.conf')))
    return [SHARED_CONF] + sorted(glob.glob(os.path.join(CONF_D, '*.conf'))) + own


def _text(parameter, value, allow_newline=False):
    value = str(value)
    if '\x00' in value or (not allow_newline and '\n' in value):
        raise ParameterError(parameter, 'must not contain NUL or newline characters: %r' % value)
    return value


def validate_name(name):
    if not name or not NAME_RE.match(name):
        raise ParameterError('name', '%r is not a usable jail name (letters, digits, "_" and "-"; it must not '
                                     'start with "-"; dots would make it a child jail)' % name)
    if name.isdigit():
        raise ParameterError('name', '%r is numeric: jail(8) would take it as a jid' % name)
    return name


def interface_name(parameter, value):
    """An interface name, refused unless it matches ifconfig's grammar (it is written into sh hooks)."""
    value = str(value)
    if not IFNAME_RE.match(value):
        raise ParameterError(parameter, '%r is not an interface name (1-15 letters, digits, "_" or ".")' % value)
    return value


def epair_names(params):
    """(host side, jail side) interface names of the VNET epair."""
    vnet = params['vnet']
    base = vnet.get('epair') or 'ej_' + params['name'].replace('-', '_')
    if len(base) + 1 > IFNAME_MAX or not re.match(r'^[A-Za-z][A-Za-z0-9_]*\Z', base):
        raise ParameterError('vnet.epair', 'interface base name %r must start with a letter, use letters, digits '
                                           'and "_" only and be at most %d characters (set vnet.epair for long '
                                           'jail names)' % (base, IFNAME_MAX - 1))
    return base + 'a', base + 'b'


def _address(parameter, value, family=None):
    """'10.0.0.5/24' or 'em0|10.0.0.5/24' -> the interface (or None) and the interface address.

    Each part is checked on its own: the interface against ifconfig's grammar,
    the address (with an optional prefix or netmask) by ipaddress; nothing else
    may be in the value, so it cannot carry a second word into jail.conf.
    """
    value = _text(parameter, value)
    iface, separator, spec = value.strip().rpartition('|')
    if separator:
        interface_name(parameter, iface)
    try:
        if any(c.isspace() for c in spec) or spec.count('%') > 1:
            raise ValueError(spec)
        address = ipaddress.ip_interface(spec)
    except ValueError:
        raise ParameterError(parameter, '%r is not an address (expected ADDR or ADDR/PREFIX, optionally '
                                        'prefixed by "interface|")' % value)
    scope = getattr(address, 'scope_id', None)
    if scope is not None:
        interface_name(parameter, scope)
    if family and address.version != family:
        raise ParameterError(parameter, '%r is not an IPv%d address' % (value, family))
    return (iface if separator else None), address


def canonical_address(parameter, value, family=None):
    """The ip4.addr/ip6.addr entry as written to jail.conf: the address in the kernel's canonical
    form (so 2001:DB8::1 and 2001:db8::1 compare equal), the prefix kept when one was given."""
    iface, address = _address(parameter, value, family)
    spec = str(address.ip)
    if '/' in value:
        spec += '/%d' % address.network.prefixlen
    return ('%s|%s' % (iface, spec)) if iface else spec


def kernel_address(value):
    """What the kernel reports for a configured ip4.addr/ip6.addr entry: the bare address, canonical."""
    spec = value.rpartition('|')[2].split()[0].split('/')[0]
    try:
        return str(ipaddress.ip_address(spec))
    except ValueError:
        return spec


def _hooks(params, defaults):
    """exec.* parameters, with FreeBSD's usual start/stop defaults when none are given."""
    given = params.get('exec') or {}
    result = {}
    hooks = dict((hook, given.get(hook)) for hook in HOOKS)
    if defaults and hooks['start'] is None and hooks['stop'] is None:
        hooks['start'], hooks['stop'] = list(DEFAULT_START), list(DEFAULT_STOP)
    for hook in HOOKS:
        commands = [_text('exec.%s' % hook, c) for c in (hooks[hook] or [])]
        if commands:
            result['exec.' + hook] = commands
    for key in ('jail_user', 'system_user', 'consolelog', 'timeout'):
        if given.get(key) is not None:
            result['exec.' + key] = _text('exec.%s' % key, given[key])
    clean = given.get('clean')
    if clean is None and defaults:
        clean = True
    if clean is not None:
        result['exec.clean'] = bool(clean)
    return result


def _vnet_hooks(params, host_if, jail_if):
    """Create the epair before the jail and destroy it after; the jail side is moved in by jail(8)."""
    bridge = params['vnet'].get('bridge')
    # Every name below matched IFNAME_RE (letters, digits, "_" and "."), so none needs quoting for sh.
    # jail(8) runs no exec.poststop when a start fails after exec.prestart (command.c skips the exec
    # hooks while undoing a failed create), so a pair such a start left is destroyed first; the jail is
    # not running here (jail(8) refuses to create a running jail before any hook), so the pair is no
    # one's. Every later failure destroys the new pair again: a start can always be retried.
    create = ('/sbin/ifconfig %(a)s destroy 2>/dev/null; e=$(/sbin/ifconfig epair create) || exit 1; '
              '/sbin/ifconfig "$e" name %(a)s up || { /sbin/ifconfig "$e" destroy; exit 1; }; '
              '/sbin/ifconfig "${e%%a}b" name %(b)s up || { /sbin/ifconfig %(a)s destroy; exit 1; }'
              % {'a': host_if, 'b': jail_if})
    if bridge:
        create += _ADDM_FORMAT % {'bridge': bridge, 'a': host_if}
    hooks = {'prestart': [create], 'poststop': ['/sbin/ifconfig %s destroy' % host_if]}
    if host_configured(params['vnet']):
        hooks['poststart'] = [host_network_hook(params, jail_if)]
    return hooks


def host_configured(vnet):
    """Whether the host configures the jail's network (vnet.configure: host), not the jail's own rc."""
    return bool(vnet) and vnet.get('configure') == 'host'


# The host's hook that configures a VNET jail's network (vnet.configure: host), for a userland that
# runs no rc of FreeBSD (a Linux jail): one exec.poststart command, found again by its first step.
# exec.poststart runs in the host after vnet.interface has moved the epair's side into the jail.
_HOST_NET_FIRST = '/sbin/ifconfig -j %s lo0 inet 127.0.0.1/8 up'
_HOST_NET = re.compile(r'/sbin/ifconfig -j (\S+) lo0 inet 127\.0\.0\.1/8 up( && .*)?\Z')
_HOST_NET_ADDRESS = re.compile(r' (inet6?) (\S+) alias(?= &&|\Z)')
_HOST_NET_ROUTE = re.compile(r'/sbin/route -j \S+ add (-inet6 )?default (\S+)')


def host_network_hook(params, jail_if):
    """``ifconfig -j`` and ``route -j`` from the host: lo0, the epair's side and its addresses, the default
    routes; every word was checked by its grammar (jail name, interface name, ipaddress), so none needs
    quoting for sh."""
    name = params['name']
    vnet = params['vnet']
    steps = [_HOST_NET_FIRST % name, '/sbin/ifconfig -j %s %s up' % (name, jail_if)]
    wanted = declared_addresses(vnet)
    steps += ['/sbin/ifconfig -j %s %s inet %s alias' % (name, jail_if, a) for a in wanted['inet']]
    if wanted['inet6']:
        # A new interface has IPv6 disabled (nd6 IFDISABLED) until told, as rc.d/netif does.
        steps.append('/sbin/ifconfig -j %s %s inet6 -ifdisabled' % (name, jail_if))
    steps += ['/sbin/ifconfig -j %s %s inet6 %s alias' % (name, jail_if, a) for a in wanted['inet6']]
    routers = gateways(vnet)
    if routers.get('defaultrouter'):
        steps.append('/sbin/route -j %s add default %s' % (name, routers['defaultrouter']))
    if routers.get('ipv6_defaultrouter'):
        steps.append('/sbin/route -j %s add -inet6 default %s' % (name, routers['ipv6_defaultrouter']))
    return ' && '.join(steps)


def network_of(poststart):
    """What :func:`host_network_hook`'s command of ``exec.poststart`` sets (None: there is none), and the
    other commands: ({'addresses': [...], 'gateway': G, 'gateway6': G6}, [other commands])."""
    hooks = poststart if isinstance(poststart, list) else ([poststart] if poststart else [])
    found = None
    rest = []
    for hook in hooks:
        if found is None and _HOST_NET.match(hook):
            routes = dict(('gateway6' if m.group(1) else 'gateway', m.group(2)) for m in _HOST_NET_ROUTE.finditer(hook))
            found = dict(addresses=[m.group(2) for m in _HOST_NET_ADDRESS.finditer(hook)],
                         gateway=routes.get('gateway'), gateway6=routes.get('gateway6'))
        else:
            rest.append(hook)
    return found, rest


_ADDM_FORMAT = '; /sbin/ifconfig %(bridge)s addm %(a)s || { /sbin/ifconfig %(a)s destroy; exit 1; }'
# The hook's bridge step: as written now, and as earlier versions wrote it (read from existing files).
_ADDM = re.compile(r'(?:; /sbin/ifconfig (\S+) addm (\S+) \|\| \{ /sbin/ifconfig \2 destroy; exit 1; \}'
                   r'| && /sbin/ifconfig (\S+) addm \S+)$')


def bridge_of(prestart):
    """The bridge :func:`_vnet_hooks`'s epair hook adds the jail to (None: none), and the hooks without it."""
    hooks = prestart if isinstance(prestart, list) else ([prestart] if prestart else [])
    found = [m.group(1) or m.group(3) for m in (_ADDM.search(h) for h in hooks) if m]
    return (found[0] if found else None), [_ADDM.sub('', h) for h in hooks]


def _allow(flags):
    result = {}
    for flag in flags or []:
        flag = _text('allow', flag).strip()
        if flag.startswith('allow.'):
            flag = flag[len('allow.'):]
        negative = flag.startswith('no')
        key = 'allow.' + (flag[2:] if negative else flag)
        if not PARAM_RE.match(key):
            raise ParameterError('allow', '%r is not an allow.* flag name' % flag)
        result[key] = not negative
    return result


def _scalar(parameter, value):
    if isinstance(value, bool):
        return value
    if isinstance(value, (list, tuple)):
        return [_text(parameter, v) for v in value]
    return _text(parameter, value)


def desired_params(params, defaults=True):
    """The jail's parameters in jail.conf order, from the module options (validated).

    ``defaults`` adds what a new jail gets unless told otherwise (exec.start of
    /etc/rc, exec.stop of rc.shutdown, exec.clean, mount.devfs); it is off for
    a block written by hand, where only the options given are set.
    """
    name = params['name']
    result = {}
    if params.get('path'):
        result['path'] = _text('path', params['path'])
    if params.get('hostname') is not None:
        result['host.hostname'] = _text('hostname', params['hostname'])
    vnet = params.get('vnet')
    for option, key, family in (('ip4', 'ip4.addr', 4), ('ip6', 'ip6.addr', 6)):
        if params.get(option) is not None:
            if vnet:
                raise ParameterError(option, 'a VNET jail has its own network stack: set vnet.addresses instead')
            result[key] = [canonical_address(option, v, family) for v in params[option]]
    if params.get('interface'):
        result['interface'] = interface_name('interface', params['interface'])
    hooks = _hooks(params, defaults)
    if vnet:
        if vnet.get('bridge') is not None:
            interface_name('vnet.bridge', vnet['bridge'])
        host_if, jail_if = epair_names(params)
        result['vnet'] = True
        result['vnet.interface'] = [jail_if]
        for hook, commands in _vnet_hooks(params, host_if, jail_if).items():
            hooks['exec.' + hook] = commands + hooks.get('exec.' + hook, [])
    for option, key in (('devfs_ruleset', 'devfs_ruleset'), ('securelevel', 'securelevel'),
                        ('enforce_statfs', 'enforce_statfs'), ('children_max', 'children.max')):
        if params.get(option) is not None:
            result[key] = str(params[option])
    result.update(_allow(params.get('allow')))
    if params.get('persist') is not None:
        result['persist'] = bool(params['persist'])
    mount_devfs = params.get('mount_devfs')
    if mount_devfs is not None or defaults:
        result['mount.devfs'] = True if mount_devfs is None else bool(mount_devfs)
    if params.get('mount_fstab'):
        result['mount.fstab'] = _text('mount_fstab', params['mount_fstab'])
    mounts = []
    for entry in params.get('mounts') or []:
        mounts.append(fstab_line(params, entry))
    if mounts:
        result['mount'] = mounts
    for key in ('exec.prepare', 'exec.prestart', 'exec.created', 'exec.start', 'exec.poststart', 'exec.prestop',
                'exec.stop', 'exec.poststop', 'exec.release', 'exec.jail_user', 'exec.system_user',
                'exec.consolelog', 'exec.timeout', 'exec.clean'):
        if key in hooks:
            result[key] = hooks[key]
    if params.get('depend'):
        for other in params['depend']:
            validate_name(other)
            if other == name:
                raise ParameterError('depend', 'a jail cannot depend on itself')
        result['depend'] = list(params['depend'])
    for key, value in (params.get('parameters') or {}).items():
        if not PARAM_RE.match(key) or key in ('name', 'jid'):
            raise ParameterError('parameters', '%r is not a jail parameter name that can be set here' % key)
        if key in result:
            raise ParameterError('parameters', '%r is set by a dedicated option; use that option' % key)
        result[key] = None if value is None else _scalar('parameters.%s' % key, value)
    return result


def _fstab_field(parameter, value):
    value = _text(parameter, value)
    if not FSTAB_FIELD_RE.match(value):
        raise ParameterError(parameter, '%r must be non-empty, without blanks, "#", backslashes or control '
                                        'characters (it becomes one field of an fstab line)' % value)
    return value


def fstab_line(params, entry):
    """One ``mount`` entry (fstab(5) format); the target is inside the jail's root."""
    source = _fstab_field('mounts.source', entry['source'])
    target = _fstab_field('mounts.target', entry['target'])
    if not target.startswith('/') or '..' in target.split('/'):
        raise ParameterError('mounts.target', '%r must be an absolute path inside the jail' % target)
    fstype = _fstab_field('mounts.type', entry['type'])
    options = _fstab_field('mounts.options', entry['options'])
    root = _fstab_field('path', params['path']).rstrip('/')
    return '%s %s%s %s %s 0 0' % (source, root, os.path.normpath(target).rstrip('/') or '/', fstype, options)


def jail_rc_vars(params, jail_if, current):
    """rc.conf variables inside a VNET jail: the epair's addresses and the default routes.

    ``current`` is the jail's rc.conf as read; stale ``ifconfig_<if>_aliasN``
    entries from an earlier address list are removed.
    """
    vnet = params['vnet']
    wanted = {}
    if vnet.get('addresses') is not None:
        found = declared_addresses(vnet)
        v4, v6 = found['inet'], found['inet6']
        key = 'ifconfig_%s' % jail_if
        wanted[key] = ('inet %s' % v4[0]) if v4 else ('up' if v6 else None)
        for number, address in enumerate(v4[1:]):
            wanted['%s_alias%d' % (key, number)] = 'inet %s' % address
        wanted['%s_ipv6' % key] = ('inet6 %s' % v6[0]) if v6 else None
        offset = max(len(v4) - 1, 0)
        for number, address in enumerate(v6[1:]):
            wanted['%s_alias%d' % (key, offset + number)] = 'inet6 %s' % address
        for existing in current:
            if existing.startswith(key + '_alias') and existing not in wanted:
                wanted[existing] = None
    wanted.update(gateways(vnet))
    return wanted


def gateways(vnet):
    """{'defaultrouter': G, 'ipv6_defaultrouter': G6} of vnet.gateway and vnet.gateway6 (those set), canonical."""
    found = {}
    for option, key, family in (('gateway', 'defaultrouter', 4), ('gateway6', 'ipv6_defaultrouter', 6)):
        if vnet.get(option):
            try:
                address = ipaddress.ip_address(vnet[option])
            except ValueError:
                raise ParameterError('vnet.%s' % option, '%r is not an address' % vnet[option])
            if address.version != family:
                raise ParameterError('vnet.%s' % option, '%r is not an IPv%d address' % (vnet[option], family))
            found[key] = str(address)
    return found


def declared_addresses(vnet):
    """{'inet'|'inet6': [ADDR/PREFIX, ...]} of vnet.addresses, canonical, in declared order."""
    found = {'inet': [], 'inet6': []}
    for value in vnet.get('addresses') or []:
        iface, address = _address('vnet.addresses', value)
        if iface:
            raise ParameterError('vnet.addresses', '%r: the interface is always the jail side of the epair' % value)
        found['inet' if address.version == 4 else 'inet6'].append(address.with_prefixlen)
    return found


_DIGITS = re.compile(r'[0-9]+\Z')


def rc_addresses(rc_vars, jail_if):
    """{'inet'|'inet6': [ADDR/PREFIX, ...]} configured for the epair in a jail's rc.conf."""
    found = {'inet': [], 'inet6': []}
    key = 'ifconfig_%s' % jail_if
    aliases = sorted((n for n in rc_vars if n.startswith(key + '_alias') and _DIGITS.match(n[len(key) + 6:])),
                     key=lambda n: int(n[len(key) + 6:]))
    for name in [n for n in (key, key + '_ipv6') if n in rc_vars] + aliases:
        words = rc_vars[name].split()
        for index, word in enumerate(words[:-1]):
            if word in ('inet', 'inet6'):
                found[word].append(words[index + 1])
    return found
