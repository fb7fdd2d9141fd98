# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bhyve VM's options as bhyve_config(5) variables: slots, devices, the variables bhyve knows.

Pure: no I/O.  What depends on the host (a tap or MAC chosen once, the file as it is) comes in as
arguments.  Every value reaches the file through :mod:`bhyve_config` (refused when it cannot be
written so that bhyve reads it back unchanged).
"""

from __future__ import annotations

import hashlib
import json
import re

from ansible_collections.bsd.multiplicity.plugins.module_utils import bhyve_config
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParameterError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.sizes import require_size

# vmm(4) names a VM in /dev/vmm; the name is also a pidfile's and a nmdm device's.
NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,30}\Z')
MEMSIZE_RE = re.compile(r'^\d+[KkMmGgTt]?\Z')      # vm_parse_memsize(): expand_number(3)
MAC_RE = re.compile(r'^[0-9a-f]{2}(:[0-9a-f]{2}){5}\Z')
IFNAME_RE = re.compile(r'^tap\d{1,5}\Z')
# An interface name as ifconfig(8) takes it (IFNAMSIZ 16 with the NUL); it reaches the supervisor's sh.
BRIDGE_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_.-]{0,14}\Z')
HOSTBRIDGE_SLOT, LPC_SLOT, FBUF_SLOT, XHCI_SLOT = 0, 31, 29, 30
RESERVED_SLOTS = (HOSTBRIDGE_SLOT, FBUF_SLOT, XHCI_SLOT, LPC_SLOT)
FIRST_SLOT = 2
FIRMWARE = '/usr/local/share/uefi-firmware/BHYVE_UEFI.fd'
VARS_TEMPLATE = '/usr/local/share/uefi-firmware/BHYVE_UEFI_VARS.fd'
MAC_PREFIX = '58:9c:fc'
BHYVELOAD = '/usr/sbin/bhyveload'
GRUB_BHYVE = '/usr/local/sbin/grub-bhyve'       # sysutils/grub2-bhyve     # the OUI bhyve itself derives NIC addresses under

# The variables bhyve knows (bhyve_config(5)), by where they are: global ones, and those of a device's
# node by device model.  Anything else reaches the file only through extra_config.
GLOBAL_VARIABLES = re.compile(
    r'^(name|cpus|cores|threads|sockets|memory\.(guest_in_core|size|wired)|acpi_tables|acpi_tables_in_memory|'
    r'destroy_on_poweroff|gdb\.(address|port|wait)|keyboard\.layout|rtc\.use_localtime|uuid|virtio_msix|'
    r'(bios|system|board|chassis)\.[a-z_]+|x86\.(mptable|x2apic|strictio|strictmsr|vmexit_on_hlt|vmexit_on_pause)|'
    r'lpc\.(bootrom|bootvars|fwcfg|pc-testdev|com[1-4]\.path|pcireg\.[a-z]+)|tpm\.(type|path|version)|'
    r'vcpu\.\d+\.cpuset|monitor)\Z')
BLOCK = ('path', 'nocache', 'nodelete', 'sync', 'direct', 'ro', 'sectorsize')
DEVICE_VARIABLES = {
    'hostbridge': ('vendor', 'device'),
    'lpc': (),
    'virtio-blk': BLOCK + ('ser',),
    'nvme': BLOCK + ('maxq', 'qsz', 'ioslots', 'sectsz', 'ser', 'eui64', 'dsm', 'ram'),
    'ahci': (),
    'ahci-port': BLOCK + ('type', 'nmrr', 'ser', 'rev', 'model'),
    'virtio-net': ('backend', 'mac', 'mtu', 'type', 'path', 'peerhook', 'socket', 'hook'),
    'e1000': ('backend', 'mac', 'type', 'path', 'peerhook', 'socket', 'hook'),
    'fbuf': ('wait', 'rfb', 'tcp', 'vga', 'w', 'h', 'password'),
    'xhci': (),
    'virtio-9p': ('sharename', 'path', 'ro'),
    'passthru': ('bus', 'slot', 'func', 'pptdev', 'rom'),
    'virtio-rnd': (),
}
DISK_MODELS = ('virtio-blk', 'nvme', 'ahci-hd', 'ahci-cd')
NIC_MODELS = ('virtio-net', 'e1000')
BOOLEAN = {True: 'true', False: 'false'}


def check_name(name):
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ParameterError('name', '%r is not a VM name (up to 31 letters, digits, "_", "." and "-", starting '
                                     'with a letter or digit)' % (name,))
    return name


def memory_bytes(value, parameter='memory'):
    """Bytes of a bhyve memory size (``-m``/memory.size: a number and K, M, G or T; a bare number under
    1M is megabytes, as vm_parse_memsize() reads it)."""
    text = str(value).strip()
    if not MEMSIZE_RE.match(text):
        raise ParameterError(parameter, '%r is not a bhyve memory size (a whole number with K, M, G or T)' % (value,))
    if text[-1].isdigit():
        number = int(text)
        return number * (1 << 20) if number < (1 << 20) else number
    return require_size(text.upper(), parameter)


def _value(value, parameter):
    """A setting's text as written (booleans as true/false), checked by the file's grammar."""
    text = BOOLEAN[value] if isinstance(value, bool) else str(value)
    try:
        bhyve_config.encode(text)       # refused here when it cannot be written; the file gets it encoded
    except bhyve_config.BhyveConfigError as exc:
        raise ParameterError(parameter, str(exc))
    return text


def _device_options(options, model, parameter):
    """A device's own variables ({name: value}) from its ``options``, each known to bhyve for ``model``."""
    known = DEVICE_VARIABLES[model]
    found = {}
    for key, value in (options or {}).items():
        if key not in known:
            raise ParameterError(parameter, '%r is not a variable of a %s device in bhyve_config(5) (known: %s); '
                                            'use extra_config for others' % (key, model, ', '.join(known) or 'none'))
        found[key] = _value(value, '%s.%s' % (parameter, key))
    return found


