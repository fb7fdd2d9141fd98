# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""xen_domu and xen_domu_info at module level: exact xl commands in, files and results out."""
from __future__ import annotations

import json
import os

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils import xl_cfg
from ansible_collections.bsd.multiplicity.plugins.module_utils._xen import config, manager
from ansible_collections.bsd.multiplicity.plugins.modules import xen_domu, xen_domu_info
from ansible_collections.bsd.multiplicity.tests.unit.plugins.modules.module_harness import run_module

HEADER = 'Name                                        ID   Mem VCPUs\tState\tTime(s)\n'
DOM0 = 'Domain-0                                     0  1200     2     r-----      19.3\n'


def xl_list(name, row=None):
    if row is None:
        return (['/sbin/xl', 'list', name], 1, '', '%s is an invalid domain identifier (rc=-6)\n' % name)
    return (['/sbin/xl', 'list', name], 0, HEADER + row, '')


def row(name, domid=3, mem=160, vcpus=1, letters='-b----'):
    return '%-40s %5d %5d %5d     %s      4.6\n' % (name, domid, mem, vcpus, letters)


def xl_long(name, domid=3, memory=160, maxmem=None, vcpus=1, kernel='/guest/vmlinuz', bridge='xenbr0',
            disks=()):
    record = dict(domid=domid, config=dict(
        c_info=dict(type='pv', name=name, uuid='a2d5ef46-ec3d-438c-932b-2cb505f88a90'),
        b_info=dict(max_vcpus=vcpus, avail_vcpus=list(range(vcpus)), max_memkb=(maxmem or memory) * 1024,
                    target_memkb=memory * 1024, kernel=kernel, cmdline='console=hvc0'),
        nics=[dict(devid=0, mac='00:16:3e:65:08:3e', bridge=bridge, nictype='vif')],
        disks=[dict(pdev_path=target, vdev=vdev) for vdev, target in disks],
        on_reboot='restart'))
    return (['/sbin/xl', 'list', '-l', name], 0, json.dumps([record], indent=4), '')


@pytest.fixture
def dom0(tmp_path):
    (tmp_path / 'xen').mkdir()
    (tmp_path / 'images').mkdir()
    return dict(dir=str(tmp_path / 'xen'), auto=str(tmp_path / 'xen' / 'auto'), images=str(tmp_path / 'images'),
                cfg=str(tmp_path / 'xen' / 'web.cfg'))


def params(dom0, **extra):
    result = dict(name='web', type='pv', memory=160, vcpus=1, kernel='/guest/vmlinuz', cmdline='console=hvc0',
                  disks=[dict(target=os.path.join(dom0['images'], 'web.img'), vdev='xvda', size='16M')],
                  vifs=[dict(bridge='xenbr0')], config_dir=dom0['dir'], auto_dir=dom0['auto'], autostart=True)
    result.update(extra)
    return result


def disk_of(dom0):
    return (('xvda', os.path.join(dom0['images'], 'web.img')),)


def test_create_start_then_idempotent(dom0, monkeypatch):
    kind, result, ran = run_module(xen_domu.main, params(dom0), [
        xl_list('web'),
        (['/sbin/xl', 'create', dom0['cfg']], 0, '', 'Parsing config from %s\n' % dom0['cfg']),
        xl_list('web', row('web')), xl_long('web', disks=disk_of(dom0)),
    ], monkeypatch, diff=True)
    assert kind == 'exit' and result['changed'], result
    text = open(dom0['cfg']).read()
    assert text.splitlines()[0] == ('# Managed by bsd.multiplicity: domain web; settings: name type memory vcpus kernel cmdline '
                                    'disk vif')
    image = os.path.join(dom0['images'], 'web.img')
    assert xl_cfg.parse(text) == {
        'name': 'web', 'type': 'pv', 'memory': '160', 'vcpus': '1', 'kernel': '/guest/vmlinuz',
        'cmdline': 'console=hvc0', 'disk': ['format=raw, vdev=xvda, access=rw, target=%s' % image],
        'vif': ['bridge=xenbr0']}
    assert os.path.getsize(image) == 16 * 1024 * 1024 and os.stat(image).st_blocks == 0    # sparse
    assert os.readlink(os.path.join(dom0['auto'], 'web.cfg')) == dom0['cfg']
    domain = result['domain']
    assert (domain['domid'], domain['state'], domain['autostart'], domain['pending_changes']) == (3, 'running', True, [])
    assert domain['console'] == {'command': ['xl', 'console', 'web']}
    assert result['diff'][0]['before'] == '' and result['diff'][0]['after'] == text
    assert result['diff'][1] == {'before': {'state': 'absent'}, 'after': {'state': 'running'}}

    kind, result, ran = run_module(xen_domu.main, params(dom0), [
        xl_list('web', row('web')), xl_long('web', disks=disk_of(dom0))], monkeypatch)
    assert not result['changed'] and not result['pending_restart'], result
    assert len(ran) == 2


