"""bhyve(8), bhyveload(8) and bhyvectl(8) over simulated vmm(4) virtual machines.

The option grammar of bhyve(8) and bhyve_config(5) is checked strictly
(src-notes section 6).  No guest code runs: a started VM is a record in the
instance state, a file /dev/vmm/NAME, and the bhyve process itself, which
waits in the foreground like the real one until the VM is powered off, reset
or destroyed, then exits 0 (reset), 1 (poweroff), 2 (halt) or 4 (error).
"""

import os
import re
import signal
import time

from fbsd import net
from fbsd.core import Command, getopt, locked_state
from fbsd.kld import find_module

VMM_DIR = '/dev/vmm'
PCI_DEVICES = ('hostbridge', 'amd_hostbridge', 'passthru', 'virtio-net', 'virtio-blk', 'virtio-scsi', 'virtio-9p',
               'virtio-rnd', 'virtio-console', 'virtio-input', 'ahci', 'ahci-cd', 'ahci-hd', 'e1000', 'uart', 'lpc',
               'fbuf', 'xhci', 'nvme')
LPC_DEVICES = ('com1', 'com2', 'com3', 'com4', 'bootrom', 'bootvars', 'fwcfg', 'pc-testdev', 'tpm')
DISKS = ('virtio-blk', 'ahci-hd', 'ahci-cd', 'nvme')
# The config variable a leading bare word of '-s slot,device,WORD' sets (bhyve_config(5)).
POSITIONAL = dict([(d, 'path') for d in DISKS + ('virtio-9p',)] +
                  [('virtio-net', 'backend'), ('e1000', 'backend'), ('passthru', 'pptdev')])
EX_USAGE = 64
USAGE = ['Usage: bhyve [-aCDeHhPSuWwxY]',
         '       [-c [[cpus=]numcpus][,sockets=n][,cores=n][,threads=n]]',
         '       [-G port] [-k config_file] [-l lpc] [-m mem] [-o var=value]',
         '       [-p vcpu:hostcpu] [-r file] [-s pci] [-U uuid] vmname']


def vmm_loaded(state):
    return find_module(state['kld']['files'], 'vmm')[0] is not None


def parse_memsize(text):
    """-m: a number with K/M/G/T (any case); a bare number under 1M means megabytes."""
    match = re.match(r'^(\d+)([KkMmGgTt]?)$', text)
    if not match:
        return None
    number, unit = int(match.group(1)), match.group(2).upper()
    if not unit:
        return number * (1 << 20) if number < (1 << 20) else number
    return number << {'K': 10, 'M': 20, 'G': 30, 'T': 40}[unit]


def parse_topology(text):
    """-c: 'N' or 'cpus=N,sockets=S,cores=C,threads=T'; None if invalid."""
    config = {}
    for index, part in enumerate(text.split(',')):
        key, has_value, value = part.partition('=')
        if not has_value:
            if index != 0:
                return None
            key, value = 'cpus', part
        if key not in ('cpus', 'sockets', 'cores', 'threads') or not value.isdigit() or int(value) < 1:
            return None
        config[key] = int(value)
    cpus = config.get('cpus')
    product = config.get('sockets', 1) * config.get('cores', 1) * config.get('threads', 1)
    if cpus is None:
        cpus = product
    elif any(k in config for k in ('sockets', 'cores', 'threads')) and product != cpus:
        return None
    config['cpus'] = cpus
    return config


