# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""bhyve_vm and bhyve_vm_info at module level: exact commands in, files and results out."""
from __future__ import annotations

import os

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils import bhyve_config
from ansible_collections.bsd.multiplicity.plugins.module_utils._bhyve import info, manager, supervisor
from ansible_collections.bsd.multiplicity.plugins.module_utils._core import launcher
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail import rootfs
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParameterError
from ansible_collections.bsd.multiplicity.plugins.modules import bhyve_vm, bhyve_vm_info
from ansible_collections.bsd.multiplicity.tests.unit.plugins.modules.module_harness import run_module


@pytest.fixture
def host(tmp_path, monkeypatch):
    """The VM host's paths in the test's directory."""
    for name in ('conf', 'data', 'vm', 'vmm', 'run', 'log', 'fw'):
        (tmp_path / name).mkdir()
    monkeypatch.setattr(manager, 'VMM_DIR', str(tmp_path / 'vmm'))
    monkeypatch.setattr(info, 'VMM_DIR', str(tmp_path / 'vmm'))
    monkeypatch.setattr(manager, 'LOG_DIR', str(tmp_path / 'log'))
    monkeypatch.setattr(manager, 'RC_CONF', str(tmp_path / 'rc.conf'))
    monkeypatch.setattr(manager, 'LOADER_CONF', str(tmp_path / 'loader.conf'))
    monkeypatch.setattr(manager, 'AUTOSTART_SCRIPT', str(tmp_path / 'bsdm_bhyve'))
    monkeypatch.setattr(supervisor, 'PATH', str(tmp_path / 'bhyve-supervisor'))
    monkeypatch.setattr(launcher, 'RUN_DIR', str(tmp_path / 'run'))
    (tmp_path / 'fw' / 'code.fd').write_text('firmware')
    (tmp_path / 'fw' / 'vars.fd').write_text('variables')
    (tmp_path / 'hostid').write_text('')
    return tmp_path


def params(host, **extra):
    result = dict(name='web', cpus=2, memory='512M', config_dir=str(host / 'conf'), data_dir=str(host / 'data'),
                  boot=dict(firmware=str(host / 'fw' / 'code.fd'), vars_template=str(host / 'fw' / 'vars.fd')),
                  disks=[dict(path=str(host / 'vm' / 'web.img'), size='16M')], nics=[dict(bridge='bridge0')],
                  vnc=dict(password='se%cret'), cloud_init=dict(user_data=dict(packages=['nginx'])))
    result.update(extra)
    return result


READS = [
    (['/sbin/ifconfig', '-l'], 0, 'em0 lo0 bridge0 tap0\n', ''),        # tap0 is taken: tap1 is chosen
]


def makefs(argv, data):
    with open(argv[-2], 'w') as handle:
        handle.write('iso of %s\n' % sorted(os.listdir(argv[-1])))
    return 0, '', ''


