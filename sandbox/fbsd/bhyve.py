"""bhyve(8), bhyveload(8) and bhyvectl(8) over simulated vmm(4) virtual machines.

The configuration is bhyve's own tree of variables (config.c): every option sets variables of it,
``-k FILE`` reads a bhyve_config(5) file line by line as bhyverun.c's simple config reader does, and
a value is expanded (``%(var)`` references, ``\\`` escapes) when it is used, not when it is set.
``config.dump`` prints the tree in its order and exits 1, as ``dump_config(); exit(1)`` does.
No guest code runs: a started VM is a record in the instance state, a file /dev/vmm/NAME, and the
bhyve process itself, which waits in the foreground like the real one until the guest reboots (exit
0), powers off (1), halts (2), triple-faults (3) or the VM is destroyed (4).  ``sandbox guest`` makes
the simulated guest do those (``bhyvectl --force-reset``/``--force-poweroff`` and SIGTERM too).
"""

import os
import re
import signal
import time

from fbsd import net, ufs
from fbsd.core import Command, Exit, getopt, locked_state
from fbsd.kld import find_module

VMM_DIR = '/dev/vmm'
PCI_DEVICES = ('hostbridge', 'amd_hostbridge', 'passthru', 'virtio-net', 'virtio-blk', 'virtio-scsi', 'virtio-9p',
               'virtio-rnd', 'virtio-console', 'virtio-input', 'ahci', 'ahci-cd', 'ahci-hd', 'e1000', 'uart', 'lpc',
               'fbuf', 'xhci', 'nvme', 'hda')
# Emulations that set another device name and their own legacy variables (pe_alias, pe_legacy_config).
ALIASES = {'ahci-hd': 'ahci', 'ahci-cd': 'ahci'}
LPC_DEVICES = ('com1', 'com2', 'com3', 'com4', 'bootrom', 'bootvars', 'fwcfg', 'pc-testdev', 'tpm')
DISKS = ('virtio-blk', 'nvme')
# The config variable a leading bare word of '-s slot,device,WORD' sets (bhyve_config(5)).
POSITIONAL = dict([(d, 'path') for d in DISKS + ('virtio-9p',)] +
                  [('virtio-net', 'backend'), ('e1000', 'backend'), ('passthru', 'pptdev')])
EX_USAGE = 64
USAGE = ['Usage: bhyve [-aCDeHhPSuWwxY]',
         '       [-c [[cpus=]numcpus][,sockets=n][,cores=n][,threads=n]]',
         '       [-G port] [-k config_file] [-l lpc] [-m mem] [-o var=value]',
         '       [-p vcpu:hostcpu] [-r file] [-s pci] [-U uuid] vmname']
# What ends a run, by the request that ended it, and bhyve's exit status for it (bhyve(8) EXIT STATUS).
EXIT_CODES = {'reset': 0, 'poweroff': 1, 'halt': 2, 'triplefault': 3, 'destroyed': 4}


