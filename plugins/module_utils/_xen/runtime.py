# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What xl says about running domains: ``xl list`` (text) and ``xl list -l`` (JSON).

``xl list`` rows are ``name id mem vcpus state time`` with the state as six
letters ``r b p s c d`` or ``-`` (tools/xl/xl_info.c); ``xl list -l`` prints a JSON
array of ``{"domid": N, "config": libxl_domain_config}``. Both are parsed
tolerantly: names may hold blanks in theory, so rows are split from the right.
"""

from __future__ import annotations

import json

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParseError

STATE_LETTERS = (('r', 'running'), ('b', 'blocked'), ('p', 'paused'), ('s', 'shutdown'), ('c', 'crashed'),
                 ('d', 'dying'))
DOWN = frozenset(('shutdown', 'crashed', 'dying'))


def state_name(letters):
    """The most telling state of a domain's six state letters."""
    found = [name for letter, name in STATE_LETTERS if letter in letters]
    for name in ('dying', 'crashed', 'shutdown', 'paused'):
        if name in found:
            return name
    return 'running'        # r, b or none of them (runnable, waiting for a CPU)


def parse_list(text):
    """{name: {domid, memory, vcpus, state, letters}} from ``xl list``."""
    domains = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 6 or fields[0] == 'Name':
            continue
        name = ' '.join(fields[:-5])
        domid, memory, vcpus, letters, dummy = fields[-5:]
        if not (domid.isdigit() and memory.isdigit() and vcpus.isdigit()):
            raise ParseError('xl list', 'unexpected row %r' % line, text)
        domains[name] = dict(domid=int(domid), memory=int(memory), vcpus=int(vcpus),
                             letters=letters, state=state_name(letters))
    return domains


def not_found(result):
    """``xl list NAME`` of an unknown domain: exit 1, "NAME is an invalid domain identifier"."""
    return result.rc != 0 and 'invalid domain identifier' in (result.stderr + result.stdout)


def parse_long(text):
    """{name: {domid, config}} from ``xl list -l`` (JSON)."""
    try:
        records = json.loads(text) if text.strip() else []
    except ValueError as exc:
        raise ParseError('xl list -l', str(exc), text)
    if isinstance(records, dict):
        records = [records]
    out = {}
    for record in records:
        config = record.get('config') or {}
        name = (config.get('c_info') or {}).get('name')
        if name:
            out[name] = dict(domid=record.get('domid'), config=config)
    return out


def live_settings(config):
    """The running domain's values of the settings the module compares, in xl.cfg terms."""
    c_info = config.get('c_info') or {}
    b_info = config.get('b_info') or {}
    live = {}
    if c_info.get('type'):
        live['type'] = c_info['type']
    if b_info.get('target_memkb') is not None:
        live['memory'] = int(b_info['target_memkb']) // 1024
    if b_info.get('max_memkb') is not None:
        live['maxmem'] = int(b_info['max_memkb']) // 1024
    if b_info.get('max_vcpus') is not None:
        live['maxvcpus'] = int(b_info['max_vcpus'])
        avail = b_info.get('avail_vcpus')
        live['vcpus'] = len(avail) if isinstance(avail, list) else int(b_info['max_vcpus'])
    for key in ('kernel', 'ramdisk', 'cmdline', 'bootloader'):
        if b_info.get(key):
            live[key] = b_info[key]
    live['disk'] = sorted((d.get('vdev'), d.get('pdev_path')) for d in config.get('disks') or [])
    live['vif'] = [dict((k, v) for k, v in nic.items() if k in ('bridge', 'mac', 'ip', 'model', 'script'))
                   for nic in config.get('nics') or []]
    return live


def read_all_domains(runner):
    """{name: domain} of every domain but Domain-0, each with its ``live`` settings: ``xl list`` and,
    when any domain runs, ``xl list -l``: two commands whatever the number of domains."""
    domains = parse_list(runner.run(['xl', 'list'], action='list domains').stdout)
    domains.pop('Domain-0', None)
    details = {}
    if any(d['state'] not in DOWN for d in domains.values()):
        details = parse_long(runner.run(['xl', 'list', '-l'], action='list domain details').stdout)
    for name, domain in domains.items():
        domain['live'] = live_settings(details[name]['config']) if name in details and domain['state'] not in DOWN \
            else {}
    return domains
