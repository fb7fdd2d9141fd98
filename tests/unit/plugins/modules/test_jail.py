# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""jail and jail_info at module level: exact command sequences in, files and results out."""
from __future__ import annotations

import hashlib
import json
import os

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._jail import config, manager
from ansible_collections.bsd.multiplicity.plugins.modules import jail, jail_info
from ansible_collections.bsd.multiplicity.tests.unit.plugins.modules.module_harness import jail_files_in, run_module

NOT_FOUND = (1, '', 'jls: jail "web" not found\n')
NO_DATASET = (1, '', "cannot open 'zroot/j/web': dataset does not exist\n")


def jls(*jails):
    body = ','.join(json.dumps(j, separators=(',', ':')) for j in jails)
    return (0, '{"__version": "2", "jail-information": {"jail": [%s]}}\n' % body, '')


def running(**extra):
    record = {'jid': '7', 'name': 'web', 'path': HOST['path'], 'host.hostname': 'web.test', 'vnet': 'inherit',
              'persist': False, 'securelevel': '-1', 'ip4.addr': [], 'ip6.addr': []}
    record.update(extra)
    return record


HOST = {}


@pytest.fixture(autouse=True)
def host(tmp_path, monkeypatch):
    etc = jail_files_in(tmp_path, monkeypatch)
    path = tmp_path / 'jails' / 'web'
    (path / 'etc').mkdir(parents=True)
    (path / 'dev').mkdir()      # jail(8) mounts devfs there
    (path / 'etc' / 'rc.conf').write_text('# jail rc.conf\nsshd_enable="YES"\n')
    HOST.update(root=tmp_path, etc=etc, path=str(path), conf=str(etc / 'jail.conf.d' / 'web.conf'))
    return HOST


def run(module, params, commands, monkeypatch, check_mode=False, diff=False):
    kind, result, unused = run_module(module.main, params, commands, monkeypatch, check_mode=check_mode, diff=diff)
    return kind, result


def c(argv, result):
    """One expected command: argv as written in the tests (programs resolve to /sbin) and its result."""
    return (['/sbin/' + argv[0]] + argv[1:], ) + tuple(result)


JLS_WEB = ['jls', '-n', '-j', 'web', '--libxo', 'json', 'all']
IFCONFIG_WEB = ['ifconfig', '-j', 'web', 'ej_webb']
BRIDGE0 = c(['ifconfig', 'bridge0'], (0, 'bridge0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500\n', ''))
SNAPSHOT = c(['zfs', 'list', '-H', '-o', 'name', '-t', 'snapshot', 'zroot/t@base'], (0, 'zroot/t@base\n', ''))
MARKER = manager.MARKER % 'web'


def ifconfig_out(*inet):
    """``ifconfig ej_webb`` in a jail with these IPv4 addresses (all /24) and a link-local IPv6 one."""
    lines = ['ej_webb: flags=8863<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500']
    lines += ['\tinet %s netmask 0xffffff00 broadcast 10.0.0.255' % a for a in inet]
    lines.append('\tinet6 fe80::1%ej_webb prefixlen 64 scopeid 0x2')
    return (0, '\n'.join(lines) + '\n', '')


ZFS_GET = ['zfs', 'get', '-H', '-p', '-o', 'property,value', 'mountpoint,origin,quota', 'zroot/j/web']


def vnet_params(**extra):
    params = dict(name='web', path=HOST['path'], hostname='web.test', autostart=True,
                  root=dict(type='zfs_clone', template='zroot/t@base', dataset='zroot/j/web',
                            properties=dict(quota='1G')),
                  vnet=dict(bridge='bridge0', addresses=['10.0.0.11/24'], gateway='10.0.0.1'))
    params.update(extra)
    return params


def test_create_vnet_jail_from_template_then_idempotent(monkeypatch):
    conf_argv = ['jail', '-f', HOST['conf'], '-c', 'web']
    kind, result = run(jail, vnet_params(), [
        c(JLS_WEB, NOT_FOUND),
        c(ZFS_GET, NO_DATASET),
        c(['sysrc', '-e', 'jail_enable', 'jail_list'], (0, 'jail_enable="NO"\njail_list=""\n', '')),
        SNAPSHOT, BRIDGE0,
        c(['zfs', 'clone', '-p', '-o', 'mountpoint=' + HOST['path'], '-o', 'quota=1G', 'zroot/t@base', 'zroot/j/web'],
          (0, '', '')),
        c(conf_argv, (0, 'web: created\n', '')),
        c(['sysrc', 'jail_enable=YES', 'jail_list+=web'], (0, '', '')),
        c(JLS_WEB, jls(running(vnet='new'))),
    ], monkeypatch, diff=True)
    assert kind == 'exit', result
    assert result['changed'] is True
    assert result['jail']['state'] == 'running' and result['jail']['jid'] == 7
    assert result['diff'][0]['before'] == '' and 'vnet.interface = ej_webb;' in result['diff'][0]['after']
    assert result['diff'][1]['after'].endswith('ifconfig_ej_webb="inet 10.0.0.11/24"\ndefaultrouter="10.0.0.1"\n')
    assert result['diff'][2]['after']['autostart']['jail_list'] == ['web']
    with open(HOST['conf']) as handle:
        text = handle.read()
    assert text.startswith(MARKER + '\nweb {\n')
    with open(os.path.join(HOST['path'], 'etc', 'rc.conf')) as handle:
        assert handle.read().startswith('# jail rc.conf\nsshd_enable="YES"\n')

    kind, again = run(jail, vnet_params(), [
        c(JLS_WEB, jls(running(vnet='new'))),
        c(ZFS_GET, (0, 'mountpoint\t%s\norigin\tzroot/t@base\nquota\t1073741824\n' % HOST['path'], '')),
        c(['sysrc', '-e', 'jail_enable', 'jail_list'], (0, 'jail_enable="YES"\njail_list="web"\n', '')),
        c(IFCONFIG_WEB, ifconfig_out('10.0.0.11')),
    ], monkeypatch, check_mode=True, diff=True)
    assert again['changed'] is False and again['actions'] == []
    assert again['diff'][-1] == {'before_header': 'jail web', 'after_header': 'jail web',
                                 'before': {'state': 'running'}, 'after': {'state': 'running'}}


