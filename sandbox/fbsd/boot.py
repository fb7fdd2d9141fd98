"""A simulated reboot: shutdown(8)/reboot(8), the loader and the rc steps that matter here.

Shutdown stops the jails as rc.d/jail does, then the simulated kernel goes
away: jails, VMs, memory disks, mounts, cloned interfaces, loaded modules and
rctl rules are gone, as on a real reboot.  ZFS datasets, installed packages
and every file stay.  Then the loader loads the modules and tunables of
loader.conf, and rc runs, in rc's order, the steps whose settings the
collection writes: sysctl.conf, hostname, kld_list, mdconfig_mdN, devfs,
netif (cloned_interfaces, ifconfig_*), rctl, jail.  Those steps run the
(simulated) commands FreeBSD's rc.d scripts run, so they appear in the
command log.  What rc would print goes to /var/log/fbsdsim/boot.log.

The reboot happens before shutdown(8) returns: nothing waits for a delay,
and the connection that ran it stays up.

An injected power loss (fault.py) is the power cycle without the shutdown,
with every process of the host killed; power_on is the loader and rc after it.
"""

import glob
import json
import os
import signal
import sys
import time

from fbsd import fault, kld, rcconf, registry
from fbsd.console import Console, yes
from fbsd.core import Command, getopt, locked_state

BOOT_LOG = '/var/log/fbsdsim/boot.log'
LOADER_FILES = ('/boot/loader.conf', '/boot/loader.conf.local')
# Tunables of loader.conf the simulated kernel honours (others are ignored, as unknown kenv is).
TUNABLES = {'kern.racct.enable': 0}


def kernel_state(hostname, release, boottime):
    """The simulated kernel as it is right after the loader hands over."""
    modules = [{'id': index + 1, 'name': name, 'refs': 0} for index, name in enumerate(registry.BUILTIN_MODULES)]
    return {
        'release': release,
        'kld': {
            'files': [{'id': 1, 'refs': 1, 'address': 0xffffffff80200000, 'size': 0x1f3c6c0, 'name': 'kernel',
                       'path': '/boot/kernel/kernel', 'modules': modules, 'depends': []}],
            'next_file_id': 2, 'next_module_id': 500, 'next_address': 0xffffffff82200000,
        },
        'sysctl': {
            'kern.ostype': 'FreeBSD', 'kern.osrelease': release['kernel'], 'kern.osreldate': release['osreldate'],
            'kern.hostname': hostname, 'kern.module_path': '/boot/kernel;/boot/modules',
            'kern.securelevel': -1, 'kern.racct.enable': 1, 'hw.machine': 'amd64', 'hw.machine_arch': 'amd64',
            'hw.ncpu': os.cpu_count() or 1, 'hw.physmem': 25769803776, 'security.jail.jailed': 0,
            'security.jail.enforce_statfs': 2, 'security.jail.vnet': 0,
            'kern.boottime': boottime_text(boottime), 'net.link.tap.up_on_open': 0,
            # -1: an unbranded ELF binary is refused (rc.d/linux makes Linux, 3, the fallback).
            'kern.elf64.fallback_brand': -1, 'kern.elf32.fallback_brand': -1,
        },
        'sysctl_writable': ['kern.hostname', 'kern.module_path', 'kern.securelevel', 'net.link.tap.up_on_open',
                            'net.link.bridge.member_ifaddrs', 'net.link.bridge.pfil_member',
                            'kern.elf64.fallback_brand', 'kern.elf32.fallback_brand'],
        'sysctl_dynamic': {},
        'jails': {},
    }


def boottime_text(when):
    """sysctl kern.boottime: '{ sec = N, usec = N } ctime' (sysctl.c S_timeval)."""
    return '{ sec = %d, usec = %d } %s' % (int(when), int((when % 1) * 1e6), time.ctime(int(when)))


def loader_settings():
    """loader.conf, loader.conf.local and loader.conf.d/*.conf, later files winning."""
    settings = {}
    for path in LOADER_FILES[:1] + tuple(sorted(glob.glob('/boot/loader.conf.d/*.conf'))) + LOADER_FILES[1:]:
        try:
            with open(path) as handle:
                settings.update(rcconf.values(handle.read()))
        except OSError:
            continue
    return settings


def power_cycle(state):
    """Everything the kernel held is lost (each subsystem's power_off); files, datasets and packages stay."""
    registry.power_off(state)
    hostname, release = state['sysctl'].get('kern.hostname', ''), state['release']
    kept = dict((key, state[key]) for key in registry.kept_state() if key in state)
    state.clear()
    state.update(kernel_state(hostname, release, time.time()))
    state.update(kept)


