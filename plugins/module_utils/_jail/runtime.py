# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsers for what the host reports about jails: jls --libxo json, zfs get, sysrc -e.

jls's JSON shapes are partly unverified (src-notes section 2.5): values may be
strings or numbers, booleans JSON or text, and address lists plain lists,
comma-joined strings or ``{"ipv4_addr": [...]}`` objects.  All are accepted.
"""

from __future__ import annotations

import ipaddress
import json

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParseError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.shvars import read_vars


def _addresses(value):
    if value is None or value == '' or value == '-':
        return []
    if isinstance(value, dict):
        for key in ('ipv4_addr', 'ipv6_addr', 'ip4.addr', 'ip6.addr'):
            if key in value:
                return _addresses(value[key])
        return []
    if isinstance(value, list):
        result = []
        for item in value:
            result.extend(_addresses(item))
        return result
    return [_canonical(part.strip()) for part in str(value).split(',') if part.strip()]


def _canonical(address):
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address


def parse_ifconfig_addresses(text):
    """``ifconfig IF`` -> {'inet'|'inet6': [ADDR/PREFIX, ...]} in canonical form.

    IPv6 link-local addresses (fe80::/10, which the kernel adds by itself) are left out.
    """
    found = {'inet': [], 'inet6': []}
    for line in (text or '').split('\n'):
        words = line.split()
        if len(words) < 2 or words[0] not in ('inet', 'inet6'):
            continue
        try:
            if words[0] == 'inet':
                mask = words[words.index('netmask') + 1] if 'netmask' in words else '0xffffffff'
                prefix = bin(int(mask, 16)).count('1')
                found['inet'].append(ipaddress.ip_interface('%s/%d' % (words[1], prefix)).with_prefixlen)
            else:
                prefix = int(words[words.index('prefixlen') + 1]) if 'prefixlen' in words else 128
                address = ipaddress.ip_interface('%s/%d' % (words[1].split('%')[0], prefix))
                if not address.ip.is_link_local:
                    found['inet6'].append(address.with_prefixlen)
        except (ValueError, IndexError):
            raise ParseError('ifconfig output', 'cannot read the address line %r' % line.strip(), text)
    return found


def _boolean(value):
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ('1', 'true', 'yes')


def normalise_jail(record):
    """One jail's parameters as typed values: lists for addresses, bools, str otherwise."""
    result = {}
    for key, value in record.items():
        if key in ('ip4.addr', 'ip6.addr', 'ipv4_addrs', 'ipv6_addrs'):
            result[{'ipv4_addrs': 'ip4.addr', 'ipv6_addrs': 'ip6.addr'}.get(key, key)] = _addresses(value)
        elif isinstance(value, bool):
            result[key] = value
        elif key in ('persist', 'dying') or key.startswith('allow.') or key.endswith('.saddrsel'):
            result[key] = _boolean(value)
        elif value is None:
            result[key] = None
        else:
            result[key] = str(value)
    if 'jid' in result:
        try:
            result['jid'] = int(result['jid'])
        except ValueError:
            raise ParseError('jls output', 'jid %r is not a number' % result['jid'], json.dumps(record))
    return result


def parse_jls_json(text):
    """[normalised jail, ...] from ``jls --libxo json ...``; an empty list when no jail runs."""
    try:
        data = json.loads(text or '{}')
    except ValueError as exc:
        raise ParseError('jls --libxo json output', str(exc), text)
    info = data.get('jail-information') if isinstance(data, dict) else None
    jails = (info or {}).get('jail') or []
    if isinstance(jails, dict):
        jails = [jails]
    if not isinstance(jails, list):
        raise ParseError('jls --libxo json output', '"jail" is not a list', text)
    return [normalise_jail(j) for j in jails if isinstance(j, dict)]


def read_all_jails(runner):
    """{name: jail} of every jail on the host, from one ``jls`` (jail_info reads them the same way)."""
    result = runner.run(['jls', '-n', '--libxo', 'json', 'all'], action='read the jails')
    return dict((jail['name'], jail) for jail in parse_jls_json(result.stdout) if jail.get('name'))


def jls_not_found(result):
    """True when jls -j failed because the jail does not exist (exit 1, 'not found')."""
    return result.rc == 1 and 'not found' in (result.stderr or '') + (result.stdout or '')


def parse_sysrc_e(text):
    """{name: value} from ``sysrc -e name ...`` (lines of name="value")."""
    return read_vars(text)