def write_conf(text):
    with open(HOST['conf'], 'w') as handle:
        handle.write(MARKER + '\n' + text)


def test_live_change_with_jail_m_and_readdress(monkeypatch):
    run(jail, vnet_params(), [
        c(JLS_WEB, NOT_FOUND), c(ZFS_GET, (0, 'mountpoint\t-\norigin\tzroot/t@base\nquota\t1073741824\n', '')),
        c(['sysrc', '-e', 'jail_enable', 'jail_list'], (0, 'jail_enable="YES"\njail_list="web"\n', '')),
        BRIDGE0,
    ], monkeypatch, check_mode=True)
    params = vnet_params(hostname='new.test', allow=['raw_sockets'], vnet=dict(addresses=['10.0.0.12/24']))
    with open(os.path.join(HOST['path'], 'etc', 'rc.conf'), 'a') as handle:
        handle.write('ifconfig_ej_webb="inet 10.0.0.11/24"\nifconfig_ej_webb_alias0="inet 10.0.0.99/24"\n')
    write_conf('web {\n    path = %s;\n    host.hostname = web.test;\n    vnet;\n}\n' % HOST['path'])
    kind, result = run(jail, dict(params, autostart=None, root=None), [
        c(JLS_WEB, jls(running(vnet='new'))),
        c(IFCONFIG_WEB, ifconfig_out('10.0.0.11', '10.0.0.99')),
        c(['jail', '-m', 'name=web', 'allow.raw_sockets', 'host.hostname=new.test'], (0, 'web: updated\n', '')),
        c(['ifconfig', '-j', 'web', 'ej_webb', 'inet', '10.0.0.11', '-alias'], (0, '', '')),
        c(['ifconfig', '-j', 'web', 'ej_webb', 'inet', '10.0.0.99', '-alias'], (0, '', '')),
        c(['ifconfig', '-j', 'web', 'ej_webb', 'inet', '10.0.0.12/24', 'alias'], (0, '', '')),
        c(JLS_WEB, jls(running(vnet='new', **{'host.hostname': 'new.test'}))),
    ], monkeypatch)
    assert kind == 'exit', result
    # The epair hooks and vnet.interface were added to the block; the exec.start default was not (an
    # existing block gets only the options the task sets).
    assert result['jail']['pending_restart'] == ['exec.poststop', 'exec.prestart', 'vnet.interface']
    assert 'warnings' in result
    text = open(HOST['conf']).read()
    assert 'exec.start' not in text and 'mount.devfs' not in text and 'allow.raw_sockets;' in text


def test_restart_pending_is_remembered_until_allowed(monkeypatch):
    base = dict(name='web', path=HOST['path'], exec=dict(start=['/bin/sh /etc/rc']))
    write_conf('web {\n    path = %s;\n    mount.devfs;\n    exec.start = "/bin/sh /etc/rc";\n    exec.clean;\n}\n'
               % HOST['path'])
    share = dict(source='/data', target='/mnt', type='nullfs', options='ro')
    os.mkdir(os.path.join(HOST['path'], 'mnt'))
    kind, result = run(jail, dict(base, mounts=[share]), [c(JLS_WEB, jls(running()))], monkeypatch)
    assert result['changed'] and result['jail']['pending_restart'] == ['mount']
    assert json.loads((HOST['root'] / 'bsd-multiplicity-jail.web.pending').read_text()) == {'jid': 7,
                                                                                            'params': ['mount']}
    kind, result = run(jail, dict(base, mounts=[share]), [c(JLS_WEB, jls(running()))], monkeypatch)
    assert not result['changed'] and result['jail']['pending_restart'] == ['mount']
    kind, result = run(jail, dict(base, mounts=[share], restart_on_change=True), [
        c(JLS_WEB, jls(running())),
        c(['jail', '-f', HOST['conf'], '-r', 'web'], (0, '', '')),
        c(['jail', '-f', HOST['conf'], '-c', 'web'], (0, '', '')),
        c(JLS_WEB, jls(running(jid='8'))),
    ], monkeypatch)
    assert result['changed'] and result['jail']['jid'] == 8 and result['jail']['pending_restart'] == []
    assert not (HOST['root'] / 'bsd-multiplicity-jail.web.pending').exists()


def test_adopt_hand_written_block_in_shared_file(monkeypatch):
    shared = HOST['etc'] / 'jail.conf'
    shared.write_text('# mine\n$j = "/j";\nweb {\n    path = "${j}/web";  # keep\n    host.hostname = old;\n}\n'
                      'db { path = /j/db; }\n')
    kind, result = run(jail, dict(name='web', state='present', hostname='new', securelevel=2),
                       [c(JLS_WEB, NOT_FOUND)], monkeypatch, diff=True)
    assert result['changed'] and result['jail']['config_file'] == str(shared)
    assert shared.read_text() == ('# mine\n$j = "/j";\nweb {\n    path = "${j}/web";  # keep\n    host.hostname = new;\n'
                                  '    securelevel = 2;\n}\ndb { path = /j/db; }\n')
    assert not os.path.exists(HOST['conf'])
    kind, result = run(jail, dict(name='web', state='absent'), [
        c(JLS_WEB, NOT_FOUND),
        c(['sysrc', '-e', 'jail_enable', 'jail_list'], (0, 'jail_enable="YES"\njail_list="db web"\n', '')),
        c(['sysrc', 'jail_list-=web'], (0, '', '')),
    ], monkeypatch)
    assert result['changed'] and shared.read_text() == '# mine\n$j = "/j";\ndb { path = /j/db; }\n'
    assert result['jail']['state'] == 'absent'


