"""Every simulated subsystem in one table.

A subsystem is a module of fbsd and what it adds to the simulated host: its commands (where
FreeBSD installs each, and the function of the module that runs it), the loadable kernel files it
brings (their modules, sizes and sysctl nodes), the parts of the state that survive a reboot, what
a power cycle does to what it holds (``power_off(state)``), its steps of rc at boot and at shutdown
(``step(console, rc)``, run in rc's order, :data:`RC_ORDER`) and the rc.d scripts service(8) knows.

main.py (which command runs what), cli.py (the command wrappers and kernel files it installs),
boot.py (the reboot) and service.py (rc.d scripts) read only this table.  Functions are named, and
their module imported only when one of them is called: each simulated command imports its own
module alone (most of a command's cost is Python starting up and importing).  Adding a command or
a subsystem is an entry here and its module's functions.
"""

import importlib


class Subsystem(object):
    def __init__(self, module, commands=None, kernel_files=None, keeps=(), power_off=None, rc=None,
                 shutdown=None, scripts=None):
        self.module = module
        self.commands = commands or {}          # FreeBSD path -> function
        self.kernel_files = kernel_files or {}  # file name in /boot/kernel -> its description
        self.keeps = keeps                      # top-level state keys that survive a reboot
        self.power_off = power_off              # function(state): what the kernel held is gone
        self.rc = rc or {}                      # rc step (RC_ORDER) -> function(console, rc)
        self.shutdown = shutdown                # function(console, rc), run by rc.shutdown
        self.scripts = scripts or {}            # rc.d script -> (function(cmd, action, names), rcvar or None)


# What GENERIC has built in: never loaded from a file, never unloaded.
BUILTIN_MODULES = ('elf64', 'elf32', 'shell', 'if_lo', 'if_tuntap', 'if_tun', 'if_tap', 'if_vlan', 'tmpfs', 'nullfs',
                   'devfs', 'procfs', 'fdescfs', 'cd9660', 'ufs', 'md', 'geom_md', 'kernel_rctl')

# The order rc runs its steps in (rcorder of the rc.d scripts that matter here).
RC_ORDER = ('sysctl', 'hostname', 'kld', 'mdconfig', 'mountcritlocal', 'linux', 'devfs', 'netif', 'rctl', 'mountlate',
            'sysctl_lastload', 'jail', 'local')

# In the order a power cycle takes things down: processes, then mounts, then devices.
SUBSYSTEMS = (
    Subsystem('jail', commands={'/usr/sbin/jail': 'jail_main', '/usr/sbin/jls': 'jls_main',
                                '/usr/sbin/jexec': 'jexec_main'},
              power_off='power_off'),
    Subsystem('mount', commands={'/sbin/mount': 'mount_main', '/sbin/mount_nullfs': 'mount_main',
                                 '/sbin/umount': 'umount_main'},
              power_off='power_off', rc={'mountcritlocal': 'rc_mountcritlocal', 'mountlate': 'rc_mountlate'}),
    Subsystem('bhyve', commands={'/usr/sbin/bhyve': 'bhyve_main', '/usr/sbin/bhyvectl': 'bhyvectl_main',
                                 '/usr/sbin/bhyveload': 'bhyveload_main',
                                 '/usr/local/sbin/grub-bhyve': 'grub_bhyve_main'},
              kernel_files={
                  'vmm.ko': {'modules': ['vmm'], 'size': 2494464,
                             'sysctl': {'hw.vmm.maxcpu': 256, 'hw.vmm.topology.cores_per_package': 1,
                                        'hw.vmm.ppt.devices': 0}},
                  'nmdm.ko': {'modules': ['nmdm'], 'size': 24576}},
              power_off='power_off'),
    Subsystem('ufs', commands={'/sbin/newfs': 'newfs_main'}),
    Subsystem('makefs', commands={'/usr/sbin/makefs': 'makefs_main'}),
    Subsystem('md', commands={'/sbin/mdconfig': 'mdconfig_main'}, power_off='power_off',
              rc={'mdconfig': 'rc_mdconfig'}),
    Subsystem('zfs', commands={'/sbin/zfs': 'zfs_main', '/sbin/zpool': 'zpool_main'},
              kernel_files={'zfs.ko': {'modules': ['zfs_zvol', 'zfs_vdev', 'zfsctrl', 'zfs'], 'size': 6049080,
                                       'sysctl': {'vfs.zfs.arc_max': 0}}},
              keeps=('zfs',), power_off='power_off'),
    Subsystem('net', commands={'/sbin/ifconfig': 'ifconfig_main', '/sbin/route': 'route_main'},
              kernel_files={
                  'bridgestp.ko': {'modules': ['bridgestp'], 'size': 61440},
                  'if_bridge.ko': {'modules': ['if_bridge'], 'depends': ['bridgestp'], 'size': 102400,
                                   'sysctl': {'net.link.bridge.member_ifaddrs': 0, 'net.link.bridge.pfil_member': 1}},
                  'if_epair.ko': {'modules': ['if_epair'], 'size': 36864},
                  'if_wg.ko': {'modules': ['if_wg'], 'size': 98304},
                  'pf.ko': {'modules': ['pf'], 'size': 450560}}),
    Subsystem('kld', commands={'/sbin/kldload': 'kldload', '/sbin/kldunload': 'kldunload', '/sbin/kldstat': 'kldstat'},
              rc={'kld': 'rc_kld_list'}),
    # The Linux ABI (linux(4)): its kernel files and rc.d/linux.
    Subsystem('linux', scripts={'linux': ('linux', 'linux_enable')}, rc={'linux': 'rc_linux'},
              kernel_files={
                  'linux_common.ko': {'modules': ['linux_common'], 'size': 262144},
                  'linux.ko': {'modules': ['linuxelf', 'linux'], 'depends': ['linux_common'], 'size': 786432,
                               'sysctl': {'compat.linux32.emulate_i386': 0}},
                  'linux64.ko': {'modules': ['linux64elf', 'linux64'], 'depends': ['linux_common'], 'size': 917504,
                                 'sysctl': {'compat.linux.osname': 'Linux', 'compat.linux.osrelease': '5.15.0',
                                            'compat.linux.oss_version': 198144,
                                            'compat.linux.emul_path': '/compat/linux'},
                                 'writable': ['compat.linux.osname', 'compat.linux.osrelease',
                                              'compat.linux.oss_version', 'compat.linux.emul_path']},
                  'linprocfs.ko': {'modules': ['linprocfs'], 'depends': ['linux_common'], 'size': 90112},
                  'linsysfs.ko': {'modules': ['linsysfs'], 'depends': ['linux_common'], 'size': 40960}}),
    Subsystem('sysctl', commands={'/sbin/sysctl': 'main'},
              rc={'sysctl': 'rc_sysctl_conf', 'hostname': 'rc_hostname', 'sysctl_lastload': 'rc_sysctl_lastload'}),
    Subsystem('sysrc', commands={'/usr/sbin/sysrc': 'main'}),
    Subsystem('version', commands={'/usr/bin/uname': 'uname', '/bin/freebsd-version': 'freebsd_version'}),
    Subsystem('rctl', commands={'/usr/bin/rctl': 'rctl_main'}, rc={'rctl': 'rc_rctl'}),
    Subsystem('pkg', commands={'/usr/local/sbin/pkg': 'pkg_main'}, keeps=('pkg',)),
    Subsystem('service', commands={'/usr/sbin/service': 'service_main'},
              scripts={'devfs': ('devfs', None), 'jail': ('jail', 'jail_enable'), 'netif': ('netif', None)},
              rc={'devfs': 'rc_devfs', 'netif': 'rc_netif_start', 'jail': 'rc_jail_start'},
              shutdown='rc_jail_stop'),
    Subsystem('localrc', rc={'local': 'rc_local_start'}, shutdown='rc_local_stop'),
    Subsystem('daemon', commands={'/usr/sbin/daemon': 'daemon_main', '/bin/pgrep': 'pkill_main',
                                  '/bin/pkill': 'pkill_main'}),
    Subsystem('boot', commands={'/sbin/shutdown': 'shutdown_main', '/sbin/reboot': 'shutdown_main'}),
    Subsystem('debootstrap', commands={'/usr/local/sbin/debootstrap': 'main'}),
)


