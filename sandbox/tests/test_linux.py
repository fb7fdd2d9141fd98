"""rc.d/linux (linux(4)), the compat.linux sysctls, and /etc/fstab mounted at boot (mountcritlocal,
mountlate) and by mount -a."""

import json

EMUL = '/compat/linux'


def mounted_nodes(host):
    return [line.split(' on ', 1)[1].split(' (', 1)[0] for line in host.run('mount')[1].splitlines()]


def test_service_linux_needs_linux_enable_or_onestart(fresh):
    rc, out, unused = fresh.run('service', 'linux', 'start')
    assert rc == 0 and "Cannot 'start' linux. Set linux_enable to YES" in out
    assert fresh.run('kldstat', '-q', '-m', 'linux64elf')[0] == 1
    assert fresh.run('service', 'linux', 'onestart')[0] == 0
    for module in ('linuxelf', 'linux64elf', 'linprocfs', 'linsysfs'):
        assert fresh.run('kldstat', '-q', '-m', module)[0] == 0, module
    assert fresh.run('sysctl', '-n', 'kern.elf64.fallback_brand') == (0, '3\n', '')
    assert fresh.run('sysctl', '-n', 'compat.linux.emul_path') == (0, EMUL + '\n', '')
    nodes = mounted_nodes(fresh)
    for below in ('/proc', '/sys', '/dev', '/dev/fd', '/dev/shm'):
        assert nodes.count(EMUL + below) == 1, below
    assert 'fdescfs on /compat/linux/dev/fd (fdescfs, linrdlnk)' in fresh.run('mount')[1]
    # Again: nothing is mounted twice, nothing loaded twice.
    assert fresh.run('service', 'linux', 'onestart') == (0, '', '')
    assert mounted_nodes(fresh) == nodes
    assert fresh.run('service', 'linux', 'bogus')[0] == 1


def test_linux_mounts_enable_no_loads_without_mounting(fresh):
    fresh.run('sysrc', 'linux_mounts_enable=NO')
    assert fresh.run('service', 'linux', 'onestart')[0] == 0
    assert fresh.run('kldstat', '-q', '-m', 'linux64elf')[0] == 0
    assert not [n for n in mounted_nodes(fresh) if n.startswith(EMUL)]


def test_emul_path_and_osrelease_are_writable_while_linux64_is_loaded(fresh):
    assert fresh.run('sysctl', 'compat.linux.osrelease=6.1.0')[0] == 1          # unknown oid: not loaded
    fresh.run('kldload', 'linux64')
    assert fresh.run('sysctl', 'compat.linux.osrelease=6.1.0') == (0, 'compat.linux.osrelease: 5.15.0 -> 6.1.0\n', '')
    assert fresh.run('sysctl', '-n', 'compat.linux.osrelease') == (0, '6.1.0\n', '')
    assert fresh.run('sysctl', 'compat.linux.emul_path=/compat/debian')[0] == 0
    fresh.sh('sysrc linux_mounts_enable=YES >/dev/null')
    assert fresh.run('service', 'linux', 'onestart')[0] == 0
    assert '/compat/debian/proc' in mounted_nodes(fresh)
    # Unloaded, the module's nodes go with it; loaded again, they are its defaults.
    for node in mounted_nodes(fresh)[::-1]:
        if node.startswith('/compat/debian'):
            fresh.run('umount', node)
    assert fresh.run('kldunload', 'linux64')[0] == 0
    assert fresh.run('sysctl', '-n', 'compat.linux.osrelease')[0] == 1
    fresh.run('kldload', 'linux64')
    assert fresh.run('sysctl', '-n', 'compat.linux.osrelease') == (0, '5.15.0\n', '')


def test_linprocfs_mount_loads_its_module_and_nocover_refuses_a_second(fresh):
    fresh.sh('mkdir -p /srv/lx/proc')
    assert fresh.run('mount', '-t', 'linprocfs', 'linprocfs', '/srv/lx/proc')[0] == 0
    assert fresh.run('kldstat', '-q', '-m', 'linprocfs')[0] == 0
    assert fresh.run('kldstat', '-q', '-m', 'linux_common')[0] == 0
    assert fresh.run('mount', '-o', 'nocover', '-t', 'linprocfs', 'linprocfs', '/srv/lx/proc') == (
        1, '', 'mount: /srv/lx/proc: Device busy\n')


