# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_bhyve.config and bhyve_config: the exact variables of representative VMs, the slots they get, the
supervisor's argv, and the refusals, each naming its parameter."""
from __future__ import annotations

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.bsd.multiplicity.plugins.module_utils import bhyve_config
from ansible_collections.bsd.multiplicity.plugins.module_utils._bhyve.config import Machine, chosen_mac
from ansible_collections.bsd.multiplicity.plugins.module_utils._bhyve.manager import BhyveVmKind, bhyve_vm_argument_spec
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParameterError


def params(**given):
    checked = ArgumentSpecValidator(bhyve_vm_argument_spec()['argument_spec']).validate(dict(given))
    assert not checked.error_messages, checked.error_messages
    return checked.validated_parameters


def test_the_talks_freebsd_guest():
    machine = Machine(params(name='guest', cpus=2, memory='1G', boot=dict(loader='bhyveload'),
                             disks=[dict(path='/vm/guest/disk.img', size='8G')], nics=[dict(bridge='bridge0')]))
    assert list(machine.variables(['tap0'], ['58:9c:fc:00:00:01'], '/var/db/bhyve/guest/uefi-vars.fd').items()) == [
        ('name', 'guest'), ('cpus', '2'), ('memory.size', '1G'), ('x86.vmexit_on_hlt', 'true'),
        ('x86.vmexit_on_pause', 'true'), ('pci.0.0.0.device', 'hostbridge'),
        ('pci.0.2.0.device', 'virtio-blk'), ('pci.0.2.0.path', '/vm/guest/disk.img'),
        ('pci.0.3.0.device', 'virtio-net'), ('pci.0.3.0.backend', 'tap0'), ('pci.0.3.0.mac', '58:9c:fc:00:00:01'),
        ('pci.0.31.0.device', 'lpc'), ('lpc.com1.path', '/dev/nmdm-guest.1A')]
    # bhyveload before every boot: memory, the boot disk, the console (the name comes from the supervisor).
    assert machine.loader_argv() == ['/usr/sbin/bhyveload', '-m', '1G', '-d', '/vm/guest/disk.img',
                                     '-c', '/dev/nmdm-guest.1A']
    run = BhyveVmKind(None).supervised(machine, '/usr/local/etc/bhyve/guest.conf', ['tap0'])
    assert run.start_argv() == [
        'daemon', '-c', '-t', 'bhyve guest', '-p', '/var/run/bsd-multiplicity-bhyve.guest.pid',
        '-P', '/var/run/bsd-multiplicity-bhyve.guest.daemon.pid', '-o', '/var/log/bsd-multiplicity/bhyve.guest.log',
        '/usr/local/libexec/bsd-multiplicity/bhyve-supervisor', 'guest', '/usr/local/etc/bhyve/guest.conf',
        '/var/db/bsd-multiplicity/bhyve_vm.guest.exit', '-n', 'tap0', 'bridge0',
        '--', '/usr/sbin/bhyveload', '-m', '1G', '-d', '/vm/guest/disk.img', '-c', '/dev/nmdm-guest.1A']


def test_a_linux_guest_loaded_by_grub_bhyve():
    machine = Machine(params(name='alpine', memory='512M', boot=dict(loader='grub', grub_root='hd0,msdos1'),
                             disks=[dict(path='/vm/alpine.img'), dict(path='/iso/alpine.iso', model='ahci-cd')]))
    assert machine.device_map() == '(hd0) /vm/alpine.img\n(cd0) /iso/alpine.iso\n'
    assert machine.loader_argv('/usr/local/etc/bhyve/alpine.device.map') == [
        '/usr/local/sbin/grub-bhyve', '-m', '/usr/local/etc/bhyve/alpine.device.map', '-r', 'hd0,msdos1',
        '-M', '512M', '-c', '/dev/nmdm-alpine.1A']
    assert 'lpc.bootrom' not in machine.variables([], [], '/v')