class ConfigTree(object):
    """bhyve's configuration: nodes (dicts) and string values, in the order nvlist(9) keeps them (a value
    set again is removed and added, so it moves to the end of its node)."""

    def __init__(self, cmd):
        self.cmd = cmd
        self.root = {}

    def _node(self, path, create):
        node, names = self.root, path.split('.')
        for index, name in enumerate(names):
            if name == '':
                self.cmd.warnx('Invalid configuration node: %s' % path)
                return None
            child = node.get(name)
            if isinstance(child, dict):
                node = child
            elif child is not None:
                self.cmd.warnx('Configuration node %s is a child of existing variable %s'
                               % (path, '.'.join(names[:index + 1])))
                return None
            elif create:
                node[name] = {}
                node = node[name]
            else:
                return None
        return node

    def node(self, path):
        return self._node(path, False)

    def create_node(self, path):
        return self._node(path, True)

    def set(self, path, value):
        """set_config_value(): the last dot separates the node from the variable's name."""
        node_name, dot, name = path.rpartition('.')
        node = self.root
        if dot:
            node = self.create_node(node_name)
            if node is None:
                self.cmd.errx(4, 'Failed to create configuration node %s' % node_name)
        if isinstance(node.get(name), dict):
            self.cmd.errx(4, 'Attempting to add value %s to existing node %s' % (value, path))
        node.pop(name, None)
        node[name] = value

    def set_in(self, node, name, value):
        if isinstance(node.get(name), dict):
            self.cmd.errx(4, 'Attemping to add value %s to existing node %s of list' % (value, name))
        node.pop(name, None)
        node[name] = value

    def raw(self, path):
        node_name, dot, name = path.rpartition('.')
        node = self.node(node_name) if dot else self.root
        if node is None:
            return None
        value = node.get(name)
        if isinstance(value, dict):
            self.cmd.warnx('Attempting to fetch value of node %s' % path)
            return None
        return value

    def get(self, path, default=None):
        value = self.raw(path)
        return default if value is None else self.expand(value)

    def get_bool(self, path, default=False):
        value = self.get(path)
        if value is None:
            return default
        if value.lower() in ('true', 'on', 'yes') or value == '1':
            return True
        if value.lower() in ('false', 'off', 'no') or value == '0':
            return False
        self.cmd.errx(4, 'Invalid value %s for boolean variable %s' % (value, path))

    def expand(self, value, depth=0):
        """expand_config_value(): a value without '%' is used as it is; otherwise '%(path)' is replaced
        by that variable's (expanded) value and '\\' takes the next character literally."""
        if '%' not in value and depth == 0:
            return value
        out, index = [], 0
        while index < len(value):
            char = value[index]
            if char == '%':
                if depth > 15:
                    self.cmd.warnx('Too many recursive references in configuration value')
                    out.append('%')
                    index += 1
                    continue
                close = value.find(')', index + 2) if value[index + 1:index + 2] == '(' and index + 2 < len(value) else -1
                if close < 0:
                    self.cmd.warnx('Invalid reference in configuration value "%s"' % value)
                    out.append('%')
                    index += 1
                    continue
                if close == index + 2:
                    self.cmd.warnx('Empty reference in configuration value "%s"' % value)
                    index += 3
                    continue
                path = value[index + 2:close]
                index = close + 1
                found = self.raw(path)
                if found is None:
                    self.cmd.warnx('Failed to fetch referenced configuration variable %s' % path)
                else:
                    out.append(self.expand(found, depth + 1))
            elif char == '\\':
                index += 1
                if index >= len(value):
                    self.cmd.warnx('Trailing \\ in configuration value "%s"' % value)
                    break
                out.append(value[index])
                index += 1
            else:
                out.append(char)
                index += 1
        return ''.join(out)

    def items(self, node=None, prefix=''):
        """(path, raw value) of every variable, in dump_tree()'s order."""
        for name, value in (self.root if node is None else node).items():
            if isinstance(value, dict):
                yield from self.items(value, '%s%s.' % (prefix, name))
            else:
                yield prefix + name, value

    def flat(self):
        """{path: expanded value}: what the VM record keeps."""
        return dict((path, self.expand(value)) for path, value in self.items())


def parse_config_option(tree, option):
    """bhyve_parse_config_option(): 'path=value' with a value that is not empty."""
    path, has_value, value = option.partition('=')
    if not has_value or value == '':
        return False
    tree.set(path, value)
    return True


def parse_simple_config_file(cmd, tree, path):
    """bhyve_parse_simple_config_file(): a line starting with '#' or an empty line is skipped; every other
    line is one 'path=value' (its newline removed, nothing else: spaces and '#' are part of it)."""
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
    except OSError as exc:
        cmd.errx(4, 'Failed to open configuration file %s: %s' % (path, exc.strerror))
    lines = data.split(b'\n')
    if lines and lines[-1] == b'':
        lines.pop()
    for lineno, raw in enumerate(lines, 1):
        line = raw.decode('utf-8', 'surrogateescape')
        if line.startswith('#') or line == '':
            continue
        if '\x00' in line:
            # getline() reads past a NUL; the C string ends at it.
            line = line.split('\x00', 1)[0]
        if not parse_config_option(tree, line):
            cmd.errx(4, "%s line %u: invalid config option '%s'" % (path, lineno, line))