def test_absent_keeps_data_unless_purged(monkeypatch):
    write_conf('web {\n    path = %s;\n}\n' % HOST['path'])
    kind, result = run(jail, dict(name='web', state='absent'), [
        c(JLS_WEB, jls(running())),
        c(['sysrc', '-e', 'jail_enable', 'jail_list'], (0, 'jail_enable="YES"\njail_list="web"\n', '')),
        c(['jail', '-f', HOST['conf'], '-r', 'web'], (0, 'web: removed\n', '')),
        c(['sysrc', 'jail_list-=web'], (0, '', '')),
        c(JLS_WEB, NOT_FOUND),
    ], monkeypatch)
    assert result['changed'] and not os.path.exists(HOST['conf']) and os.path.isdir(HOST['path'])
    kind, result = run(jail, dict(name='web', state='absent', purge=True, root=dict(type='directory')), [
        c(JLS_WEB, NOT_FOUND),
        c(['sysrc', '-e', 'jail_enable', 'jail_list'], (0, 'jail_enable="YES"\njail_list=""\n', '')),
    ], monkeypatch)
    assert not result['changed']        # the path is only known from the config, which is gone
    kind, result = run(jail, dict(name='web', state='absent', purge=True, path=HOST['path']), [
        c(JLS_WEB, NOT_FOUND),
        c(['sysrc', '-e', 'jail_enable', 'jail_list'], (0, 'jail_enable="YES"\njail_list=""\n', '')),
    ], monkeypatch)
    assert result['changed'] and not os.path.exists(HOST['path'])


def test_check_mode_changes_nothing_and_errors_name_the_command(monkeypatch):
    kind, result = run(jail, dict(name='web', path=HOST['path']), [c(JLS_WEB, NOT_FOUND)], monkeypatch,
                       check_mode=True)
    assert result['changed'] and [a['verb'] for a in result['actions']] == ['config', 'start']
    assert not os.path.exists(HOST['conf'])
    kind, result = run(jail, dict(name='web', path=HOST['path']), [c(JLS_WEB, (2, '', 'jls: bad\n'))], monkeypatch)
    assert kind == 'fail' and result['rc'] == 2 and 'read jail web' in result['msg'] and 'jls: bad' in result['msg']
    kind, result = run(jail, dict(name='web', path=HOST['path']), [
        c(JLS_WEB, NOT_FOUND), c(['jail', '-f', HOST['conf'], '-c', 'web'], (1, '', 'jail: web: failed\n'))],
        monkeypatch)
    assert kind == 'fail' and result['changed'] is True and result['done'][0]['verb'] == 'config'
    kind, result = run(jail, dict(name='web', path='/nonexistent/web', root=dict(type='directory')),
                       [c(JLS_WEB, NOT_FOUND)], monkeypatch)
    assert kind == 'fail' and 'does not exist' in result['msg']


RCTL_WEB = ['rctl', 'jail:web:']


def test_rctl_rules_made_equal_live_and_in_rctl_conf(monkeypatch):
    rctl_conf = HOST['etc'] / 'rctl.conf'
    rctl_conf.write_text('# site limits\nuser:joe:maxproc:deny=10\n')
    params = dict(name='web', path=HOST['path'], state='present', rctl=['memoryuse:deny=1g', 'pcpu:deny=50'])
    kind, result = run(jail, params, [
        c(JLS_WEB, NOT_FOUND),
        c(RCTL_WEB, (0, 'jail:web:pcpu:deny=50\njail:web:maxproc:deny=9\n', '')),
        c(['rctl', '-r', 'jail:web:maxproc:deny=/jail'], (0, '', '')),
        c(['rctl', '-a', 'jail:web:memoryuse:deny=1073741824'], (0, '', '')),
    ], monkeypatch, diff=True)
    assert result['changed'] and result['jail']['rctl'] == ['jail:web:memoryuse:deny=1073741824',
                                                            'jail:web:pcpu:deny=50']
    assert rctl_conf.read_text() == ('# site limits\nuser:joe:maxproc:deny=10\njail:web:memoryuse:deny=1073741824\n'
                                     'jail:web:pcpu:deny=50\n')
    state_diff = result['diff'][-1]
    assert state_diff['before']['rctl'] == ['jail:web:maxproc:deny=9', 'jail:web:pcpu:deny=50']
    assert any(d.get('after_header') == str(rctl_conf) for d in result['diff'])
    # Re-run: two reads, nothing else.
    kind, result = run(jail, params, [
        c(JLS_WEB, NOT_FOUND),
        c(RCTL_WEB, (0, 'jail:web:memoryuse:deny=1073741824\njail:web:pcpu:deny=50\n', '')),
    ], monkeypatch)
    assert not result['changed']
    # absent removes the jail's rules from rctl.conf and the kernel, and keeps the rest of the file.
    kind, result = run(jail, dict(name='web', state='absent'), [
        c(JLS_WEB, NOT_FOUND),
        c(['sysrc', '-e', 'jail_enable', 'jail_list'], (0, 'jail_enable="YES"\njail_list=""\n', '')),
        c(RCTL_WEB, (0, 'jail:web:memoryuse:deny=1073741824\njail:web:pcpu:deny=50\n', '')),
        c(['rctl', '-r', 'jail:web:memoryuse:deny=/jail', 'jail:web:pcpu:deny=/jail'], (0, '', '')),
    ], monkeypatch)
    assert result['changed'] and rctl_conf.read_text() == '# site limits\nuser:joe:maxproc:deny=10\n'