def test_a_windows_style_uefi_guest_with_vnc_tpm_and_media():
    machine = Machine(params(name='win', cpus=4, sockets=1, cores=2, threads=2, memory='8G', wired_memory=True,
                             disks=[dict(path='/dev/zvol/zroot/vm/win', size='60G', model='nvme'),
                                    dict(path='/vm/iso/win.iso', model='ahci-cd', slot=5)],
                             nics=[dict(bridge='bridge0', model='e1000', mac='00:A0:98:11:22:33')],
                             vnc=dict(password='s3cr%t', wait=True, width=1920, height=1080),
                             tpm=dict(path='/var/run/swtpm/win.sock'), extra_config={'bios.vendor': 'ACME'}))
    variables = machine.variables(['tap3'], ['00:a0:98:11:22:33'], '/var/db/bhyve/win/uefi-vars.fd')
    assert [(k, v) for k, v in variables.items() if k.startswith('pci.') or k.startswith('lpc.') or '.' not in k] == [
        ('name', 'win'), ('cpus', '4'), ('sockets', '1'), ('cores', '2'), ('threads', '2'),
        ('pci.0.0.0.device', 'hostbridge'), ('pci.0.2.0.device', 'nvme'), ('pci.0.2.0.path', '/dev/zvol/zroot/vm/win'),
        ('pci.0.5.0.device', 'ahci'), ('pci.0.5.0.port.0.type', 'cd'), ('pci.0.5.0.port.0.path', '/vm/iso/win.iso'),
        ('pci.0.5.0.port.0.ro', 'true'), ('pci.0.3.0.device', 'e1000'), ('pci.0.3.0.backend', 'tap3'),
        ('pci.0.3.0.mac', '00:a0:98:11:22:33'), ('pci.0.29.0.device', 'fbuf'), ('pci.0.29.0.rfb', '127.0.0.1:5900'),
        ('pci.0.29.0.w', '1920'), ('pci.0.29.0.h', '1080'), ('pci.0.29.0.wait', 'true'),
        ('pci.0.29.0.password', 's3cr%t'), ('pci.0.30.0.device', 'xhci'), ('pci.0.30.0.slot.1.device', 'tablet'),
        ('pci.0.31.0.device', 'lpc'), ('lpc.com1.path', '/dev/nmdm-win.1A'),
        ('lpc.bootrom', '/usr/local/share/uefi-firmware/BHYVE_UEFI.fd'),
        ('lpc.bootvars', '/var/db/bhyve/win/uefi-vars.fd')]
    assert variables['memory.wired'] == 'true' and variables['bios.vendor'] == 'ACME'
    assert (variables['tpm.type'], variables['tpm.path'], variables['tpm.version']) == \
        ('swtpm', '/var/run/swtpm/win.sock', '2.0')
    text = BhyveVmKind.render_text('', variables)
    assert 'pci.0.29.0.password=s3cr\\%t\n' in text       # a '%' escaped, so bhyve uses it as written
    assert bhyve_config.values(text)['pci.0.29.0.password'] == 's3cr%t'


def test_a_linux_guest_with_shares_and_passthru_in_slot_order():
    machine = Machine(params(name='deb', disks=[dict(path='/vm/deb.img')], nics=[dict(bridge='b0'), dict(bridge='b1')],
                             shares=[dict(name='src', path='/usr/src', readonly=True)], ppt_devices=['ppt0', '2/0/1'],
                             wired_memory=True))
    slots = [(d['what'], d['slot']) for d in machine.disks + machine.nics + machine.shares + machine.passthru]
    assert slots == [('disks[0]', 2), ('nics[0]', 3), ('nics[1]', 4), ('shares[0]', 5), ('ppt_devices[0]', 6),
                     ('ppt_devices[1]', 7)]
    variables = machine.variables(['tap0', 'tap1'], ['58:9c:fc:00:00:01', '58:9c:fc:00:00:02'], '/v')
    assert variables['pci.0.5.0.sharename'] == 'src' and variables['pci.0.5.0.ro'] == 'true'
    assert variables['pci.0.6.0.pptdev'] == 'ppt0'
    assert [variables['pci.0.7.0.%s' % k] for k in ('device', 'bus', 'slot', 'func')] == ['passthru', '2', '0', '1']


