# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""topology at module level: the whole declaration checked first, bulk reads, dependency order,
failures isolated by guest."""
from __future__ import annotations

import json
import os

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import edits
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail import manager
from ansible_collections.bsd.multiplicity.plugins.modules import topology
from ansible_collections.bsd.multiplicity.tests.unit.plugins.modules.module_harness import jail_files_in, run_module

JLS_ALL = ['/sbin/jls', '-n', '--libxo', 'json', 'all']
SYSRC = ['/sbin/sysrc', '-e', 'jail_enable', 'jail_list']
HOST = {}


def jls(*jails):
    body = ','.join(json.dumps(j) for j in jails)
    return (JLS_ALL, 0, '{"__version": "2", "jail-information": {"jail": [%s]}}\n' % body, '')


def running(name, jid):
    return {'jid': str(jid), 'name': name, 'path': HOST['root'] + '/' + name, 'host.hostname': name, 'persist': False,
            'ip4.addr': [], 'ip6.addr': []}


@pytest.fixture(autouse=True)
def host(tmp_path, monkeypatch):
    etc = jail_files_in(tmp_path, monkeypatch)
    for name in ('db', 'web', 'other'):
        (tmp_path / 'jails' / name / 'dev').mkdir(parents=True)     # where jail(8) mounts devfs
    HOST.update(root=str(tmp_path / 'jails'), etc=etc)
    return HOST


@pytest.fixture
def writes(monkeypatch):
    """The paths of every locked file rewrite, in order."""
    found = []
    original = edits.edit_locked

    def counting(path, edit, **kwargs):
        found.append(path)
        return original(path, edit, **kwargs)
    monkeypatch.setattr(edits, 'edit_locked', counting)
    return found


def jail(name, **extra):
    return dict(dict(name=name, path=os.path.join(HOST['root'], name), hostname=name), **extra)


def conf(name):
    return str(HOST['etc'] / 'jail.conf.d' / ('%s.conf' % name))


def start(name, rc=0, err=''):
    return (['/sbin/jail', '-f', conf(name), '-c', name], rc, '', err)


def includes(*names):
    return ''.join('.include "%s";\n' % conf(name) for name in names)


def start_with(name, depended, rc=0, err=''):
    """A jail that depends on others starts from a configuration that defines them too (jail(8) needs it)."""
    return (['/sbin/jail', '-f', '-', '-c', name], rc, '', err, includes(*(depended + [name])))


def start_all(*names, rc=0, err=''):
    """New jails started by one jail(8) run over a configuration that includes their files."""
    return (['/sbin/jail', '-f', '-', '-p1', '-c'], rc, ''.join('%s: created\n' % n for n in names), err,
            includes(*names))


def run(params, commands, monkeypatch, **kwargs):
    return run_module(topology.main, params, commands, monkeypatch, **kwargs)


def test_dependencies_first_one_read_for_all_then_idempotent(monkeypatch):
    declared = dict(jails=[jail('web', depend=['db']), jail('db')])
    kind, result, ran = run(declared, [jls()], monkeypatch, check_mode=True)
    assert kind == 'exit' and result['changed'] and result['order'] == ['db', 'web']
    assert result['plan']['create'] == ['db', 'web'] and ran == [JLS_ALL]
    assert [a['verb'] for a in result['guests']['web']['actions']] == ['config', 'start']
    kind, result, ran = run(declared, [jls(), start('db'), start_with('web', ['db']),
                                       jls(running('db', 1), running('web', 2))], monkeypatch)
    assert kind == 'exit', result
    assert result['guests']['web']['jail']['state'] == 'running' and result['guests']['web']['jail']['jid'] == 2
    assert 'depend = db;' in open(conf('web')).read()
    kind, result, ran = run(declared, [jls(running('db', 1), running('web', 2))], monkeypatch)
    assert kind == 'exit' and not result['changed'] and result['plan']['unchanged'] == ['db', 'web']


def test_no_change_reads_are_constant_in_the_number_of_jails(monkeypatch):
    names = ['j%03d' % i for i in range(60)]
    for name in names:
        os.makedirs(os.path.join(HOST['root'], name, 'dev'))
    declared = dict(jails=[jail(name, autostart=True) for name in names])
    for name in names:
        with open(conf(name), 'w') as handle:
            handle.write('%s\n%s {\n    path = %s;\n    host.hostname = %s;\n}\n' % (
                manager.MARKER % name, name, os.path.join(HOST['root'], name), name))
    rc_list = 'jail_enable="YES"\njail_list="%s"\n' % ' '.join(names)
    kind, result, ran = run(declared, [jls(*[running(n, i + 1) for i, n in enumerate(names)]),
                                       (SYSRC, 0, rc_list, '')], monkeypatch)
    assert kind == 'exit' and not result['changed'], result
    assert ran == [JLS_ALL, SYSRC]
    assert 'jail' not in result['guests']['j001'] and result['guests']['j001']['after'] == 'running'
    kind, result, ran = run(dict(declared, facts='all'), [jls(*[running(n, i + 1) for i, n in enumerate(names)]),
                                                          (SYSRC, 0, rc_list, '')], monkeypatch)
    assert result['guests']['j001']['jail']['jid'] == 2 and result['guests']['j001']['jail']['state'] == 'running'


def test_defaults_are_merged_under_each_guest_with_its_name_expanded(monkeypatch):
    def full(name, address):
        return dict(name=name, path=os.path.join(HOST['root'], name), hostname=name + '.example.org',
                    vnet=dict(bridge='bridge0', addresses=[address], gateway='192.0.2.1'), autostart=True)
    defaults = dict(jails=dict(path=os.path.join(HOST['root'], '${name}'), hostname='${name}.example.org',
                               vnet=dict(bridge='bridge0', gateway='192.0.2.1', addresses=['192.0.2.9/24']),
                               autostart=True))
    short = [dict(name='db', vnet=dict(addresses=['192.0.2.10/24'])),
             dict(name='web', vnet=dict(addresses=['192.0.2.11/24']), depend=['db'])]
    reads = [jls(), (SYSRC, 0, '', ''), (['/sbin/ifconfig', 'bridge0'], 0, 'bridge0: flags=8843<UP> mtu 1500\n', '')]
    spelled_out = [full('db', '192.0.2.10/24'), dict(full('web', '192.0.2.11/24'), depend=['db'])]
    kind, expected, ran_full = run(dict(jails=spelled_out), list(reads), monkeypatch, check_mode=True, diff=True)
    assert kind == 'exit', expected
    kind, result, ran = run(dict(jails=short, defaults=defaults), list(reads), monkeypatch, check_mode=True, diff=True)
    assert kind == 'exit' and ran == ran_full and result['order'] == ['db', 'web']
    assert result['diff'] == expected['diff'] and 'path = %s/web;' % HOST['root'] in str(result['diff'])
    for name in ('db', 'web'):
        assert result['guests'][name]['actions'] == expected['guests'][name]['actions']
    # A guest drops a default with null; a default's error names the guest it was merged into.
    kind, result, ran = run(dict(jails=[dict(name='db', vnet=None)], defaults=defaults), [jls(), (SYSRC, 0, '', '')],
                            monkeypatch,
                            check_mode=True)
    assert kind == 'exit' and 'vnet' not in str(result['guests']['db']['actions']), result
    kind, result, ran = run(dict(jails=short, defaults=dict(jails=dict(defaults['jails'], vnet=dict(bridge='b r')))),
                            [], monkeypatch)
    assert kind == 'fail' and result['msg'].startswith('jails[db].vnet.bridge:') and ran == [], result


@pytest.mark.parametrize('defaults, where, message', [
    (dict(lxc_containers={}), 'defaults.lxc_containers', 'not a kind of guest (one of kernel_modules, jails, chroots, xen_domus, bhyve_vms, linux_compat)'),
    (dict(jails=[]), 'defaults.jails', 'must be a dictionary'),
    (dict(jails=dict(name='x')), 'defaults.jails.name', 'cannot have a default'),
    (dict(jails=dict(bogus=1)), 'jails[a]', 'bogus'),
])
def test_bad_defaults_fail_before_anything_runs(monkeypatch, defaults, where, message):
    kind, result, ran = run(dict(jails=[jail('a')], defaults=defaults), [], monkeypatch)
    assert kind == 'fail' and result['msg'].startswith(where + ':') and message in result['msg'], result
    assert ran == [] and 'nothing was changed' in result['msg']


@pytest.mark.parametrize('jails, where, message', [
    (lambda: [jail('a', depend=['b']), jail('b', depend=['a'])], 'jails[a].depend', 'dependency cycle: a -> b -> a'),
    (lambda: [jail('a', depend=['nobody'])], 'jails[a].depend', 'depends on nobody, which is not declared'),
    (lambda: [jail('a'), jail('a')], 'jails[a]', 'declared twice'),
    (lambda: [dict(jail('a'), bogus=1)], 'jails[a]', 'bogus'),
    (lambda: [dict(jail('a'), state='gone')], 'jails[a]', 'state'),
    (lambda: [dict(jail('a'), vnet=dict(bridge='br0; reboot'))], 'jails[a].vnet.bridge', 'not an interface name'),
])
def test_bad_declarations_fail_naming_guest_and_option_before_anything_runs(monkeypatch, jails, where, message):
    kind, result, ran = run(dict(jails=jails()), [], monkeypatch)
    assert kind == 'fail' and result['msg'].startswith(where + ':') and message in result['msg'], result
    assert ran == [] and 'nothing was changed' in result['msg']


def test_a_failing_guest_is_named_its_dependants_skipped_the_others_converged(monkeypatch):
    declared = dict(jails=[jail('db'), jail('web', depend=['db']), jail('other')])
    failed = start_all('db', 'other', rc=1)
    kind, result, ran = run(declared, [jls(), (failed[0], 1, 'other: created\n', 'jail: db: mount failed\n', failed[4]),
                                       jls(running('other', 3)), jls(running('other', 3))], monkeypatch)
    assert kind == 'fail' and 'db: Failed to start jail db' in result['msg']
    guests = result['guests']
    assert guests['db']['failed'] and guests['db']['changed'] and guests['db']['done'][0]['verb'] == 'config'
    assert guests['web']['skipped'] and 'depends on db, which failed' in guests['web']['msg']
    assert guests['other']['jail']['state'] == 'running' and result['plan']['failed'] == ['db', 'web']
    assert result['changed'] is True


def test_undeclared_jails_are_reported_and_pruned_without_purge(monkeypatch):
    with open(conf('other'), 'w') as handle:
        handle.write('other {\n    path = %s/other;\n}\n' % HOST['root'])
    declared = dict(jails=[jail('db', state='present')])
    kind, result, ran = run(declared, [jls(running('adhoc', 9))], monkeypatch, check_mode=True)
    assert result['undeclared'] == ['adhoc', 'other'] and 'other' not in result['guests']
    kind, result, ran = run(dict(declared, prune=True), [
        jls(running('adhoc', 9)),
        (SYSRC, 0, 'jail_enable="YES"\njail_list="other"\n', ''),
        (['/sbin/jail', '-r', 'adhoc'], 0, '', ''),
        (['/sbin/sysrc', 'jail_list-=other'], 0, '', ''),
        jls(),
    ], monkeypatch)
    assert kind == 'exit', result
    assert result['plan']['remove'] == ['adhoc', 'other'] and result['guests']['other']['pruned']
    assert not os.path.exists(conf('other')) and os.path.isdir(os.path.join(HOST['root'], 'other'))


def test_chroots_and_jails_in_one_call_across_kinds(monkeypatch):
    build = os.path.join(HOST['root'], 'build')
    os.makedirs(os.path.join(build, 'tmp'))
    fstab = str(HOST['etc'] / 'fstab')
    chroot = dict(path=build, bootstrap=dict(method='none'), mounts=[dict(type='tmpfs', target='/tmp')], fstab=fstab)
    declared = dict(jails=[jail('web', depend=[build])], chroots=[chroot])
    uname = (['/sbin/uname', '-s'], 0, 'FreeBSD\n', '')
    mount_p = (['/sbin/mount', '-p'], 0, 'zroot/ROOT/default\t/\tzfs\trw\t0 0\n', '')
    mounted = (['/sbin/mount', '-p'], 0, 'zroot/ROOT/default\t/\tzfs\trw\t0 0\ntmpfs\t%s/tmp\ttmpfs\trw\t0 0\n' % build,
               '')
    kind, result, ran = run(declared, [
        jls(), uname, mount_p, (['/sbin/mount', '-t', 'tmpfs', 'tmpfs', build + '/tmp'], 0, '', ''), mounted,
        start('web'), jls(running('web', 4)), mounted,
    ], monkeypatch)
    assert kind == 'exit', result
    assert result['order'] == [build, 'web'] and result['plan']['change'] == [build]
    assert result['guests'][build]['kind'] == 'chroots' and result['guests']['web']['jail']['jid'] == 4
    assert 'depend' not in open(conf('web')).read()          # a chroot is not a jail(8) dependency
    assert 'tmpfs %s/tmp tmpfs rw 0 0' % build in open(fstab).read()
    kind, result, ran = run(dict(declared, chroots=[dict(chroot, depend=['web'])]), [], monkeypatch)
    assert kind == 'fail' and 'dependency cycle' in result['msg'] and ran == []


def test_autostart_of_every_new_jail_is_one_sysrc(monkeypatch):
    declared = dict(jails=[jail('db', autostart=True), jail('web', autostart=True, depend=['db'])])
    kind, result, ran = run(declared, [
        jls(), (SYSRC, 0, 'jail_enable="NO"\njail_list=""\n', ''), start('db'), start_with('web', ['db']),
        (['/sbin/sysrc', 'jail_enable=YES', 'jail_list+=db web'], 0, '', ''),
        jls(running('db', 1), running('web', 2)),
    ], monkeypatch)
    assert kind == 'exit', result
    assert [a['verb'] for a in result['guests']['web']['actions']] == ['config', 'start', 'autostart']
    kind, result, ran = run(declared, [
        jls(), (SYSRC, 0, 'jail_enable="NO"\njail_list=""\n', ''), start('db'), start_with('web', ['db']),
        (['/sbin/sysrc', 'jail_enable=YES', 'jail_list+=db web'], 1, '', 'sysrc: /etc/rc.conf: Read-only file system\n'),
    ], monkeypatch)
    assert kind == 'fail' and 'host-wide edit of this call failed' in result['guests']['web']['msg']


def test_rctl_rules_of_every_jail_are_one_rewrite_of_rctl_conf(monkeypatch, writes):
    declared = dict(jails=[jail('db', rctl=['memoryuse:deny=1g']), jail('web', rctl=['maxproc:deny=50'])])
    kind, result, ran = run(declared, [
        jls(), (['/sbin/rctl'], 0, '', ''),
        (['/sbin/rctl', '-a', 'jail:db:memoryuse:deny=1073741824'], 0, '', ''),
        (['/sbin/rctl', '-a', 'jail:web:maxproc:deny=50'], 0, '', ''), start_all('db', 'web'),
        jls(running('db', 1), running('web', 2)),
    ], monkeypatch)
    assert kind == 'exit', result
    conf = HOST['etc'] / 'rctl.conf'
    assert [w for w in writes if w.endswith('rctl.conf')] == [str(conf)]     # one rewrite for both jails
    assert conf.read_text().count('jail:db:memoryuse:deny=1073741824') == 1
    assert conf.read_text().count('jail:web:maxproc:deny=50') == 1


def test_new_jails_start_in_one_jail_run_each_failure_reported_by_name(monkeypatch):
    """jail(8) given a configuration does each of its jails on its own: one run starts every new jail;
    one that fails is found by reading the jails back and reported by its name, with what jail(8) said
    of it; the ones depending on it are skipped; the others started, and the next run retries it alone."""
    for name in ('api', 'cache'):
        os.makedirs(os.path.join(HOST['root'], name, 'dev'))
    declared = dict(jails=[jail('db'), jail('web'), jail('other'), jail('api', depend=['web']), jail('cache')])
    kind, result, ran = run(declared, [jls()], monkeypatch, check_mode=True)
    assert kind == 'exit' and ran == [JLS_ALL]
    # Check mode shows the one run, in every jail's actions.
    many = ['jail', '-f', '-', '-p1', '-c']
    assert result['guests']['db']['actions'][-1]['argv'] == many
    assert result['guests']['db']['actions'][-1]['stdin'] == includes('db', 'web', 'other', 'cache')
    kind, result, ran = run(declared, [
        jls(), (['/sbin/jail'] + many[1:], 1, 'db: created\nweb: created\nother: created\ncache: created\n',
                'jail: web: exec.start failed\n', includes('db', 'web', 'other', 'cache')),
        jls(running('db', 1), running('other', 3), running('cache', 4)),       # which ones started
        jls(running('db', 1), running('other', 3), running('cache', 4)),       # the re-read of the call
    ], monkeypatch)
    assert kind == 'fail' and '2 guest(s) failed' in result['msg'], result
    guests = result['guests']
    assert guests['web']['failed'] and guests['web']['msg'] == (
        'Failed to start jail web: jail -f - -p1 -c exited 1: jail: web: exec.start failed')
    assert guests['api']['skipped'] and 'depends on web' in guests['api']['msg']
    assert [guests[n]['after'] for n in ('db', 'other', 'cache')] == ['running'] * 3
    assert [a['argv'] for a in guests['db']['actions'] if a['verb'] == 'start'] == [many]
    # Only web is left to start (api after it, from a configuration that defines web).
    kind, result, ran = run(declared, [
        jls(running('db', 1), running('other', 3), running('cache', 4)), start('web'),
        start_with('api', ['web']),
        jls(running('db', 1), running('other', 3), running('cache', 4), running('web', 5), running('api', 6)),
    ], monkeypatch)
    assert kind == 'exit' and result['plan']['unchanged'] == ['db', 'other', 'cache'], result


def test_jails_sharing_one_config_file_are_written_in_one_rewrite_then_started_by_name(monkeypatch, writes):
    shared = str(HOST['etc'] / 'jail.conf')
    declared = dict(jails=[jail('db', config_file=shared), jail('web', config_file=shared)])
    kind, result, ran = run(declared, [
        jls(), (['/sbin/jail', '-f', shared, '-c', 'db'], 0, '', ''), (['/sbin/jail', '-f', shared, '-c', 'web'], 0, '', ''),
        jls(running('db', 1), running('web', 2))], monkeypatch)
    assert kind == 'exit', result
    assert writes == [shared]       # both blocks, one locked rewrite from the file as it was then
    text = open(shared).read()
    assert 'db {' in text and 'web {' in text
    assert [a['verb'] for a in result['guests']['web']['actions']] == ['config', 'start']


def test_a_hostile_name_expanded_into_defaults_is_refused_naming_the_guest(monkeypatch):
    defaults = dict(jails=dict(path=os.path.join(HOST['root'], '${name}'), hostname='${name}.example.org'))
    kind, result, ran = run(dict(jails=[dict(name='../../etc')], defaults=defaults), [], monkeypatch)
    assert kind == 'fail' and result['msg'].startswith('jails[../../etc].name:') and ran == [], result
    assert 'nothing was changed' in result['msg']


KERNEL = 'Id Refs Address                Size Name\n 1   38 0xffffffff80200000  1d345b0 kernel (/boot/kernel/kernel)\n' \
         '\tContains modules:\n\t\t Id Name\n\t\t 18 if_lo\n'
BRIDGE_KO = ' 3    1 0xffffffff82b20000    3c4f8 if_bridge.ko (/boot/kernel/if_bridge.ko)\n' \
            '\tContains modules:\n\t\t Id Name\n\t\t520 if_bridge\n'


def test_kernel_modules_are_a_kind_loaded_before_the_jails_that_depend_on_them(tmp_path, monkeypatch):
    (tmp_path / 'kernel').mkdir()
    (tmp_path / 'kernel' / 'if_bridge.ko').write_text('')
    declared = dict(kernel_modules=[dict(name='if_bridge')], jails=[jail('web', depend=['if_bridge'])])
    kldstat, kld_list = ['/sbin/kldstat', '-v'], ['/sbin/sysrc', '-n', 'kld_list']
    kind, result, ran = run(declared, [
        jls(), (kldstat, 0, KERNEL, ''), (kld_list, 0, '\n', ''),
        (['/sbin/sysctl', '-n', 'kern.module_path'], 0, str(tmp_path / 'kernel') + '\n', ''),
        (['/sbin/kldload', 'if_bridge'], 0, '', ''), start('web'),
        (['/sbin/sysrc', 'kld_list+=if_bridge'], 0, '', ''),
        (kldstat, 0, KERNEL + BRIDGE_KO, ''), (kld_list, 0, 'if_bridge\n', ''), jls(running('web', 3)),
    ], monkeypatch)
    assert kind == 'exit', result
    assert result['order'] == ['if_bridge', 'web'] and result['plan']['create'] == ['if_bridge', 'web']
    module = result['guests']['if_bridge']
    assert module['kind'] == 'kernel_modules' and (module['before'], module['after']) == ('absent', 'present')
    assert module['kernel_module']['loaded'] and module['kernel_module']['in_kld_list']
    assert 'depend' not in open(conf('web')).read()       # a kernel module is not a jail(8) dependency
    kind, result, ran = run(declared, [jls(running('web', 3)), (kldstat, 0, KERNEL + BRIDGE_KO, ''),
                                       (kld_list, 0, 'if_bridge\n', '')], monkeypatch)
    assert kind == 'exit' and not result['changed'] and result['undeclared'] == []


def test_a_jail_rooted_in_a_chroot_of_the_same_call_plans_on_it_when_it_depends_on_it(tmp_path, monkeypatch):
    """Everything is planned before the first change: the jail's root directory does not exist yet,
    and the chroot that makes it meets the jail's prerequisite because the jail depends on it."""
    source = tmp_path / 'userland'
    (source / 'bin').mkdir(parents=True)
    root = str(tmp_path / 'newroot')
    chroot = dict(path=root, bootstrap=dict(method='copy', source=str(source)), fstab=str(HOST['etc'] / 'fstab'))
    uname = (['/sbin/uname', '-s'], 0, 'FreeBSD\n', '')
    mount_p = (['/sbin/mount', '-p'], 0, 'zroot/ROOT/default\t/\tzfs\trw\t0 0\n', '')
    declared = dict(chroots=[chroot], jails=[dict(name='web', path=root, depend=[root])])
    kind, result, ran = run(declared, [jls(), uname, mount_p], monkeypatch, check_mode=True)
    assert kind == 'exit', result
    assert result['order'] == [root, 'web'] and result['plan']['create'] == [root, 'web']
    assert (result['guests'][root]['before'], result['guests'][root]['after']) == ('absent', 'present')
    kind, result, ran = run(dict(declared, jails=[dict(name='web', path=root)]), [jls(), uname, mount_p], monkeypatch,
                            check_mode=True)
    assert kind == 'fail' and result['guests']['web']['failed']
    assert '%s of this call makes it: add it to depend' % root in result['guests']['web']['msg']