def test_rctl_checks_rules_first_and_waits_for_racct(monkeypatch):
    kind, result = run(jail, dict(name='web', path=HOST['path'], rctl=['memoryuse:deny=lots']), [], monkeypatch)
    assert kind == 'fail' and 'rctl' in result['msg'] and "'lots'" in result['msg']
    disabled = (1, '', 'rctl: RACCT/RCTL present, but disabled; enable using kern.racct.enable=1 tunable\n')
    # A kernel booted without racct: the rules wait in rctl.conf for the next boot, and the run says so.
    for check_mode in (True, False):
        kind, result = run(jail, dict(name='web', path=HOST['path'], state='present', rctl=['pcpu:deny=5']),
                           [c(JLS_WEB, NOT_FOUND), c(RCTL_WEB, disabled)], monkeypatch, check_mode=check_mode)
        assert kind == 'exit' and result['changed'], result
        assert any('kern.racct.enable is 0' in w and 'jail:web:pcpu:deny=5' in w for w in result['warnings'])
        assert os.path.exists(HOST['conf']) != check_mode
    rctl_conf = HOST['etc'] / 'rctl.conf'
    assert 'jail:web:pcpu:deny=5' in rctl_conf.read_text()


def test_rc_conf_symlink_out_of_the_jail_is_refused(monkeypatch):
    rc_conf = os.path.join(HOST['path'], 'etc', 'rc.conf')
    os.unlink(rc_conf)
    os.symlink(str(HOST['etc'] / 'jail.conf'), rc_conf)
    kind, result = run(jail, dict(name='web', path=HOST['path'], vnet=dict(addresses=['10.0.0.5/24'])),
                       [c(JLS_WEB, NOT_FOUND)], monkeypatch)
    assert kind == 'fail' and 'rc.conf is a symlink; not touching it' in result['msg']
    assert os.path.islink(rc_conf) and not os.path.exists(HOST['conf'])


def test_jail_info_lists_configured_and_running(monkeypatch, tmp_path):
    (HOST['etc'] / 'jail.conf').write_text('* { exec.clean; }\nweb { path = /j/web; }\nold { path = /j/old; }\n'
                                           '.include "%s/*.conf";\n' % config.CONF_D)
    write_conf('web {\n    path = %s;\n    vnet;\n}\n' % HOST['path'])
    broken = HOST['etc'] / 'jail.broken.conf'
    broken.write_text('broken {\n')
    from ansible_collections.bsd.multiplicity.plugins.module_utils._jail import info
    monkeypatch.setattr(info, 'config_files', lambda: [str(broken), HOST['conf'], config.SHARED_CONF])
    kind, result = run(jail_info, {}, [
        c(['jls', '-n', '--libxo', 'json', 'all'], jls(running(), {'jid': '9', 'name': 'adhoc', 'path': '/x'})),
    ], monkeypatch)
    assert kind == 'exit', result
    jails = result['jails']
    assert list(jails) == ['web', 'old', 'adhoc']
    assert jails['web']['config_file'] == HOST['conf'] and jails['web']['state'] == 'running'
    assert jails['web']['vnet'] is True and jails['web']['jid'] == 7
    assert jails['old']['state'] == 'stopped' and jails['old']['parameters']['exec.clean'] is True
    assert jails['adhoc']['configured'] is False
    assert [e['file'] for e in result['config_errors']] == [str(broken)]
    kind, result = run(jail_info, {'name': ['old']}, [c(['jls', '-n', '--libxo', 'json', 'all'], jls())],
                       monkeypatch)
    assert list(result['jails']) == ['old']


def test_no_prefixed_booleans_compare_as_false():
    assert manager._positive({'allow.noraw_sockets': True, 'nopersist': True, 'persist': True, 'path': '/j'}) == {
        'allow.raw_sockets': False, 'persist': True, 'path': '/j'}


# ---------------------------------------------------------------- hardening
def test_omitted_options_keep_their_values_in_a_module_written_block(monkeypatch):
    """A short follow-up task on a VNET jail changes what it names and nothing else."""
    params = vnet_params(root=None, autostart=None)
    run(jail, params, [c(JLS_WEB, NOT_FOUND), BRIDGE0, c(['jail', '-f', HOST['conf'], '-c', 'web'], (0, '', '')),
                       c(JLS_WEB, jls(running(vnet='new')))], monkeypatch)
    first = open(HOST['conf']).read()
    kind, result = run(jail, dict(name='web', state='present', securelevel=2), [
        c(JLS_WEB, jls(running(vnet='new'))),
        c(['jail', '-m', 'name=web', 'securelevel=2'], (0, '', '')),
        c(JLS_WEB, jls(running(vnet='new', securelevel='2'))),
    ], monkeypatch)
    assert kind == 'exit' and result['changed'], result
    text = open(HOST['conf']).read()
    assert text == first.replace('\n}\n', '\n    securelevel = 2;\n}\n')
    assert 'vnet;' in text and 'exec.prestart' in text and 'host.hostname = web.test;' in text


def test_a_marker_left_by_another_jail_never_makes_a_hand_block_owned(monkeypatch):
    shared = HOST['etc'] / 'jail.conf'
    shared.write_text('%s\nold {\n    path = /j/old;\n}\nweb {\n    path = /j/web;  # by hand\n    persist;\n}\n'
                      % (manager.MARKER % 'old'))
    kind, result = run(jail, dict(name='old', state='absent'), [
        c(JLS_WEB[:3] + ['old'] + JLS_WEB[4:], (1, '', 'jls: jail "old" not found\n')),
        c(['sysrc', '-e', 'jail_enable', 'jail_list'], (0, 'jail_enable="YES"\njail_list=""\n', '')),
    ], monkeypatch)
    assert result['changed'] and shared.read_text() == 'web {\n    path = /j/web;  # by hand\n    persist;\n}\n'
    kind, result = run(jail, dict(name='web', state='present', hostname='w'), [c(JLS_WEB, NOT_FOUND)], monkeypatch)
    assert shared.read_text() == ('web {\n    path = /j/web;  # by hand\n    persist;\n    host.hostname = w;\n}\n')