def test_change_while_running_is_pending_then_restart(dom0, monkeypatch):
    run_module(xen_domu.main, params(dom0, state='present'), [xl_list('web')], monkeypatch)
    kind, result, ran = run_module(xen_domu.main, params(dom0, memory=256), [
        xl_list('web', row('web')), xl_long('web', disks=disk_of(dom0))], monkeypatch)
    # maxmem follows memory when it is not declared, so it changes at the restart too.
    assert result['changed'] and result['pending_restart']
    assert result['domain']['pending_changes'] == ['maxmem', 'memory']
    assert 'restart_on_change' in result['warnings'][0]
    assert xl_cfg.parse(open(dom0['cfg']).read())['memory'] == '256'
    # Nothing more to write, but the running domain still differs: reported again, no change.
    kind, result, ran = run_module(xen_domu.main, params(dom0, memory=256), [
        xl_list('web', row('web')), xl_long('web', disks=disk_of(dom0))], monkeypatch)
    assert not result['changed'] and result['domain']['pending_changes'] == ['maxmem', 'memory']
    kind, result, ran = run_module(xen_domu.main, params(dom0, memory=256, restart_on_change=True), [
        xl_list('web', row('web')), xl_long('web', disks=disk_of(dom0)),
        (['/sbin/xl', 'shutdown', 'web'], 0, '', ''),
        xl_list('web'),
        (['/sbin/xl', 'create', dom0['cfg']], 0, '', ''),
        xl_list('web', row('web', domid=4, mem=256)), xl_long('web', domid=4, memory=256, disks=disk_of(dom0)),
    ], monkeypatch)
    assert result['changed'] and not result['pending_restart'] and result['domain']['domid'] == 4


def test_stop_timeout_fails_unless_force_stop(dom0, monkeypatch):
    run_module(xen_domu.main, params(dom0, state='present'), [xl_list('web')], monkeypatch)
    kind, result, ran = run_module(xen_domu.main, params(dom0, state='stopped', stop_timeout=0), [
        xl_list('web', row('web')), xl_long('web', disks=disk_of(dom0)),
        (['/sbin/xl', 'shutdown', 'web'], 0, '', ''), xl_list('web', row('web'))], monkeypatch)
    assert kind == 'fail' and 'did not shut down within 0 s' in result['msg'] and 'force_stop' in result['msg']
    kind, result, ran = run_module(xen_domu.main, params(dom0, state='stopped', stop_timeout=0, force_stop=True), [
        xl_list('web', row('web')), xl_long('web', disks=disk_of(dom0)),
        (['/sbin/xl', 'shutdown', 'web'], 0, '', ''), xl_list('web', row('web')),
        (['/sbin/xl', 'destroy', 'web'], 0, '', ''), xl_list('web')], monkeypatch)
    assert kind == 'exit' and result['changed'] and result['domain']['state'] == 'stopped'