def vmm_loaded(state):
    return find_module(state['kld']['files'], 'vmm')[0] is not None


def nmdm_loaded(state):
    return find_module(state['kld']['files'], 'nmdm')[0] is not None


def parse_memsize(text):
    """vm_parse_memsize(): a number with K/M/G/T (any case); a bare number under 1M means megabytes."""
    match = re.match(r'^(\d+)([KkMmGgTt]?)$', text or '')
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


def parse_slot(cmd, tree, text):
    """pci_parse_slot(): -s slot[:func],emu[,conf] or bus:slot:func,emu[,conf] into a pci.B.S.F node."""
    head, _sep, rest = text.partition(',')
    numbers = head.split(':')
    emulation, _sep, options = rest.partition(',')
    if not all(n.isdigit() for n in numbers) or not 1 <= len(numbers) <= 3 or not emulation:
        cmd.err('Invalid PCI slot info field "%s"' % text)
        raise Exit(4)
    values = [int(n) for n in numbers]
    bus, slot, func = {1: lambda: (0, values[0], 0), 2: lambda: (0, values[0], values[1]),
                       3: lambda: tuple(values)}[len(values)]()
    if slot > 31 or func > 7 or bus > 255:
        cmd.err('Invalid PCI slot info field "%s"' % text)
        raise Exit(4)
    if emulation not in PCI_DEVICES:
        cmd.err('pci slot %d:%d:%d: unknown device "%s"' % (bus, slot, func, emulation))
        raise Exit(4)
    prefix = 'pci.%d.%d.%d' % (bus, slot, func)
    if tree.node(prefix) is not None:
        cmd.err('pci slot %d:%d:%d already occupied!' % (bus, slot, func))
        raise Exit(4)
    node = tree.create_node(prefix)
    tree.set_in(node, 'device', ALIASES.get(emulation, emulation))
    if emulation in ALIASES:
        # pci_ahci's legacy config: one port, its type from the emulation's name, the path first.
        node = tree.create_node(prefix + '.port.0')
        tree.set_in(node, 'type', emulation.split('-')[1])
        positional = 'path'
    else:
        positional = POSITIONAL.get(emulation)
    for index, option in enumerate(o for o in options.split(',') if o):
        key, has_value, value = option.partition('=')
        if not has_value:
            # The first bare word is the device's backend or path; any other bare word is 'word=true'.
            key, value = (positional, option) if index == 0 and positional else (option, 'true')
        tree.set_in(node, key, value)


def parse_lpc(cmd, tree, text):
    device, _sep, conf = text.partition(',')
    if device not in LPC_DEVICES:
        cmd.errx(EX_USAGE, 'invalid lpc device configuration \'%s\'' % text)
    if device.startswith('com'):
        if not conf:
            cmd.errx(EX_USAGE, 'invalid lpc device configuration \'%s\'' % text)
        tree.set('lpc.%s.path' % device, conf)
    elif device == 'bootrom':
        rom, _sep, variables = conf.partition(',')
        tree.set('lpc.bootrom', rom)
        if variables:
            tree.set('lpc.bootvars', variables)
    elif device == 'tpm':
        # -l tpm,TYPE,PATH (pci_lpc.c): a TPM 2.0 emulated from a passthru device or a swtpm socket.
        kind, _sep, path = conf.partition(',')
        if not kind or not path:
            cmd.errx(EX_USAGE, 'invalid lpc device configuration \'%s\'' % text)
        tree.set('tpm.type', kind)
        tree.set('tpm.path', path)
        tree.set('tpm.version', '2.0')
    else:
        tree.set('lpc.%s' % device, conf or 'true')