def test_check_mode_predicts_a_started_vm(host, monkeypatch):
    kind, result, ran = run_module(bhyve_vm.main, params(host, autostart=True), READS + [
        (['/sbin/ifconfig', 'bridge0'], 0, 'bridge0: flags=8843<UP>\n', ''),
        (['/sbin/sysctl', '-n', 'hw.physmem'], 0, '8589934592\n', ''),
        (['/sbin/sysctl', '-n', 'hw.vmm.maxcpu'], 0, '16\n', ''),
        (['/sbin/mdconfig', '-l', '-v'], 0, '', ''),
    ], monkeypatch, check_mode=True, diff=True)
    assert kind == 'exit' and result['changed'], result
    vm = result['vm']
    assert (vm['state'], vm['nics'][0]['tap'], vm['vnc']) == ('running', 'tap1', '127.0.0.1:5900')
    assert vm['config']['pci.0.29.0.password'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'   # no_log: masked
    # The disk, the UEFI variables, the seed, the start command, the disks' claim, the file; the supervisor, the
    # start; autostart.
    assert [a['verb'] for a in result['actions']] == ['create', 'create', 'create', 'write', 'write', 'write',
                                                      'start', 'start', 'autostart']
    assert result['actions'][-2]['argv'][0] == 'daemon' and 'tap1' in result['actions'][-2]['argv']
    assert result['diff'][0]['before'] == '' and 'pci.0.3.0.backend=tap1' in result['diff'][0]['after']
    assert not os.listdir(str(host / 'conf')) and not os.path.exists(str(host / 'vm' / 'web.img'))
    assert any('bsdm_bhyve' in w and 'not installed' in w for w in result['warnings'])


def test_present_makes_the_file_disk_variables_and_seed_then_nothing(host, monkeypatch):
    kind, result, ran = run_module(bhyve_vm.main, params(host, state='present'), READS + [
        (['/sbin/makefs', '-t', 'cd9660', '-o', 'rockridge', '-o', 'label=cidata',
          str(host / 'data' / 'web' / 'seed.iso.new'), str(host / 'data' / 'web' / 'seed')], makefs, '', ''),
    ], monkeypatch)
    assert kind == 'exit' and result['changed'] and result['vm']['state'] == 'stopped', result
    path = str(host / 'conf' / 'web.conf')
    text = open(path).read()
    assert os.stat(path).st_mode & 0o777 == 0o600                   # it holds the VNC password
    assert bhyve_config.values(text)['pci.0.29.0.password'] == 'se%cret'
    assert os.path.getsize(str(host / 'vm' / 'web.img')) == 16 << 20
    assert open(str(host / 'data' / 'web' / 'uefi-vars.fd')).read() == 'variables'
    assert open(str(host / 'data' / 'web' / 'seed' / 'user-data')).read().startswith('#cloud-config\n')
    assert open(str(host / 'data' / 'web' / 'seed.iso')).read() == "iso of ['meta-data', 'user-data']\n"
    start = open(os.path.join(manager.RECORD_DIR, 'bhyve_vm.web.start')).read().splitlines()
    assert start[0] == 'daemon' and start[start.index('-n') + 1:start.index('-n') + 3] == ['tap1', 'bridge0']
    # The disks it boots from are claimed on the host, for another kind (a jail's image root) to see.
    claim = open(os.path.join(manager.RECORD_DIR, 'disks.bhyve.web')).read().splitlines()
    assert os.path.realpath(str(host / 'vm' / 'web.img')) in claim
    kind, result, ran = run_module(bhyve_vm.main, params(host, state='present'), [], monkeypatch)
    assert not result['changed'] and ran == [], result
    # The seed changes with its user-data: made again, and nothing else.
    changed = params(host, state='present', cloud_init=dict(user_data=dict(packages=['nginx', 'curl'])))
    kind, result, ran = run_module(bhyve_vm.main, changed, [
        (['/sbin/makefs', '-t', 'cd9660', '-o', 'rockridge', '-o', 'label=cidata',
          str(host / 'data' / 'web' / 'seed.iso.new'), str(host / 'data' / 'web' / 'seed')], makefs, '', ''),
    ], monkeypatch)
    assert result['changed'] and [a['verb'] for a in result.get('actions', [{'verb': 'create'}])] == ['create']
    assert 'curl' in open(str(host / 'data' / 'web' / 'seed' / 'user-data')).read()


def test_absent_keeps_data_and_purge_removes_only_what_was_made(host, monkeypatch):
    run_module(bhyve_vm.main, params(host, state='present', cloud_init=None, vnc=None), READS, monkeypatch)
    operator_disk = str(host / 'vm' / 'data.img')
    open(operator_disk, 'w').close()
    with open(str(host / 'conf' / 'web.conf'), 'a') as handle:
        handle.write('pci.0.9.0.device=virtio-blk\npci.0.9.0.path=%s\n' % operator_disk)
    (host / 'data' / 'web' / 'notes.txt').write_text('an operator\'s file')
    kind, result, ran = run_module(bhyve_vm.main, dict(name='web', state='absent', config_dir=str(host / 'conf'),
                                                       data_dir=str(host / 'data')), [], monkeypatch)
    assert result['changed'] and not os.path.exists(str(host / 'conf' / 'web.conf'))
    assert os.path.exists(str(host / 'vm' / 'web.img'))
    run_module(bhyve_vm.main, params(host, state='present', cloud_init=None, vnc=None), READS, monkeypatch)
    with open(str(host / 'conf' / 'web.conf'), 'a') as handle:
        handle.write('pci.0.9.0.device=virtio-blk\npci.0.9.0.path=%s\n' % operator_disk)
    kind, result, ran = run_module(bhyve_vm.main, dict(name='web', state='absent', purge=True,
                                                       config_dir=str(host / 'conf'), data_dir=str(host / 'data')),
                                   [], monkeypatch)
    assert result['changed'] and not os.path.exists(str(host / 'vm' / 'web.img'))
    assert os.path.exists(operator_disk) and any('was not made by this collection' in w for w in result['warnings'])
    assert not os.path.exists(str(host / 'data' / 'web' / 'uefi-vars.fd'))
    assert (host / 'data' / 'web' / 'notes.txt').read_text() == 'an operator\'s file'


def test_a_vm_in_vmm_without_a_supervisor_is_left_alone(host, monkeypatch):
    run_module(bhyve_vm.main, params(host, state='present', cloud_init=None), READS, monkeypatch)
    (host / 'vmm' / 'web').write_text('')
    kind, result, ran = run_module(bhyve_vm.main, params(host, cloud_init=None), [
        (['/sbin/ifconfig', 'bridge0'], 0, 'bridge0: flags=8843<UP>\n', ''),
        (['/sbin/sysctl', '-n', 'hw.physmem'], 0, '8589934592\n', ''),
        (['/sbin/sysctl', '-n', 'hw.vmm.maxcpu'], 0, '16\n', ''),
    ], monkeypatch)
    assert kind == 'fail' and 'is in vmm(4)' in result['msg'] and 'another manager' in result['msg']


@pytest.mark.parametrize('reads, message', [
    ([(['/sbin/sysctl', '-n', 'hw.physmem'], 0, '268435456\n', '')], 'more than the host gives guests'),
    ([(['/sbin/sysctl', '-n', 'hw.physmem'], 0, '8589934592\n', ''),
      (['/sbin/sysctl', '-n', 'hw.vmm.maxcpu'], 1, '', 'sysctl: unknown oid \'hw.vmm.maxcpu\'\n')], 'not loaded'),
    ([(['/sbin/sysctl', '-n', 'hw.physmem'], 0, '8589934592\n', ''),
      (['/sbin/sysctl', '-n', 'hw.vmm.maxcpu'], 0, '16\n', ''),
      (['/sbin/mdconfig', '-l', '-v'], 0, 'md0\tvnode\t   16M\t%(disk)s\t-\t\n', '')], 'is attached as md0'),
])
def test_refusals_before_any_change(host, monkeypatch, reads, message):
    disk = str(host / 'vm' / 'web.img')
    reads = [(argv, rc, out % dict(disk=disk), err) for argv, rc, out, err in reads]
    kind, result, ran = run_module(bhyve_vm.main, params(host, cloud_init=None, vnc=None), READS + [
        (['/sbin/ifconfig', 'bridge0'], 0, 'bridge0: flags=8843<UP>\n', '')] + reads, monkeypatch)
    assert kind == 'fail' and message in result['msg'] and not result['changed'], result
    assert not os.listdir(str(host / 'conf'))


def test_ppt_devices_are_checked_against_what_ppt_holds_and_pptdevs(host, monkeypatch):
    (host / 'loader.conf').write_text('vmm_load="YES"\npptdevs="2/0/0 3/0/0"\n')
    common = READS + [(['/sbin/ifconfig', 'bridge0'], 0, 'bridge0: flags=8843<UP>\n', ''),
                      (['/sbin/sysctl', '-n', 'hw.physmem'], 0, '8589934592\n', ''),
                      (['/sbin/sysctl', '-n', 'hw.vmm.maxcpu'], 0, '16\n', '')]
    declared = params(host, cloud_init=None, vnc=None, wired_memory=True, ppt_devices=['2/0/0', '4/0/0'])
    kind, result, ran = run_module(bhyve_vm.main, declared, common + [
        (['/sbin/sysctl', '-n', 'hw.vmm.ppt.devices'], 0, '1\n', '')], monkeypatch, check_mode=True)
    assert kind == 'fail' and '2 PCI devices to pass through, but ppt(4) holds 1' in result['msg'], result
    kind, result, ran = run_module(bhyve_vm.main, declared, common + [
        (['/sbin/sysctl', '-n', 'hw.vmm.ppt.devices'], 0, '2\n', '')], monkeypatch, check_mode=True)
    assert kind == 'fail' and 'ppt_devices[1] 4/0/0 is not reserved for ppt(4)' in result['msg'], result
    assert '2/0/0 3/0/0' in result['msg']


def test_info_reads_every_vm_without_a_command(host, monkeypatch):
    run_module(bhyve_vm.main, params(host, state='present', cloud_init=None), READS, monkeypatch)
    (host / 'conf' / 'broken.conf').write_text('cpus=\n')
    (host / 'vmm' / 'other').write_text('')
    kind, result, ran = run_module(bhyve_vm_info.main, dict(config_dir=str(host / 'conf')), [], monkeypatch)
    assert ran == [] and [v['name'] for v in result['vms']] == ['other', 'web']
    web = result['vms'][1]
    assert (web['state'], web['supervised'], web['definition']['loader'], web['definition']['nics'][0]['tap']) == \
        ('stopped', False, 'uefi', 'tap1')
    assert 'pci.0.29.0.password' not in web['config']
    assert result['vms'][0] == dict(name='other', state='running', supervised=False, in_vmm=True, pid=None,
                                    config_file=None, config=None, definition=None, last_exit=None)
    assert list(result['config_errors']) == [str(host / 'conf' / 'broken.conf')]


def test_image_root_hooks_quote_and_check_the_mount_points():
    root = rootfs.validate(dict(type='image', image="/vm/a b's.img", partition='p2'), '/jails/x')
    hooks = rootfs.image_hooks(root, '/jails/x', ['dev'])
    assert hooks['prepare'][0].startswith("u=$(/sbin/mdconfig -a -t vnode -f '/vm/a b'\"'\"'s.img') || exit 1; "
                                          "/sbin/mount -t ufs /dev/${u}p2 /jails/x")
    assert 'if [ -L /jails/x/dev ]' in hooks['prepare'][0]
    assert hooks['release'][0].startswith('/sbin/umount /jails/x; u=$(/sbin/mdconfig -l -f')
    for bad, parameter in ((dict(type='image', image='rel.img'), 'root.image'),
                           (dict(type='image', image='/a', partition='x1'), 'root.partition'),
                           (dict(type='directory', image='/a'), 'root.image')):
        with pytest.raises(ParameterError) as caught:
            rootfs.validate(bad, '/jails/x')
        assert caught.value.parameter == parameter