def parse_slot(cmd, text, config):
    """-s slot[:func],emu[,conf] or bus:slot:func,emu[,conf] into pci.B.S.F.* variables."""
    head, _sep, rest = text.partition(',')
    numbers = head.split(':')
    emulation, _sep, options = rest.partition(',')
    if not all(n.isdigit() for n in numbers) or not 1 <= len(numbers) <= 3 or not emulation:
        cmd.err('Invalid PCI slot info field "%s"' % text)
        cmd.usage(status=4)
    values = [int(n) for n in numbers]
    bus, slot, func = {1: lambda: (0, values[0], 0), 2: lambda: (0, values[0], values[1]),
                       3: lambda: tuple(values)}[len(values)]()
    if slot > 31 or func > 7 or bus > 255:
        cmd.err('Invalid PCI slot info field "%s"' % text)
        cmd.usage(status=4)
    if emulation not in PCI_DEVICES:
        cmd.err('pci slot %d:%d:%d: unknown device "%s"' % (bus, slot, func, emulation))
        cmd.usage(status=4)
    prefix = 'pci.%d.%d.%d' % (bus, slot, func)
    if prefix + '.device' in config:
        cmd.err('pci slot %d:%d:%d already occupied!' % (bus, slot, func))
        cmd.usage(status=4)
    config[prefix + '.device'] = emulation
    positional = POSITIONAL.get(emulation)
    for index, option in enumerate(o for o in options.split(',') if o):
        key, has_value, value = option.partition('=')
        if not has_value:
            # The first bare word is the device's backend or path; any other bare word is 'word=true'.
            key, value = (positional, option) if index == 0 and positional else (option, 'true')
        config['%s.%s' % (prefix, key)] = value


def parse_lpc(cmd, text, config):
    device, _sep, conf = text.partition(',')
    if device not in LPC_DEVICES:
        cmd.errx(EX_USAGE, 'invalid lpc device configuration \'%s\'' % text)
    if device.startswith('com'):
        if not conf:
            cmd.errx(EX_USAGE, 'invalid lpc device configuration \'%s\'' % text)
        config['lpc.%s.path' % device] = conf
    elif device == 'bootrom':
        rom, _sep, variables = conf.partition(',')
        config['lpc.bootrom'] = rom
        if variables:
            config['lpc.bootvars'] = variables
    else:
        config['lpc.%s' % device] = conf or 'true'


def check_backends(cmd, state, config):
    """Files a VM opens at start: disk images, bootrom, nmdm/stdio consoles; taps are cloned on open."""
    for key, value in sorted(config.items()):
        if key.endswith('.path') and key.startswith('pci.') and config[key.rsplit('.', 1)[0] + '.device'] in DISKS:
            if not os.path.exists(value):
                cmd.err('Could not open backing file: %s: No such file or directory' % value)
                cmd.usage(status=4)
        elif key == 'lpc.bootrom' and not os.path.exists(value):
            cmd.errx(4, 'bootrom: %s: No such file or directory' % value)
        elif key.endswith('.backend') and value.startswith('tap'):
            ifaces = net.interfaces(state)
            if value not in ifaces:
                net.new_iface(state, value, 'tap')
            ifaces[value]['opened_by'] = os.getpid()
            ifaces[value]['up'] = True


