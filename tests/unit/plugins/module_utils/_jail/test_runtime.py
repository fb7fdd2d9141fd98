# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParseError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.runner import CommandResult
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail import runtime

# The shape of src-notes section 2.5 (jls -n --libxo json), and variants seen on other versions.
JLS = ('{"__version": "2", "jail-information": {"jail": [{"jid":"3","name":"web","path":"/j/web",'
       '"host.hostname":"web","persist":true,"allow.raw_sockets":"false","ip4.addr":["10.0.0.5","10.0.0.6"],'
       '"ip6.addr":[]}, {"jid":4,"name":"db","ip4.addr":"10.0.0.7,10.0.0.8",'
       '"ip6.addr":{"ipv6_addr":["fd00::7"]},"securelevel":-1}]}}\n')


def test_parse_jls_json_tolerates_shapes():
    web, db = runtime.parse_jls_json(JLS)
    assert web['jid'] == 3 and web['persist'] is True and web['allow.raw_sockets'] is False
    assert web['ip4.addr'] == ['10.0.0.5', '10.0.0.6'] and web['ip6.addr'] == []
    assert db['jid'] == 4 and db['ip4.addr'] == ['10.0.0.7', '10.0.0.8'] and db['ip6.addr'] == ['fd00::7']
    assert db['securelevel'] == '-1'


@pytest.mark.parametrize('text', ['', '{}', '{"__version": "2", "jail-information": {"jail": []}}'])
def test_parse_jls_json_empty(text):
    assert runtime.parse_jls_json(text) == []


@pytest.mark.parametrize('text', ['not json', '{"jail-information": {"jail": "x"}}',
                                  '{"jail-information": {"jail": [{"jid": "x"}]}}'])
def test_parse_jls_json_errors(text):
    with pytest.raises(ParseError):
        runtime.parse_jls_json(text)


def test_verbose_names_and_single_object():
    (jail,) = runtime.parse_jls_json('{"jail-information": {"jail": {"jid": 1, "name": "a", "ipv4_addrs": '
                                     '{"ipv4_addr": ["1.2.3.4"]}, "dying": "0", "x": null}}}')
    assert jail['ip4.addr'] == ['1.2.3.4'] and jail['dying'] is False and jail['x'] is None


def test_not_found_and_sysrc_helpers():
    assert runtime.jls_not_found(CommandResult([], 1, '', 'jls: jail "x" not found\n'))
    assert not runtime.jls_not_found(CommandResult([], 2, '', 'jls: jail "x" not found\n'))
    assert runtime.parse_sysrc_e('jail_enable="YES"\njail_list=""\n') == {'jail_enable': 'YES', 'jail_list': ''}
