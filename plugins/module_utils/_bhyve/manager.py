# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bhyve_vm kind: a bhyve_config(5) file per VM, its disks and UEFI variables, and the VM run by
its supervisor under daemon(8).

A run that changes nothing runs no command: the file, the supervisor's pidfile lock, /dev/vmm/NAME
and the exit record are read directly.
"""

from __future__ import annotations

import os
import shutil

from ansible_collections.bsd.multiplicity.plugins.module_utils import bhyve_config
from ansible_collections.bsd.multiplicity.plugins.module_utils._bhyve import supervisor
from ansible_collections.bsd.multiplicity.plugins.module_utils._bhyve.config import GRUB_BHYVE, Machine, chosen_mac, seed_digest
from ansible_collections.bsd.multiplicity.plugins.module_utils._core import disks, prerequisites
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.edits import FileEdit, OwnedFile
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.engine import Current, Desired, Kind, expected_state
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError, ParameterError, WaitTimeout
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import atomic_write, parsed_files, read_text, remove_tree
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.launcher import Supervised
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.module import KindModule
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import LIVE, RESTART, Option, Options
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.records import RECORD_DIR, Made
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.shvars import read_vars
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.sizes import require_size
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.sysrc import RC_CONF, SysrcEdit
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.wait import wait_for

VMM_DIR = '/dev/vmm'
LOG_DIR = '/var/log/bsd-multiplicity'
HEADER = ['# bhyve_config(5) of this VM, kept by bsd.multiplicity.bhyve_vm: it sets the variables on the next line;',
          '# every other line is kept as it is.']
OWNED_PREFIX = '# owned: '
# The rc.d script of the vmm_host role and its rc.conf variables: the VMs it starts at boot, in order.
AUTOSTART_SCRIPT = '/usr/local/etc/rc.d/bsdm_bhyve'
LOADER_CONF = '/boot/loader.conf'      # pptdevs: the host PCI devices ppt(4) takes at boot
AUTOSTART_ENABLE = 'bsdm_bhyve_enable'
AUTOSTART_LIST = 'bsdm_bhyve_list'


def bhyve_vm_argument_spec():
    disk = dict(path=dict(type='str', required=True), size=dict(type='str'),
                model=dict(type='str', default='virtio-blk', choices=['virtio-blk', 'nvme', 'ahci-hd', 'ahci-cd']),
                readonly=dict(type='bool', default=False), slot=dict(type='int'), options=dict(type='dict'))
    nic = dict(bridge=dict(type='str', required=True), model=dict(type='str', default='virtio-net',
                                                                  choices=['virtio-net', 'e1000']),
               mac=dict(type='str'), tap=dict(type='str'), slot=dict(type='int'), options=dict(type='dict'))
    share = dict(name=dict(type='str', required=True), path=dict(type='path', required=True),
                 readonly=dict(type='bool', default=False), slot=dict(type='int'))
    options = dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='started', choices=['present', 'started', 'stopped', 'restarted', 'absent']),
        cpus=dict(type='int', default=1),
        sockets=dict(type='int'), cores=dict(type='int'), threads=dict(type='int'),
        memory=dict(type='str', default='256M'),
        wired_memory=dict(type='bool', default=False),
        uuid=dict(type='str'),
        boot=dict(type='dict', options=dict(
            loader=dict(type='str', default='uefi', choices=['uefi', 'bhyveload', 'grub']),
            grub_root=dict(type='str'), grub_dir=dict(type='str'),
            firmware=dict(type='path'), vars_template=dict(type='path'),
            disk=dict(type='str'), env=dict(type='list', elements='str'))),
        disks=dict(type='list', elements='dict', options=disk),
        nics=dict(type='list', elements='dict', options=nic),
        shares=dict(type='list', elements='dict', options=share),
        ppt_devices=dict(type='list', elements='str'),
        vnc=dict(type='dict', options=dict(
            enabled=dict(type='bool', default=True), listen=dict(type='str', default='127.0.0.1'),
            port=dict(type='int', default=5900), password=dict(type='str', no_log=True),
            wait=dict(type='bool', default=False), width=dict(type='int'), height=dict(type='int'))),
        cloud_init=dict(type='dict', options=dict(user_data=dict(type='raw'), meta_data=dict(type='raw'),
                                                  network_config=dict(type='raw'), slot=dict(type='int'))),
        tpm=dict(type='dict', options=dict(type=dict(type='str', default='swtpm', choices=['swtpm', 'passthru']),
                                           path=dict(type='str', required=True))),
        extra_config=dict(type='dict'),
        autostart=dict(type='bool'),
        config_dir=dict(type='path', default='/usr/local/etc/bhyve'),
        data_dir=dict(type='path', default='/var/db/bhyve'),
        restart_on_change=dict(type='bool', default=False),
        stop_timeout=dict(type='int', default=60),
        force_stop=dict(type='bool', default=False),
        purge=dict(type='bool', default=False),
    )
    return dict(argument_spec=options, supports_check_mode=True)


OPTIONS = Options(
    Option('config_file', LIVE),    # the file's header or kept lines alone (what bhyve reads unchanged)
    Option('disks', LIVE),          # disk images and zvols created
    Option('uefi_vars', LIVE),      # the VM's own copy of the UEFI variables
    Option('start_command', LIVE),  # the start command the rc.d script runs at boot
    Option('cloud_init', LIVE),     # the NoCloud seed ISO (the guest reads it when it boots)
    Option('device_map', LIVE),     # grub-bhyve's device map (read at the next boot)
    Option('autostart', LIVE),      # the VM's name in bsdm_bhyve_list
    family=lambda variable: Option(variable, RESTART))


def disk_paths(variables):
    """The backing paths of a file's disk devices (virtio-blk, nvme, ahci ports), in slot order."""
    found = []
    for key, value in variables.items():
        parts = key.split('.')
        if parts[0] != 'pci' or parts[-1] != 'path':
            continue
        device = variables.get('.'.join(parts[:4]) + '.device')
        if (len(parts) == 5 and device in ('virtio-blk', 'nvme')) or (len(parts) == 7 and device == 'ahci'):
            found.append(value)
    return found


