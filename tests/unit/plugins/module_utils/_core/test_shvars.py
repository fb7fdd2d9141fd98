# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import subprocess

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import shvars
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.shvars import quote, read_vars, set_vars

RC = '''# hand comment
hostname="web"   # trailing comment
ifconfig_em0='inet 10.0.0.5/24'
sshd_enable=YES
weird="$(date)"
a=1; b=2
hostname="web2"
'''


def test_read_vars_plain_assignments_last_wins():
    found = read_vars(RC)
    assert found['hostname'] == 'web2'
    assert found['ifconfig_em0'] == 'inet 10.0.0.5/24'
    assert found['sshd_enable'] == 'YES'
    assert 'weird' not in found and 'a' not in found


def test_set_vars_rewrites_last_drops_earlier_appends_new_keeps_rest():
    text = set_vars(RC, {'hostname': 'db', 'defaultrouter': '10.0.0.1', 'sshd_enable': None})
    assert text.splitlines() == ['# hand comment', "ifconfig_em0='inet 10.0.0.5/24'", 'weird="$(date)"',
                                 'a=1; b=2', 'hostname="db"', 'defaultrouter="10.0.0.1"']
    assert set_vars(text, {'hostname': 'db'}) == text


def test_set_vars_on_empty_and_unterminated_text():
    assert set_vars(None, {'x': 'y'}) == 'x="y"\n'
    assert set_vars('a="1"', {'b': '2'}) == 'a="1"\nb="2"\n'


@pytest.mark.parametrize('value', ['plain', 'with space', 'q"uote', 'back\\slash', '$HOME', '`id`', "it's", ''])
def test_quote_reads_back_in_sh(value):
    out = subprocess.run(['/bin/sh', '-c', 'x=%s; printf %%s "$x"' % quote(value)], capture_output=True, text=True,
                         check=True).stdout
    assert out == value
    assert read_vars('x=%s\n' % quote(value))['x'] == value


@pytest.mark.parametrize('text, values', [
    ('a="1"\nb=2\na=3\n# c=4\n', {'a': 'x y', 'c': None, 'd': 'new $HOME "q"'}),
    ('x=1', {'x': None}),
    ('', {'ifconfig_e0b': 'inet 10.0.0.1/24', 'defaultrouter': None}),
])
def test_one_parse_gives_the_edited_text_and_the_variables_it_reads_back_as(text, values):
    edited_text, edited_vars = shvars.ShVars(text).edited(values)
    assert edited_text == shvars.set_vars(text, values)
    assert edited_vars == shvars.read_vars(edited_text)