def test_shut_down_leftover_is_destroyed_and_hvm_uses_acpi_fallback(dom0, monkeypatch):
    run_module(xen_domu.main, params(dom0, state='present'), [xl_list('web')], monkeypatch)
    kind, result, ran = run_module(xen_domu.main, params(dom0, state='stopped'), [
        xl_list('web', row('web', letters='---s--')), (['/sbin/xl', 'destroy', 'web'], 0, '', ''), xl_list('web')],
        monkeypatch)
    assert result['changed'] and result['domain']['state'] == 'stopped'
    hvm = params(dom0, type='hvm', kernel=None, cmdline=None, state='restarted', vnc=dict(display=1))
    run_module(xen_domu.main, dict(hvm, state='present'), [xl_list('web')], monkeypatch)
    kind, result, ran = run_module(xen_domu.main, hvm, [
        xl_list('web', row('web')), (['/sbin/xl', 'list', '-l', 'web'], 0, '[]', ''),
        (['/sbin/xl', 'shutdown', '-F', 'web'], 0, '', ''), xl_list('web'),
        (['/sbin/xl', 'create', dom0['cfg']], 0, '', ''), xl_list('web', row('web', domid=9)),
        (['/sbin/xl', 'list', '-l', 'web'], 0, '[]', '')], monkeypatch)
    assert result['domain']['console']['vnc'] == '127.0.0.1:5901'
    assert xl_cfg.parse(open(dom0['cfg']).read())['vnclisten'] == '127.0.0.1'


def test_check_mode_changes_nothing_and_predicts(dom0, monkeypatch):
    kind, result, ran = run_module(xen_domu.main, params(dom0), [xl_list('web')], monkeypatch, check_mode=True)
    assert result['changed'] and result['domain']['state'] == 'running'
    assert not os.path.exists(dom0['cfg']) and not os.path.exists(os.path.join(dom0['images'], 'web.img'))
    assert [a['verb'] for a in result['actions']] == ['write', 'create', 'autostart', 'start']


def test_hand_written_file_is_edited_in_place(dom0, monkeypatch):
    hand = ('# my guest, by hand\nname = "web"\nmemory = 128   # small\non_crash = "preserve"\n'
            'extra = "console=hvc0"\nvcpus = 1; serial = "pty"\n')
    with open(dom0['cfg'], 'w') as handle:
        handle.write(hand)
    declared = dict(name='web', memory=256, config_dir=dom0['dir'], config=dict(on_crash='restart'), state='present')
    kind, result, ran = run_module(xen_domu.main, declared, [xl_list('web')], monkeypatch, diff=True)
    # The structured diff names the settings that differ, beside the file's diff.
    assert result['diff'][1]['before'] == {'state': 'stopped', 'memory': '128', 'on_crash': 'preserve'}
    assert result['diff'][1]['after'] == {'state': 'stopped', 'memory': '256', 'on_crash': 'restart'}
    text = open(dom0['cfg']).read()
    assert text == ('# Managed by bsd.multiplicity: domain web; settings: name memory on_crash\n'
                    '# my guest, by hand\nname = "web"\n'
                    'memory = 256   # small\non_crash = "restart"\nextra = "console=hvc0"\nvcpus = 1; serial = "pty"\n')
    # Dropping on_crash from the declaration removes it (the module wrote it); the rest stays.
    run_module(xen_domu.main, dict(name='web', memory=256, config_dir=dom0['dir'], state='present'),
               [xl_list('web')], monkeypatch)
    assert xl_cfg.parse(open(dom0['cfg']).read()) == {'name': 'web', 'memory': '256', 'extra': 'console=hvc0',
                                                      'vcpus': '1', 'serial': 'pty'}


def test_binary_file_fails_cleanly(dom0, monkeypatch):
    with open(dom0['cfg'], 'wb') as handle:
        handle.write(b'name = "web"\n\xff\xfe\n')
    kind, result, ran = run_module(xen_domu.main, params(dom0), [], monkeypatch)
    assert kind == 'fail' and 'is not UTF-8 text' in result['msg'] and ran == []


def test_broken_file_fails_with_its_line_and_changes_nothing(dom0, monkeypatch):
    with open(dom0['cfg'], 'w') as handle:
        handle.write('name = "web"\ntype = pv\n')
    kind, result, ran = run_module(xen_domu.main, params(dom0), [], monkeypatch)
    assert kind == 'fail' and '%s: line 2:' % dom0['cfg'] in result['msg'] and ran == []
    assert open(dom0['cfg']).read() == 'name = "web"\ntype = pv\n'