NMDM_RE = re.compile(r'^/dev/nmdm(.+?)([AB])$')


def open_console(state, path):
    """Whether a console device opens: an end of a nmdm(4) pair when nmdm.ko is loaded (opening one makes
    both ends of the pair), or a file that exists."""
    match = NMDM_RE.match(path)
    if not match:
        return os.path.exists(path)
    if not nmdm_loaded(state):
        return False
    os.makedirs('/dev', exist_ok=True)
    for end in 'AB':
        node = '/dev/nmdm%s%s' % (match.group(1), end)
        if not os.path.exists(node):
            with open(node, 'w') as handle:
                handle.write('fbsdsim: nmdm(4) end %s of pair %s\n' % (end, match.group(1)))
    return True


def pci_devices(config):
    """{'pci.B.S.F': device} of a flat configuration."""
    return dict((key[:-len('.device')], value) for key, value in config.items()
                if key.startswith('pci.') and key.endswith('.device') and key.count('.') == 4)


def check_backends(cmd, state, config):
    """What a VM opens as it starts (init_pci, lpc_init, init_bootrom, init_tpm): devices bhyve knows,
    disk images, the bootrom and its variables, serial consoles (a nmdm pair needs nmdm.ko), shares;
    taps are cloned when opened."""
    for prefix, device in sorted(pci_devices(config).items()):
        bus, slot, func = prefix.split('.')[1:]
        if device not in PCI_DEVICES or device in ALIASES:
            cmd.err('pci slot %s:%s:%s: unknown device "%s"' % (bus, slot, func, device))
            cmd.err('Device emulation initialization error: Invalid argument')
            raise Exit(4)
        paths = [config.get(prefix + '.path')] if device in DISKS else []
        if device == 'ahci':
            paths = [v for k, v in config.items() if k.startswith(prefix + '.port.') and k.endswith('.path')]
        for path in paths:
            if path is None or not os.path.exists(path):
                cmd.err('Could not open backing file: %s: No such file or directory' % path)
                cmd.err('Device emulation initialization error: No such file or directory')
                raise Exit(4)
        if device == 'virtio-9p':
            path, share = config.get(prefix + '.path'), config.get(prefix + '.sharename')
            if not share or not path or not os.path.isdir(path):
                cmd.err('virtio-9p: share name and an existing directory are needed (%s, %s)' % (share, path))
                cmd.err('Device emulation initialization error: Invalid argument')
                raise Exit(4)
        backend = config.get(prefix + '.backend', '')
        if device in ('virtio-net', 'e1000') and backend.startswith('tap'):
            ifaces = net.interfaces(state)
            if backend not in ifaces:
                net.new_iface(state, backend, 'tap')
            ifaces[backend]['opened_by'] = os.getpid()
            if state['sysctl'].get('net.link.tap.up_on_open'):
                ifaces[backend]['up'] = True        # if_tuntap: up on open only with this sysctl
    for key in ('lpc.bootrom', 'lpc.bootvars'):
        if key in config and not os.path.exists(config[key]):
            cmd.errx(4, '%s: %s: No such file or directory' % (key.split('.')[1], config[key]))
    for port in ('com1', 'com2', 'com3', 'com4'):
        path = config.get('lpc.%s.path' % port)
        if path is None or path == 'stdio':
            continue
        if not open_console(state, path):
            cmd.err("Unable to initialize backend '%s' for LPC device %s" % (path, port))
            raise Exit(4)
    if config.get('tpm.type') is not None:
        path = config.get('tpm.path')
        if config['tpm.type'] not in ('passthru', 'swtpm') or not path or not os.path.exists(path):
            cmd.err('Failed to init TPM device')
            raise Exit(4)


DEFAULTS = (('acpi_tables', 'true'), ('acpi_tables_in_memory', 'true'), ('memory.size', '256M'),
            ('x86.strictmsr', 'true'), ('lpc.fwcfg', 'bhyve'))
