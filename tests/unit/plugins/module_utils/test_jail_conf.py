# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import os

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.bsd.multiplicity.plugins.module_utils.jail_conf import (
    JailConfError, include_lines, parse, quote, render_block,
)

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures')

HANDBOOK_STYLE = '''# Global settings, as in the FreeBSD Handbook's jail chapter
exec.start = "/bin/sh /etc/rc";
exec.stop = "/bin/sh /etc/rc.shutdown jail";
exec.consolelog = "/var/log/jail_console_${name}.log";
allow.raw_sockets;
exec.clean;
mount.devfs;
host.hostname = "${name}";
path = "/usr/local/jails/containers/${name}";

classic {
    ip4.addr = 192.168.1.151;
    interface = em0;
}

vnet-jail {
    $id = "154";
    $ipaddr = "192.168.1.${id}";
    $mask = "255.255.255.0";
    $gw = "192.168.1.1";
    $bridge = "bridge0";
    $epair = "epair${id}";
    vnet;
    vnet.interface = "${epair}b";
    exec.prestart += "/sbin/ifconfig ${epair} create up";
    exec.prestart += "/sbin/ifconfig ${epair}a up descr jail:${name}";
    exec.prestart += "/sbin/ifconfig ${bridge} addm ${epair}a up";
    exec.start    += "/sbin/ifconfig ${epair}b ${ipaddr} netmask ${mask} up";
    exec.start    += "/sbin/route add default ${gw}";
    exec.poststop = "/sbin/ifconfig ${bridge} deletem ${epair}a";
    exec.poststop += "/sbin/ifconfig ${epair}a destroy";
}
'''


def test_freebsd_test_configuration():
    with open(os.path.join(FIXTURES, 'freebsd-tests-commands.jail.conf')) as handle:
        conf = parse(handle.read())
    assert conf.jails == ['basejail']
    assert conf.resolve('basejail') == {'name': 'basejail', 'exec.prestop': ['echo STOP'],
                                        'exec.prestart': ['echo START'], 'exec.poststart': ['env'],
                                        'persist': True}


def test_handbook_style_variables_and_appends():
    resolved = parse(HANDBOOK_STYLE).resolve('vnet-jail')
    assert resolved['path'] == '/usr/local/jails/containers/vnet-jail'
    assert resolved['vnet.interface'] == ['epair154b']
    assert resolved['exec.start'] == ['/bin/sh /etc/rc', '/sbin/ifconfig epair154b 192.168.1.154 netmask '
                                      '255.255.255.0 up', '/sbin/route add default 192.168.1.1']
    assert resolved['exec.poststop'] == ['/sbin/ifconfig bridge0 deletem epair154a', '/sbin/ifconfig epair154a destroy']
    assert resolved['vnet'] is True and '$id' not in resolved and 'id' not in resolved
    assert parse(HANDBOOK_STYLE).resolve('classic')['ip4.addr'] == ['192.168.1.151']


def test_wildcard_order_later_wins():
    conf = parse('* { securelevel = 1; }\nweb { securelevel = 2; children.max = 1; }\n* { children.max = 9; }\n')
    assert conf.resolve('web') == {'name': 'web', 'securelevel': '2', 'children.max': '9'}


def test_hierarchical_wildcards_numeric_names_and_no_prefix():
    conf = parse('foo.* { allow.nomount; }\nfoo.bar { allow.mount; }\n5309 { name = x; }\n')
    assert conf.jails == ['foo.bar', '5309']
    # The jail's own block comes after the wildcard, so its allow.mount wins (jail.conf(5)).
    assert conf.resolve('foo.bar') == {'name': 'foo.bar', 'allow.mount': True}
    assert conf.resolve('5309') == {'jid': '5309', 'name': 'x'}


def test_lexical_details():
    text = ('persist; // c1\r\n/* c2\r\n */ # c3\r\nweb {\r\n path = /jails/"web"\'$x\';\r\n'
            ' exec.start = "a\\tb\\\\c\\$d\\101\\x41";\r\n host.hostname = web\\ host;\r\n}\r\n')
    assert parse(text).resolve('web') == {'name': 'web', 'persist': True, 'path': '/jails/web$x',
                                          'exec.start': ['a\tb\\c$dAA'], 'host.hostname': 'web host'}


@pytest.mark.parametrize('text, message', [
    ('web { path = /x }\n', 'f.conf line 1: }: syntax error'),
    ('web { path = "/x; }\n', 'f.conf line 1: unterminated string'),
    ('/* open\n', 'f.conf line 1: unterminated comment'),
    ('\n\nweb { path = "${x"; }\n', 'f.conf line 3: unterminated variable'),
    ('web { path = /x;\n', 'f.conf: unexpected EOF'),
])
def test_syntax_errors_name_file_and_line(text, message):
    with pytest.raises(JailConfError) as error:
        parse(text, 'f.conf')
    assert str(error.value) == message


@pytest.mark.parametrize('text, message', [
    ('web { path = "$nope"; }', 'web: path: variable "nope" not found'),
    ('web { $a = "$b"; $b = "$a"; path = "$a"; }', 'variable loop'),
    ('web { $path = /x; path = /y; }', 'cannot have the same name as a parameter'),
    ('web { name = other; }', 'cannot redefine parameter "name"'),
    ('web { $l = a, b; path = "x$l"; }', 'array cannot be substituted inline'),
])
def test_resolution_errors(text, message):
    with pytest.raises(JailConfError) as error:
        parse(text).resolve('web')
    assert message in str(error.value)


