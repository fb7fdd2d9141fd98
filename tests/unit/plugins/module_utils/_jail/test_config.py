# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import os
import subprocess

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParameterError
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail import config


def params(**kwargs):
    base = dict(name='web', path='/jails/web')
    base.update(kwargs)
    return base


def test_defaults_for_a_new_jail():
    assert config.desired_params(params()) == {
        'path': '/jails/web', 'mount.devfs': True, 'exec.start': ['/bin/sh /etc/rc'],
        'exec.stop': ['/bin/sh /etc/rc.shutdown jail'], 'exec.clean': True}


def test_no_defaults_for_an_adopted_block():
    assert config.desired_params(params(path=None, hostname='h'), defaults=False) == {'host.hostname': 'h'}


def test_every_option_maps_to_its_parameter():
    result = config.desired_params(params(
        hostname='web.example.org', ip4=['em0|10.0.0.5/24'], ip6=['fd00::5'], interface='em0', devfs_ruleset=4,
        securelevel=2, enforce_statfs=1, children_max=3, allow=['raw_sockets', 'allow.mount', 'nochflags'],
        persist=True, mount_devfs=False, mount_fstab='/etc/fstab.web', depend=['db'],
        mounts=[dict(source='/data', target='/mnt/data', type='nullfs', options='rw')],
        exec=dict(start=['/bin/sh /etc/rc'], clean=False, consolelog='/var/log/web.log'),
        parameters={'sysvshm': 'new', 'allow.mount.zfs': True, 'osrelease': None}))
    assert result['ip4.addr'] == ['em0|10.0.0.5/24']
    assert result['allow.raw_sockets'] is True and result['allow.mount'] is True
    assert result['allow.chflags'] is False
    assert result['securelevel'] == '2' and result['children.max'] == '3'
    assert result['mount'] == ['/data /jails/web/mnt/data nullfs rw 0 0']
    assert result['mount.devfs'] is False and result['exec.clean'] is False
    assert 'exec.stop' not in result
    assert result['osrelease'] is None and result['sysvshm'] == 'new'


def test_vnet_hooks_and_names():
    result = config.desired_params(params(name='my-web', vnet=dict(bridge='bridge0'), exec=dict(prestart=['echo hi'])))
    assert result['vnet'] is True
    assert result['vnet.interface'] == ['ej_my_webb']
    assert result['exec.prestart'][0].startswith('/sbin/ifconfig ej_my_weba destroy 2>/dev/null; '
                                                 'e=$(/sbin/ifconfig epair create) || exit 1;')
    assert result['exec.prestart'][0].endswith(
        '; /sbin/ifconfig bridge0 addm ej_my_weba || { /sbin/ifconfig ej_my_weba destroy; exit 1; }')
    assert config.bridge_of(result['exec.prestart'])[0] == 'bridge0'
    assert result['exec.prestart'][1] == 'echo hi'
    assert result['exec.poststop'] == ['/sbin/ifconfig ej_my_weba destroy']


def test_bridge_of_reads_the_hook_earlier_versions_wrote():
    old = ('e=$(/sbin/ifconfig epair create) || exit 1; /sbin/ifconfig "$e" name ej_wa up || '
           '{ /sbin/ifconfig "$e" destroy; exit 1; }; /sbin/ifconfig "${e%a}b" name ej_wb up && /sbin/ifconfig br1 addm ej_wa')
    bridge, rest = config.bridge_of([old])
    assert bridge == 'br1' and rest[0].endswith('name ej_wb up')


# A fake ifconfig that fails at one step, and what the hook leaves: never a pair, and exit 1.
FAKE_IFCONFIG = '''
ifconfig() {
    echo "$*" >> log
    case "$*" in
        "epair create") [ "$FAIL" = create ] && return 1; echo epair3a; touch pair ;;
        *" destroy") [ -e pair ] || return 1; rm -f pair ;;
        *" name ej_weba up") [ "$FAIL" = name_a ] && return 1 ;;
        *" name ej_webb up") [ "$FAIL" = name_b ] && return 1 ;;
        *" addm "*) [ "$FAIL" = addm ] && return 1 ;;
    esac
    return 0
}
'''


