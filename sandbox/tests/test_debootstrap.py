"""The debootstrap package: a real Debian userland, made on the test machine (the instance has no
network), installed by debootstrap's command line, and needing the Linux ABI for its second stage."""

import subprocess

from conftest import SANDBOX


def test_debootstrap_installs_a_real_userland_once_the_abi_is_loaded(fresh):
    subprocess.run([SANDBOX, 'userland', 'bookworm', '--variant', 'minbase'], check=True, stdout=subprocess.DEVNULL)
    assert fresh.run('debootstrap', '--version')[0] != 0          # not before its package
    assert fresh.run('pkg', 'install', '-y', 'debootstrap')[0] == 0
    assert fresh.run('debootstrap', '--version') == (0, 'debootstrap 1.0.128+nmu2\n', '')
    rc, out, err = fresh.run('debootstrap', '--variant=minbase', 'bookworm', '/compat/debian')
    # The second stage runs the userland's own programs: without linux64 it fails as in_target does.
    assert rc == 1 and 'W: Failure trying to run: chroot "/compat/debian" /bin/true' in err
    assert 'Exec format error' in fresh.read('/compat/debian/debootstrap/debootstrap.log')
    assert fresh.run('kldload', 'linux64')[0] == 0
    rc, out, err = fresh.run('debootstrap', '--variant', 'minbase', 'bookworm', '/compat/debian',
                             'http://deb.debian.org/debian')
    assert rc == 0 and out.rstrip().endswith('I: Base system installed successfully.'), (out, err)
    assert 'VERSION_CODENAME=bookworm' in fresh.read('/compat/debian/usr/lib/os-release')
    assert fresh.run('chroot', '/compat/debian', '/bin/sh', '-c', 'echo $((6 * 7))') == (0, '42\n', '')
    assert fresh.run('test', '-e', '/compat/debian/debootstrap')[0] == 1      # its log goes once it succeeded


def test_debootstrap_says_what_is_missing(fresh):
    assert fresh.run('pkg', 'install', '-y', 'debootstrap')[0] == 0
    rc, out, err = fresh.run('debootstrap', 'bookworm')
    assert rc == 1 and 'E: You must specify a suite and a target.' in err
    assert fresh.run('debootstrap', '--bogus', 'bookworm', '/x')[1:] == ('', 'E: Unknown option: --bogus\n')
    assert fresh.run('debootstrap', '--variant=tiny', 'bookworm', '/x')[2] == 'E: Unknown variant: tiny\n'
    assert 'not simulated' in fresh.run('debootstrap', '--foreign', 'bookworm', '/x')[2]
    rc, out, err = fresh.run('debootstrap', '--include=nosuchpackage', 'bookworm', '/x')
    assert rc == 1 and 'sandbox/sandbox userland bookworm --variant debootstrap --include nosuchpackage' in err
    # The cache is the test machine's, read-only in the instance.
    assert fresh.run('touch', '/var/cache/fbsdsim/userlands/x')[0] != 0
