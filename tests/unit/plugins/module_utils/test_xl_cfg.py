# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""xl_cfg: the parser's semantics, safe rendering, lossless edits; and every case compared
with Xen's own parser (libxlutil) when it is installed (make test installs it)."""

from __future__ import annotations

import glob
import os
import random

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.bsd.multiplicity.plugins.module_utils import xl_cfg
from ansible_collections.bsd.multiplicity.tests.unit.plugins.module_utils import xen_oracle

HERE = os.path.dirname(__file__)
FIXTURES = sorted(glob.glob(os.path.join(HERE, 'fixtures', 'xl', '*.cfg')))
# Xen's own examples (xlexample.*, xl.conf); tools/run-tests stages them when ../shared is there,
# and then Xen's parser must be installed too.
UPSTREAM = sorted(glob.glob(os.path.join(HERE, 'fixtures', 'xl-upstream', '*')))
XEN = xen_oracle.load()
needs_xen = pytest.mark.skipif(XEN is None and not UPSTREAM,
                               reason='Xen libxlutil 4.17 not installed (apt-get install libxenmisc4.17)')

# Inputs whose outcome Xen's parser decides; the tests below also pin what it decides.
CASES = [
    'a = 1\nb="x"\n', 'a=[1,"b",]', 'a="x"\na+="y"\na+="z"', 'a=1\na+=2', 'a=[1]\na+=[2]\na+=[3]',
    'A=1', 'a.b=1', 'a_b=1', 'a=yes', "a='it\\'s'", 'a="\\x41b"', 'a="z\\012b"', 'a="\\0"', 'a="q\\tz"',
    'a=[[1,2],3]', 'a=[\n1,\n2\n]', 'a=1;b=2', 'a=1 # c\nb=2', 'a=0x1F', 'a=1\nb="unterminated\n',
    'a=[1 2]', 'a = "x" "y"', 'a=', '=1', 'a=[]', 'a="x"\na+=["y"]', 'a += "x"', 'a=1 F', 'a=1 F\n',
    'a=1\nF\nb=2', 'a=(1)\n', 'a=1\nb=\nc=x\n', 'a=[1,\n# c\n2]', 'a=1\r\nb=2\r\n', 'a="x\\"', 'a=-1',
    'a=1.5', 'a="\\ " ', 'a="\\8"', 'a="\\1234"', 'a="\\12x"', 'a="\u00e9"', '\ta\t=\t1', 'a=1 ;; b=2',
    'a=[,]', 'a=[1,,2]', 'a=[\n]\n', '_a=1', 'a-b=1', 'a=""', "a=''", 'a="x\ny"', 'a=1 # c', 'a=1 F ',
    'a="x\ty"', 'a="x\ry"\n', 'a="x\x01y"', 'a\n=1\n', 'a=\n1\n', 'a=[1\n,2]\n', 'a=[1,\n\n,2]',
    "a='x\"y'", 'a=1 b=2', 'a=[1]b=2', 'a=1\x00\nb=2\n', 'a="\\a\\b\\f\\v\\r"', '# only\n', '', 'a=01x9',
    'a..b=1', 'a=1\n+\n', 'a=[1];', 'a=[[]]', 'a=[1,[2,[3]]]', 'a=[1]\na=[2]\na+=[3]\n', 'a=1 #c',
    'a="\\12"', 'a=1 FG', 'a=1 (', 'a=1 ((', 'a=1 #', 'a=[\n', 'a==1', 'a=+1', 'a=[1]]\n',
]


def test_values_are_strings_and_lists_in_first_appearance_order():
    text = 'name = "web"\nmemory = 512\ndisk = [ "a", \'b\', ]\nmemory = 0x400 # later wins\n'
    assert list(xl_cfg.parse(text).items()) == [('name', 'web'), ('memory', '0x400'), ('disk', ['a', 'b'])]


def test_append_concatenates_strings_and_lists():
    settings = xl_cfg.parse('extra = "a"\nextra += " b"\nvif = ["x"]\nvif += ["y"]\nnew += "z"\n')
    assert settings == {'extra': 'a b', 'vif': ['x', 'y'], 'new': 'z'}