def test_absent_keeps_disks_unless_purge(dom0, monkeypatch):
    run_module(xen_domu.main, params(dom0, state='present'), [xl_list('web')], monkeypatch)
    image = os.path.join(dom0['images'], 'web.img')
    iso = os.path.join(dom0['images'], 'install.iso')
    open(iso, 'w').close()
    with open(dom0['cfg'], 'a') as handle:
        handle.write('disk += ["format=raw, vdev=hdc, access=ro, devtype=cdrom, target=%s"]\n' % iso)
    absent = dict(name='web', state='absent', config_dir=dom0['dir'], auto_dir=dom0['auto'])
    kind, result, ran = run_module(xen_domu.main, absent, [
        xl_list('web', row('web')), xl_long('web'), (['/sbin/xl', 'shutdown', 'web'], 0, '', ''), xl_list('web'),
        xl_list('web')], monkeypatch)
    assert result['changed'] and not os.path.exists(dom0['cfg']) and os.path.exists(image)
    assert not os.path.lexists(os.path.join(dom0['auto'], 'web.cfg'))
    kind, result, ran = run_module(xen_domu.main, dict(name='web', state='absent', config_dir=dom0['dir']),
                                   [xl_list('web')], monkeypatch)
    assert not result['changed']
    run_module(xen_domu.main, params(dom0, state='present', autostart=None), [xl_list('web')], monkeypatch)
    with open(dom0['cfg'], 'a') as handle:
        handle.write('disk += ["format=raw, vdev=hdc, access=ro, devtype=cdrom, target=%s"]\n' % iso)
    purge = dict(name='web', state='absent', purge=True, config_dir=dom0['dir'])
    kind, result, ran = run_module(xen_domu.main, purge, [xl_list('web')], monkeypatch)
    assert result['changed'] and not os.path.exists(image) and os.path.exists(iso)


def test_purge_never_takes_shared_media_in_any_disk_syntax(dom0, monkeypatch):
    run_module(xen_domu.main, params(dom0, state='present', autostart=None), [xl_list('web')], monkeypatch)
    image = os.path.join(dom0['images'], 'web.img')
    kept = [os.path.join(dom0['images'], name) for name in ('a.iso', 'b.iso', 'c.iso', 'shared.img')]
    for path in kept:
        open(path, 'w').close()
    with open(dom0['cfg'], 'a') as handle:
        handle.write('disk += ["%s,raw,hdc,ro,devtype=cdrom", "raw:%s,hdd:cdrom,ro", "%s,,hde,cdrom", '
                     '"%s,raw,xvdc,r"]\n' % tuple(kept))
    purge = dict(name='web', state='absent', purge=True, config_dir=dom0['dir'])
    kind, result, ran = run_module(xen_domu.main, purge, [xl_list('web')], monkeypatch)
    assert kind == 'exit' and result['changed'] and not os.path.exists(image), result
    assert all(os.path.exists(path) for path in kept)


def test_purge_keeps_a_writable_disk_the_module_did_not_make(dom0, monkeypatch):
    run_module(xen_domu.main, params(dom0, state='present', autostart=None), [xl_list('web')], monkeypatch)
    image = os.path.join(dom0['images'], 'web.img')
    data = os.path.join(dom0['images'], 'data.img')      # the operator's, attached by hand
    with open(data, 'w') as handle:
        handle.write('precious')
    with open(dom0['cfg'], 'a') as handle:
        handle.write('disk += ["format=raw, vdev=xvdb, access=rw, target=%s"]\n' % data)
    purge = dict(name='web', state='absent', purge=True, config_dir=dom0['dir'])
    kind, result, ran = run_module(xen_domu.main, purge, [xl_list('web')], monkeypatch)
    assert kind == 'exit' and result['changed'] and not os.path.exists(image), result
    assert open(data).read() == 'precious'
    assert any('data.img was not made by this collection' in w for w in result['warnings'])


