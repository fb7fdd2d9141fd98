"""ifconfig(8) and route(8) over simulated interfaces: em0/lo0, cloned bridge, epair and tap.

Interfaces are records in the instance state; nothing touches Linux networking.
Output follows src-notes section 9 (bridge_status) and the generic ifconfig
lines; flag words and ether addresses are made up but stable.  Every VNET jail
has a lo0 of its own, down and without addresses until configured (if_loop
makes one in every vnet); its record is kept as ``lo0@JAIL``.  A routing table
(the host's, or a VNET jail's) holds static routes; a gateway must be on a
network of an interface that its vnet has.
"""

import ipaddress
import re

from fbsd import store
from fbsd.prison import find_jail
from fbsd.core import Command, Exit, getopt, locked_state

IFF = (('UP', 0x1), ('BROADCAST', 0x2), ('LOOPBACK', 0x8), ('RUNNING', 0x40), ('PROMISC', 0x100),
       ('SIMPLEX', 0x800), ('MULTICAST', 0x8000), ('LOWER_UP', 0x1000000))
CLONERS = ('bridge', 'epair', 'tap', 'lo', 'vlan')
USAGE = ['usage: ifconfig [-j jail] [-f type:format] %s [address_family]',
         '                [address [dest_address]] [parameters]',
         '       ifconfig [-j jail] interface create',
         '       ifconfig [-j jail] -a [-dkmuvW] [-C] [-G groupname] [-g groupname] [address_family]',
         '       ifconfig -l [-du] [-g groupname] [address_family]',
         '       ifconfig [-j jail] [-dkmuvWC] [-g groupname]']


def initial_interfaces():
    return {
        'em0': {'kind': 'ether', 'index': 1, 'up': True, 'mtu': 1500, 'ether': '52:54:00:12:34:56',
                'inet': [{'addr': '10.0.2.15', 'prefix': 24}], 'inet6': [], 'vnet': None},
        'lo0': {'kind': 'loop', 'index': 2, 'up': True, 'mtu': 16384, 'ether': None,
                'inet': [{'addr': '127.0.0.1', 'prefix': 8}],
                'inet6': [{'addr': '::1', 'prefix': 128}], 'vnet': None},
    }


def interfaces(state):
    net = state.setdefault('net', {})
    if 'ifaces' not in net:
        net['ifaces'] = initial_interfaces()
        net['next_index'] = 3
    return net['ifaces']


def visible(iface, jail):
    """In the host's vnet (jail None) or in the named jail's vnet."""
    return iface.get('vnet') == jail


def key_of(ifaces, name, view):
    """The record of the interface ``name`` as the vnet ``view`` sees it (a jail's own lo0 first)."""
    if view is not None and '%s@%s' % (name, view) in ifaces:
        return '%s@%s' % (name, view)
    return name


def shown(key):
    """The interface name of a record's key."""
    return key.partition('@')[0]


def vnet_made(state, jail_name):
    """A new vnet: its own loopback, down, without addresses."""
    iface = new_iface(state, 'lo0@%s' % jail_name, 'loop')
    iface.update(mtu=16384, ether=None, vnet=jail_name)


def vnet_gone(state, jail_name):
    """The jail's vnet is destroyed: its loopback with it, the interfaces it was given back to the host."""
    ifaces = interfaces(state)
    for key, iface in store.where(ifaces, 'vnet', jail_name):
        if '@' in key:
            ifaces.pop(key, None)
        else:
            iface['vnet'] = None


def new_iface(state, name, kind):
    ifaces = interfaces(state)
    net = state['net']
    index = net['next_index']
    net['next_index'] = index + 1
    iface = {'kind': kind, 'index': index, 'up': False, 'mtu': 1500, 'inet': [], 'inet6': [], 'vnet': None,
             'ether': '58:9c:fc:%02x:%02x:%02x' % (index >> 16 & 255, index >> 8 & 255, index & 255)}
    if kind == 'bridge':
        iface['members'] = []
    ifaces[name] = iface
    return iface


def next_unit(existing, prefix, suffix=''):
    """The lowest unit not in use (the kernel's unr(9) allocator), ``existing`` being names."""
    existing = set(existing)
    unit = 0
    while '%s%d%s' % (prefix, unit, suffix) in existing:
        unit += 1
    return unit


class IfError(Exception):
    pass