@pytest.mark.parametrize('step', ['none', 'leftover', 'create', 'name_a', 'name_b', 'addm'])
def test_the_epair_hook_never_leaves_a_pair_behind(step, tmp_path):
    prestart = config.desired_params(params(name='web', vnet=dict(bridge='bridge0')))['exec.prestart'][0]
    if step == 'leftover':   # a pair a failed start left: destroyed before the new one is made
        (tmp_path / 'pair').write_text('')
    script = FAKE_IFCONFIG + prestart.replace('/sbin/ifconfig', 'ifconfig')
    env = dict(os.environ, FAIL=step)
    result = subprocess.run(['sh', '-c', script], cwd=str(tmp_path), env=env, check=False)
    calls = (tmp_path / 'log').read_text().splitlines()
    assert calls[0] == 'ej_weba destroy'
    if step in ('none', 'leftover'):
        assert result.returncode == 0 and (tmp_path / 'pair').exists()
        assert calls[1:] == ['epair create', 'epair3a name ej_weba up', 'epair3b name ej_webb up',
                             'bridge0 addm ej_weba']
    else:
        assert result.returncode == 1 and not (tmp_path / 'pair').exists()


# Fake ifconfig and route that log their arguments and fail when told to.
FAKE_NET = '''
ifconfig() { echo "ifconfig $*" >> log; [ "$FAIL" != "$*" ]; }
route() { echo "route $*" >> log; [ "$FAIL" != "$*" ]; }
'''


def test_the_host_network_hook_as_sh_runs_it(tmp_path):
    """vnet.configure host: jail(8) runs exec.poststart with sh; each step in order, the first failure stops it
    (the start fails), and network_of reads back what it sets."""
    vnet = dict(configure='host', addresses=['10.0.0.5/24', '10.0.0.6/24', 'fd00::5/64'], gateway='10.0.0.1',
                gateway6='fd00::1')
    hook = config.desired_params(params(name='web', vnet=vnet))['exec.poststart'][0]
    assert config.network_of([hook, '/bin/true']) == ({'addresses': ['10.0.0.5/24', '10.0.0.6/24', 'fd00::5/64'],
                                                       'gateway': '10.0.0.1', 'gateway6': 'fd00::1'}, ['/bin/true'])
    script = FAKE_NET + hook.replace('/sbin/', '')
    for fail in ('', '-j web ej_webb inet 10.0.0.6/24 alias'):
        log = tmp_path / 'log'
        if log.exists():
            log.unlink()
        result = subprocess.run(['sh', '-c', script], cwd=str(tmp_path), env=dict(os.environ, FAIL=fail), check=False)
        calls = log.read_text().splitlines()
        expected = ['ifconfig -j web lo0 inet 127.0.0.1/8 up', 'ifconfig -j web ej_webb up',
                    'ifconfig -j web ej_webb inet 10.0.0.5/24 alias', 'ifconfig -j web ej_webb inet 10.0.0.6/24 alias',
                    'ifconfig -j web ej_webb inet6 -ifdisabled', 'ifconfig -j web ej_webb inet6 fd00::5/64 alias',
                    'route -j web add default 10.0.0.1', 'route -j web add -inet6 default fd00::1']
        if fail:
            assert result.returncode != 0 and calls == expected[:4]
        else:
            assert result.returncode == 0 and calls == expected