def _document(value, parameter, header=''):
    """A seed file's text: a string as given, a dictionary as JSON (which YAML, and so cloud-init, reads)."""
    if isinstance(value, str):
        if '\x00' in value:
            raise ParameterError(parameter, 'holds a NUL byte')
        return value if value.endswith('\n') else value + '\n'
    try:
        return header + json.dumps(value, indent=2, sort_keys=True) + '\n'
    except (TypeError, ValueError) as exc:
        raise ParameterError(parameter, 'cannot be written as YAML: %s' % exc)


def seed_files(name, cloud_init):
    """{file name: text} of a NoCloud seed (cloud-init's datasource for a volume labelled cidata): meta-data
    with the VM's name as instance-id and local-hostname unless given, user-data (a dictionary becomes
    #cloud-config), network-config when given."""
    meta = cloud_init.get('meta_data')
    if meta is None or isinstance(meta, dict):
        meta = dict({'instance-id': name, 'local-hostname': name}, **(meta or {}))
    files = {'meta-data': _document(meta, 'cloud_init.meta_data'),
             'user-data': _document(cloud_init.get('user_data') or {}, 'cloud_init.user_data', '#cloud-config\n')}
    if cloud_init.get('network_config') is not None:
        files['network-config'] = _document(cloud_init['network_config'], 'cloud_init.network_config')
    return files


def seed_digest(files):
    """What a seed is, in one value: its files' names and texts."""
    return hashlib.sha256(json.dumps(sorted(files.items())).encode('utf-8')).hexdigest()


def chosen_mac(host_id, name, index):
    """A NIC's MAC when none is given: unicast, locally administered bits kept off as bhyve's own are, from
    the host's identity, the VM and the NIC's place, so that check mode predicts it and every run agrees."""
    digest = hashlib.sha256(('%s/%s/%d' % (host_id, name, index)).encode('utf-8')).hexdigest()
    return '%s:%s:%s:%s' % (MAC_PREFIX, digest[0:2], digest[2:4], digest[4:6])


class Layout(object):
    """Slots given to the VM's devices: each declared one where it says, the others in order from slot 2."""

    def __init__(self):
        self.used = dict((slot, 'reserved') for slot in RESERVED_SLOTS)
        self.wanted = []

    def claim(self, slot, what):
        if slot is None:
            self.wanted.append(what)
            return None
        if not isinstance(slot, int) or not 1 <= slot <= 31 or slot in RESERVED_SLOTS:
            raise ParameterError(what + '.slot', 'slot %r is not free for devices (1-28; 0, 29, 30 and 31 are the '
                                                 'host bridge, framebuffer, USB tablet and LPC)' % (slot,))
        if slot in self.used:
            raise ParameterError(what + '.slot', 'slot %d is also given to %s' % (slot, self.used[slot]))
        self.used[slot] = what
        return slot

    def assign(self):
        """{what: slot} of every device that did not say."""
        found, slot = {}, FIRST_SLOT
        for what in self.wanted:
            while slot in self.used:
                slot += 1
            if slot > 28:
                raise ParameterError(what, 'no PCI slot is left for it (slots 2-28 are all given)')
            self.used[slot] = what
            found[what] = slot
        return found


