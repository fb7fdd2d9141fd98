"""bhyve(8)/bhyveload(8)/bhyvectl(8): the seed talk's demo sequence and the option grammar (src-notes 6, 7)."""

import os
import time

import pytest

DEMO = ['bhyve', '-c', '2', '-m', '1G', '-A', '-H', '-P', '-s', '0,hostbridge', '-s', '1,lpc',
        '-s', '2,virtio-blk,/vm/disk.img', '-s', '3,virtio-net,tap0', '-l', 'com1,/dev/nmdm0A', 'guest']


@pytest.fixture
def vmhost(fresh):
    # A disk with FreeBSD on it, installed from the release archives as by hand: newfs, mount, extract.
    fresh.sh('mkdir -p /vm /mnt/inst && truncate -s 1G /vm/disk.img && u=$(mdconfig -a -t vnode -f /vm/disk.img) '
             '&& newfs -U /dev/$u >/dev/null && mount -t ufs /dev/$u /mnt/inst '
             '&& tar -xpf /usr/freebsd-dist/base.txz -C /mnt/inst && tar -xpf /usr/freebsd-dist/kernel.txz -C /mnt/inst '
             '&& umount /mnt/inst && mdconfig -d -u ${u#md}')
    return fresh


def test_bhyveload_needs_a_kernel_on_the_disk(vmhost):
    vmhost.run('kldload', 'vmm')
    vmhost.sh('truncate -s 64M /vm/empty.img')
    assert vmhost.run('bhyveload', '-d', '/vm/empty.img', 'empty') == (1, '', "can't load 'kernel'\n")
    assert vmhost.run('ls', '/dev/vmm') == (0, 'empty\n', '')          # created before the loader looked
    assert vmhost.run('bhyveload', '-h', '/', 'hosted')[0] == 0          # the host's /boot/kernel/kernel
    assert vmhost.run('bhyveload', '-d', '/vm/disk.img', 'guest')[0] == 0


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
    assert vmhost.run('kldload', 'vmm', 'nmdm')[0] == 0
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
    vmhost.run('kldload', 'vmm', 'nmdm')
    vmhost.run('bhyveload', '-d', '/vm/disk.img', 'guest')
    start_in_background(vmhost, DEMO)
    vmhost.run('bhyvectl', '--vm=guest', '--force-reset')
    assert wait_rc(vmhost) == 0                 # 0: rebooted
    vmhost.run('rm', '/tmp/bhyve.rc')
    vmhost.run('bhyveload', '-d', '/vm/disk.img', 'guest')
    start_in_background(vmhost, DEMO[:1] + ['-D'] + DEMO[1:])
    vmhost.run('bhyvectl', '--vm=guest', '--force-poweroff')
    assert wait_rc(vmhost) == 1
    assert vmhost.run('ls', '/dev/vmm') == (0, '', '')


def test_config_dump_shows_bhyve_config_variables(vmhost):
    rc, out, err = vmhost.run('bhyve', '-o', 'config.dump=1', '-c', 'sockets=1,cores=2', '-m', '2G', '-H', '-w',
                              '-s', '2,virtio-blk,/vm/disk.img,ro', '-s', '3:1,virtio-net,tap1,mac=00:a0:98:00:00:01',
                              '-l', 'bootrom,/usr/local/share/uefi-firmware/BHYVE_UEFI.fd', 'vm')
    assert (rc, err) == (1, '')     # dump_config(); exit(1)
    lines = out.splitlines()
    for expected in ('acpi_tables=true', 'cpus=2', 'cores=2', 'sockets=1', 'memory.size=2G',
                     'x86.vmexit_on_hlt=true', 'x86.strictmsr=false', 'pci.0.2.0.device=virtio-blk',
                     'pci.0.2.0.path=/vm/disk.img', 'pci.0.2.0.ro=true', 'pci.0.3.1.backend=tap1',
                     'pci.0.3.1.mac=00:a0:98:00:00:01', 'lpc.bootrom=/usr/local/share/uefi-firmware/BHYVE_UEFI.fd'):
        assert expected in lines


def test_bare_words_after_the_backend_are_booleans(vmhost):
    rc, out, err = vmhost.run('bhyve', '-o', 'config.dump=1', '-s', '0,hostbridge,foo',
                              '-s', '4,virtio-net,tap0,bar', 'vm')
    assert (rc, err) == (1, '')
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
    assert vmhost.run('bhyve', '-l', 'bootrom,/vm/disk.img', '-s', '3,virtio-blk,/nope', 'vm') == \
        (4, '', 'Could not open backing file: /nope: No such file or directory\n'
                'Device emulation initialization error: No such file or directory\n')
    assert vmhost.run('ls', '/dev/vmm')[0] != 0 or vmhost.run('ls', '/dev/vmm')[1] == ''


def dump(host, *args):
    rc, out, err = host.run('bhyve', '-o', 'config.dump=1', *args)
    assert rc == 1, err
    return out.splitlines(), err