def test_config_is_edited_from_the_file_at_apply_time(monkeypatch):
    """Another run adds a jail to the shared file between this run's read and its write: both stay."""
    shared = HOST['etc'] / 'jail.conf'
    shared.write_text('web {\n    path = /j/web;\n}\n')
    real_check = manager.JailKind.check

    def other_run_writes(self, view, plan, desired, current):
        with open(str(shared), 'a') as handle:
            handle.write('db {\n    path = /j/db;\n}\n')
        return real_check(self, view, plan, desired, current)
    monkeypatch.setattr(manager.JailKind, 'check', other_run_writes)
    kind, result = run(jail, dict(name='web', state='present', hostname='w'), [c(JLS_WEB, NOT_FOUND)], monkeypatch)
    assert kind == 'exit', result
    assert shared.read_text() == 'web {\n    path = /j/web;\n    host.hostname = w;\n}\ndb {\n    path = /j/db;\n}\n'


def test_missing_bridge_fails_before_any_change_in_check_mode_too(monkeypatch):
    for check_mode in (True, False):
        kind, result = run(jail, vnet_params(root=None, autostart=None), [
            c(JLS_WEB, NOT_FOUND), c(['ifconfig', 'bridge0'], (1, '', 'ifconfig: interface bridge0 does not exist\n')),
        ], monkeypatch, check_mode=check_mode)
        assert kind == 'fail' and 'vnet.bridge bridge0 does not exist' in result['msg'], result
        assert result['changed'] is False and not os.path.exists(HOST['conf'])


def test_a_new_bridge_of_a_running_jail_is_named_and_checked_before_any_change(monkeypatch):
    params = vnet_params(root=None, autostart=None)
    start = c(['jail', '-f', HOST['conf'], '-c', 'web'], (0, '', ''))
    kind, result = run(jail, params, [c(JLS_WEB, NOT_FOUND), BRIDGE0, start, c(JLS_WEB, jls(running(vnet='new')))],
                       monkeypatch)
    assert kind == 'exit', result
    moved = dict(params, vnet=dict(params['vnet'], bridge='bridge1'))
    live = [c(JLS_WEB, jls(running(vnet='new'))), c(IFCONFIG_WEB, ifconfig_out('10.0.0.11'))]
    for check_mode in (True, False):
        kind, result = run(jail, moved, live + [
            c(['ifconfig', 'bridge1'], (1, '', 'ifconfig: interface bridge1 does not exist\n'))],
            monkeypatch, check_mode=check_mode)
        assert kind == 'fail' and 'vnet.bridge bridge1 does not exist' in result['msg'], result
        assert 'bridge0 addm' in open(HOST['conf']).read()
    bridge1 = c(['ifconfig', 'bridge1'], (0, 'bridge1: flags=8843<UP> mtu 1500\n', ''))
    kind, result = run(jail, moved, live + [bridge1], monkeypatch, diff=True)
    assert kind == 'exit' and result['jail']['pending_restart'] == ['vnet.bridge'], result
    assert any('vnet.bridge changed' in w for w in result['warnings']), result['warnings']
    assert result['diff'][-1]['before']['vnet.bridge'] == 'bridge0' and result['diff'][-1]['after']['vnet.bridge'] == 'bridge1'


def test_vnet_configured_by_the_host_writes_nothing_in_the_jail_and_readdresses_in_place(monkeypatch):
    """vnet.configure host: one exec.poststart command (ifconfig -j, route -j), the jail's rc.conf untouched;
    a new address is added in the running jail and named vnet.addresses, not exec.poststart."""
    vnet = dict(bridge='bridge0', addresses=['10.0.0.11/24', 'fd00::11/64'], gateway='10.0.0.1', configure='host')
    params = vnet_params(root=None, autostart=None, vnet=vnet)
    start = c(['jail', '-f', HOST['conf'], '-c', 'web'], (0, 'web: created\n', ''))
    kind, result = run(jail, params, [c(JLS_WEB, NOT_FOUND), BRIDGE0, start, c(JLS_WEB, jls(running(vnet='new')))],
                       monkeypatch, diff=True)
    assert kind == 'exit' and result['changed'] is True, result
    hook = ('/sbin/ifconfig -j web lo0 inet 127.0.0.1/8 up && /sbin/ifconfig -j web ej_webb up'
            ' && /sbin/ifconfig -j web ej_webb inet 10.0.0.11/24 alias && /sbin/ifconfig -j web ej_webb inet6 -ifdisabled'
            ' && /sbin/ifconfig -j web ej_webb inet6 fd00::11/64 alias && /sbin/route -j web add default 10.0.0.1')
    text = open(HOST['conf']).read()
    assert 'exec.poststart = "%s";' % hook in text, text
    assert config.network_of([hook]) == ({'addresses': ['10.0.0.11/24', 'fd00::11/64'], 'gateway': '10.0.0.1',
                                          'gateway6': None}, [])
    assert open(os.path.join(HOST['path'], 'etc', 'rc.conf')).read() == '# jail rc.conf\nsshd_enable="YES"\n'
    assert len(result['diff']) == 2        # the block and the jail, no rc.conf
    assert result['jail']['vnet_addresses'] == {'inet': ['10.0.0.11/24'], 'inet6': ['fd00::11/64']}

    live = ifconfig_out('10.0.0.11')
    live = (0, live[1] + '\tinet6 fd00::11 prefixlen 64\n', '')
    kind, again = run(jail, params, [c(JLS_WEB, jls(running(vnet='new'))), c(IFCONFIG_WEB, live)], monkeypatch,
                      check_mode=True)
    assert kind == 'exit' and again['changed'] is False and again['actions'] == [], again

    more = dict(params, vnet=dict(vnet, addresses=vnet['addresses'] + ['10.0.0.12/24']))
    kind, result = run(jail, more, [
        c(JLS_WEB, jls(running(vnet='new'))), c(IFCONFIG_WEB, live),
        c(['ifconfig', '-j', 'web', 'ej_webb', 'inet', '10.0.0.12/24', 'alias'], (0, '', '')),
        c(JLS_WEB, jls(running(vnet='new'))),
    ], monkeypatch, diff=True)
    assert kind == 'exit' and result['changed'] is True, result
    assert result['jail']['pending_restart'] == [], result
    assert result['diff'][-1]['after']['vnet.addresses'] == ['10.0.0.11/24', '10.0.0.12/24', 'fd00::11/64']
    assert 'exec.poststart' not in result['diff'][-1]['after']
    assert 'inet 10.0.0.12/24 alias' in open(HOST['conf']).read()

    # A new gateway waits for the next start, named as the option.
    moved = dict(more, vnet=dict(more['vnet'], gateway='10.0.0.254'))
    live2 = (0, live[1].replace('\tinet6', '\tinet 10.0.0.12 netmask 0xffffff00 broadcast 10.0.0.255\n\tinet6', 1), '')
    kind, result = run(jail, moved, [c(JLS_WEB, jls(running(vnet='new'))), c(IFCONFIG_WEB, live2)], monkeypatch)
    assert kind == 'exit' and result['jail']['pending_restart'] == ['vnet.gateway'], result


