"""Injected faults (fbsd/fault.py): a command that fails, a power loss right after a command, and
power-on; and `sandbox create --from`, which the crash sweep copies prepared hosts with."""

import os
import subprocess
import uuid

from conftest import SANDBOX, Instance


def sandbox(*argv):
    return subprocess.run([SANDBOX] + list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)


def test_the_kth_command_fails_without_doing_anything(fresh):
    assert sandbox('fault', fresh.name, '--fail', '2').returncode == 0
    assert fresh.run('kldload', 'vmm') == (0, '', '')
    rc, out, err = fresh.run('kldload', 'nmdm')
    assert (rc, out) == (1, '') and 'injected fault' in err
    assert 'nmdm' not in fresh.run('kldstat')[1]
    assert fresh.run('kldload', 'nmdm') == (0, '', '')     # one shot
    assert '1\tkldload nmdm' in fresh.log()


def test_a_crash_drops_the_kernel_keeps_the_files_and_kills_the_caller(fresh):
    fresh.run('kldload', 'vmm')
    fresh.run('ifconfig', 'bridge', 'create')
    sleeper = subprocess.Popen(['chroot', fresh.root, '/bin/sleep', '60'])
    outside = subprocess.Popen(['sleep', '60'])     # a process of the machine running the sandbox
    assert sandbox('fault', fresh.name, '--crash', '1').returncode == 0
    # The caller (a shell here, the module in a real run) dies with the host, right after the command.
    rc, out, err = fresh.sh('sysrc kld_list+=vmm; echo after > /root/after')
    assert rc == -9 or rc == 137
    assert sleeper.wait(timeout=10) == -9
    assert outside.poll() is None
    outside.kill()
    assert not os.path.exists(os.path.join(fresh.root, 'root/after'))
    assert 'kld_list="vmm"' in fresh.read('/etc/rc.conf')    # what the command wrote is on disk
    rc, out, err = fresh.run('kldstat')
    assert rc == 255 and 'the host is down' in err
    booted = sandbox('boot', fresh.name)
    assert booted.returncode == 0, booted.stderr
    assert 'bridge0' not in fresh.run('ifconfig', '-l')[1]     # cloned interfaces went with the power
    assert 'vmm.ko' in fresh.run('kldstat')[1]                 # rc's kld_list loaded it again
    assert sandbox('boot', fresh.name).returncode == 1        # only a host that is down boots


def test_create_from_copies_files_and_the_simulated_kernel(fresh):
    fresh.run('kldload', 'vmm')
    fresh.write('/root/mine', 'kept\n')
    name = 'copy-%s' % uuid.uuid4().hex[:8]
    try:
        assert sandbox('create', name, '--from', fresh.name).returncode == 0
        copy = Instance(name)
        assert copy.read('/root/mine') == 'kept\n' and 'vmm.ko' in copy.run('kldstat')[1]
        copy.write('/root/mine', 'changed\n')
        assert fresh.read('/root/mine') == 'kept\n'
    finally:
        sandbox('destroy', name)