def test_config_file_is_read_as_bhyverun_reads_it(vmhost):
    vmhost.write('/vm/guest.conf', '# a comment\n\nname=guest\ncpus=2\nmemory.size=1G\n'
                 'pci.0.0.0.device=hostbridge\nsystem.family_name=a # not a comment=still\n'
                 'pci.0.2.0.device=virtio-blk\npci.0.2.0.path=/vm/disk.img\ncpus=4\n')
    lines, err = dump(vmhost, '-k', '/vm/guest.conf')
    # nvlist order: the defaults, then each node where it was first made; a value set again moves last.
    assert lines == ['acpi_tables=true', 'acpi_tables_in_memory=true', 'memory.size=1G', 'x86.strictmsr=true',
                     'lpc.fwcfg=bhyve', 'config.dump=1', 'name=guest', 'pci.0.0.0.device=hostbridge', 'pci.0.2.0.device=virtio-blk',
                     'pci.0.2.0.path=/vm/disk.img', 'system.family_name=a # not a comment=still', 'cpus=4']
    assert err == ''


@pytest.mark.parametrize('text, message', [
    ('cpus=\n', "bhyve: /vm/bad.conf line 1: invalid config option 'cpus='\n"),
    ('# ok\n cpus=2 \n', None),         # a line with a leading space is a variable named ' cpus'
    ('x\n', "bhyve: /vm/bad.conf line 1: invalid config option 'x'\n"),
    (' # indented\n', "bhyve: /vm/bad.conf line 1: invalid config option ' # indented'\n"),
    ('a..b=1\n', 'bhyve: Invalid configuration node: a.\nbhyve: Failed to create configuration node a.\n'),
    ('a=1\na.b=2\n', 'bhyve: Configuration node a is a child of existing variable a\n'
                     'bhyve: Failed to create configuration node a\n'),
    ('a.b=1\na=2\n', 'bhyve: Attempting to add value 2 to existing node a\n'),
])
def test_config_file_errors(vmhost, text, message):
    vmhost.write('/vm/bad.conf', text)
    rc, out, err = vmhost.run('bhyve', '-k', '/vm/bad.conf', '-o', 'config.dump=1', 'vm')
    if message is None:
        assert rc == 1 and ' cpus=2 ' in out.splitlines()
    else:
        assert (rc, err) == (4, message)


def test_values_are_expanded_when_used_not_when_set(vmhost):
    vmhost.write('/vm/ref.conf', 'name=web\npci.0.2.0.device=virtio-blk\npci.0.2.0.path=/vm/%(name).img\n'
                 'pci.0.3.0.device=virtio-blk\npci.0.3.0.path=/vm/100\\%(name)\n')
    lines, err = dump(vmhost, '-k', '/vm/ref.conf')
    assert 'pci.0.2.0.path=/vm/%(name).img' in lines            # dump_tree() prints raw values
    vmhost.run('kldload', 'vmm')
    vmhost.sh('truncate -s 1M /vm/web.img')
    rc, out, err = vmhost.run('bhyve', '-k', '/vm/ref.conf', '-l', 'bootrom,/vm/web.img')
    # The first disk is found through the reference; the escaped one names '/vm/100%(name)'.
    assert (rc, err) == (4, 'Could not open backing file: /vm/100%(name): No such file or directory\n'
                            'Device emulation initialization error: No such file or directory\n')


def test_name_comes_from_the_file_and_ahci_legacy_config(vmhost):
    vmhost.write('/vm/n.conf', 'name=fromfile\n')
    lines, err = dump(vmhost, '-k', '/vm/n.conf', '-s', '4,ahci-cd,/vm/seed.iso,ro')
    assert 'name=fromfile' in lines
    assert [line for line in lines if line.startswith('pci.0.4.0')] == [
        'pci.0.4.0.device=ahci', 'pci.0.4.0.port.0.type=cd', 'pci.0.4.0.port.0.path=/vm/seed.iso',
        'pci.0.4.0.port.0.ro=true']
    assert vmhost.run('bhyve', '-o', 'config.dump=1')[0] == 1                   # no name: usage
    assert vmhost.run('bhyve', '-o', 'config.dump=1', 'a', 'b')[0] == 1


def test_a_vm_without_bootrom_needs_bhyveload(vmhost):
    vmhost.run('kldload', 'vmm')
    argv = ['bhyve', '-s', '0,hostbridge', '-s', '1,lpc', '-s', '2,virtio-blk,/vm/disk.img', '-s', '3,virtio-net,tap0',
            'guest']
    assert vmhost.run(*argv) == (4, '', 'bhyve: no bootrom was configured\n')
    assert vmhost.run('bhyveload', '-m', '256M', '-d', '/vm/disk.img', 'guest')[0] == 0
    start_in_background(vmhost, argv)
    vmhost.run('bhyvectl', '--vm=guest', '--force-reset')
    assert wait_rc(vmhost) == 0
    # After a reset the loader must run again: the guest has nothing to run and faults.
    vmhost.run('rm', '/tmp/bhyve.rc')
    vmhost.sh('(%s; echo $? >/tmp/bhyve.rc) </dev/null >/dev/null 2>&1 &' % ' '.join(argv))
    assert wait_rc(vmhost) == 3


