"""ifconfig(8) over simulated interfaces: em0/lo0, cloned bridge, epair and tap.

Interfaces are records in the instance state; nothing touches Linux networking.
Output follows src-notes section 9 (bridge_status) and the generic ifconfig
lines; flag words and ether addresses are made up but stable.
"""

import ipaddress
import re

from fbsd import store
from fbsd.prison import find_jail
from fbsd.core import Command, getopt, locked_state

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


def new_iface(state, name, kind):
    net = state['net']
    index = net['next_index']
    net['next_index'] = index + 1
    iface = {'kind': kind, 'index': index, 'up': False, 'mtu': 1500, 'inet': [], 'inet6': [], 'vnet': None,
             'ether': '58:9c:fc:%02x:%02x:%02x' % (index >> 16 & 255, index >> 8 & 255, index & 255)}
    if kind == 'bridge':
        iface['members'] = []
    interfaces(state)[name] = iface
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
            if new in ifaces:
                raise IfError('ioctl SIOCSIFNAME (set name): File exists')
            ifaces[new] = ifaces.pop(name)
            for unused, other in store.where(ifaces, 'kind', 'bridge'):
                other['members'] = [new if m == name else m for m in other['members']]
            cmd.out(new)
            name = new
        elif word in ('vnet', '-vnet') and index < len(words):
            target = words[index]
            index += 1
            move_vnet(state, name, target, word == 'vnet')
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
    lines = ['%s: flags=%s metric 0 mtu %d' % (name, flags_text(iface), iface['mtu'])]
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
    lines.append('\tnd6 options=29<PERFORMNUD,IFDISABLED,AUTO_LINKLOCAL>')
    return lines


def visible_names(ifaces, jail_view):
    """The interfaces a view sees, in creation order, from the index (only -l and listings need
    them: most calls name one interface and read nothing else)."""
    return sorted((n for n in ifaces if store.field_of(ifaces, n, 'vnet') == jail_view),
                  key=lambda n: store.field_of(ifaces, n, 'index'))


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
            cmd.out(' '.join(visible_names(ifaces, jail_view)))
            return 0
        if not operands or 'a' in opts:
            for name in visible_names(ifaces, jail_view):
                for line in describe(state, name):
                    cmd.out(line)
            return 0
        name, words = operands[0], operands[1:]
        try:
            if words[:1] == ['create']:
                made = clone_create(state, name)
                if made != name:
                    cmd.out(made)
                name, words = made, words[1:]
            elif name not in ifaces or not visible(ifaces[name], jail_view):
                cmd.errx(1, 'interface %s does not exist' % name)
            if not words and name in ifaces:
                if operands[1:2] != ['create']:
                    for line in describe(state, name):
                        cmd.out(line)
                return 0
            apply(cmd, state, name, words, jail_view)
        except IfError as exc:
            cmd.errx(1, str(exc))
    return 0