def clone_create(state, requested):
    """bridge / bridge3 / epair / tap ... -> the interface name(s) made."""
    ifaces = interfaces(state)
    match = re.match(r'^([a-z]+)(\d*)$', requested)
    if not match or match.group(1) not in CLONERS:
        raise IfError('SIOCIFCREATE2 (%s): Invalid argument' % requested)
    prefix, unit = match.groups()
    if prefix == 'epair':
        # if_epair allocates units from its own unr(9) pool: a renamed pair keeps its unit.
        units = state['net'].setdefault('epair_units', [])
        unit = int(unit) if unit else next_unit(['epair%d' % u for u in units], 'epair')
        if unit in units or 'epair%da' % unit in ifaces:
            raise IfError('SIOCIFCREATE2 (%s): File exists' % requested)
        units.append(unit)
        for side in 'ab':
            new_iface(state, 'epair%d%s' % (unit, side), 'epair')['pair'] = unit
        return 'epair%da' % unit
    unit = int(unit) if unit else next_unit(ifaces, prefix)
    name = '%s%d' % (prefix, unit)
    if name in ifaces:
        raise IfError('SIOCIFCREATE2 (%s): File exists' % requested)
    new_iface(state, name, prefix)
    return name


def destroy(state, name):
    ifaces = interfaces(state)
    iface = ifaces[name]
    if iface['kind'] not in CLONERS and iface['kind'] != 'epair':
        raise IfError('SIOCIFDESTROY: Invalid argument')
    names = [name]
    if iface['kind'] == 'epair':
        # Destroying either side destroys the pair, whatever the sides are named now and wherever they are.
        names = [key for key, unused in store.where(ifaces, 'pair', iface['pair'])]
        units = state['net'].get('epair_units', [])
        if iface['pair'] in units:
            units.remove(iface['pair'])
    for gone in names:
        for unused, other in store.where(ifaces, 'kind', 'bridge'):
            if gone in other['members']:
                other['members'].remove(gone)
        ifaces.pop(gone, None)


def parse_inet(words, index):
    """'10.0.0.1/24' or '10.0.0.1 netmask 0xffffff00' -> (addr, prefix, next index)."""
    text = words[index]
    index += 1
    if '/' in text:
        addr, prefix = text.split('/', 1)
        prefix = int(prefix)
    else:
        addr, prefix = text, None
    if index + 1 < len(words) and words[index] == 'netmask':
        mask = words[index + 1]
        value = int(mask, 16) if mask.startswith('0x') else int(ipaddress.IPv4Address(mask))
        prefix = bin(value).count('1')
        index += 2
    ipaddress.IPv4Address(addr)
    return addr, 32 if prefix is None else prefix, index


def set_address(iface, family, addr, prefix, alias, remove):
    key = 'inet' if family == 'inet' else 'inet6'
    current = iface[key]
    entry = {'addr': addr, 'prefix': prefix}
    if remove:
        kept = [a for a in current if a['addr'] != addr]
        if len(kept) == len(current):
            raise IfError('ioctl (SIOCDIFADDR): Can\'t assign requested address')
        iface[key] = kept
        return
    if alias:
        iface[key] = [a for a in current if a['addr'] != addr] + [entry]
    else:
        iface[key] = [entry] + [a for a in current[1:] if a['addr'] != addr]
    iface['up'] = True