def test_two_jails_whose_epairs_get_one_name_fail_before_any_change(monkeypatch):
    for name in ('web-1', 'web_1', 'web-2'):
        os.makedirs(os.path.join(HOST['root'], name, 'dev'))
    # web_2 is configured on the host (not declared): its block moves ej_web_2b into it.
    with open(conf('web_2'), 'w') as handle:
        handle.write('web_2 {\n    path = /j/web_2;\n    vnet;\n    vnet.interface = "ej_web_2b";\n}\n')
    declared = dict(jails=[jail('web-1', vnet={}), jail('web_1', vnet={}), jail('web-2', vnet={}),
                           jail('db')])
    for check_mode in (True, False):
        kind, result, ran = run(declared, [jls()] + ([] if check_mode else [start('db'), jls(running('db', 1))]),
                                monkeypatch, check_mode=check_mode)
        guests = result['guests']
        assert 'as that of jail web_1' in guests['web-1']['msg'] and 'as that of jail web-1' in guests['web_1']['msg']
        assert 'ej_web_2a/ej_web_2b, as that of jail web_2' in guests['web-2']['msg']
        assert 'vnet.epair' in guests['web-2']['msg'] and not guests['db'].get('failed')
        assert not os.path.exists(conf('web-1')) and not os.path.exists(conf('web_1'))
    kind, result, ran = run(dict(jails=[jail('web-2', vnet=dict(epair='ej_w2'))]), [jls()], monkeypatch,
                            check_mode=True)
    assert not result['guests']['web-2'].get('failed'), result