def test_chosen_macs_are_stable_unicast_and_per_host():
    first = chosen_mac('host-a', 'web', 0)
    assert first == chosen_mac('host-a', 'web', 0) and first.startswith('58:9c:fc:')
    assert first != chosen_mac('host-b', 'web', 0) and first != chosen_mac('host-a', 'web', 1)


@pytest.mark.parametrize('given, parameter, message', [
    (dict(name='a/b'), 'name', 'is not a VM name'),
    (dict(memory='1.5G'), 'memory', 'is not a bhyve memory size'),
    (dict(cpus=3, sockets=2), 'cpus', 'is not sockets x cores x threads'),
    (dict(disks=[dict(path='rel.img')]), 'disks[0].path', 'absolute path'),
    (dict(disks=[dict(path='/a', slot=0)]), 'disks[0].slot', 'not free'),
    (dict(disks=[dict(path='/a', slot=4)], nics=[dict(bridge='b', slot=4)]), 'nics[0].slot', 'also given to disks[0]'),
    (dict(disks=[dict(path='/a\x85b')]), 'disks[0].path', 'cannot be written on one line'),
    (dict(disks=[dict(path='/a', options=dict(nocach=True))]), 'disks[0].options', 'not a variable'),
    (dict(nics=[dict(bridge='b', tap='vmnet0')]), 'nics[0].tap', 'tapN'),
    (dict(nics=[dict(bridge='b0; reboot')]), 'nics[0].bridge', 'not an interface name'),
    (dict(nics=[dict(bridge='b', tap='tap1'), dict(bridge='b', tap='tap1')]), 'nics', 'same tap'),
    (dict(vnc=dict(listen='::1'), boot=dict(loader='bhyveload'), disks=[dict(path='/a')]), 'vnc', 'needs UEFI'),
    (dict(boot=dict(loader='bhyveload')), 'boot.loader', 'declare one in disks'),
    (dict(boot=dict(loader='grub', grub_root='hd0;reboot'), disks=[dict(path='/a')]), 'boot.grub_root', 'GRUB device'),
    (dict(extra_config={'x': ''}), 'extra_config.x', 'empty value'),
    (dict(ppt_devices=['pci0:1:0'], wired_memory=True), 'ppt_devices[0]', 'ppt(4)'),
    (dict(ppt_devices=['ppt0']), 'wired_memory', 'wired'),
])
def test_refusals_name_the_parameter(given, parameter, message):
    with pytest.raises(ParameterError) as caught:
        Machine(params(name=given.pop('name', 'vm'), **given))
    assert caught.value.parameter == parameter and message in str(caught.value)


def test_render_keeps_lines_it_does_not_own_and_drops_what_it_wrote_before():
    first = BhyveVmKind.render_text('# mine\nbios.vendor=Me\n', {'name': 'a', 'cpus': '2'})
    assert first.splitlines()[2:] == ['# owned: name cpus', 'bios.vendor=Me', 'name=a', 'cpus=2']
    second = BhyveVmKind.render_text(first.replace('bios.vendor=Me', 'bios.vendor=Me\n# hand note'), {'name': 'a'})
    assert second.splitlines()[2:] == ['# owned: name', 'bios.vendor=Me', '# hand note', 'name=a']
    with pytest.raises(Exception) as caught:
        BhyveVmKind.render_text('name.x=1\n', {'name': 'a'})      # a kept node where a variable goes
    assert 'child of existing variable' in str(caught.value) or 'existing node' in str(caught.value)