def apply(cmd, state, name, words, jail_view):
    ifaces = interfaces(state)
    iface = ifaces[name]
    index = 0
    family = None
    while index < len(words):
        word = words[index]
        index += 1
        if word in ('up', 'down'):
            iface['up'] = word == 'up'
        elif word in ('inet', 'inet6'):
            family = word
        elif word == 'destroy':
            destroy(state, name)
            return
        elif word in ('addm', 'deletem'):
            if iface['kind'] != 'bridge' or index >= len(words):
                raise IfError('%s: bad value' % word)
            member = words[index]
            index += 1
            if word == 'addm':
                if member not in ifaces or not visible(ifaces[member], jail_view):
                    raise IfError('BRDGADD %s: No such file or directory' % member)
                if member in iface['members']:
                    raise IfError('BRDGADD %s: File exists' % member)
                if any(member in other['members'] for unused, other in store.where(ifaces, 'kind', 'bridge')):
                    raise IfError('BRDGADD %s: Device busy' % member)
                iface['members'].insert(0, member)
            else:
                if member not in iface['members']:
                    raise IfError('BRDGDEL %s: No such file or directory' % member)
                iface['members'].remove(member)
        elif word in ('mtu',) and index < len(words):
            iface['mtu'] = int(words[index])
            index += 1
        elif word in ('description', 'descr') and index < len(words):
            iface['description'] = words[index]
            index += 1
        elif word in ('-description', '-descr'):
            iface.pop('description', None)
        elif word == 'name' and index < len(words):
            new = words[index]
            index += 1
            own = '@' in name
            new_key = '%s@%s' % (new, name.partition('@')[2]) if own else new
            if new in ifaces or new_key in ifaces:
                raise IfError('ioctl SIOCSIFNAME (set name): File exists')
            ifaces[new_key] = ifaces.pop(name)
            for unused, other in store.where(ifaces, 'kind', 'bridge'):
                other['members'] = [new if m == name else m for m in other['members']]
            cmd.out(new)
            name = new_key
        elif word in ('vnet', '-vnet') and index < len(words):
            target = words[index]
            index += 1
            move_vnet(state, name, target, word == 'vnet')
        elif word in ('ifdisabled', '-ifdisabled'):
            iface['ifdisabled'] = word == 'ifdisabled'
        elif word in ('alias', 'add', '-alias', 'delete', '-delete'):
            continue
        elif family or re.match(r'^[0-9a-fA-F:.]+(/\d+)?$', word):
            family = family or ('inet6' if ':' in word else 'inet')
            remove = '-alias' in words[index:] or 'delete' in words[index:] or '-delete' in words[index:]
            alias = 'alias' in words[index:] or 'add' in words[index:]
            if family == 'inet':
                try:
                    addr, prefix, index = parse_inet(words, index - 1)
                except ValueError:
                    raise IfError('error in parsing address string: hostname nor servname provided, '
                                  'or not known')
            else:
                addr, prefix = (word + '/').split('/')[:2]
                prefix = int(prefix) if prefix else 64
                if index + 1 < len(words) and words[index] == 'prefixlen':
                    prefix = int(words[index + 1])
                    index += 2
            set_address(iface, family, addr, prefix, alias, remove)
        else:
            raise IfError('%s: bad value' % word) if word.isdigit() else IfError('%s: bad command' % word)


def move_vnet(state, name, jail_key, into):
    jail = find_jail(state, jail_key)
    if jail is None:
        raise IfError('jail "%s" not found' % jail_key)
    iface = interfaces(state)[name]
    if iface['kind'] == 'loop':
        raise IfError('SIOCSIFVNET: Operation not permitted')     # lo0 stays in its vnet [mem]
    if into:
        if jail.get('vnet') != 'new':
            raise IfError('SIOCSIFVNET: Invalid argument')
        iface['vnet'] = jail['name']
    else:
        iface['vnet'] = None


def flags_text(iface):
    words = []
    value = 0
    wanted = {'UP': iface['up'], 'BROADCAST': iface['kind'] != 'loop', 'LOOPBACK': iface['kind'] == 'loop',
              'RUNNING': iface['up'] or iface['kind'] == 'bridge', 'SIMPLEX': iface['kind'] != 'loop',
              'MULTICAST': True, 'LOWER_UP': iface['up'] and iface['kind'] != 'tap'}
    for word, bit in IFF:
        if wanted.get(word):
            words.append(word)
            value |= bit
    return '%x<%s>' % (value, ','.join(words))


def describe(state, name):
    iface = interfaces(state)[name]
    lines = ['%s: flags=%s metric 0 mtu %d' % (shown(name), flags_text(iface), iface['mtu'])]
    if iface.get('description'):
        lines.append('\tdescription: %s' % iface['description'])
    lines.append('\toptions=0' if iface['kind'] != 'ether' else '\toptions=4e524bb<RXCSUM,TXCSUM,VLAN_MTU>')
    if iface['ether']:
        lines.append('\tether %s' % iface['ether'])
    for entry in iface['inet']:
        network = ipaddress.IPv4Network('%s/%d' % (entry['addr'], entry['prefix']), strict=False)
        line = '\tinet %s netmask 0x%08x' % (entry['addr'], int(network.netmask))
        if iface['kind'] != 'loop':
            line += ' broadcast %s' % network.broadcast_address
        lines.append(line)
    for entry in iface['inet6']:
        lines.append('\tinet6 %s prefixlen %d' % (entry['addr'], entry['prefix']))
    if iface['kind'] == 'bridge':
        lines.append('\tid 00:00:00:00:00:00 priority 32768 hellotime 2 fwddelay 15')
        lines.append('\tmaxage 20 holdcnt 6 proto rstp maxaddr 2000 timeout 1200')
        lines.append('\troot id 00:00:00:00:00:00 priority 32768 ifcost 0 port 0')
        for member in iface['members']:
            info = interfaces(state).get(member, {'index': 0, 'kind': 'ether'})
            cost = 20000 if info['kind'] == 'ether' else 2000000
            lines.append('\tmember: %s flags=143<LEARNING,DISCOVER,AUTOEDGE,AUTOPTP>' % member)
            lines.append('\t        ifmaxaddr 0 port %d priority 128 path cost %d' % (info['index'], cost))
    if iface['kind'] in CLONERS + ('epair',):
        lines.append('\tgroups: %s' % iface['kind'])
    if iface.get('opened_by'):
        lines.append('\tOpened by PID %d' % iface['opened_by'])
    if iface['kind'] in ('ether', 'epair', 'tap'):
        lines.append('\tmedia: Ethernet autoselect (10Gbase-T <full-duplex>)' if iface['kind'] == 'epair'
                     else '\tmedia: Ethernet autoselect')
        lines.append('\tstatus: %s' % ('active' if iface['up'] and iface['kind'] != 'tap' else 'no carrier'))
    if iface.get('ifdisabled', True):
        lines.append('\tnd6 options=29<PERFORMNUD,IFDISABLED,AUTO_LINKLOCAL>')
    else:
        lines.append('\tnd6 options=21<PERFORMNUD,AUTO_LINKLOCAL>')
    return lines