def test_a_config_file_that_defines_another_domain_is_never_written_removed_or_purged(dom0, monkeypatch):
    image = os.path.join(dom0['images'], 'db.img')
    open(image, 'w').close()
    with open(dom0['cfg'], 'w') as handle:        # web.cfg, by hand, for the domain db
        handle.write('name = "db"\nmemory = 256\ndisk = ["%s,raw,xvda,rw"]\n' % image)
    for extra in (dict(state='absent', purge=True), dict(state='present')):
        kind, result, ran = run_module(xen_domu.main, dict(params(dom0), **extra), [xl_list('web')], monkeypatch)
        assert kind == 'fail' and "defines domain 'db'" in result['msg'], result
        assert os.path.exists(image) and open(dom0['cfg']).read().startswith('name = "db"')


def test_netbsd_autostart_in_rc_conf(dom0, monkeypatch, tmp_path):
    rc_conf = tmp_path / 'rc.conf'
    rc_conf.write_text('# hand\nxencommons=YES\nxendomains="other"\n')
    monkeypatch.setattr(manager, 'RC_CONF', str(rc_conf))
    monkeypatch.setattr(config.platform, 'system', lambda: 'NetBSD')
    kind, result, ran = run_module(xen_domu.main, params(dom0, state='present'), [xl_list('web')], monkeypatch)
    assert rc_conf.read_text() == '# hand\nxencommons=YES\nxendomains="other web"\n'
    kind, result, ran = run_module(xen_domu.main, params(dom0, state='present'), [xl_list('web')], monkeypatch)
    assert not result['changed']
    run_module(xen_domu.main, dict(name='web', state='absent', config_dir=dom0['dir']), [xl_list('web')], monkeypatch)
    assert rc_conf.read_text() == '# hand\nxencommons=YES\nxendomains="other"\n'


@pytest.mark.parametrize('extra, parameter', [
    (dict(name='bad name'), 'name'),
    (dict(memory=512, maxmem=256), 'maxmem'),
    (dict(vcpus=4, maxvcpus=2), 'maxvcpus'),
    (dict(vnc=dict(display=1)), 'vnc'),
    (dict(vifs=[dict(bridge='xenbr0, script=/tmp/evil')]), 'vifs[0].bridge'),
    (dict(vifs=[dict(mac='00:16:3e:zz:00:01')]), 'vifs[0].mac'),
    (dict(disks=[dict(target='relative.img', vdev='xvda')]), 'disks[0].target'),
    (dict(disks=[dict(target='/a.img', vdev='xvda,target=/etc/shadow')]), 'disks[0].vdev'),
    (dict(disks=[dict(target='/a.img', vdev='xvda', format='qcow2', size='1G')]), 'disks[0].size'),
    (dict(disks=[dict(target='/a.img', vdev='xvda', size='lots')]), 'disks[0].size'),
    (dict(disks=[dict(target='/a.img', vdev='xvda'), dict(target='/b.img', vdev='xvda')]), 'disks'),
    (dict(disks=[dict(target='/no/such/dir/a.img', vdev='xvda', size='1G')]), 'disks[0].target'),
    (dict(config={'Memory': 1}), 'config'),
    (dict(config={'name': 'other'}), 'config'),
    (dict(config={'x': 'a\0b'}), 'config.x'),
    (dict(stop_timeout=-1), 'stop_timeout'),
])
def test_bad_input_names_the_parameter_and_runs_nothing(dom0, monkeypatch, extra, parameter):
    kind, result, ran = run_module(xen_domu.main, params(dom0, **extra),
                                   [xl_list('web')] if parameter == 'disks[0].target' and 'size' in str(extra)
                                   else [], monkeypatch)
    assert kind == 'fail' and result['msg'].startswith(parameter + ': '), result['msg']
    assert not os.path.exists(dom0['cfg'])


def test_kernel_and_bootloader_are_exclusive(dom0, monkeypatch):
    kind, result, ran = run_module(xen_domu.main, params(dom0, bootloader='pygrub'), [], monkeypatch)
    assert kind == 'fail' and 'mutually exclusive: kernel|bootloader' in result['msg'] and ran == []


def test_injection_attempts_stay_values(dom0, monkeypatch):
    evil = 'console=hvc0"\nmemory = 99999 #'
    run_module(xen_domu.main, params(dom0, cmdline=evil, state='present',
                                     config=dict(description='a"b\'c\\d\n]')), [xl_list('web')], monkeypatch)
    settings = xl_cfg.parse(open(dom0['cfg']).read())
    assert settings['cmdline'] == evil and settings['memory'] == '160' and settings['description'] == 'a"b\'c\\d\n]'