def test_missing_template_snapshot_and_archive_fail_first(monkeypatch):
    kind, result = run(jail, vnet_params(vnet=None, autostart=None), [
        c(JLS_WEB, NOT_FOUND), c(ZFS_GET, NO_DATASET),
        (SNAPSHOT[0], 1, '', "cannot open 'zroot/t@base': dataset does not exist\n")], monkeypatch,
        check_mode=True)
    assert kind == 'fail' and 'snapshot zroot/t@base does not exist' in result['msg']
    release = dict(type='release', archives=['/nonexistent/base.txz'])
    kind, result = run(jail, dict(name='web', path=HOST['path'] + '2', root=release), [c(JLS_WEB, NOT_FOUND)],
                       monkeypatch, check_mode=True)
    assert kind == 'fail' and '/nonexistent/base.txz does not exist' in result['msg']


def test_release_archives_not_in_their_manifest_fail_first_in_check_mode_too(monkeypatch):
    dist = HOST['root'] / 'dist'
    dist.mkdir()
    (dist / 'base.txz').write_bytes(b'not really xz')
    (dist / 'lib32.txz').write_bytes(b'nor this')
    digest = hashlib.sha256(b'not really xz').hexdigest()
    (dist / 'MANIFEST').write_text('base.txz\t%s\t1\tbase\t"Base system"\ton\n' % digest)
    release = dict(type='release', archives=[str(dist / 'base.txz'), str(dist / 'lib32.txz')])
    for check_mode in (True, False):
        kind, result = run(jail, dict(name='web', path=HOST['path'] + '2', root=release), [c(JLS_WEB, NOT_FOUND)],
                           monkeypatch, check_mode=check_mode)
        assert kind == 'fail' and 'lib32.txz is not listed in %s' % (dist / 'MANIFEST') in result['msg'], result
        assert not os.path.exists(HOST['path'] + '2') and result['done'] == []
    (dist / 'base.txz').write_bytes(b'changed')
    kind, result = run(jail, dict(name='web', path=HOST['path'] + '2', root=dict(release, archives=release['archives'][:1])),
                       [c(JLS_WEB, NOT_FOUND)], monkeypatch, check_mode=True)
    assert kind == 'fail' and 'does not match' in result['msg']


def test_an_extraction_cut_half_way_is_emptied_and_done_again(monkeypatch):
    from ansible_collections.bsd.multiplicity.plugins.module_utils._core import records
    dist = HOST['root'] / 'dist'
    dist.mkdir()
    (dist / 'base.txz').write_bytes(b'archive')
    (dist / 'MANIFEST').write_text('base.txz\t%s\t1\tbase\t"Base system"\ton\n' % hashlib.sha256(b'archive').hexdigest())
    path = HOST['path'] + '2'
    params = dict(name='web', path=path, root=dict(type='release', archives=[str(dist / 'base.txz')]), state='present')
    tar = ['/sbin/tar', '-xpf', str(dist / 'base.txz'), '-C', path]

    def cut(argv, data):
        os.makedirs(os.path.join(path, 'bin'))
        with open(os.path.join(path, 'bin', 'sh'), 'w') as handle:
            handle.write('half')
        raise KeyboardInterrupt     # the run stops here, as a crash or a killed connection would stop it
    with pytest.raises(KeyboardInterrupt):
        run(jail, params, [c(JLS_WEB, NOT_FOUND), (tar, cut, None, None)], monkeypatch)
    record = records.Unfinished('jail', 'web', path)
    assert record.found() and os.listdir(path) == ['bin']
    kind, result = run(jail, params, [c(JLS_WEB, NOT_FOUND)], monkeypatch, check_mode=True)
    assert [a['verb'] for a in result['actions']] == ['clean', 'extract', 'config'], result
    assert any('stopped half way' in w for w in result['warnings'])

    def extract(argv, data):
        assert os.listdir(path) == []       # emptied first: what was there was the cut run's
        os.makedirs(os.path.join(path, 'dev'))
        return 0, '', ''
    kind, result = run(jail, params, [c(JLS_WEB, NOT_FOUND), (tar, extract, None, None)], monkeypatch)
    assert kind == 'exit' and result['changed'] and not record.found(), result
    kind, result = run(jail, params, [c(JLS_WEB, NOT_FOUND)], monkeypatch)
    assert not result['changed'], result