def visible_names(ifaces, jail_view):
    """The interfaces a view sees, in creation order, from the index (only -l and listings need
    them: most calls name one interface and read nothing else)."""
    # A jail's own lo0 is the first of its vnet; the interfaces moved in follow.
    return sorted((n for n in ifaces if store.field_of(ifaces, n, 'vnet') == jail_view),
                  key=lambda n: ('@' not in n, store.field_of(ifaces, n, 'index')))


def ifconfig_main(prog, args):
    cmd = Command(prog, [line % 'interface' if '%s' in line else line for line in USAGE])
    options, operands = getopt(cmd, args, 'adf:G:g:j:klmuvWC')
    opts = dict(options)
    jail_view = None
    with locked_state() as state:
        ifaces = interfaces(state)
        if 'j' in opts:
            jail = find_jail(state, opts['j'])
            if jail is None:
                cmd.errx(1, 'jail "%s" not found' % opts['j'])
            jail_view = jail['name']
        if 'l' in opts:
            cmd.out(' '.join(shown(key) for key in visible_names(ifaces, jail_view)))
            return 0
        if not operands or 'a' in opts:
            for name in visible_names(ifaces, jail_view):
                for line in describe(state, name):
                    cmd.out(line)
            return 0
        name, words = key_of(ifaces, operands[0], jail_view), operands[1:]
        try:
            if words[:1] == ['create']:
                made = clone_create(state, name)
                if made != name:
                    cmd.out(made)
                name, words = made, words[1:]
            elif name not in ifaces or not visible(ifaces[name], jail_view):
                cmd.errx(1, 'interface %s does not exist' % shown(name))
            if not words and name in ifaces:
                if operands[1:2] != ['create']:
                    for line in describe(state, name):
                        cmd.out(line)
                return 0
            apply(cmd, state, name, words, jail_view)
        except IfError as exc:
            cmd.errx(1, str(exc))
    return 0


# ---------------------------------------------------------------- route(8)

ROUTE_USAGE = ['usage: route [-j jail] [-46dnqtv] command [[modifiers] args]']
ROUTE_COMMANDS = ('add', 'delete', 'change', 'get', 'show')


class RouteError(Exception):
    pass


def route_table(state, jail):
    """The static routes of a vnet: {'inet'|'inet6': {destination: gateway}} (the host's when jail is None)."""
    holder = jail if jail is not None else state.setdefault('net', {})
    table = holder.setdefault('routes', {})
    for family in ('inet', 'inet6'):
        table.setdefault(family, {})
    return table


def gateway_interface(state, view, gateway):
    """The interface of the vnet whose network holds ``gateway`` (None: unreachable)."""
    address = ipaddress.ip_address(gateway)
    family = 'inet' if address.version == 4 else 'inet6'
    ifaces = interfaces(state)
    for key in visible_names(ifaces, view):
        iface = ifaces[key]
        for entry in iface[family] if iface['up'] else []:
            if address in ipaddress.ip_interface('%s/%d' % (entry['addr'], entry['prefix'])).network:
                return shown(key)
    return None


def set_route(state, jail, family, destination, gateway, verb='add'):
    """add/change/delete one route of the vnet of ``jail`` (None: the host); raises RouteError(errno text)."""
    view = jail['name'] if jail is not None else None
    table = route_table(state, jail)[family]
    if verb == 'delete':
        if destination not in table:
            raise RouteError('not in table')
        del table[destination]
        return
    if verb == 'add' and destination in table:
        raise RouteError('route already in table')
    if verb == 'change' and destination not in table:
        raise RouteError('not in table')
    if gateway_interface(state, view, gateway) is None:
        raise RouteError('Network is unreachable')
    table[destination] = gateway