def bhyve_main(prog, args):
    cmd = Command(prog, USAGE)
    options, operands = getopt(cmd, args, 'aehuwxACDHIMPSWYk:f:o:p:G:c:s:m:l:K:U:n:r:')
    config = {'acpi_tables': 'true', 'acpi_tables_in_memory': 'true', 'memory.size': '256M',
              'x86.strictmsr': 'true', 'lpc.fwcfg': 'bhyve'}
    flag_settings = {'a': ('x86.x2apic', 'false'), 'x': ('x86.x2apic', 'true'), 'C': ('memory.guest_in_core', 'true'),
                     'S': ('memory.wired', 'true'), 'D': ('destroy_on_poweroff', 'true'),
                     'e': ('x86.strictio', 'true'), 'H': ('x86.vmexit_on_hlt', 'true'),
                     'P': ('x86.vmexit_on_pause', 'true'), 'u': ('rtc.use_localtime', 'false'),
                     'w': ('x86.strictmsr', 'false'), 'W': ('virtio_msix', 'false'), 'Y': ('x86.mptable', 'false')}
    for flag, value in options:
        if flag == 'h':
            cmd.usage(*USAGE, status=0)
        elif flag in flag_settings:
            config[flag_settings[flag][0]] = flag_settings[flag][1]
        elif flag == 's':
            if value == 'help':
                cmd.out('\n'.join(PCI_DEVICES))
                return 0
            parse_slot(cmd, value, config)
        elif flag == 'l':
            if value == 'help':
                cmd.out('\n'.join(LPC_DEVICES))
                return 0
            parse_lpc(cmd, value, config)
        elif flag == 'c':
            topology = parse_topology(value)
            if topology is None:
                cmd.errx(EX_USAGE, 'invalid cpu topology \'%s\'' % value)
            for key, number in topology.items():
                config[key] = str(number)
        elif flag == 'm':
            if parse_memsize(value) is None:
                cmd.errx(EX_USAGE, 'invalid memsize \'%s\'' % value)
            config['memory.size'] = value
        elif flag == 'o':
            key, has_value, setting = value.partition('=')
            if not has_value or not key:
                cmd.errx(EX_USAGE, 'invalid configuration option \'%s\'' % value)
            config[key] = setting
        elif flag == 'p':
            if not re.match(r'^\d+(-\d+)?:\d+(-\d+)?$', value):
                cmd.errx(EX_USAGE, 'invalid vcpu pinning configuration \'%s\'' % value)
            config['vcpu.%s.cpuset' % value.split(':')[0]] = value.split(':')[1]
        elif flag == 'U':
            if not re.match(r'^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$', value):
                cmd.errx(EX_USAGE, 'invalid UUID \'%s\'' % value)
            config['uuid'] = value
        elif flag == 'G':
            config['gdb.port'] = value.lstrip('w')
        elif flag == 'k':
            if not os.path.exists(value):
                cmd.errx(4, '%s: No such file or directory' % value)
        elif flag == 'K':
            config['keyboard.layout'] = value
        elif flag == 'f':
            config['fwcfg.%s' % value.split(',')[0]] = value.split(',', 1)[-1]
    if config.get('config.dump') in ('1', 'true'):
        for key in sorted(k for k in config if k != 'config.dump'):
            cmd.out('%s=%s' % (key, config[key]))
        return 0
    if len(operands) != 1:
        cmd.usage(*USAGE, status=1)
    name = operands[0]
    config['name'] = name
    memory = parse_memsize(config['memory.size']) or 0
    with locked_state() as state:
        if not vmm_loaded(state):
            cmd.errx(4, 'vm_create: Device not configured')
        vms = state.setdefault('vms', {})
        vm = vms.get(name)
        if vm and vm.get('pid') and process_alive(vm['pid']):
            cmd.errx(4, 'vm_create: File exists')
        others = sum(v.get('memory', 0) for n, v in vms.items() if n != name and v.get('pid'))
        if memory + others > state['sysctl'].get('hw.physmem', 0):
            cmd.errx(4, 'Unable to setup memory (12)')
        check_backends(cmd, state, config)
        vms[name] = dict(vm or {}, pid=os.getpid(), memory=memory, config=config, request=None,
                         loaded=(vm or {}).get('loaded', False), started=int(time.time()))
        make_vmm_node(name)
    return run_vm(cmd, name, config.get('destroy_on_poweroff') == 'true')


def process_alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def make_vmm_node(name):
    os.makedirs(VMM_DIR, exist_ok=True)
    with open(os.path.join(VMM_DIR, name), 'w') as handle:
        handle.write('fbsdsim: state of simulated VM %s (vmm(4))\n' % name)


def remove_vmm_node(name):
    try:
        os.unlink(os.path.join(VMM_DIR, name))
    except FileNotFoundError:
        pass


EXIT_CODES = {'reset': 0, 'poweroff': 1, 'halt': 2, 'destroyed': 4}