def test_ipv6_and_addresses_compare_in_canonical_form(monkeypatch):
    write_conf('web {\n    path = %s;\n    ip6.addr = 2001:db8::5;\n}\n' % HOST['path'])
    kind, result = run(jail, dict(name='web', path=HOST['path'], ip6=['2001:DB8:0::5'], state='present'),
                       [c(JLS_WEB, jls(running(**{'ip6.addr': ['2001:db8::5']})))], monkeypatch)
    assert kind == 'exit' and not result['changed'], result
    kind, result = run(jail, dict(name='web', path=HOST['path'], ip4=['em0;reboot|10.0.0.1']), [], monkeypatch)
    assert kind == 'fail' and result['msg'].startswith('ip4:')


def test_hostile_names_and_fields_are_refused_before_anything_runs(monkeypatch):
    cases = [
        (dict(vnet=dict(bridge='bridge0; reboot')), 'vnet.bridge'),
        (dict(vnet=dict(bridge='bridge0\n')), 'vnet.bridge'),
        (dict(interface='em0 em1'), 'interface'),
        (dict(mounts=[dict(source='/data x', target='/mnt')]), 'mounts.source'),
        (dict(mounts=[dict(source='/data', target='/mnt\x0b2')]), 'mounts.target'),
        (dict(mounts=[dict(source='/data', target='/mnt', options='ro#x')]), 'mounts.options'),
    ]
    for extra, parameter in cases:
        kind, result = run(jail, dict(dict(name='web', path=HOST['path']), **extra), [], monkeypatch)
        assert kind == 'fail' and result['msg'].startswith(parameter + ':'), (extra, result)


def test_live_vnet_addresses_are_the_truth(monkeypatch):
    """rc.conf already has the address (a run failed after writing it), the jail does not: add it now."""
    write_conf('web {\n    path = %s;\n    vnet;\n    vnet.interface = ej_webb;\n}\n' % HOST['path'])
    with open(os.path.join(HOST['path'], 'etc', 'rc.conf'), 'a') as handle:
        handle.write('ifconfig_ej_webb="inet 10.0.0.11/24"\n')
    params = dict(name='web', path=HOST['path'], state='present', vnet=dict(addresses=['10.0.0.11/24']))
    kind, result = run(jail, params, [
        c(JLS_WEB, jls(running(vnet='new'))),
        c(IFCONFIG_WEB, ifconfig_out()),
        c(['ifconfig', '-j', 'web', 'ej_webb', 'inet', '10.0.0.11/24', 'alias'], (0, '', '')),
        c(JLS_WEB, jls(running(vnet='new'))),
    ], monkeypatch)
    assert kind == 'exit' and result['changed'], result


def test_autostart_follows_include_and_uses_list_edits(monkeypatch):
    (HOST['etc'] / 'jail.conf').write_text('.include "%s/*.conf";\n' % config.CONF_D)
    (HOST['etc'] / 'jail.conf.d' / 'db.conf').write_text('db { path = /j/db; }\n')
    kind, result = run(jail, dict(name='web', path=HOST['path'], state='present', autostart=True), [
        c(JLS_WEB, NOT_FOUND),
        c(['sysrc', '-e', 'jail_enable', 'jail_list'], (0, 'jail_enable="YES"\njail_list=""\n', '')),
        c(['sysrc', 'jail_list+=db web'], (0, '', '')),
    ], monkeypatch)
    assert kind == 'exit' and result['changed'], result
    assert any('names them explicitly' in w for w in result['warnings'])


def test_unexpected_errors_are_reported_not_thrown(monkeypatch):
    def denied(self, view, desired):
        raise PermissionError(13, 'Permission denied', '/etc/jail.conf.d')
    monkeypatch.setattr(manager.JailKind, '_read_runtime', denied)
    kind, result = run(jail, dict(name='web', path=HOST['path']), [], monkeypatch)
    assert kind == 'fail' and result['msg'] == 'Operating system error on /etc/jail.conf.d: Permission denied'
    assert 'Traceback' not in result['msg'] and 'PermissionError' in result['exception']
    assert result['changed'] is False and result['commands'] == []


def test_a_mount_point_the_guest_made_a_symlink_stops_the_start(monkeypatch):
    os.symlink('/etc', os.path.join(HOST['path'], 'mnt'))
    share = dict(source='/data', target='/mnt', type='nullfs', options='ro')
    for check_mode in (True, False):
        kind, result = run(jail, dict(name='web', path=HOST['path'], mounts=[share]), [c(JLS_WEB, NOT_FOUND)],
                           monkeypatch, check_mode=check_mode)
        assert kind == 'fail' and 'mount point %s/mnt is a symlink' % HOST['path'] in result['msg'], result
        assert not os.path.exists(HOST['conf'])
    os.rmdir(os.path.join(HOST['path'], 'dev'))
    for check_mode in (True, False):
        # A root without the directory devfs goes on: jail(8) would fail after its first mounts.
        kind, result = run(jail, dict(name='web', path=HOST['path']), [c(JLS_WEB, NOT_FOUND)], monkeypatch,
                           check_mode=check_mode)
        assert kind == 'fail' and 'mount point %s/dev does not exist' % HOST['path'] in result['msg'], result
        assert not os.path.exists(HOST['conf'])
    os.symlink('/', os.path.join(HOST['path'], 'dev'))
    kind, result = run(jail, dict(name='web', path=HOST['path']), [c(JLS_WEB, NOT_FOUND)], monkeypatch)
    assert kind == 'fail' and '/dev is a symlink' in result['msg']