def test_statements_keep_operator_line_and_span():
    text = 'a = 1\nb += [\n  "x",\n]\n'
    first, second = xl_cfg.parse_statements(text)
    assert (first.name, first.op, first.value, first.line) == ('a', '=', '1', 1)
    assert (second.op, second.value, second.line) == ('+=', ['x'], 2)
    assert text[second.start:second.end] == 'b += [\n  "x",\n]'


@pytest.mark.parametrize('text, line, fragment', [
    ('memory = 512\ntype = pv\n', 2, 'expected a quoted string'),
    ('Name = "x"\n', 1, 'lexical error'),
    ('a = 1\nb = "open\n', 2, 'lexical error'),
    ('a = [1,\n2\n', 2, "expected ',' or ']'"),
    ('a = "x"\na += ["y"]\n', 2, "can't add"),
    ('a = "\\x41"\n', 1, '\\x escape'),
    ('memory = (1024)\n', 1, 'looks like Python'),
    ('a = 1 b = 2\n', 1, 'end of the line'),
    ('a = 1\r\n', 1, 'lexical error'),
])
def test_errors_name_the_line(text, line, fragment):
    with pytest.raises(xl_cfg.XlCfgError) as err:
        xl_cfg.parse(text)
    assert err.value.line == line
    assert fragment in str(err.value)
    assert str(err.value).startswith('line %d: ' % line)


def test_xen_quirks_reproduced():
    assert xl_cfg.parse('a = "z\\012b"') == {'a': 'zb'}          # numeric escapes dropped
    assert xl_cfg.parse('a = 1 F') == {'a': '1'}                 # one stray char at EOF ignored
    assert xl_cfg.parse('a = 0x1F') == {'a': '0x1'}              # NUMBER is lower-case hex only


@pytest.mark.parametrize('value, rendered', [
    ('plain', '"plain"'),
    ('a"b', '"a\\"b"'),
    ('back\\slash', '"back\\\\slash"'),
    ('two\nlines', '"two\\nlines"'),
    ("it's", '"it\'s"'),
    ('"]\nmemory = 1 #', '"\\"]\\nmemory = 1 #"'),
])
def test_quote(value, rendered):
    assert xl_cfg.quote(value) == rendered
    assert xl_cfg.parse('x = %s' % rendered) == {'x': value}


def test_quote_refuses_nul():
    with pytest.raises(ValueError):
        xl_cfg.quote('a\0b')


def test_render_numbers_bare_strings_quoted_lists_one_per_line():
    text = xl_cfg.render({'memory': 512, 'maxmem': '0x400', 'name': 'web', 'vnc': True,
                          'disk': ['format=raw, vdev=xvda, target=/a.img', 'vdev=xvdb, target=/b'],
                          'vif': ['bridge=xenbr0'], 'pci': []}, header='managed')
    assert text == ('# managed\nmemory = 512\nmaxmem = 0x400\nname = "web"\nvnc = 1\n'
                    'disk = [\n    "format=raw, vdev=xvda, target=/a.img",\n    "vdev=xvdb, target=/b",\n]\n'
                    'vif = ["bridge=xenbr0"]\npci = []\n')
    assert xl_cfg.parse(text)['disk'] == ['format=raw, vdev=xvda, target=/a.img', 'vdev=xvdb, target=/b']


@pytest.mark.parametrize('name', ['Memory', '_x', 'a-b', 'a b', '', '1a', 'a=1'])
def test_render_refuses_bad_names(name):
    with pytest.raises(ValueError):
        xl_cfg.render({name: 1})


def test_update_in_place_keeps_everything_else():
    text = ('# my guest\nname = "web"   # the name\nmemory = 256\nextra = "a"\nextra += " b"\n'
            'vcpus = 1; vnc = 1\n# trailer\n')
    out = xl_cfg.update(text, {'memory': 1024, 'extra': 'c d', 'maxmem': 2048}, remove=('vnc',))
    assert out == ('# my guest\nname = "web"   # the name\nmemory = 1024\nextra = "c d"\n'
                   'vcpus = 1; \n# trailer\nmaxmem = 2048\n')
    assert xl_cfg.parse(out) == {'name': 'web', 'memory': '1024', 'extra': 'c d', 'vcpus': '1', 'maxmem': '2048'}