def test_nmdm_console_needs_nmdm_and_makes_both_ends(vmhost):
    vmhost.run('kldload', 'vmm')
    argv = ['bhyve', '-s', '0,hostbridge', '-s', '1,lpc', '-l', 'com1,/dev/nmdm0A', '-l', 'bootrom,/vm/disk.img', 'guest']
    assert vmhost.run(*argv) == (4, '', "Unable to initialize backend '/dev/nmdm0A' for LPC device com1\n")
    vmhost.run('kldload', 'nmdm')
    vmhost.sh('(%s; echo $? >/tmp/bhyve.rc) </dev/null >/dev/null 2>&1 &' % ' '.join(argv))
    for _attempt in range(50):
        if vmhost.run('test', '-e', '/dev/nmdm0B')[0] == 0:
            break
        time.sleep(0.1)
    assert vmhost.run('test', '-e', '/dev/nmdm0A')[0] == 0 and vmhost.run('test', '-e', '/dev/nmdm0B')[0] == 0
    vmhost.run('bhyvectl', '--vm=guest', '--force-poweroff')
    assert wait_rc(vmhost) == 1


@pytest.mark.parametrize('event, status', [('halt', 2), ('triple-fault', 3), ('reboot', 0), ('poweroff', 1)])
def test_guest_events_end_bhyve_with_their_status(vmhost, event, status):
    import subprocess
    from conftest import SANDBOX
    vmhost.run('kldload', 'vmm', 'nmdm')
    start_in_background(vmhost, DEMO[:-1] + ['-l', 'bootrom,/vm/disk.img', 'guest'])
    subprocess.run([SANDBOX, 'guest', vmhost.name, 'guest', event], check=True)
    assert wait_rc(vmhost) == status


def test_sigterm_is_the_power_button_a_guest_may_ignore(vmhost):
    import subprocess
    from conftest import SANDBOX
    vmhost.run('kldload', 'vmm', 'nmdm')
    argv = DEMO[:-1] + ['-l', 'bootrom,/vm/disk.img', 'guest']
    vmhost.sh('(%s & echo $! >/tmp/bhyve.pid; wait $!; echo $? >/tmp/bhyve.rc) </dev/null >/dev/null 2>&1 &'
              % ' '.join(argv))
    for _attempt in range(50):
        if vmhost.run('test', '-e', '/dev/vmm/guest')[0] == 0:
            break
        time.sleep(0.1)
    subprocess.run([SANDBOX, 'guest', vmhost.name, 'guest', 'ignore-acpi'], check=True)
    assert vmhost.sh('kill -TERM $(cat /tmp/bhyve.pid)')[0] == 0
    time.sleep(0.5)
    assert vmhost.run('cat', '/tmp/bhyve.rc')[0] != 0          # still running
    subprocess.run([SANDBOX, 'guest', vmhost.name, 'guest', 'obey-acpi'], check=True)
    assert vmhost.sh('kill -TERM $(cat /tmp/bhyve.pid)')[0] == 0
    assert wait_rc(vmhost) == 1


def test_daemon_supervises_with_locked_pidfiles(vmhost):
    vmhost.write('/tmp/prog', '#!/bin/sh\ntrap "echo got TERM; exit 7" TERM\necho started\nwhile :; do sleep 0.1; done\n')
    vmhost.run('chmod', '755', '/tmp/prog')
    assert vmhost.run('pgrep', '-L', '-F', '/var/run/p.daemon.pid') == \
        (3, '', "pgrep: Cannot open pidfile `/var/run/p.daemon.pid': No such file or directory\n")
    assert vmhost.run('daemon', '-c', '-t', 'test', '-p', '/var/run/p.pid', '-P', '/var/run/p.daemon.pid',
                      '-o', '/var/log/p.log', '/tmp/prog') == (0, '', '')
    for _attempt in range(50):
        if 'started' in vmhost.read('/var/log/p.log') if os.path.exists(vmhost.root + '/var/log/p.log') else False:
            break
        time.sleep(0.1)
    rc, out, err = vmhost.run('pgrep', '-L', '-F', '/var/run/p.daemon.pid')
    assert rc == 0 and out.strip().isdigit()
    assert vmhost.run('daemon', '-P', '/var/run/p.daemon.pid', '/tmp/prog')[0] == 3     # already running
    assert vmhost.run('pkill', '-TERM', '-L', '-F', '/var/run/p.daemon.pid') == (0, '', '')
    for _attempt in range(50):
        if vmhost.run('test', '-e', '/var/run/p.daemon.pid')[0] != 0:
            break
        time.sleep(0.1)
    assert vmhost.run('test', '-e', '/var/run/p.pid')[0] != 0      # both pidfiles removed
    assert 'got TERM' in vmhost.read('/var/log/p.log')
    assert os.stat(vmhost.root + '/var/log/p.log').st_mode & 0o777 == 0o600