def load_kernel(console):
    """The loader: modules named by <prefix>_load="YES" and the known tunables."""
    settings = loader_settings()
    with locked_state() as state:
        for key, default in TUNABLES.items():
            value = settings.get(key, str(default))
            state['sysctl'][key] = int(value) if value.lstrip('-').isdigit() else default
        for key in sorted(settings):
            if not key.endswith('_load') or not yes(settings[key]):
                continue
            prefix = key[:-len('_load')]
            name = settings.get(prefix + '_name', prefix)
            error = kld.link_file(state, name)[1]
            if error not in (None, 'EEXIST'):
                console.say("can't load module '%s': %s" % (name, error))


def run_rc(console):
    """rc at boot: every subsystem's steps, in rc's order (registry.RC_ORDER)."""
    rc = rcconf.rc_settings()
    for unused, step in registry.rc_steps():
        step(console, rc)


def reboot(console):
    registry.shutdown(console, rcconf.rc_settings())
    with locked_state() as state:
        power_cycle(state)
    load_kernel(console)
    run_rc(console)
    write_boot_log(console)


def write_boot_log(console):
    os.makedirs(os.path.dirname(BOOT_LOG), exist_ok=True)
    with open(BOOT_LOG, 'w') as handle:
        handle.write(''.join(line + '\n' for line in console.lines))


def shutdown_main(prog, args):
    """shutdown(8) -r and reboot(8); halting or powering off a simulated host is refused."""
    if prog == 'reboot':
        cmd = Command(prog, ['usage: reboot [-cdlNnpqr] [-k kernel] [-o options]'])
        options, operands = getopt(cmd, args, 'cdk:lNno:pqr')
        if operands:
            cmd.bad_option()
        if 'p' in dict(options) or 'c' in dict(options):
            cmd.errx(1, 'fbsdsim: a simulated host cannot power off or power cycle; use reboot or shutdown -r')
    else:
        cmd = Command(prog, ['usage: shutdown [-] [-c | -f | -h | -p | -r | -k] [-o [-n]] [-q] time [warning-message ...]',
                             '       poweroff', '       halt'])
        options, operands = getopt(cmd, args, 'cfhknopqr')
        flags = set(f for f, v in options)
        if not operands:
            cmd.bad_option()
        if not valid_time(operands[0]):
            cmd.errx(1, 'bad time format')   # [mem] shutdown.c getoffset()
        if flags & set('chpfk') or 'r' not in flags:
            cmd.errx(1, 'fbsdsim: only a reboot (-r) is simulated; a simulated host cannot halt or power off')
    console = Console()
    reboot(console)
    sys.stdout.flush()
    return 0


def valid_time(text):
    """now, +minutes (with an optional s/m/h unit, as newer shutdown(8) takes) or [[[[[cc]yy]mm]dd]hh]mm."""
    if text == 'now':
        return True
    if text.startswith('+'):
        number = text[1:-1] if text[-1:] in ('s', 'm', 'h') else text[1:]
        return number.isdigit()
    return text.isdigit() and len(text) % 2 == 0 and 4 <= len(text) <= 12


def power_loss(prog, args):
    """Power lost right after this command: the kernel's state goes, every process of the host dies."""
    with locked_state() as state:
        power_cycle(state)
    with open(fault.DOWN_FILE, 'w') as handle:
        json.dump({'after': [prog] + list(args)}, handle)
    sys.stdout.flush()
    sys.stderr.flush()
    for pid in processes_of_this_host():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    os.kill(os.getpid(), signal.SIGKILL)


def processes_of_this_host():
    """Processes whose root is this host's root or a directory inside it (jailed ones), except this one."""
    ours = os.stat('/')
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            root = os.stat('/proc/%s/root' % entry)
            shown = os.readlink('/proc/%s/root' % entry)
            # The host's own processes show "/" too; only the inode tells them apart.
            inside = (root.st_dev, root.st_ino) == (ours.st_dev, ours.st_ino)
            if not inside and shown != '/' and os.path.isdir(shown):
                seen = os.stat(shown)
                inside = (root.st_dev, root.st_ino) == (seen.st_dev, seen.st_ino)
        except OSError:
            continue
        if inside:
            found.append(int(entry))
    return found


def power_on():
    """`sandbox boot`: the loader and rc run on a host that crashed."""
    if not fault.host_is_down():
        sys.stderr.write('fbsdsim: the host is up; power on is for a host that crashed\n')
        return 1
    os.unlink(fault.DOWN_FILE)
    with locked_state() as state:
        state['sysctl']['kern.boottime'] = boottime_text(time.time())
    console = Console()
    load_kernel(console)
    run_rc(console)
    write_boot_log(console)
    return 0