FSTAB = '''# Device\tMountpoint\tFStype\tOptions\tDump\tPass#
linprocfs\t/srv/lx/proc\tlinprocfs\trw\t0\t0
tmpfs\t/srv/lx/tmp\ttmpfs\trw,mode=1777\t0\t0
/srv/data\t/srv/lx/data\tnullfs\tro,late\t0\t0
tmpfs\t/srv/lx/never\ttmpfs\trw,noauto\t0\t0
tmpfs\t/srv/lx/missing\ttmpfs\trw,failok\t0\t0
tmpfs\t/srv/lx/notype\ttmpfs\tmode=1777\t0\t0
tmpfs\t/srv/lx/xx\ttmpfs\txx,rw\t0\t0
'''


def test_mount_a_mounts_fstab_once(fresh):
    fresh.sh('mkdir -p /srv/lx/proc /srv/lx/tmp /srv/lx/data /srv/lx/never /srv/lx/notype /srv/lx/xx /srv/data')
    fresh.sh("cat >> /etc/fstab <<'EOF'\n%sEOF" % FSTAB)
    # missing has no directory: reported, but failok keeps the status 0.
    rc, unused, err = fresh.run('mount', '-a')
    assert rc == 0 and '/srv/lx/missing: No such file or directory' in err
    nodes = mounted_nodes(fresh)
    assert '/srv/lx/proc' in nodes and '/srv/lx/tmp' in nodes
    assert '/srv/lx/data' not in nodes and '/srv/lx/never' not in nodes      # late; noauto
    # getfsent(3) passes over a line with no rw/ro/rq type, and one marked xx.
    assert '/srv/lx/notype' not in nodes and '/srv/lx/xx' not in nodes
    assert fresh.run('mount', '-a', '-L')[0] == 0
    assert 'read-only' in [line for line in fresh.run('mount')[1].splitlines() if '/srv/lx/data' in line][0]
    again = mounted_nodes(fresh)
    assert fresh.run('mount', '-a', '-l')[0] == 0 and mounted_nodes(fresh) == again     # nothing twice
    assert fresh.run('mount', '-a', '-t', 'nolinprocfs')[0] == 0


def test_a_reboot_mounts_fstab_and_runs_rc_d_linux(fresh):
    fresh.sh('mkdir -p /srv/lx/proc /srv/lx/tmp /srv/lx/data /srv/lx/never /srv/lx/missing /srv/data')
    fresh.sh("cat >> /etc/fstab <<'EOF'\n%sEOF" % FSTAB)
    fresh.run('sysrc', 'linux_enable=YES')
    assert fresh.run('reboot') == (0, '', '')
    nodes = mounted_nodes(fresh)
    for node in ('/srv/lx/proc', '/srv/lx/tmp', '/srv/lx/data', '/srv/lx/missing', EMUL + '/proc', EMUL + '/dev/shm'):
        assert node in nodes, node
    assert '/srv/lx/never' not in nodes
    assert fresh.run('kldstat', '-q', '-m', 'linux64elf')[0] == 0
    ran = [json.loads(line)['argv'] for line in fresh.read('/var/log/fbsdsim/commands.log').splitlines()]
    assert ['mount', '-a', '-t', 'nonfs,smbfs'] in ran and ['mount', '-a', '-L'] in ran
    boot = fresh.read('/var/log/fbsdsim/boot.log')
    assert 'Mounting local filesystems:.' in boot


def test_sysctl_conf_waits_for_the_modules_that_bring_its_mibs(fresh):
    # rc.d/sysctl runs before rc.d/kld: a compat.linux setting is passed over then and set by
    # rc.d/sysctl_lastload once kld_list has loaded linux64; a MIB still missing then is reported.
    fresh.sh("cat >> /etc/sysctl.conf <<'EOF'\n# a comment\ncompat.linux.emul_path=/compat/debian  # why\n"
             "compat.linux.osrelease=6.1.0\nno.such.mib=1\nkern.racct.enable\nEOF")
    fresh.run('sysrc', 'kld_list+=linux64')
    assert fresh.run('reboot') == (0, '', '')
    assert fresh.run('sysctl', '-n', 'compat.linux.emul_path') == (0, '/compat/debian\n', '')
    assert fresh.run('sysctl', '-n', 'compat.linux.osrelease') == (0, '6.1.0\n', '')
    boot = fresh.read('/var/log/fbsdsim/boot.log')
    assert boot.count('sysctl no.such.mib does not exist.') == 1
    assert 'compat.linux' not in boot.replace('sysctl no.such.mib does not exist.', '')
    # Without the module nothing sets them, and the last pass says so.
    fresh.run('sysrc', 'kld_list-=linux64')
    assert fresh.run('reboot') == (0, '', '')
    assert fresh.run('sysctl', '-n', 'compat.linux.emul_path')[0] == 1
    assert 'sysctl compat.linux.emul_path does not exist.' in fresh.read('/var/log/fbsdsim/boot.log')