def test_info_joins_files_and_domains(dom0, monkeypatch):
    with open(os.path.join(dom0['dir'], 'web.cfg'), 'w') as handle:
        handle.write('name = "web"\nmemory = 160\n')
    with open(os.path.join(dom0['dir'], 'db.cfg'), 'w') as handle:
        handle.write('name = "db"\n')
    with open(os.path.join(dom0['dir'], 'broken.cfg'), 'w') as handle:
        handle.write('name = db\n')
    with open(os.path.join(dom0['dir'], 'xl.conf'), 'w') as handle:
        handle.write('autoballoon="off"\n')
    with open(os.path.join(dom0['dir'], 'stray.img'), 'wb') as handle:
        handle.write(b'\xff\xfe\x00binary')
    listing = (['/sbin/xl', 'list'], 0, HEADER + DOM0 + row('web') + row('orphan', domid=7, letters='--p---'), '')
    details = xl_long('web')
    kind, result, ran = run_module(xen_domu_info.main, dict(config_dir=dom0['dir']), [
        listing, (['/sbin/xl', 'list', '-l'], 0, details[2], '')], monkeypatch)
    domains = dict((d['name'], d) for d in result['domains'])
    assert sorted(domains) == ['db', 'orphan', 'web']
    assert domains['web']['state'] == 'running' and domains['web']['config']['memory'] == '160'
    assert domains['web']['live']['memory'] == 160 and domains['web']['live']['vif'][0]['bridge'] == 'xenbr0'
    assert domains['db']['state'] == 'stopped' and domains['db']['domid'] is None
    assert domains['orphan']['state'] == 'paused' and domains['orphan']['config_file'] is None
    assert sorted(result['config_errors']) == [os.path.join(dom0['dir'], name) for name in ('broken.cfg', 'stray.img')]
    assert 'line 1' in result['config_errors'][os.path.join(dom0['dir'], 'broken.cfg')]


def test_spec_parsing_of_hand_written_disks():
    assert config.parse_spec('phy:/dev/vg0/x,xvda2,w') == dict(target='/dev/vg0/x', vdev='xvda2', access='w')
    # xl-disk-configuration(5)'s examples of one cdrom, in each syntax; and its empty cdrom.
    iso = dict(format='raw', vdev='hdc', access='ro', devtype='cdrom', target='/root/image.iso')
    assert config.parse_spec('/root/image.iso,raw,hdc,ro,devtype=cdrom') == iso
    assert config.parse_spec('format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso') == iso
    assert config.parse_spec('raw:/root/image.iso,hdc:cdrom,ro') == iso
    assert config.parse_spec('/root/image.iso,,hdc,cdrom') == dict(target='/root/image.iso', vdev='hdc',
                                                                   devtype='cdrom')
    assert config.parse_spec(',hdc:cdrom,r') == dict(vdev='hdc', devtype='cdrom', access='r')
    assert config.parse_spec('tap:aio:qcow2:/x.qcow2,xvdb,w') == dict(target='/x.qcow2', format='qcow2',
                                                                      vdev='xvdb', access='w')
    assert all(config.shared_medium(config.parse_spec(spec)) for spec in (
        '/root/image.iso,raw,hdc,ro,devtype=cdrom', 'raw:/root/image.iso,hdc:cdrom,ro', '/root/image.iso,,hdc,cdrom',
        '/srv/shared.img,raw,xvdb,r', 'vdev=xvdb, access=ro, target=/srv/shared.img'))
    assert not any(config.shared_medium(config.parse_spec(spec)) for spec in (
        '/srv/own.img,raw,xvda,rw', 'phy:/dev/vg0/x,xvda2,w', '/srv/own.img,raw,xvda'))
    assert config.parse_spec('/x.img,raw,xvda,rw')['vdev'] == 'xvda'
    assert config.parse_spec('format=raw, vdev=xvda, target=/a,b c') == dict(format='raw', vdev='xvda',
                                                                             target='/a,b c')