FLAG_SETTINGS = {'a': ('x86.x2apic', 'false'), 'x': ('x86.x2apic', 'true'), 'C': ('memory.guest_in_core', 'true'),
                 'S': ('memory.wired', 'true'), 'D': ('destroy_on_poweroff', 'true'),
                 'e': ('x86.strictio', 'true'), 'H': ('x86.vmexit_on_hlt', 'true'),
                 'P': ('x86.vmexit_on_pause', 'true'), 'u': ('rtc.use_localtime', 'false'),
                 'w': ('x86.strictmsr', 'false'), 'W': ('virtio_msix', 'false'), 'Y': ('x86.mptable', 'false'),
                 'M': ('monitor', 'true')}


def parse_options(cmd, args):
    """bhyve_optparse() over the defaults: the configuration tree and the operands."""
    tree = ConfigTree(cmd)
    for path, value in DEFAULTS:
        tree.set(path, value)
    options, operands = getopt(cmd, args, 'aehuwxACDHIMPSWYk:f:o:p:G:c:s:m:l:K:U:n:r:')
    for flag, value in options:
        if flag == 'h':
            cmd.usage(*USAGE, status=0)
        elif flag in FLAG_SETTINGS:
            tree.set(*FLAG_SETTINGS[flag])
        elif flag == 's':
            if 'help'.startswith(value):
                cmd.out('\n'.join(PCI_DEVICES))
                raise Exit(0)
            parse_slot(cmd, tree, value)
        elif flag == 'l':
            if 'help'.startswith(value):
                cmd.out('\n'.join(LPC_DEVICES))
                raise Exit(0)
            parse_lpc(cmd, tree, value)
        elif flag == 'c':
            topology = parse_topology(value)
            if topology is None:
                cmd.errx(EX_USAGE, 'invalid cpu topology \'%s\'' % value)
            for key, number in topology.items():
                tree.set(key, str(number))
        elif flag == 'm':
            tree.set('memory.size', value)
        elif flag == 'o':
            if not parse_config_option(tree, value):
                cmd.errx(EX_USAGE, 'invalid configuration option \'%s\'' % value)
        elif flag == 'k':
            parse_simple_config_file(cmd, tree, value)
        elif flag == 'p':
            if not re.match(r'^\d+(-\d+)?:\d+(-\d+)?$', value):
                cmd.errx(EX_USAGE, 'invalid vcpu pinning configuration \'%s\'' % value)
            tree.set('vcpu.%s.cpuset' % value.split(':')[0], value.split(':')[1])
        elif flag == 'U':
            tree.set('uuid', value)
        elif flag == 'G':
            if value.startswith('w'):
                tree.set('gdb.wait', 'true')
                value = value[1:]
            address, colon, port = value.rpartition(':')
            if colon:
                tree.set('gdb.address', address)
            tree.set('gdb.port', port)
        elif flag == 'K':
            tree.set('keyboard.layout', value)
        elif flag == 'f':
            tree.set('fwcfg.%s' % value.split(',')[0], value.split(',', 1)[-1])
    return tree, operands