def test_prune_edits_a_file_of_several_jails_block_by_block_and_the_next_run_finds_none(monkeypatch):
    # A hand-written file of two jails that jail(8) reads through /etc/jail.conf's .include.
    pair = str(HOST['etc'] / 'jail.conf.d' / 'pair.conf')
    with open(pair, 'w') as handle:
        handle.write('# two old jails\nold1 {\n    path = /j/old1;\n}\nold2 {\n    path = /j/old2;\n}\n')
    with open(conf('keep'), 'w') as handle:
        handle.write('keep {\n    path = /j/keep;\n}\nmine {\n    path = /j/mine;\n}\n')
    declared = dict(jails=[jail('db', state='present'), dict(name='mine', state='present')], prune=True)
    kind, result, ran = run(declared, [jls(running('old2', 4)), (SYSRC, 0, 'jail_enable="YES"\njail_list=""\n', '')],
                            monkeypatch, check_mode=True)
    assert result['undeclared'] == ['old2', 'keep', 'old1'], result
    stop = result['guests']['old2']['actions'][0]
    assert stop['argv'] == ['jail', '-f', pair, '-r', 'old2'], stop
    kind, result, ran = run(declared, [
        jls(running('old2', 4)), (SYSRC, 0, 'jail_enable="YES"\njail_list=""\n', ''),
        (['/sbin/jail', '-f', pair, '-r', 'old2'], 0, '', ''), jls()], monkeypatch)
    assert kind == 'exit' and result['plan']['remove'] == ['old2', 'keep', 'old1'], result
    assert open(pair).read().strip() in ('', '# two old jails')
    # mine is declared (its block in keep.conf is adopted there, not written a second time): only keep goes.
    assert 'keep' not in open(conf('keep')).read() and 'mine {' in open(conf('keep')).read()
    assert not os.path.exists(conf('mine'))
    kind, result, ran = run(declared, [jls()], monkeypatch)
    assert result['undeclared'] == [] and not result['changed'], result