def test_list_variable_expands_when_alone():
    assert parse('web { $l = a, b; depend = $l; }').resolve('web')['depend'] == ['a', 'b']


def test_include_with_glob(tmp_path):
    (tmp_path / 'jail.conf.d').mkdir()
    (tmp_path / 'jail.conf.d' / 'web.conf').write_text('web { path = /j/web; }\n')
    main = tmp_path / 'jail.conf'
    main.write_text('persist;\n.include "%s/jail.conf.d/*.conf";\n.include "%s/none[.]conf";\n'
                    % (tmp_path, tmp_path))
    conf = parse(main.read_text(), str(main), reader=lambda p: open(p).read())
    assert conf.jails == ['web']
    assert conf.resolve('web') == {'name': 'web', 'persist': True, 'path': '/j/web'}


def test_edit_one_jail_keeps_everything_else_byte_for_byte():
    conf = parse(HANDBOOK_STYLE)
    before, after = HANDBOOK_STYLE.split('classic {', maxsplit=1)[0], HANDBOOK_STYLE.split('\n}\n', 1)[1]
    conf.set_jail('classic', {'ip4.addr': ['192.168.1.152'], 'interface': 'em0'})
    text = conf.render()
    assert text.startswith(before) and text.endswith(after)
    assert conf.resolve('classic')['ip4.addr'] == ['192.168.1.152']
    assert conf.resolve('vnet-jail') == parse(HANDBOOK_STYLE).resolve('vnet-jail')


def test_add_and_remove_jail():
    conf = parse('# keep me\npersist;\n\nold {\n    path = /old;\n}\n')
    conf.set_jail('new', {'path': '/new'})
    assert conf.jails == ['old', 'new']
    conf.remove_jail('old')
    assert conf.render() == '# keep me\npersist;\n\nnew {\n    path = /new;\n}\n'


def test_render_booleans_and_lists():
    assert render_block('web', {'persist': True, 'allow.mount': False, 'ip4.addr': ['10.0.0.1', '10.0.0.2']}) == \
        'web {\n    persist;\n    allow.nomount;\n    ip4.addr = 10.0.0.1, 10.0.0.2;\n}\n'


def test_quote_leaves_plain_values_bare():
    assert quote('/jails/web') == '/jails/web'
    assert quote('a b') == '"a b"'
    assert quote('web\n') == '"web\\n"'          # a trailing newline is not "plain"
    assert quote('$x;}"\\') == '"\\$x;}\\"\\\\"'


# NUL cannot reach jail(8) (its strings are C strings): quote() refuses it, tested below.
VALUES = st.text(alphabet=st.characters(blacklist_categories=('Cs',), blacklist_characters='\x00',
                                        max_codepoint=0x2ff), max_size=30)


def test_quote_refuses_nul_and_quotes_comment_starters():
    with pytest.raises(JailConfError, match='NUL'):
        quote('a\x00b')
    for value in ('//x', 'a//b', '/jails/*web', 'a/*b*/'):
        assert quote(value).startswith('"')
        assert parse('j { path = %s; }' % quote(value)).resolve('j')['path'] == value


@settings(max_examples=300, deadline=None)
@given(value=VALUES, items=st.lists(VALUES, min_size=1, max_size=4))
def test_render_parse_round_trip_cannot_inject(value, items):
    block = render_block('web', {'host.hostname': value, 'exec.start': items, 'persist': True})
    conf = parse('other { path = /o; }\n' + block)
    assert conf.jails == ['other', 'web']
    assert conf.resolve('web') == {'name': 'web', 'host.hostname': value, 'exec.start': items, 'persist': True}
    assert conf.resolve('other') == {'name': 'other', 'path': '/o'}


@settings(max_examples=100, deadline=None)
@given(value=VALUES)
def test_unedited_text_renders_unchanged(value):
    text = '# c\n' + render_block('a', {'path': value}) + '\n\n/* x */ b { }\n'
    assert parse(text).render() == text


def test_a_file_holds_only_its_jail_when_nothing_else_is_in_it():
    assert parse('# marker\nweb {\n    path = /j/web;\n}\n').holds_only('web')
    assert not parse('web { path = /j/web; }\ndb { path = /j/db; }\n').holds_only('web')
    assert not parse('exec.clean;\nweb { path = /j/web; }\n').holds_only('web')
    assert not parse('.include "/etc/other.conf";\nweb { path = /j/web; }\n').holds_only('web')
    assert not parse('').holds_only('web')


def test_include_lines_read_back_as_the_files_named_or_are_refused():
    text = include_lines(['/etc/jail.conf.d/a.conf', '/etc/my jails/b.conf'])
    assert text == '.include "/etc/jail.conf.d/a.conf";\n.include "/etc/my jails/b.conf";\n'
    read = []
    parse(text, None, reader=lambda path: read.append(path) or '')
    assert read == ['/etc/jail.conf.d/a.conf', '/etc/my jails/b.conf']
    for bad in ('/etc/*.conf', '/etc/j[1].conf', '/etc/$x.conf', '/etc/a"b.conf', 'relative.conf', '/etc/a\nb'):
        with pytest.raises(JailConfError):
            include_lines([bad])