def read_config_dir(directory):
    """{name: (config file, {path: value})} of the files NAME.conf in ``directory``, and {file: error}."""
    files, errors = parsed_files(directory, lambda entry: entry.endswith('.conf'), bhyve_config.values)
    found = {}
    for path, variables in files:
        found[variables.get('name') or os.path.basename(path)[:-len('.conf')]] = (path, variables)
    return found, errors


def _host_id():
    """What the chosen MACs derive from: the host's UUID as rc.d/hostid keeps it (its name otherwise)."""
    return (read_text('/etc/hostid') or '').strip() or os.uname()[1]


class BhyveVmKind(Kind):
    """One bhyve VM: its bhyve_config(5) file, its disks, its UEFI variables, and its supervised run."""

    name = 'VM'
    key = 'bhyve_vms'
    facts_key = 'vm'
    argument_spec = bhyve_vm_argument_spec()['argument_spec']
    OPTIONS = OPTIONS

    def __init__(self, runner):
        super().__init__(runner)
        self.found_in = {}      # {name: the directories on_host found its file in}, for its removal

    # -- desired (no I/O) -------------------------------------------------------------
    def desired(self, params):
        machine = Machine(params)
        if params['stop_timeout'] < 0:
            raise ParameterError('stop_timeout', 'must be 0 or more seconds')
        config_file = os.path.join(params['config_dir'], machine.name + '.conf')
        data_dir = os.path.join(params['data_dir'], machine.name)
        run = self.supervised(machine, config_file, [])
        return Desired(machine.name, params['state'], {}, restart_allowed=params['restart_on_change'],
                       purge=params['purge'], params=params, machine=machine, config_file=config_file,
                       vars_file=os.path.join(data_dir, 'uefi-vars.fd'), run=run, data_dir=data_dir,
                       seed_iso=os.path.join(data_dir, 'seed.iso'), seed_record=os.path.join(data_dir, 'seed.sha256'),
                       start_file=os.path.join(RECORD_DIR, 'bhyve_vm.%s.start' % machine.name))

    def supervised(self, machine, config_file, taps):
        """The VM's run under daemon(8): the supervisor with its taps (chosen at observe) and bridges."""
        nics = [(taps[i], nic['bridge']) for i, nic in enumerate(machine.nics)] if taps else []
        return Supervised('bhyve', machine.name,
                          supervisor.argv(machine.name, config_file, self._record(machine.name), nics,
                                          machine.loader_argv(self._device_map_path(config_file, machine))),
                          output=os.path.join(LOG_DIR, 'bhyve.%s.log' % machine.name))

    @staticmethod
    def _device_map_path(config_file, machine):
        """grub-bhyve's device map, beside the VM's config file."""
        return os.path.join(os.path.dirname(config_file), machine.name + '.device.map')

    def start_text(self, desired, current):
        """The start command of the VM, one argument per line (none holds a line break): what the rc.d
        script of the vmm_host role runs at boot."""
        run = self.supervised(desired.extra['machine'], desired.extra['config_file'], current.extra['chosen'][0])
        return ''.join('%s\n' % arg for arg in run.start_argv())

    @staticmethod
    def _record(name):
        return os.path.join(RECORD_DIR, 'bhyve_vm.%s.exit' % name)

    # -- observe ---------------------------------------------------------------------------
    def observe(self, view, wanted):
        found = {}
        claimed = {}        # tap -> the VM of this call that has it (their files may not be written yet)
        autostart_list = (read_vars(read_text(RC_CONF) or '').get(AUTOSTART_LIST) or '').split()
        for desired in wanted:
            path = desired.extra['config_file']
            try:
                text = read_text(path, strict=True)
                old = bhyve_config.parse(text) if text is not None else {}
            except bhyve_config.BhyveConfigError as exc:
                if desired.state == 'absent' and not desired.purge:
                    old = {}
                else:
                    found[desired.name] = MultiplicityError('VM %s: %s %s (fix the file by hand; nothing was changed)'
                                                            % (desired.name, path, exc))
                    continue
            except MultiplicityError as exc:
                found[desired.name] = MultiplicityError('%s; nothing was changed' % exc)
                continue
            if text is not None and old.get('name') not in (None, desired.name):
                found[desired.name] = MultiplicityError('VM %s: %s defines VM %r (name=%s); it is left as it is'
                                                        % (desired.name, path, old['name'], old['name']))
                continue
            running = desired.extra['run'].alive()
            in_vmm = os.path.exists(os.path.join(VMM_DIR, desired.name))
            state = 'running' if running else ('stopped' if text is not None else 'absent')
            missing = []
            if desired.state != 'absent':
                for disk in desired.extra['machine'].disks:
                    if disk.get('size') is not None and not disks.exists(view, disk['path']):
                        disks.check_makeable(disk['path'], disk['what'] + '.path')
                        missing.append(disk)
            start_now = read_text(desired.extra['start_file'])
            current = Current(state, leftovers=desired.name in autostart_list or start_now is not None,
                              old_text=text, old=old, in_vmm=in_vmm, disks_missing=missing, start_now=start_now,
                              autostart_now=desired.name in autostart_list, autostart_list=autostart_list,
                              last_exit=supervisor.parse_record(read_text(self._record(desired.name))),
                              pid=desired.extra['run'].pid() if running else None,
                              vars_missing=not os.path.isfile(desired.extra['vars_file']),
                              seed_now=(read_text(desired.extra['seed_record']) or '').strip() or None,
                              device_map_now=read_text(self._device_map_path(path, desired.extra['machine'])))
            try:
                if desired.state != 'absent':
                    for tap in self.chosen(desired, current, view, claimed)[0]:
                        claimed[tap] = desired.name
            except MultiplicityError as exc:
                current = exc
            found[desired.name] = current
        return found

    def needs_reread(self, plan):
        return any(a.verb in ('start', 'stop') for a in plan.actions)

    def reread(self, view, outcomes):
        found = {}
        for outcome in outcomes:
            run = outcome.desired.extra['run']
            running = run.alive()
            state = 'running' if running else ('absent' if outcome.desired.state == 'absent' else 'stopped')
            found[outcome.name] = outcome.current.but(
                state=state, pid=run.pid() if running else None,
                in_vmm=os.path.exists(os.path.join(VMM_DIR, outcome.name)),
                last_exit=supervisor.parse_record(read_text(self._record(outcome.name))))
        return found

    def on_host(self, view, wanted):
        """VMs with a config file in the declared VMs' directories (and their data directories, for their
        removal), and VMs in vmm(4)."""
        names = set()
        self.found_in = {}
        for directory, data_dir in sorted(set((d.extra['params']['config_dir'], d.extra['params']['data_dir'])
                                              for d in wanted)):
            try:
                entries = sorted(os.listdir(directory))
            except OSError:
                continue
            for entry in entries:
                if entry.endswith('.conf'):
                    self.found_in.setdefault(entry[:-len('.conf')], dict(config_dir=directory, data_dir=data_dir))
        names.update(self.found_in)
        try:
            names.update(os.listdir(VMM_DIR))
        except OSError:
            pass
        return sorted(names)

    def removal(self, name):
        """As any kind's, in the directory the VM's file was found in (a topology's prune removes that one)."""
        params = super().removal(name)
        params.update(self.found_in.get(name) or {})
        return params

    # -- what the file says ---------------------------------------------------------------
    @staticmethod
    def _other_configs(view, desired):
        """{name: (file, variables)} of the other VMs' files in the VM's config directory: the directory is
        read once per call, for every VM of it (their taps, their disks)."""
        directory = desired.extra['params']['config_dir']
        found = view.cached(('bhyve config dir', directory), lambda: read_config_dir(directory)[0])
        return dict((name, entry) for name, entry in found.items() if entry[0] != desired.extra['config_file'])

    def chosen(self, desired, current, view, claimed):
        """(taps, MACs) of the NICs: as the file has them for the NIC's node, as declared, or chosen now
        (the lowest tap that no VM's file, no other VM of the call (``claimed``) and no interface of the host
        has; a MAC from the host's identity)."""
        if 'chosen' in current.extra:
            return current.extra['chosen']
        machine, old = desired.extra['machine'], current.extra['old']
        taps, macs = [], []
        taken = set(tap for tap, name in claimed.items() if name != desired.name)
        for unused, other in self._other_configs(view, desired).values():
            taken.update(v for k, v in other.items() if k.endswith('.backend') and v)
        host_ifaces = None
        for index, nic in enumerate(machine.nics):
            node = 'pci.0.%d.0' % nic['slot']
            tap = nic.get('tap') or old.get(node + '.backend')
            if not tap or not tap.startswith('tap'):
                if host_ifaces is None:
                    host_ifaces = set(view.run(['ifconfig', '-l'], action='list interfaces').stdout.split())
                unit = 0
                while 'tap%d' % unit in taken or 'tap%d' % unit in host_ifaces or 'tap%d' % unit in taps:
                    unit += 1
                tap = 'tap%d' % unit
            if tap in taken:
                raise MultiplicityError('VM %s: %s.tap %s is used by another VM\'s config file; nothing was changed'
                                        % (desired.name, nic['what'], tap))
            taps.append(tap)
            macs.append(nic['mac'] or old.get(node + '.mac') or chosen_mac(_host_id(), desired.name, index))
        current.extra['chosen'] = (taps, macs)
        return taps, macs

    def rendered(self, desired, current):
        """(text, {path: raw value}) of the file as it will be."""
        if desired.state == 'absent':
            return None, {}
        if 'rendered' not in current.extra:
            taps, macs = current.extra['chosen']
            wanted = desired.extra['machine'].variables(taps, macs, desired.extra['vars_file'], desired.extra['seed_iso'])
            text = self.render_text(current.extra['old_text'], wanted)
            current.extra['rendered'] = (text, bhyve_config.parse(text), wanted)
        return current.extra['rendered'][:2]

    @staticmethod
    def render_text(text, wanted):
        owned = []
        for line in (text or '').split('\n'):
            if line.startswith(OWNED_PREFIX):
                owned = line[len(OWNED_PREFIX):].split()
                break
        header = HEADER + [OWNED_PREFIX + ' '.join(wanted)]
        try:
            return bhyve_config.render(text or '', wanted, owned, header=header)
        except bhyve_config.BhyveConfigError as exc:
            raise MultiplicityError('cannot write the config file: %s; nothing was changed' % exc)

    # -- compare -----------------------------------------------------------------------------
    def compare(self, desired, current):
        if desired.state == 'absent':
            return []
        new_text, new = self.rendered(desired, current)
        old_text, old = current.extra['old_text'], current.extra['old']
        changes = []
        if new_text != old_text:
            changes = [OPTIONS.change(key, old.get(key), new.get(key)) for key in sorted(set(old) | set(new))]
            changes = [c for c in changes if c is not None] or [OPTIONS.changed('config_file', old_text, new_text)]
        if current.extra['disks_missing']:
            changes.append(OPTIONS.changed('disks', [], [d['path'] for d in current.extra['disks_missing']]))
        if desired.extra['machine'].loader == 'uefi' and current.extra['vars_missing']:
            changes.append(OPTIONS.changed('uefi_vars', None, desired.extra['vars_file']))
        seed = self._seed_digest(desired)
        if seed is not None and seed != current.extra['seed_now']:
            changes.append(OPTIONS.changed('cloud_init', current.extra['seed_now'], seed))
        machine = desired.extra['machine']
        if machine.loader == 'grub' and current.extra['device_map_now'] != machine.device_map():
            changes.append(OPTIONS.changed('device_map', current.extra['device_map_now'], machine.device_map()))
        start_text = self.start_text(desired, current)
        if start_text != current.extra['start_now']:
            changes.append(OPTIONS.changed('start_command', current.extra['start_now'], start_text))
        autostart = desired.extra['params']['autostart']
        if autostart is not None and autostart != current.extra['autostart_now']:
            changes.append(OPTIONS.changed('autostart', current.extra['autostart_now'], autostart))
        return changes

    def complete(self, plan, desired, current):
        if plan.pending_names:
            plan.warn('VM %s keeps running with its old configuration until it is restarted: %s changed '
                      '(set restart_on_change to restart it)' % (desired.name, ', '.join(plan.pending_names)))

    def check(self, view, plan, desired, current):
        """Before the first change: memory and CPUs the host can give, disks no other declared or configured
        VM uses, a VM in vmm(4) that this collection does not run."""
        verbs = [a.verb for a in plan.actions]
        if 'start' not in verbs:
            return
        machine = desired.extra['machine']
        physmem = int(view.run(['sysctl', '-n', 'hw.physmem'], action='read hw.physmem').stdout.strip() or 0)
        if machine.memory_bytes > physmem:
            raise MultiplicityError('VM %s: memory %s is more than the host gives guests (hw.physmem %d bytes); '
                                    'nothing was changed' % (desired.name, machine.memory, physmem))
        maxcpu = view.lookup(['sysctl', '-n', 'hw.vmm.maxcpu'], missing=lambda r: r.rc != 0,
                             action='read hw.vmm.maxcpu')
        if maxcpu is None:
            raise MultiplicityError('VM %s: vmm(4) is not loaded (no hw.vmm.maxcpu): load it with bsd.multiplicity.kld '
                                    'or the vmm_host role; nothing was changed' % desired.name)
        if machine.cpus > int(maxcpu.stdout.strip() or 0):
            raise MultiplicityError('VM %s: %d vCPUs requested but vmm(4) gives at most %s (hw.vmm.maxcpu); nothing '
                                    'was changed' % (desired.name, machine.cpus, maxcpu.stdout.strip()))
        if machine.passthru:
            found = view.lookup(['sysctl', '-n', 'hw.vmm.ppt.devices'], missing=lambda r: r.rc != 0,
                                action='read hw.vmm.ppt.devices')
            reserved = int(found.stdout.strip() or 0) if found is not None else 0
            if len(machine.passthru) > reserved:
                raise MultiplicityError('VM %s: %d PCI devices to pass through, but ppt(4) holds %d (reserve them with '
                                        'pptdevs in /boot/loader.conf and reboot); nothing was changed'
                                        % (desired.name, len(machine.passthru), reserved))
            loader = read_vars(read_text(LOADER_CONF) or '')
            listed = [d for key in ('pptdevs', 'pptdevs2', 'pptdevs3') for d in (loader.get(key) or '').split()]
            for device in machine.passthru:
                if device.get('address') and device['address'] not in listed:
                    raise MultiplicityError('VM %s: %s %s is not reserved for ppt(4) (pptdevs in %s lists %s); add it '
                                            'and reboot; nothing was changed'
                                            % (desired.name, device['what'], device['address'], LOADER_CONF,
                                               ' '.join(listed) or 'nothing'))
        if current.extra['in_vmm'] and current.state != 'running':
            raise MultiplicityError('VM %s is in vmm(4) (/dev/vmm/%s) but its supervisor does not run it: another '
                                    'manager may run it; destroy it with "bhyvectl --vm=%s --destroy" if it is '
                                    'stale; nothing was changed' % (desired.name, desired.name, desired.name))
        if machine.disks:
            attached = view.cached('md', lambda: self._md_backing(view))
            for disk in machine.disks:
                unit = attached.get(os.path.realpath(disk['path']))
                if unit:
                    raise MultiplicityError('VM %s: disk %s is attached as %s (a jail\'s root image, or mdconfig\'s): '
                                            'both would write it; detach it first (stop that jail); nothing was '
                                            'changed' % (desired.name, disk['path'], unit))
        mine = set(d['path'] for d in machine.disks if not d.get('readonly') and d['model'] != 'ahci-cd')
        for name, (path, other) in sorted(self._other_configs(view, desired).items()):
            shared = sorted(mine & set(disk_paths(other)))
            if shared:
                raise MultiplicityError('VM %s: disk %s is also a disk of VM %s (%s); nothing was changed'
                                        % (desired.name, shared[0], name, path))

    @staticmethod
    def _md_backing(view):
        """{backing file: mdN} of the vnode md(4) disks (``mdconfig -l -v``: name, type, size, file)."""
        listed = view.run(['mdconfig', '-l', '-v'], action='list md(4) disks').stdout
        found = {}
        for line in listed.splitlines():
            fields = line.split('\t')
            if len(fields) >= 4 and fields[1] == 'vnode' and fields[3].startswith('/'):
                found[os.path.realpath(fields[3])] = fields[0]
        return found

    # -- verbs -----------------------------------------------------------------------------
    def create(self, plan, desired, current, changes):
        self.update(plan, desired, current, changes)

    def update(self, plan, desired, current, changes):
        machine = desired.extra['machine']
        for disk in current.extra['disks_missing']:
            properties = [('volmode', 'dev')] if disks.zvol_of(disk['path']) else []
            disks.plan_create(plan, self.runner, disk['path'], require_size(disk['size'], disk['what'] + '.size'),
                              Made('bhyve_vm', desired.name), properties)
        if machine.loader == 'uefi' and current.extra['vars_missing']:
            self._plan_vars(plan, desired, machine)
        seed = self._seed_digest(desired)
        if seed is not None and seed != current.extra['seed_now']:
            self._plan_seed(plan, desired, seed, running=current.state == 'running')
        if machine.loader == 'grub' and current.extra['device_map_now'] != machine.device_map():
            path = self._device_map_path(desired.extra['config_file'], machine)
            plan.write(OwnedFile(path, machine.device_map(), 'write grub-bhyve\'s device map %s' % path, verb='write',
                                 parent=True))
        start_text = self.start_text(desired, current)
        if start_text != current.extra['start_now']:
            plan.write(OwnedFile(desired.extra['start_file'], start_text, 'write the start command of VM %s to %s'
                                 % (desired.name, desired.extra['start_file']), verb='write', parent=True))
        disks.plan_claim(plan, desired.extra['run'], [d['path'] for d in machine.disks], current.state == 'running')
        autostart = desired.extra['params']['autostart']
        if autostart is not None and autostart != current.extra['autostart_now']:
            self._plan_autostart(plan, desired, current, autostart)
        new_text = self.rendered(desired, current)[0]
        if new_text != current.extra['old_text']:
            wanted = current.extra['rendered'][2]
            secret = bool(machine.vnc and machine.vnc.get('password'))
            plan.write(FileEdit(desired.extra['config_file'], lambda text: self.render_text(text, wanted),
                                'write %s' % desired.extra['config_file'], verb='write', parent=True, private=secret))
            plan.file_diff(desired.extra['config_file'], current.extra['old_text'], new_text)

    @staticmethod
    def _seed_digest(desired):
        machine = desired.extra['machine']
        return seed_digest(machine.seed) if machine.cloud_init is not None else None

    def _plan_seed(self, plan, desired, digest, running):
        """The NoCloud seed: its files in a directory of the VM's own, made into an ISO 9660 image labelled
        cidata with makefs(8) beside the old one and moved over it (a running bhyve keeps the one it opened),
        then its digest recorded."""
        machine, data_dir = desired.extra['machine'], desired.extra['data_dir']
        seed_dir, iso, record = os.path.join(data_dir, 'seed'), desired.extra['seed_iso'], desired.extra['seed_record']
        argv = ['makefs', '-t', 'cd9660', '-o', 'rockridge', '-o', 'label=cidata', iso + '.new', seed_dir]

        def build():
            os.makedirs(seed_dir, 0o700, exist_ok=True)
            for name in os.listdir(seed_dir):
                if name not in machine.seed and os.path.isfile(os.path.join(seed_dir, name)):
                    os.unlink(os.path.join(seed_dir, name))
            for name, text in sorted(machine.seed.items()):
                atomic_write(os.path.join(seed_dir, name), text, mode=0o600)
            self.runner.run(argv, action='make the cloud-init seed of VM %s' % desired.name)
            os.rename(iso + '.new', iso)
            atomic_write(record, digest + '\n', mode=0o600)
        plan.add('create', 'make the cloud-init seed %s (NoCloud, label cidata)' % iso, argv=argv, func=build)
        if running:
            plan.warn('VM %s: its cloud-init seed changed; the guest reads it when it boots next' % desired.name)

    @staticmethod
    def _plan_autostart(plan, desired, current, enable):
        """The VM's name in (or out of) the autostart list of rc.conf, in the call's order (dependencies
        first, as the rc.d script starts them; it stops them in reverse), and the script enabled."""
        listed = current.extra['autostart_list']
        if enable:
            plan.edits.append(SysrcEdit(AUTOSTART_ENABLE, '=', 'YES', verb='autostart'))
            plan.edits.append(SysrcEdit(AUTOSTART_LIST, '+=', desired.name, verb='autostart', in_call_order=True,
                                        listed=listed))
            if not os.path.exists(AUTOSTART_SCRIPT):
                plan.warn('VM %s: %s is not installed, so nothing starts it at boot (the vmm_host role installs '
                          'it)' % (desired.name, AUTOSTART_SCRIPT))
        else:
            plan.edits.append(SysrcEdit(AUTOSTART_LIST, '-=', desired.name, verb='autostart', listed=listed))

    @staticmethod
    def _plan_vars(plan, desired, machine):
        """The VM's own UEFI variables: a copy of the firmware's template, made once and kept (the guest
        writes its boot entries there)."""
        target, template = desired.extra['vars_file'], machine.vars_template
        plan.require(prerequisites.File(template, 'boot.vars_template', hint=' (install edk2-bhyve or bhyve-firmware)'))

        def copy():
            os.makedirs(os.path.dirname(target), 0o700, exist_ok=True)
            with open(template, 'rb') as source:
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, 'wb') as out:
                    shutil.copyfileobj(source, out)
        plan.add('create', 'copy UEFI variables %s to %s' % (template, target), func=copy)

    def start(self, plan, desired, current, changes):
        machine, run = desired.extra['machine'], desired.extra['run']
        if machine.loader == 'uefi':
            plan.require(prerequisites.File(machine.firmware, 'boot.firmware',
                                            hint=' (install edk2-bhyve or bhyve-firmware)'))
        if machine.loader == 'grub':
            plan.require(prerequisites.File(GRUB_BHYVE, 'boot.loader', hint=' (install grub2-bhyve)'))
        if machine.tpm and machine.tpm.get('type') == 'swtpm':
            plan.require(prerequisites.Path(machine.tpm['path'], 'tpm.path', hint=' (start swtpm first)'))
        for nic in machine.nics:
            plan.require(prerequisites.Bridge(nic['bridge'], '%s.bridge' % nic['what']))
        if not os.path.isfile(supervisor.PATH) or read_text(supervisor.PATH) != supervisor.SCRIPT:
            plan.write(OwnedFile(supervisor.PATH, supervisor.SCRIPT, 'install %s' % supervisor.PATH, mode=0o755,
                                 verb='start', parent=True))
        if not os.path.isdir(LOG_DIR):
            plan.add('start', 'make %s' % LOG_DIR, func=lambda: os.makedirs(LOG_DIR, 0o755, exist_ok=True))
        # The supervisor makes the taps and adds them to their bridges before every boot.
        full = self.supervised(machine, desired.extra['config_file'], current.extra['chosen'][0])
        plan.add('start', 'start VM %s under its supervisor' % desired.name, argv=full.start_argv(),
                 func=lambda: self._start(desired, full))

    def _start(self, desired, run):
        name = desired.name
        self.runner.run(run.start_argv(), action='start VM %s' % name)
        try:
            # Up once vmm(4) has it (and the supervisor still runs); a bhyve that refuses its config ends at once.
            wait_for(lambda: (run.alive(), os.path.exists(os.path.join(VMM_DIR, name))),
                     lambda seen: not seen[0] or seen[1], 10, 'VM %s to start' % name)
        except WaitTimeout:
            pass
        if not run.alive():
            record = supervisor.parse_record(read_text(self._record(name)))
            log = (read_text(run.output) or '').strip().splitlines()[-5:]
            raise MultiplicityError('VM %s did not start: its supervisor stopped (%s); the last lines of %s: %s'
                                    % (name, '%s, status %d' % (record[1], record[0]) if record else 'no exit record',
                                       run.output, ' | '.join(log) or '(empty)'))

    def stop(self, plan, desired, current, changes):
        params = desired.extra['params']
        plan.add('stop', 'stop VM %s (ACPI power button, up to %d s)' % (desired.name, params['stop_timeout']),
                 argv=desired.extra['run'].stop_argv(),
                 func=lambda: self._stop(desired, params['stop_timeout'], params['force_stop']))

    def _stop(self, desired, timeout, force):
        run, name = desired.extra['run'], desired.name
        self.runner.run_lookup(run.stop_argv(), lambda r: r.rc in (1, 3), action='stop VM %s' % name)
        try:
            wait_for(run.alive, lambda alive: not alive, timeout, 'VM %s to power off' % name)
            return
        except WaitTimeout:
            if not force:
                raise MultiplicityError('VM %s did not power off within %d s (stop_timeout); set force_stop to power '
                                        'it off with bhyvectl --force-poweroff' % (name, timeout))
        self.runner.run(['bhyvectl', '--vm=%s' % name, '--force-poweroff'], action='power off VM %s' % name)
        wait_for(run.alive, lambda alive: not alive, 30, 'VM %s to end after a forced power-off' % name)

    def destroy(self, plan, desired, current, changes, purge=False):
        config_file = desired.extra['config_file']
        if current.extra['autostart_now']:
            self._plan_autostart(plan, desired, current, False)
        if current.extra['start_now'] is not None:
            plan.write(OwnedFile(desired.extra['start_file'], None, 'remove %s' % desired.extra['start_file'],
                                 verb='remove'))
        disks.plan_claim(plan, desired.extra['run'], (), False)
        if current.extra.get('device_map_now') is not None:
            path = self._device_map_path(config_file, desired.extra['machine'])
            plan.write(OwnedFile(path, None, 'remove %s' % path, verb='remove'))
        if current.extra['old_text'] is not None:
            plan.write(OwnedFile(config_file, None, 'remove %s' % config_file, verb='remove'))
            plan.file_diff(config_file, current.extra['old_text'], None)
        if not purge:
            return
        made = Made('bhyve_vm', desired.name)
        for path in disk_paths(current.extra['old']):
            if path:
                if not disks.plan_purge(plan, self.runner, path, path, made):
                    plan.warn('VM %s: disk %s was not made by this collection (the host has no record of it), so '
                              'purge keeps it' % (desired.name, path))
        data_dir = desired.extra['data_dir']
        if os.path.isdir(data_dir) and not os.path.islink(data_dir):
            plan.add('purge', 'remove the files the collection made in %s (UEFI variables, cloud-init seed)'
                     % data_dir, func=lambda: self._purge_data(desired))

    @staticmethod
    def _purge_data(desired):
        """The VM's own files, each by name (never what else an operator put in the directory); the
        directory goes when nothing else is left in it."""
        data_dir = desired.extra['data_dir']
        for path in (desired.extra['vars_file'], desired.extra['seed_iso'], desired.extra['seed_iso'] + '.new',
                     desired.extra['seed_record']):
            if os.path.isfile(path) and not os.path.islink(path):
                os.unlink(path)
        seed_dir = os.path.join(data_dir, 'seed')
        if os.path.isdir(seed_dir) and not os.path.islink(seed_dir):
            remove_tree(seed_dir)
        try:
            os.rmdir(data_dir)
        except OSError:
            pass        # something else is in it: kept

    # -- results -----------------------------------------------------------------------------
    def expected(self, outcome):
        state = expected_state(outcome)
        stopping = any(a.verb == 'stop' for a in outcome.plan.actions)
        pid = outcome.before.extra['pid'] if state == 'running' and not stopping else None
        return outcome.before.but(state=state, pid=pid)

    def facts(self, outcome):
        desired, current = outcome.desired, outcome.current
        machine = desired.extra['machine']
        absent = desired.state == 'absent'
        text, variables = self.rendered(desired, outcome.before) if not absent else (None, {})
        taps, macs = outcome.before.extra.get('chosen') or ([], [])
        last = current.extra.get('last_exit')
        return dict(
            name=desired.name, state=self.shown_state(current.state) if not absent else 'absent',
            pid=current.extra.get('pid'), config_file=desired.extra['config_file'],
            config=dict((k, bhyve_config.decode(v)) for k, v in variables.items()),
            console=None if absent else dict(device=machine.console[1], command=['cu', '-l', machine.console[1]]),
            vnc=machine.vnc_address() if not absent else None,
            disks=[dict(path=d['path'], model=d['model'], slot=d['slot']) for d in machine.disks] if not absent else [],
            nics=[dict(bridge=n['bridge'], model=n['model'], slot=n['slot'], tap=taps[i] if i < len(taps) else None,
                       mac=macs[i] if i < len(macs) else None) for i, n in enumerate(machine.nics)] if not absent else [],
            last_exit=dict(status=last[0], reason=last[1], time=last[2]) if last else None,
            pending_changes=outcome.plan.pending_names)

    def report(self, outcome, diff_mode):
        facts = self.facts(outcome)
        found = dict(pending_restart=bool(facts['pending_changes']), vm=facts)
        if diff_mode:
            header = 'VM %s' % outcome.name
            found['diff'] = list(outcome.plan.files) + [dict(
                before=dict(state=outcome.before.state), after=dict(state=expected_state(outcome)),
                before_header=header, after_header=header)]
        return found


class BhyveVmManager(KindModule):
    """The bhyve_vm module: one engine call, its result in the module's shape."""

    kind_class = BhyveVmKind