def run_vm(cmd, name, destroy_on_poweroff):
    """Stay in the foreground until bhyvectl or a signal ends the VM."""
    stop = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.append('poweroff'))
    while True:
        time.sleep(0.1)
        with locked_state(write=False) as state:
            vm = state.get('vms', {}).get(name)
            if vm is not None and vm.get('request') is None and not stop:
                continue
        with locked_state() as state:
            vm = state.get('vms', {}).get(name)
            request = 'destroyed' if vm is None else (stop[0] if stop else vm.get('request'))
            if request is None:
                continue
            if vm is not None:
                vm['pid'] = None
                vm['request'] = None
                if request == 'poweroff' and destroy_on_poweroff:
                    del state['vms'][name]
                    remove_vmm_node(name)
            for iface in state.get('net', {}).get('ifaces', {}).values():
                if iface.get('opened_by') == os.getpid():
                    iface.pop('opened_by')
            if request == 'destroyed':
                cmd.err('vm_run error -1, errno 6')
            return EXIT_CODES[request]


def bhyveload_main(prog, args):
    cmd = Command(prog, ['usage: bhyveload [-S][-c <console-device>] [-d <disk-path>] [-e <name=value>]',
                         '                 [-h <host-path>] [-m memsize[K|k|M|m|G|g|T|t]] <vmname>'])
    options, operands = getopt(cmd, args, 'Sc:d:e:h:l:m:')
    opts = dict(options)
    if len(operands) != 1:
        cmd.bad_option()
    memory = parse_memsize(opts.get('m', '256M'))
    if memory is None:
        cmd.errx(1, 'Invalid memsize \'%s\'' % opts['m'])
    for flag, value in options:
        if flag == 'd' and not os.path.exists(value):
            cmd.errx(1, 'disk: %s: No such file or directory' % value)
        if flag == 'h' and not os.path.isdir(value):
            cmd.errx(1, 'hostbase: %s: No such file or directory' % value)
    name = operands[0]
    with locked_state() as state:
        if not vmm_loaded(state):
            cmd.errx(1, 'vm_create: Device not configured')
        vms = state.setdefault('vms', {})
        if name in vms and vms[name].get('pid') and process_alive(vms[name]['pid']):
            cmd.errx(1, 'vm_create: File exists')
        vms.setdefault(name, {'pid': None, 'memory': memory, 'config': {}, 'request': None})
        vms[name]['loaded'] = True
        make_vmm_node(name)
    return 0


def bhyvectl_main(prog, args):
    cmd = Command(prog, ['Usage: bhyvectl --vm=<vmname>', '       [--cpu=<vcpu_number>]', '       [--create]',
                         '       [--destroy]', '       [--get-stats]', '       [--inject-nmi]',
                         '       [--force-reset]', '       [--force-poweroff]'])
    known = ('--create', '--destroy', '--get-stats', '--inject-nmi', '--force-reset', '--force-poweroff',
             '--get-all', '--get-memmap')
    name = None
    actions = []
    for arg in args:
        if arg.startswith('--vm='):
            name = arg[5:]
        elif arg.startswith('--cpu=') or arg in known:
            actions.append(arg)
        else:
            cmd.err('%s: unrecognized option `%s\'' % (prog, arg))
            cmd.bad_option()
    if not name:
        cmd.bad_option()
    with locked_state() as state:
        vms = state.setdefault('vms', {})
        if '--create' in actions:
            if name in vms:
                cmd.errx(1, 'vm_create: File exists')
            vms[name] = {'pid': None, 'memory': 0, 'config': {}, 'request': None}
            make_vmm_node(name)
        if name not in vms:
            cmd.errx(1, 'vm_open: %s could not be opened: No such file or directory' % name)
        vm = vms[name]
        if '--get-stats' in actions:
            cmd.out('vcpu0 stats:')
            cmd.out('%-40s\t%d' % ('number of ticks vcpu was idle', 0))
            cmd.out('%-40s\t%d' % ('total number of vm exits', 0))
        if '--force-reset' in actions:
            vm['request'] = 'reset'
        if '--force-poweroff' in actions:
            vm['request'] = 'poweroff'
        if '--destroy' in actions:
            del vms[name]
            remove_vmm_node(name)
    return 0


def power_off(state):
    """The bhyve processes see their VM gone and exit."""
    for name in state.get('vms', {}):
        remove_vmm_node(name)
