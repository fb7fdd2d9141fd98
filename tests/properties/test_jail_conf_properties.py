# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""jail.conf written by the collection, read back by jail(8)'s grammar (the sandbox's reader)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings, strategies as st

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParameterError
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail import config
from ansible_collections.bsd.multiplicity.plugins.module_utils.jail_conf import (
    JailConfError, parse, quote, render_block,
)
from fbsd import jailconf as jail8

from strategies import examples, hostile_text, word


def _no_include(path):
    raise AssertionError('no .include expected, got %s' % path)


def read_back(text):
    """{jail: {param: [values]}} as jail(8) would pass them, or the error it would print."""
    jails = jail8.load(text, '/etc/jail.conf', _no_include)
    result = {}
    for jail in jails:
        assert not jail.errors, jail.errors
        result[jail.name] = dict((p.name, [v.text for v in p.values]) for p in jail.params)
    return result


NEIGHBOURS = 'before { path = /j/before; host.hostname = "a//b"; }\n# a comment: /* not closed\n'
AFTER = '\nafter { exec.start = "x; y", z; persist; }\n'


@settings(max_examples=examples(2500))
@given(hostname=hostile_text(), path=hostile_text(), start=st.lists(hostile_text(), min_size=1, max_size=2))
@example(hostname='a//b', path='/j//web', start=['/* x */'])
@example(hostname='#x', path='/j/w#', start=['a\u2028b', 'c\x85d'])
def test_rendered_block_reads_back_exactly(hostname, path, start):
    """4 values per example: hostname, path and exec.start entries."""
    params = {'path': path, 'host.hostname': hostname, 'exec.start': start, 'persist': True}
    values = [hostname, path] + start
    if any('\x00' in v for v in values):
        with pytest.raises(JailConfError, match='NUL'):
            render_block('web', params)
        return
    text = NEIGHBOURS + render_block('web', params) + AFTER
    jails = read_back(text)
    assert list(jails) == ['before', 'web', 'after']
    assert jails['web'] == {'name': ['web'], 'path': [path], 'host.hostname': [hostname], 'exec.start': start,
                            'persist': []}
    assert jails['before']['host.hostname'] == ['a//b'] and jails['after']['exec.start'] == ['x; y', 'z']
    assert parse(text).resolve('web')['host.hostname'] == hostname


@settings(max_examples=examples(3400))
@given(old=hostile_text(), new=hostile_text(), extra=hostile_text())
@example(old='x', new='y // z', extra='/*')
def test_update_of_a_hand_written_block_touches_only_that_block(old, new, extra):
    """3 values per example; the block is hand-written, with comments and a variable."""
    if any('\x00' in v for v in (old, new, extra)):
        return
    original = (NEIGHBOURS + render_block('other', {'path': '/j/o', 'host.hostname': old})
                + '$v = "/j";\nweb {\n  path = "${v}/web";  # mine\n  host.hostname = %s;\n}\n' % quote(old)
                + AFTER)
    before = read_back(original)
    edited = parse(original).update_jail('web', {'host.hostname': new, 'exec.poststart': [extra]}).render()
    after = read_back(edited)
    assert after['web']['host.hostname'] == [new] and after['web']['exec.poststart'] == [extra]
    assert after['web']['path'] == ['/j/web']
    for name in ('before', 'other', 'after'):
        assert after[name] == before[name]
    assert '# mine' in edited


@settings(max_examples=examples(3400))
@given(addresses=st.lists(st.one_of(hostile_text(), st.sampled_from([
    '10.0.0.5', '10.0.0.5/24', 'em0|10.0.0.5/24', '2001:DB8::1', 'em0|2001:db8::1/64', 'fe80::1%em0',
    '10.0.0.5 10.0.0.6', 'em0;x|10.0.0.5', 'em0|10.0.0.5#c', '10.0.0.5/24\n', 'lo0|127.0.0.1'])),
    min_size=3, max_size=3))
def test_ip4_ip6_entries_are_one_validated_word_each(addresses):
    """3 values per example; an accepted entry is iface|addr/len with each part checked."""
    family = 6 if any(':' in a for a in addresses) else 4
    option = 'ip%d' % family
    try:
        params = config.desired_params(dict(name='web', path='/j/web', **{option: addresses}))
    except ParameterError as exc:
        assert exc.parameter == option
        return
    entries = params['ip%d.addr' % family]
    jails = read_back(render_block('web', params))
    assert jails['web']['ip%d.addr' % family] == entries
    for entry in entries:
        iface, unused, address = entry.rpartition('|')
        assert not iface or config.IFNAME_RE.match(iface)
        assert config.kernel_address(entry) == config.kernel_address(address)
        assert not any(c.isspace() for c in entry) and '#' not in entry


@settings(max_examples=examples(2500))
@given(source=word(alphabet='abc/._-'), target=word(alphabet='abc/._-'), fstype=word(), options=word(alphabet='ro,w'),
       path=st.one_of(st.just('/j/web'), hostile_text()))
@example(source='/data', target='/mnt', fstype='nullfs', options='ro', path='/j/web')
def test_jail_mount_lines_are_six_fields_or_refused(source, target, fstype, options, path):
    """5 values per example; the mount line also round-trips through jail.conf."""
    entry = dict(source=source, target=target, type=fstype, options=options)
    try:
        line = config.fstab_line(dict(path=path), entry)
    except ParameterError as exc:
        assert exc.parameter in ('mounts.source', 'mounts.target', 'mounts.type', 'mounts.options', 'path')
        return
    fields = line.split()
    assert len(fields) == 6 and fields[0] == source and fields[2:4] == [fstype, options]
    assert fields[1].startswith(path.rstrip('/')) and '#' not in line
    assert read_back(render_block('web', {'mount': [line]}))['web']['mount'] == [line]