def test_update_replaces_multi_line_list_and_appends_to_unterminated_file():
    text = 'disk = [\n  "a",\n  "b",\n]\nname = "x"'
    out = xl_cfg.update(text, {'disk': ['c']})
    assert out == 'disk = ["c"]\nname = "x"'
    assert xl_cfg.update('name = "x"', {'memory': 1}) == 'name = "x"\nmemory = 1\n'


def test_update_of_unchanged_values_is_byte_identical_only_for_canonical_text():
    canonical = xl_cfg.render({'name': 'x', 'memory': 1})
    assert xl_cfg.update(canonical, {'name': 'x', 'memory': 1}) == canonical


@needs_xen
@pytest.mark.parametrize('text', CASES + [open(path).read() for path in FIXTURES], ids=lambda t: repr(t[:30]))
def test_same_result_as_xen(text):
    xen_error, xen_line, xen_settings = XEN.parse(text)
    try:
        mine, error = dict(xl_cfg.parse(text)), None
    except xl_cfg.XlCfgError as exc:
        mine, error = None, exc
    if xen_error is None:
        assert error is None and mine == xen_settings
    else:
        assert error is not None, 'Xen refused it: %s' % xen_error
        if 'unexpected NEWLINE' not in xen_error:     # Xen reports those one line early
            assert error.line == xen_line, xen_error


@pytest.mark.skipif(not UPSTREAM, reason="Xen's example files not staged (tools/run-tests does it)")
def test_upstream_examples_same_as_xen():
    assert XEN is not None, 'libxlutil.so.4.17 is needed (apt-get install libxenmisc4.17)'
    assert len(UPSTREAM) >= 4
    for path in UPSTREAM:
        with open(path) as handle:
            text = handle.read()
        xen_error, dummy, xen_settings = XEN.parse(text)
        assert xen_error is None, path
        assert dict(xl_cfg.parse(text)) == xen_settings, path


@needs_xen
def test_random_token_soup_same_as_xen():
    pieces = ['a', 'memory', 'x.y', '=', '+=', ' ', '\t', '\n', ';', ',', '[', ']', '1', '0x1f', '"s"', "'t'",
              '"a\\"b"', '"\\n"', '"\\012x"', '#c\n', '#', 'F', '(', '"', "'", '\\', '"x', '-', '.']
    rng = random.Random(4711)
    for dummy in range(3000):
        text = ''.join(rng.choice(pieces) for dummy in range(rng.randint(1, 14)))
        xen_error, xen_line, xen_settings = XEN.parse(text)
        try:
            mine = dict(xl_cfg.parse(text))
        except xl_cfg.XlCfgError as exc:
            assert xen_error is not None, (text, exc)
            if 'unexpected NEWLINE' not in xen_error:
                assert exc.line == xen_line, (text, xen_error, exc)
        else:
            assert xen_error is None and mine == xen_settings, (text, xen_error)


_text = st.text(st.characters(blacklist_characters='\0', blacklist_categories=('Cs',)), max_size=30)
_atom = st.one_of(st.integers(min_value=0, max_value=2 ** 40), _text, st.booleans())
_value = st.one_of(_atom, st.lists(st.one_of(_atom, st.lists(_atom, max_size=3)), max_size=4))
_names = st.from_regex(r'[a-z][._0-9a-z]{0,8}', fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_names, _value, max_size=6))
def test_render_round_trips(values):
    text = xl_cfg.render(values)
    assert dict(xl_cfg.parse(text)) == {k: xl_cfg.normalize(v) for k, v in values.items()}
    if XEN is not None:
        xen_error, dummy, xen_settings = XEN.parse(text)
        assert xen_error is None and xen_settings == {k: xl_cfg.normalize(v) for k, v in values.items()}


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_names, _value, max_size=4), st.dictionaries(_names, _value, max_size=4))
def test_update_gives_the_merged_settings(before, changes):
    text = xl_cfg.update(xl_cfg.render(before), changes)
    expected = {k: xl_cfg.normalize(v) for k, v in before.items()}
    expected.update((k, xl_cfg.normalize(v)) for k, v in changes.items())
    assert dict(xl_cfg.parse(text)) == expected