@pytest.mark.parametrize('kwargs, parameter', [
    (dict(name='1'), 'name'),
    (dict(name='a.b'), 'name'),
    (dict(name='web\n'), 'name'),
    (dict(vnet=dict(epair='ej\n')), 'vnet.epair'),
    (dict(ip4=['10.0.0.300']), 'ip4'),
    (dict(ip6=['10.0.0.3']), 'ip6'),
    (dict(ip4=['10.0.0.3'], vnet={'bridge': 'b0'}), 'ip4'),
    (dict(hostname='a\nb'), 'hostname'),
    (dict(depend=['web']), 'depend'),
    (dict(parameters={'name': 'x'}), 'parameters'),
    (dict(parameters={'host.hostname': 'x'}, hostname='y'), 'parameters'),
    (dict(allow=['bad flag']), 'allow'),
    (dict(vnet=dict(epair='x' * 15)), 'vnet.epair'),
    (dict(mounts=[dict(source='/a', target='rel', type='nullfs', options='ro')]), 'mounts.target'),
    (dict(mounts=[dict(source='/a b', target='/x', type='nullfs', options='ro')]), 'mounts.source'),
    # What the host's network hook (vnet.configure host) is made of reaches sh: each word by its grammar.
    (dict(vnet=dict(configure='host', addresses=['10.0.0.5/24 && reboot'])), 'vnet.addresses'),
    (dict(vnet=dict(configure='host', addresses=['10.0.0.5/24;reboot'])), 'vnet.addresses'),
    (dict(vnet=dict(configure='host', addresses=['em0|10.0.0.5/24'])), 'vnet.addresses'),
    (dict(vnet=dict(configure='host', gateway='10.0.0.1 && reboot')), 'vnet.gateway'),
    (dict(vnet=dict(configure='host', gateway6='$(reboot)')), 'vnet.gateway6'),
])
def test_bad_input_names_the_parameter(kwargs, parameter):
    with pytest.raises(ParameterError) as info:
        config.validate_name(params(**kwargs)['name'])
        config.desired_params(params(**kwargs))
    assert info.value.parameter == parameter


def test_jail_rc_vars_and_addresses():
    vnet = dict(addresses=['10.0.0.5/24', '10.0.0.6/24', 'fd00::5/64', 'fd00::6/64'], gateway='10.0.0.1',
                gateway6='fd00::1')
    wanted = config.jail_rc_vars(dict(vnet=vnet), 'ej_webb', {'ifconfig_ej_webb_alias7': 'inet 1.2.3.4/32'})
    assert wanted == {
        'ifconfig_ej_webb': 'inet 10.0.0.5/24', 'ifconfig_ej_webb_alias0': 'inet 10.0.0.6/24',
        'ifconfig_ej_webb_ipv6': 'inet6 fd00::5/64', 'ifconfig_ej_webb_alias1': 'inet6 fd00::6/64',
        'ifconfig_ej_webb_alias7': None, 'defaultrouter': '10.0.0.1', 'ipv6_defaultrouter': 'fd00::1'}
    assert config.rc_addresses(dict((k, v) for k, v in wanted.items() if v), 'ej_webb') == {
        'inet': ['10.0.0.5/24', '10.0.0.6/24'], 'inet6': ['fd00::5/64', 'fd00::6/64']}
    only6 = config.jail_rc_vars(dict(vnet=dict(addresses=['fd00::5/64'])), 'ej_webb', {})
    assert only6['ifconfig_ej_webb'] == 'up'


@pytest.mark.parametrize('vnet, parameter', [
    (dict(addresses=['em0|10.0.0.5/24']), 'vnet.addresses'),
    (dict(gateway='fd00::1'), 'vnet.gateway'),
    (dict(gateway6='nope'), 'vnet.gateway6'),
])
def test_jail_rc_vars_bad_input(vnet, parameter):
    with pytest.raises(ParameterError) as info:
        config.jail_rc_vars(dict(vnet=vnet), 'ej_webb', {})
    assert info.value.parameter == parameter


def test_kernel_address_and_live_params():
    assert config.kernel_address('em0|10.0.0.5/24') == '10.0.0.5'
    assert config.kernel_address('fd00::5 prefixlen 64') == 'fd00::5'
    assert config.is_live('allow.raw_sockets') and config.is_live('host.hostname')
    assert not config.is_live('path') and not config.is_live('mount')
    assert config.config_candidates('web') == ['/etc/jail.web.conf', '/etc/jail.conf.d/web.conf', '/etc/jail.conf']