def bhyve_main(prog, args):
    cmd = Command(prog, USAGE)
    tree, operands = parse_options(cmd, args)
    if len(operands) > 1:
        cmd.usage(*USAGE, status=1)
    if operands:
        tree.set('name', operands[0])
    name = tree.get('name')
    if name is None:
        cmd.usage(*USAGE, status=1)
    if tree.get_bool('config.dump'):
        for path, value in tree.items():
            cmd.out('%s=%s' % (path, value))
        return 1
    config = tree.flat()
    cpus = config.get('cpus', '1')
    if not cpus.isdigit() or int(cpus) < 1:
        cmd.errx(4, 'invalid number of cpus \'%s\'' % cpus)
    memory = parse_memsize(config['memory.size'])
    if memory is None:
        cmd.errx(EX_USAGE, 'invalid memsize \'%s\'' % config['memory.size'])
    with locked_state() as state:
        if not vmm_loaded(state):
            cmd.errx(4, 'vm_create: Device not configured')
        vms = state.setdefault('vms', {})
        vm = vms.get(name)
        if vm and vm.get('pid') and process_alive(vm['pid']):
            cmd.errx(4, 'vm_create: File exists')
        bootrom = config.get('lpc.bootrom')
        if vm is None and not bootrom:
            cmd.errx(4, 'no bootrom was configured')
        maxcpu = int(state['sysctl'].get('hw.vmm.maxcpu', 256))
        if int(cpus) > maxcpu:
            cmd.err('%s vCPUs requested but only %d available' % (cpus, maxcpu))
            raise Exit(4)
        others = sum(v.get('memory', 0) for n, v in vms.items() if n != name and v.get('pid'))
        if memory + others > state['sysctl'].get('hw.physmem', 0):
            cmd.err('Unable to setup memory (12)')
            raise Exit(4)
        check_backends(cmd, state, config)
        # A guest that no loader (bhyveload) or bootrom set up has nothing to run: it faults at once.
        runnable = bool(bootrom) or (vm or {}).get('loaded', False)
        vms[name] = dict(vm or {}, pid=os.getpid(), memory=memory, config=config, request=None,
                         loaded=False, started=int(time.time()), ignores_acpi=(vm or {}).get('ignores_acpi', False))
        if not runnable:
            vms[name]['request'] = 'triplefault'
        make_vmm_node(name)
    return run_vm(cmd, name, config.get('destroy_on_poweroff') in ('true', '1', 'on', 'yes'))


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


def run_vm(cmd, name, destroy_on_poweroff):
    """Stay in the foreground until the guest, bhyvectl or a signal ends the VM.  SIGTERM presses the
    ACPI power button: the guest powers off (unless it was told to ignore it, ``sandbox guest``)."""
    stop = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.append('poweroff'))
    while True:
        time.sleep(0.1)
        with locked_state(write=False) as state:
            vm = state.get('vms', {}).get(name)
            if vm is not None and vm.get('ignores_acpi'):
                del stop[:]         # the guest did not act on the power button
            if vm is not None and vm.get('request') is None and not stop:
                continue
        with locked_state() as state:
            vm = state.get('vms', {}).get(name)
            request = 'destroyed' if vm is None else (vm.get('request') or (stop[0] if stop else None))
            if request is None:
                continue
            if vm is not None:
                vm.update(pid=None, request=None, last_exit=EXIT_CODES[request])
                if request == 'poweroff' and destroy_on_poweroff:
                    del state['vms'][name]
                    remove_vmm_node(name)
            for iface in state.get('net', {}).get('ifaces', {}).values():
                if iface.get('opened_by') == os.getpid():
                    iface.pop('opened_by')
            if request == 'destroyed':
                cmd.err('vm_run error -1, errno 6')
            return EXIT_CODES[request]


GUEST_EVENTS = {'reboot': 'reset', 'poweroff': 'poweroff', 'halt': 'halt', 'triple-fault': 'triplefault'}


def guest_event(name, event):
    """What the simulated guest does (``sandbox guest``): reboot, power off, halt or triple-fault, so that
    its bhyve exits with that status; ``ignore-acpi``/``obey-acpi`` make it ignore the power button."""
    with locked_state() as state:
        vm = state.get('vms', {}).get(name)
        if vm is None or not vm.get('pid'):
            raise SystemExit('no running VM %s' % name)
        if event in ('ignore-acpi', 'obey-acpi'):
            vm['ignores_acpi'] = event == 'ignore-acpi'
        else:
            vm['request'] = GUEST_EVENTS[event]
    return 0


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
        if 'c' in opts and not open_console(state, opts['c']):
            cmd.errx(1, 'open %s: No such file or directory' % opts['c'])
        vms = state.setdefault('vms', {})
        if name in vms and vms[name].get('pid') and process_alive(vms[name]['pid']):
            cmd.errx(1, 'vm_create: File exists')
        vms.setdefault(name, {'pid': None, 'memory': memory, 'config': {}, 'request': None})
        make_vmm_node(name)         # vm_create comes before the loader looks for a kernel
        if not bootable([v for f, v in options if f == 'd'], opts.get('h')):
            # The real loader then waits at its OK prompt on the console; ending here keeps a test from hanging.
            cmd.err("can't load 'kernel'")          # [mem] the loader's message
            return 1
        vms[name]['loaded'] = True
    return 0


