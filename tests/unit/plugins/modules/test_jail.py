# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""jail and jail_info at module level: exact command sequences in, files and results out."""
from __future__ import annotations

import json
import os

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._jail import config, manager, rctl
from ansible_collections.bsd.multiplicity.plugins.modules import jail, jail_info
from ansible_collections.bsd.multiplicity.tests.unit.plugins.modules.module_harness import run_module

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
    etc = tmp_path / 'etc'
    (etc / 'jail.conf.d').mkdir(parents=True)
    monkeypatch.setattr(config, 'CONF_D', str(etc / 'jail.conf.d'))
    monkeypatch.setattr(config, 'SHARED_CONF', str(etc / 'jail.conf'))
    monkeypatch.setattr(config, 'config_candidates', lambda name: [
        str(etc / ('jail.%s.conf' % name)), str(etc / 'jail.conf.d' / ('%s.conf' % name)), str(etc / 'jail.conf')])
    monkeypatch.setattr(manager, 'PENDING_DIR', str(tmp_path))
    monkeypatch.setattr(rctl, 'RCTL_CONF', str(etc / 'rctl.conf'))
    path = tmp_path / 'jails' / 'web'
    (path / 'etc').mkdir(parents=True)
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
        c(['zfs', 'clone', '-p', '-o', 'mountpoint=' + HOST['path'], '-o', 'quota=1G', 'zroot/t@base', 'zroot/j/web'],
          (0, '', '')),
        c(['sysrc', 'jail_enable=YES', 'jail_list=web'], (0, '', '')),
        c(conf_argv, (0, 'web: created\n', '')),
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
    assert text.startswith(manager.MARKER + '\nweb {\n')
    with open(os.path.join(HOST['path'], 'etc', 'rc.conf')) as handle:
        assert handle.read().startswith('# jail rc.conf\nsshd_enable="YES"\n')

    kind, again = run(jail, vnet_params(), [
        c(JLS_WEB, jls(running(vnet='new'))),
        c(ZFS_GET, (0, 'mountpoint\t%s\norigin\tzroot/t@base\nquota\t1073741824\n' % HOST['path'], '')),
        c(['sysrc', '-e', 'jail_enable', 'jail_list'], (0, 'jail_enable="YES"\njail_list="web"\n', '')),
    ], monkeypatch, check_mode=True, diff=True)
    assert again['changed'] is False and again['actions'] == []
    assert again['diff'][-1] == {'before_header': 'jail web', 'after_header': 'jail web',
                                 'before': {'state': 'running'}, 'after': {'state': 'running'}}


def write_conf(text):
    with open(HOST['conf'], 'w') as handle:
        handle.write(manager.MARKER + '\n' + text)


def test_live_change_with_jail_m_and_readdress(monkeypatch):
    run(jail, vnet_params(), [
        c(JLS_WEB, NOT_FOUND), c(ZFS_GET, (0, 'mountpoint\t-\norigin\tzroot/t@base\nquota\t1073741824\n', '')),
        c(['sysrc', '-e', 'jail_enable', 'jail_list'], (0, 'jail_enable="YES"\njail_list="web"\n', '')),
    ], monkeypatch, check_mode=True)
    params = vnet_params(hostname='new.test', allow=['raw_sockets'], vnet=dict(addresses=['10.0.0.12/24']))
    with open(os.path.join(HOST['path'], 'etc', 'rc.conf'), 'a') as handle:
        handle.write('ifconfig_ej_webb="inet 10.0.0.11/24"\nifconfig_ej_webb_alias0="inet 10.0.0.99/24"\n')
    write_conf('web {\n    path = %s;\n    host.hostname = web.test;\n    vnet;\n}\n' % HOST['path'])
    kind, result = run(jail, dict(params, autostart=None, root=None), [
        c(JLS_WEB, jls(running(vnet='new'))),
        c(['jail', '-m', 'name=web', 'allow.raw_sockets', 'host.hostname=new.test'], (0, 'web: updated\n', '')),
        c(['ifconfig', '-j', 'web', 'ej_webb', 'inet', '10.0.0.11', '-alias'], (0, '', '')),
        c(['ifconfig', '-j', 'web', 'ej_webb', 'inet', '10.0.0.99', '-alias'], (0, '', '')),
        c(['ifconfig', '-j', 'web', 'ej_webb', 'inet', '10.0.0.12/24', 'alias'], (0, '', '')),
        c(JLS_WEB, jls(running(vnet='new', **{'host.hostname': 'new.test'}))),
    ], monkeypatch)
    assert kind == 'exit', result
    assert result['jail']['pending_restart'] != []        # exec hooks and mount.devfs were added to the block
    assert 'warnings' in result