class Machine(object):
    """The VM as declared: its devices (``disks``, ``nics``, ``shares``, ``passthru``) with slots, and the
    bhyve_config(5) variables of the whole machine (:meth:`variables`)."""

    def __init__(self, params):
        self.name = check_name(params['name'])
        self.params = params
        self.cpus = params['cpus']
        if self.cpus < 1:
            raise ParameterError('cpus', 'must be 1 or more')
        topology = [params.get(k) for k in ('sockets', 'cores', 'threads')]
        if any(t is not None for t in topology):
            product = 1
            for value in topology:
                product *= value if value is not None else 1
            if product != self.cpus:
                raise ParameterError('cpus', '%d is not sockets x cores x threads (%d)' % (self.cpus, product))
        self.memory = _value(params['memory'], 'memory')
        self.memory_bytes = memory_bytes(params['memory'])
        boot = params.get('boot') or {}
        self.loader = boot.get('loader') or 'uefi'
        self.firmware = boot.get('firmware') or FIRMWARE
        self.vars_template = boot.get('vars_template') or VARS_TEMPLATE
        layout = Layout()
        self.disks = []
        for index, disk in enumerate(params.get('disks') or []):
            what = 'disks[%d]' % index
            _value(disk['path'], what + '.path')
            if not disk['path'].startswith('/'):
                raise ParameterError(what + '.path', 'must be an absolute path (a file, a device or /dev/zvol/...)')
            if disk.get('size') is not None:
                require_size(disk['size'], what + '.size')
            model = disk.get('model') or 'virtio-blk'
            options = _device_options(disk.get('options'), 'ahci-port' if model.startswith('ahci') else model,
                                      what + '.options')
            self.disks.append(dict(disk, model=model, options=options, what=what,
                                   slot=layout.claim(disk.get('slot'), what)))
        self.nics = []
        for index, nic in enumerate(params.get('nics') or []):
            what = 'nics[%d]' % index
            if not BRIDGE_RE.match(nic['bridge']):
                raise ParameterError(what + '.bridge', '%r is not an interface name (1-15 letters, digits, "_", "." '
                                                       'and "-", starting with a letter)' % (nic['bridge'],))
            if nic.get('mac') is not None and not MAC_RE.match(str(nic['mac']).lower()):
                raise ParameterError(what + '.mac', '%r is not a MAC address (six hex pairs with ":")' % (nic['mac'],))
            if nic.get('mac') is not None and int(str(nic['mac'])[:2], 16) & 1:
                raise ParameterError(what + '.mac', '%s is a multicast address; a NIC needs a unicast one' % nic['mac'])
            if nic.get('tap') is not None and not IFNAME_RE.match(nic['tap']):
                raise ParameterError(what + '.tap', '%r is not a tap(4) interface name (tapN)' % (nic['tap'],))
            model = nic.get('model') or 'virtio-net'
            options = _device_options(nic.get('options'), model, what + '.options')
            self.nics.append(dict(nic, model=model, options=options, what=what,
                                  mac=str(nic['mac']).lower() if nic.get('mac') else None,
                                  slot=layout.claim(nic.get('slot'), what)))
        taps = [n['tap'] for n in self.nics if n.get('tap')]
        if len(set(taps)) != len(taps):
            raise ParameterError('nics', 'two NICs name the same tap')
        self.shares = []
        for index, share in enumerate(params.get('shares') or []):
            what = 'shares[%d]' % index
            for key in ('name', 'path'):
                _value(share[key], '%s.%s' % (what, key))
            if ',' in share['name'] or '=' in share['name']:
                raise ParameterError(what + '.name', 'a share name may not hold "," or "="')
            self.shares.append(dict(share, what=what, slot=layout.claim(share.get('slot'), what)))
        self.passthru = []
        for index, device in enumerate(params.get('ppt_devices') or []):
            what = 'ppt_devices[%d]' % index
            host = re.match(r'^(\d{1,3})/(\d{1,2})/(\d)\Z', device)
            if not re.match(r'^ppt\d+\Z', device) and not host:
                raise ParameterError(what, '%r is neither a ppt(4) device name (pptN) nor a host PCI address as '
                                           'pptdevs writes it (bus/slot/function)' % (device,))
            entry = dict(what=what, slot=layout.claim(None, what))
            if host:
                entry.update(address=device, bus=host.group(1), pslot=host.group(2), func=host.group(3))
            else:
                entry['pptdev'] = device
            self.passthru.append(entry)
        if self.passthru and not params.get('wired_memory'):
            raise ParameterError('wired_memory', 'PCI passthrough needs the guest\'s memory wired (bhyve refuses it '
                                                 'otherwise): set wired_memory')
        self.cloud_init = params.get('cloud_init')
        if self.cloud_init is not None:
            self.cloud_init = dict(self.cloud_init, what='cloud_init',
                                   slot=layout.claim(self.cloud_init.get('slot'), 'cloud_init'))
            self.seed = seed_files(self.name, self.cloud_init)
        for what, slot in layout.assign().items():
            if self.cloud_init is not None and what == 'cloud_init':
                self.cloud_init['slot'] = slot
            for device in self.disks + self.nics + self.shares + self.passthru:
                if device['what'] == what:
                    device['slot'] = slot
        vnc = params.get('vnc') or {}
        self.vnc = vnc if vnc.get('enabled', True) and vnc else None
        if self.vnc:
            _value(self.vnc.get('listen') or '127.0.0.1', 'vnc.listen')
            if self.loader != 'uefi':
                raise ParameterError('vnc', 'a framebuffer needs UEFI boot (boot.loader: uefi)')
        self.tpm = params.get('tpm')
        if self.tpm:
            _value(self.tpm['path'], 'tpm.path')
            if self.loader != 'uefi':
                raise ParameterError('tpm', 'a TPM needs UEFI boot (boot.loader: uefi)')
        if self.loader in ('bhyveload', 'grub') and not self.disks:
            raise ParameterError('boot.loader', '%s boots from a disk: declare one in disks' % self.loader)
        if self.loader == 'grub':
            root = (params.get('boot') or {}).get('grub_root') or 'hd0,msdos1'
            if not re.match(r'^(hd|cd)\d+(,(msdos|gpt)?\d+)?\Z', root):
                raise ParameterError('boot.grub_root', '%r is not a GRUB device (hd0,msdos1, hd0,gpt2, cd0...)' % root)
        self.extra = {}
        for path, value in (params.get('extra_config') or {}).items():
            try:
                bhyve_config.check_path(path)
            except bhyve_config.BhyveConfigError as exc:
                raise ParameterError('extra_config', str(exc))
            self.extra[path] = _value(value, 'extra_config.%s' % path)

    @property
    def console(self):
        """The nmdm(4) pair of COM1: bhyve opens the A end, ``cu -l`` the B end."""
        return '/dev/nmdm-%s.1A' % self.name, '/dev/nmdm-%s.1B' % self.name

    def vnc_address(self):
        if not self.vnc:
            return None
        return '%s:%d' % (self.vnc.get('listen') or '127.0.0.1', self.vnc.get('port') or 5900)

    def variables(self, taps, macs, vars_file, seed_iso=None):
        """{path: value} of the whole machine, in the order written.  ``taps`` and ``macs`` are the NICs'
        (by index) as chosen; ``vars_file`` the UEFI variables file."""
        found = [('name', self.name), ('cpus', str(self.cpus))]
        for key in ('sockets', 'cores', 'threads'):
            if self.params.get(key) is not None:
                found.append((key, str(self.params[key])))
        found += [('memory.size', self.memory), ('x86.vmexit_on_hlt', 'true'), ('x86.vmexit_on_pause', 'true')]
        if self.params.get('wired_memory'):
            found.append(('memory.wired', 'true'))
        if self.params.get('uuid'):
            found.append(('uuid', _value(self.params['uuid'], 'uuid')))
        found.append(('pci.0.%d.0.device' % HOSTBRIDGE_SLOT, 'hostbridge'))
        for disk in self.disks:
            node = 'pci.0.%d.0' % disk['slot']
            if disk['model'].startswith('ahci'):
                found += [(node + '.device', 'ahci'), (node + '.port.0.type', disk['model'].split('-')[1]),
                          (node + '.port.0.path', disk['path'])]
                node += '.port.0'
            else:
                found += [(node + '.device', disk['model']), (node + '.path', disk['path'])]
            if disk.get('readonly') or disk['model'] == 'ahci-cd':
                found.append((node + '.ro', 'true'))
            found += [('%s.%s' % (node, k), v) for k, v in sorted(disk['options'].items()) if k not in ('path', 'type')]
        for index, nic in enumerate(self.nics):
            node = 'pci.0.%d.0' % nic['slot']
            found += [(node + '.device', nic['model']), (node + '.backend', taps[index]), (node + '.mac', macs[index])]
            found += [('%s.%s' % (node, k), v) for k, v in sorted(nic['options'].items())
                      if k not in ('backend', 'mac')]
        if self.cloud_init is not None:
            node = 'pci.0.%d.0' % self.cloud_init['slot']
            found += [(node + '.device', 'ahci'), (node + '.port.0.type', 'cd'), (node + '.port.0.path', seed_iso),
                      (node + '.port.0.ro', 'true')]
        for share in self.shares:
            node = 'pci.0.%d.0' % share['slot']
            found += [(node + '.device', 'virtio-9p'), (node + '.sharename', share['name']),
                      (node + '.path', share['path'])]
            if share.get('readonly'):
                found.append((node + '.ro', 'true'))
        for device in self.passthru:
            node = 'pci.0.%d.0' % device['slot']
            found.append((node + '.device', 'passthru'))
            if 'pptdev' in device:
                found.append((node + '.pptdev', device['pptdev']))
            else:
                found += [(node + '.bus', device['bus']), (node + '.slot', device['pslot']), (node + '.func', device['func'])]
        if self.vnc:
            node = 'pci.0.%d.0' % FBUF_SLOT
            found += [(node + '.device', 'fbuf'), (node + '.rfb', self.vnc_address())]
            for key, name in (('width', 'w'), ('height', 'h')):
                if self.vnc.get(key):
                    found.append(('%s.%s' % (node, name), str(self.vnc[key])))
            if self.vnc.get('wait'):
                found.append((node + '.wait', 'true'))
            if self.vnc.get('password'):
                found.append((node + '.password', _value(self.vnc['password'], 'vnc.password')))
            found += [('pci.0.%d.0.device' % XHCI_SLOT, 'xhci'), ('pci.0.%d.0.slot.1.device' % XHCI_SLOT, 'tablet')]
        found += [('pci.0.%d.0.device' % LPC_SLOT, 'lpc'), ('lpc.com1.path', self.console[0])]
        if self.loader == 'uefi':
            found += [('lpc.bootrom', self.firmware), ('lpc.bootvars', vars_file)]
        if self.tpm:
            found += [('tpm.type', self.tpm.get('type') or 'swtpm'), ('tpm.path', self.tpm['path']),
                      ('tpm.version', '2.0')]
        variables = dict(found)
        for path in variables:
            if not GLOBAL_VARIABLES.match(path) and not path.startswith('pci.'):
                raise ParameterError('name', 'bsd.multiplicity would write %s, which bhyve does not know' % path)
        for path, value in self.extra.items():
            variables.pop(path, None)
            variables[path] = value
        return variables

    def loader_argv(self, device_map=None):
        """The program that loads the guest before every boot and its options (the VM's name comes last,
        from the supervisor): bhyveload (memory, boot disk, console) or grub-bhyve (its device map, the
        root partition, memory, console); an empty list for UEFI."""
        boot = self.params.get('boot') or {}
        if self.loader == 'bhyveload':
            disk = boot.get('disk') or self.disks[0]['path']
            argv = [BHYVELOAD, '-m', self.memory, '-d', disk, '-c', self.console[0]]
            for item in boot.get('env') or []:
                argv += ['-e', _value(item, 'boot.env')]
            return argv
        if self.loader == 'grub':
            argv = [GRUB_BHYVE, '-m', device_map, '-r', boot.get('grub_root') or 'hd0,msdos1', '-M', self.memory,
                    '-c', self.console[0]]
            if boot.get('grub_dir'):
                argv += ['-d', _value(boot['grub_dir'], 'boot.grub_dir')]
            return argv
        return []

    def device_map(self):
        """grub-bhyve's device map: each disk as (hdN), each CD as (cdN), in the order declared."""
        lines, counts = [], {'hd': 0, 'cd': 0}
        for disk in self.disks:
            kind = 'cd' if disk['model'] == 'ahci-cd' else 'hd'
            lines.append('(%s%d) %s' % (kind, counts[kind], disk['path']))
            counts[kind] += 1
        return ''.join(line + '\n' for line in lines)