def bootable(disks, host_path):
    """Whether userboot finds a kernel: /boot/kernel/kernel on the UFS file system of a disk (newfs'd, see
    ufs.py), or under the host directory of -h."""
    roots = [host_path] if host_path else []
    roots += [d for d in (ufs.directory_of(disk) for disk in disks) if d]
    return any(os.path.isfile(os.path.join(root, 'boot/kernel/kernel')) for root in roots)


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


GRUB_USAGE = ['Usage: grub-bhyve [OPTION...] vmname', '',
              '  -c, --cons-dev=cons-dev   a tty(4) device to use for terminal I/O',
              '  -d, --directory=DIR       use GRUB files in the directory DIR',
              '  -e, --evar=var            add an environment variable',
              '  -m, --device-map=FILE     use FILE as the device map',
              '  -M, --memory=MBYTES       guest RAM in MB (default is 256)',
              '  -r, --root=DEVICE_NAME    set root device',
              '  -S, --wire-memory         wire guest memory']


def grub_bhyve_main(prog, args):
    """grub-bhyve (sysutils/grub2-bhyve) as far as a supervisor needs it: the VM made in vmm(4) and its
    guest loaded (no GRUB runs), after the device map and the disks it names are checked.  Only there
    once the package is installed, as on FreeBSD."""
    cmd = Command(prog, GRUB_USAGE)
    with locked_state(write=False) as state:
        if 'grub2-bhyve' not in state.get('pkg', {}):
            cmd.errx(127, 'not found (install the grub2-bhyve package)')
    options, operands = getopt(cmd, args, 'c:d:e:g:hm:M:nr:Sv')
    opts = dict(options)
    if 'h' in opts or len(operands) != 1:
        cmd.usage(*GRUB_USAGE, status=0 if 'h' in opts else 1)
    if parse_memsize(opts.get('M', '256M')) is None:
        cmd.errx(1, 'Invalid memory size: %s' % opts['M'])
    devices = {}
    if 'm' in opts:
        try:
            with open(opts['m']) as handle:
                text = handle.read()
        except OSError:
            cmd.errx(1, 'cannot open device map %s' % opts['m'])
        for line in text.splitlines():
            match = re.match(r'^\s*\((\w+)\)\s+(\S.*?)\s*$', line)
            if match:
                devices[match.group(1)] = match.group(2)
    root = opts.get('r', 'hd0').split(',')[0]
    if root not in devices and not (root == 'hd0' and not devices):
        cmd.errx(1, 'error: no such disk (%s) in the device map' % root)
    for device, path in sorted(devices.items()):
        if not os.path.exists(path):
            cmd.errx(1, 'error: cannot open %s for (%s): No such file or directory' % (path, device))
    name = operands[0]
    with locked_state() as state:
        if not vmm_loaded(state):
            cmd.errx(1, 'vm_create: Device not configured')
        vms = state.setdefault('vms', {})
        if name in vms and vms[name].get('pid') and process_alive(vms[name]['pid']):
            cmd.errx(1, 'vm_create: File exists')
        vms.setdefault(name, {'pid': None, 'memory': parse_memsize(opts.get('M', '256M')), 'config': {},
                              'request': None})
        vms[name]['loaded'] = True
        make_vmm_node(name)
    return 0