def test_restart_pending_is_remembered_until_allowed(monkeypatch):
    base = dict(name='web', path=HOST['path'], exec=dict(start=['/bin/sh /etc/rc']))
    write_conf('web {\n    path = %s;\n    mount.devfs;\n    exec.start = "/bin/sh /etc/rc";\n    exec.clean;\n}\n'
               % HOST['path'])
    share = dict(source='/data', target='/mnt', type='nullfs', options='ro')
    kind, result = run(jail, dict(base, mounts=[share]), [c(JLS_WEB, jls(running())), c(JLS_WEB, jls(running()))],
                       monkeypatch)
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
                       [c(JLS_WEB, NOT_FOUND), c(JLS_WEB, NOT_FOUND)], monkeypatch, diff=True)
    assert result['changed'] and result['jail']['config_file'] == str(shared)
    assert shared.read_text() == ('# mine\n$j = "/j";\nweb {\n    path = "${j}/web";  # keep\n    host.hostname = new;\n'
                                  '    securelevel = 2;\n}\ndb { path = /j/db; }\n')
    assert not os.path.exists(HOST['conf'])
    kind, result = run(jail, dict(name='web', state='absent'), [
        c(JLS_WEB, NOT_FOUND),
        c(['sysrc', '-e', 'jail_enable', 'jail_list'], (0, 'jail_enable="YES"\njail_list="db web"\n', '')),
        c(['sysrc', 'jail_list=db'], (0, '', '')),
        c(JLS_WEB, NOT_FOUND),
    ], monkeypatch)
    assert result['changed'] and shared.read_text() == '# mine\n$j = "/j";\ndb { path = /j/db; }\n'
    assert result['jail']['state'] == 'absent'


def test_absent_keeps_data_unless_purged(monkeypatch):
    write_conf('web {\n    path = %s;\n}\n' % HOST['path'])
    kind, result = run(jail, dict(name='web', state='absent'), [
        c(JLS_WEB, jls(running())),
        c(['sysrc', '-e', 'jail_enable', 'jail_list'], (0, 'jail_enable="YES"\njail_list="web"\n', '')),
        c(['jail', '-f', HOST['conf'], '-r', 'web'], (0, 'web: removed\n', '')),
        c(['sysrc', 'jail_list='], (0, '', '')),
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
        c(JLS_WEB, NOT_FOUND),
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
        c(JLS_WEB, NOT_FOUND),
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
        c(JLS_WEB, NOT_FOUND),
    ], monkeypatch)
    assert result['changed'] and rctl_conf.read_text() == '# site limits\nuser:joe:maxproc:deny=10\n'


def test_rctl_needs_racct_and_checks_rules_first(monkeypatch):
    kind, result = run(jail, dict(name='web', path=HOST['path'], rctl=['memoryuse:deny=lots']), [], monkeypatch)
    assert kind == 'fail' and 'rctl' in result['msg'] and "'lots'" in result['msg']
    disabled = (1, '', 'rctl: RACCT/RCTL present, but disabled; enable using kern.racct.enable=1 tunable\n')
    kind, result = run(jail, dict(name='web', path=HOST['path'], rctl=['pcpu:deny=5']),
                       [c(JLS_WEB, NOT_FOUND), c(RCTL_WEB, disabled)], monkeypatch)
    assert kind == 'fail' and 'kern.racct.enable=1 in /boot/loader.conf' in result['msg']
    assert not os.path.exists(HOST['conf'])


def test_rc_conf_symlink_out_of_the_jail_is_refused(monkeypatch):
    rc_conf = os.path.join(HOST['path'], 'etc', 'rc.conf')
    os.unlink(rc_conf)
    os.symlink(str(HOST['etc'] / 'jail.conf'), rc_conf)
    kind, result = run(jail, dict(name='web', path=HOST['path'], vnet=dict(addresses=['10.0.0.5/24'])),
                       [c(JLS_WEB, NOT_FOUND)], monkeypatch)
    assert kind == 'fail' and 'outside the jail root' in result['msg']


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