ERRNO_OF = {'route already in table': 'File exists', 'not in table': 'No such process',
            'Network is unreachable': 'Network is unreachable'}


def _destination(cmd, word, family):
    """'default' or ADDR[/PREFIX] of the family, as the table keys it."""
    if word == 'default':
        return 'default'
    try:
        network = ipaddress.ip_network(word, strict=False)
    except ValueError:
        cmd.errx(1, 'bad address: %s' % word)     # route.c getaddr: hostnames are not resolved here
    if family and ('inet6' if network.version == 6 else 'inet') != family:
        cmd.errx(1, 'bad address: %s' % word)
    return str(network)


def route_main(prog, args):
    """route [-j jail] [-46dnqtv] add|delete|change|get|show [-inet|-inet6|-net|-host] DEST [GATEWAY]."""
    cmd = Command(prog, ROUTE_USAGE)
    options, operands = getopt(cmd, args, '46dj:nqtv')
    opts = dict(options)
    if not operands or operands[0] not in ROUTE_COMMANDS:
        if operands:
            cmd.warnx('bad keyword: %s' % operands[0])
        cmd.usage(*ROUTE_USAGE, status=64)
    verb = 'get' if operands[0] == 'show' else operands[0]
    family = 'inet6' if '6' in opts else ('inet' if '4' in opts else None)
    forced = None
    words = []
    for word in operands[1:]:
        if word in ('-inet', '-4', '-inet6', '-6'):
            family = 'inet6' if '6' in word else 'inet'
        elif word in ('-net', '-host'):
            forced = word[1:]
        elif word.startswith('-'):
            cmd.warnx('bad keyword: %s' % word[1:])
            cmd.usage(*ROUTE_USAGE, status=64)
        else:
            words.append(word)
    needed = 1 if verb in ('get', 'delete') else 2
    if len(words) < needed or len(words) > 2:
        cmd.usage(*ROUTE_USAGE, status=64)
    with locked_state(write=verb != 'get') as state:
        jail = None
        if 'j' in opts:
            jail = find_jail(state, opts['j'])
            if jail is None:
                cmd.errx(1, 'jail "%s" not found' % opts['j'])
            if jail.get('vnet') != 'new':
                cmd.errx(1, 'jail "%s": it has no vnet of its own' % opts['j'])   # [mem]
        destination = _destination(cmd, words[0], family)
        family = family or ('inet6' if ':' in destination or (len(words) > 1 and ':' in words[1]) else 'inet')
        host = destination.endswith(('/32', '/128'))
        shown_dest = destination.split('/', maxsplit=1)[0] if host else destination
        kind = forced or ('host' if host else 'net')
        table = route_table(state, jail)[family]
        if verb == 'get':
            cmd.out('   route to: %s' % shown_dest)
            if destination not in table:
                cmd.errx(1, 'route has not been found')
            gateway = table[destination]
            view = jail['name'] if jail is not None else None
            for line in ('destination: %s' % shown_dest, '       mask: %s' % (
                    'default' if destination == 'default' else destination.partition('/')[2]),
                    '    gateway: %s' % gateway, '        fib: 0',
                    '  interface: %s' % (gateway_interface(state, view, gateway) or '?'),
                    '      flags: <UP,GATEWAY,DONE,STATIC>',
                    ' recvpipe  sendpipe  ssthresh  rtt,msec    mtu        weight    expire',
                    '       0         0         0         0      1500         1         0'):
                cmd.out(line)
            return 0
        gateway = words[1] if len(words) > 1 else None
        if gateway is not None:
            try:
                version = ipaddress.ip_address(gateway).version
            except ValueError:
                version = None
            if version != (6 if family == 'inet6' else 4):
                cmd.errx(1, 'bad address: %s' % gateway)
        head = '%s %s %s' % (verb, kind, shown_dest) + (': gateway %s' % gateway if gateway else '')
        try:
            set_route(state, jail, family, destination, gateway, verb)
        except RouteError as exc:
            # route.c over netlink: the kernel's errno, then the line with the reason [mem for all but EEXIST].
            cmd.warnx('message indicates error: %s' % ERRNO_OF[str(exc)])
            cmd.out('%s fib 0: %s' % (head, exc))
            raise Exit(1)
        if 'q' not in opts:
            cmd.out(head)
    return 0