def test_a_gateway_only_change_is_reported_as_the_gateway(monkeypatch):
    write_conf('web {\n    path = %s;\n    vnet;\n    vnet.interface = ej_webb;\n}\n' % HOST['path'])
    with open(os.path.join(HOST['path'], 'etc', 'rc.conf'), 'a') as handle:
        handle.write('ifconfig_ej_webb="inet 10.0.0.11/24"\ndefaultrouter="10.0.0.1"\n')
    params = dict(name='web', path=HOST['path'], state='present',
                  vnet=dict(addresses=['10.0.0.11/24'], gateway='10.0.0.254'))
    kind, result = run(jail, params, [
        c(JLS_WEB, jls(running(vnet='new'))),
        c(IFCONFIG_WEB, ifconfig_out('10.0.0.11')),
    ], monkeypatch, diff=True)
    assert kind == 'exit' and result['changed'], result
    assert 'vnet.gateway' in result['jail']['pending_restart']
    structured = result['diff'][-1]
    assert 'vnet.addresses' not in structured['after'] and structured['after']['vnet.gateway'] == '10.0.0.254'


def test_a_new_path_recreates_the_jail_and_never_purges_the_old_root(monkeypatch):
    """path is RECREATE: the jail is stopped and made again on the new root; purge: true is declared,
    and the old root stays with its data."""
    write_conf('web {\n    path = %s;\n    host.hostname = web.test;\n}\n' % HOST['path'])
    new_root = os.path.join(str(HOST['root']), 'jails', 'web2')
    os.makedirs(os.path.join(new_root, 'dev'))
    params = dict(name='web', path=new_root, hostname='web.test', purge=True, state='started')
    kind, result = run(jail, params, [c(JLS_WEB, jls(running()))], monkeypatch, check_mode=True)
    assert kind == 'exit' and result['jail']['pending_restart'] == ['path'], result
    assert [a['verb'] for a in result['actions']] == ['config', 'pending']     # without a restart: recorded
    kind, result = run(jail, dict(params, restart_on_change=True), [c(JLS_WEB, jls(running()))], monkeypatch,
                       check_mode=True)
    assert [a['verb'] for a in result['actions']] == ['stop', 'config', 'start']     # no purge
    kind, result = run(jail, dict(params, restart_on_change=True), [
        c(JLS_WEB, jls(running())),
        c(['jail', '-f', HOST['conf'], '-r', 'web'], (0, '', '')),
        c(['jail', '-f', HOST['conf'], '-c', 'web'], (0, '', '')),
        c(JLS_WEB, jls(running(jid='8', path=new_root))),
    ], monkeypatch)
    assert kind == 'exit', result
    assert result['jail']['path'] == new_root and result['jail']['jid'] == 8
    assert 'path = %s;' % new_root in open(HOST['conf']).read()
    assert os.path.isfile(os.path.join(HOST['path'], 'etc', 'rc.conf'))      # the old root, untouched


def test_a_block_marked_by_an_earlier_version_is_adopted_and_removed_with_its_marker(monkeypatch):
    with open(HOST['conf'], 'w') as handle:
        handle.write('# Managed by bsd.multiplicity.jail: web\nweb {\n    path = %s;\n}\n' % HOST['path'])
    kind, result = run(jail, dict(name='web', state='present'), [c(JLS_WEB, NOT_FOUND)], monkeypatch)
    assert kind == 'exit' and not result['changed']         # adopted as it is: no second marker
    kind, result = run(jail, dict(name='web', state='absent'), [
        c(JLS_WEB, NOT_FOUND), c(['sysrc', '-e', 'jail_enable', 'jail_list'], (0, 'jail_enable="YES"\njail_list=""\n', ''))],
        monkeypatch)
    assert kind == 'exit' and result['changed'] and not os.path.exists(HOST['conf'])


def test_a_restart_checks_the_mount_points_again_once_the_jail_is_stopped(monkeypatch):
    """While the jail ran, one of its processes turned /mnt into a link to /etc after the module's check:
    the check made once the jail is stopped (none of its processes left) refuses the start."""
    write_conf('web {\n    path = %s;\n    mount.devfs;\n    exec.start = "/bin/sh /etc/rc";\n}\n' % HOST['path'])
    os.mkdir(os.path.join(HOST['path'], 'mnt'))
    share = dict(source='/data', target='/mnt', type='nullfs', options='ro')
    params = dict(name='web', path=HOST['path'], exec=dict(start=['/bin/sh /etc/rc']), mounts=[share],
                  restart_on_change=True)

    def stop_after_the_swap(argv, data):
        os.rmdir(os.path.join(HOST['path'], 'mnt'))
        os.symlink('/etc', os.path.join(HOST['path'], 'mnt'))
        return 0, '', ''
    kind, result = run(jail, params, [
        c(JLS_WEB, jls(running())), (['/sbin/jail', '-f', HOST['conf'], '-r', 'web'], stop_after_the_swap, None, None),
    ], monkeypatch)
    assert kind == 'fail' and 'mount point %s/mnt is a symlink' % HOST['path'] in result['msg'], result
    assert 'left stopped' in result['msg']      # jail -c never ran: the harness has no such command left


def test_a_depend_on_a_jail_configured_nowhere_fails_before_any_change(monkeypatch):
    params = dict(name='web', path=HOST['path'], depend=['db'])
    for check_mode in (True, False):
        kind, result = run(jail, params, [c(JLS_WEB, NOT_FOUND)], monkeypatch, check_mode=check_mode)
        assert kind == 'fail' and 'depends on db, which no jail.conf file' in result['msg'], result
        assert not os.path.exists(HOST['conf']) and result['done'] == []
    # Configured in a file of several jails (read by jail(8) through an .include): found there.
    with open(str(HOST['etc'] / 'jail.conf.d' / 'pair.conf'), 'w') as handle:
        handle.write('db {\n    path = /j/db;\n}\nother {\n    path = /j/other;\n}\n')
    kind, result = run(jail, params, [c(JLS_WEB, NOT_FOUND)], monkeypatch, check_mode=True)
    assert kind == 'exit' and result['changed'], result
