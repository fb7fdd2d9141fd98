"""bhyve(8)/bhyveload(8)/bhyvectl(8): the seed talk's demo sequence and the option grammar (src-notes 6, 7)."""

import time

import pytest

DEMO = ['bhyve', '-c', '2', '-m', '1G', '-A', '-H', '-P', '-s', '0,hostbridge', '-s', '1,lpc',
        '-s', '2,virtio-blk,/vm/disk.img', '-s', '3,virtio-net,tap0', '-l', 'com1,/dev/nmdm0A', 'guest']


@pytest.fixture
def vmhost(fresh):
    fresh.sh('mkdir -p /vm && truncate -s 1G /vm/disk.img')
    return fresh


def start_in_background(host, argv):
    host.sh('(%s >/tmp/bhyve.out 2>&1; echo $? >/tmp/bhyve.rc) </dev/null >/dev/null 2>&1 &' % ' '.join(argv))
    for _attempt in range(50):
        if host.run('test', '-e', '/dev/vmm/guest')[0] == 0 and 'Opened by PID' in host.run('ifconfig', 'tap0')[1]:
            return
        time.sleep(0.1)
    raise AssertionError('bhyve did not start')


def wait_rc(host):
    for _attempt in range(50):
        rc, out, err = host.run('cat', '/tmp/bhyve.rc')
        if rc == 0:
            return int(out)
        time.sleep(0.1)
    raise AssertionError('bhyve did not exit')


def test_needs_vmm(vmhost):
    assert vmhost.run(*DEMO) == (4, '', 'bhyve: vm_create: Device not configured\n')


def test_seed_talk_demo_sequence(vmhost):
    # Load vmm.ko, bridge + tap, destroy a stale VM, bhyveload, then bhyve (SEED.md).
    assert vmhost.run('kldload', 'vmm')[0] == 0
    assert vmhost.run('ifconfig', 'tap', 'create') == (0, 'tap0\n', '')
    assert vmhost.run('ifconfig', 'bridge', 'create', 'addm', 'tap0', 'up') == (0, 'bridge0\n', '')
    assert vmhost.run('bhyvectl', '--vm=guest', '--destroy') == \
        (1, '', 'bhyvectl: vm_open: guest could not be opened: No such file or directory\n')
    assert vmhost.run('bhyveload', '-m', '1G', '-d', '/vm/disk.img', 'guest') == (0, '', '')
    assert vmhost.run('ls', '/dev/vmm') == (0, 'guest\n', '')
    start_in_background(vmhost, DEMO)
    assert vmhost.run(*DEMO)[0] == 4            # the same VM cannot run twice
    assert vmhost.run('bhyvectl', '--vm=guest', '--force-poweroff') == (0, '', '')
    assert wait_rc(vmhost) == 1                 # 1: powered off
    assert 'Opened by PID' not in vmhost.run('ifconfig', 'tap0')[1]
    assert vmhost.run('ls', '/dev/vmm') == (0, 'guest\n', '')   # stays until destroyed
    assert vmhost.run('bhyvectl', '--vm=guest', '--destroy') == (0, '', '')
    assert vmhost.run('ls', '/dev/vmm') == (0, '', '')


def test_reset_exit_code_and_destroy_on_poweroff(vmhost):
    vmhost.run('kldload', 'vmm')
    start_in_background(vmhost, DEMO)
    vmhost.run('bhyvectl', '--vm=guest', '--force-reset')
    assert wait_rc(vmhost) == 0                 # 0: rebooted
    vmhost.run('rm', '/tmp/bhyve.rc')
    start_in_background(vmhost, DEMO[:1] + ['-D'] + DEMO[1:])
    vmhost.run('bhyvectl', '--vm=guest', '--force-poweroff')
    assert wait_rc(vmhost) == 1
    assert vmhost.run('ls', '/dev/vmm') == (0, '', '')


def test_config_dump_shows_bhyve_config_variables(vmhost):
    rc, out, err = vmhost.run('bhyve', '-o', 'config.dump=1', '-c', 'sockets=1,cores=2', '-m', '2G', '-H', '-w',
                              '-s', '2,virtio-blk,/vm/disk.img,ro', '-s', '3:1,virtio-net,tap1,mac=00:a0:98:00:00:01',
                              '-l', 'bootrom,/usr/local/share/uefi-firmware/BHYVE_UEFI.fd', 'vm')
    assert (rc, err) == (0, '')
    lines = out.splitlines()
    for expected in ('acpi_tables=true', 'cpus=2', 'cores=2', 'sockets=1', 'memory.size=2G',
                     'x86.vmexit_on_hlt=true', 'x86.strictmsr=false', 'pci.0.2.0.device=virtio-blk',
                     'pci.0.2.0.path=/vm/disk.img', 'pci.0.2.0.ro=true', 'pci.0.3.1.backend=tap1',
                     'pci.0.3.1.mac=00:a0:98:00:00:01', 'lpc.bootrom=/usr/local/share/uefi-firmware/BHYVE_UEFI.fd'):
        assert expected in lines


def test_bare_words_after_the_backend_are_booleans(vmhost):
    rc, out, err = vmhost.run('bhyve', '-o', 'config.dump=1', '-s', '0,hostbridge,foo',
                              '-s', '4,virtio-net,tap0,bar', 'vm')
    assert (rc, err) == (0, '')
    lines = out.splitlines()
    assert 'pci.0.0.0.foo=true' in lines and 'pci.0.4.0.backend=tap0' in lines and 'pci.0.4.0.bar=true' in lines


@pytest.mark.parametrize('args, status, message', [
    (['-s', '40,hostbridge'], 4, 'Invalid PCI slot info field "40,hostbridge"\n'),
    (['-s', '3,virtio-foo'], 4, 'pci slot 0:3:0: unknown device "virtio-foo"\n'),
    (['-s', '3,hostbridge', '-s', '3,lpc'], 4, 'pci slot 0:3:0 already occupied!\n'),
    (['-c', '3,sockets=2'], 64, "bhyve: invalid cpu topology '3,sockets=2'\n"),
    (['-p', 'x'], 64, "bhyve: invalid vcpu pinning configuration 'x'\n"),
    (['-l', 'com9,stdio'], 64, "bhyve: invalid lpc device configuration 'com9,stdio'\n"),
    (['-o', 'novalue'], 64, "bhyve: invalid configuration option 'novalue'\n"),
])
def test_option_errors(vmhost, args, status, message):
    assert vmhost.run('bhyve', *(args + ['vm'])) == (status, '', message)


def test_unknown_option_prints_usage(vmhost):
    rc, out, err = vmhost.run('bhyve', '-Z', 'vm')
    assert rc == 1 and err.startswith('bhyve: illegal option -- Z\nUsage: bhyve [-aCDeHhPSuWwxY]')


def test_missing_disk_fails_before_the_vm_exists(vmhost):
    vmhost.run('kldload', 'vmm')
    assert vmhost.run('bhyve', '-s', '3,virtio-blk,/nope', 'vm') == \
        (4, '', 'Could not open backing file: /nope: No such file or directory\n')
    assert vmhost.run('ls', '/dev/vmm')[0] != 0 or vmhost.run('ls', '/dev/vmm')[1] == ''