# Simulated commands a package installs (path -> package): `pkg install` writes their wrapper, not
# `sandbox create`, so they are there only once the package is, as on FreeBSD.
PACKAGED = {'/usr/local/sbin/grub-bhyve': 'grub2-bhyve', '/usr/local/sbin/debootstrap': 'debootstrap'}
SIM_DIR = '/usr/local/libexec/fbsdsim'


def wrapper_text(command):
    """The program at a simulated command's FreeBSD path: Python that runs fbsdsim as ``command``."""
    return ('#!/usr/bin/python3 -I\n# %s, simulated by fbsdsim (see /etc/fbsdsim-notice)\n'
            'import sys\nsys.path.insert(0, %r)\nsys.argv[0] = %r\n'
            'from fbsd.main import main\nsys.exit(main())\n' % (command, SIM_DIR, command))


def function(module, name):
    """The function ``name`` of fbsd.``module``, importing the module now."""
    return getattr(importlib.import_module('fbsd.' + module), name)


def commands():
    """{FreeBSD path: (module, function)} of every simulated command."""
    return dict((path, (s.module, name)) for s in SUBSYSTEMS for path, name in s.commands.items())


def handler(prog):
    """The function that runs the command called ``prog`` (its base name); KeyError if none does."""
    for subsystem in SUBSYSTEMS:
        for path, name in subsystem.commands.items():
            if path.rsplit('/', 1)[1] == prog:
                return function(subsystem.module, name)
    raise KeyError(prog)


def kernel_files():
    """{file name: description} of every loadable kernel file."""
    found = {}
    for subsystem in SUBSYSTEMS:
        found.update(subsystem.kernel_files)
    return found


def kept_state():
    """The top-level state keys that survive a reboot."""
    return [key for subsystem in SUBSYSTEMS for key in subsystem.keeps]


def power_off(state):
    for subsystem in SUBSYSTEMS:
        if subsystem.power_off:
            function(subsystem.module, subsystem.power_off)(state)


def shutdown(console, rc):
    for subsystem in SUBSYSTEMS:
        if subsystem.shutdown:
            function(subsystem.module, subsystem.shutdown)(console, rc)


def rc_steps():
    """(step, function) of rc at boot, in RC_ORDER."""
    steps = dict((step, (s.module, name)) for s in SUBSYSTEMS for step, name in s.rc.items())
    return [(step, function(*steps[step])) for step in RC_ORDER if step in steps]


def scripts():
    """{rc.d script: (module, function, rcvar)} that service(8) knows."""
    return dict((script, (s.module, name, rcvar)) for s in SUBSYSTEMS for script, (name, rcvar) in s.scripts.items())
