# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""bhyve_vm_info: every VM defined (a config file) or running (vmm(4), a supervisor), joined by name.

No command at all whatever the number of VMs: the config files, /dev/vmm, each supervisor's pidfile
lock and exit record are read directly.
"""

from __future__ import annotations

import os

from ansible_collections.bsd.multiplicity.plugins.module_utils._bhyve import supervisor
from ansible_collections.bsd.multiplicity.plugins.module_utils._bhyve.manager import (
    VMM_DIR, BhyveVmKind, disk_paths, read_config_dir,
)
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import refuse_nul
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import read_text
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.launcher import Supervised


DEFAULT_CONFIG_DIR = '/usr/local/etc/bhyve'


def bhyve_vm_info_argument_spec():
    return dict(argument_spec=dict(name=dict(type='str'), config_dir=dict(type='path', default=DEFAULT_CONFIG_DIR)),
                supports_check_mode=True)


def definition(variables):
    """What a VM's variables say, in the module's terms."""
    devices = dict((k[:-len('.device')], v) for k, v in variables.items()
                   if k.startswith('pci.') and k.endswith('.device') and k.count('.') == 4)
    nics = [dict(slot=int(node.split('.')[2]), model=device, tap=variables.get(node + '.backend'),
                 mac=variables.get(node + '.mac'))
            for node, device in sorted(devices.items(), key=lambda i: int(i[0].split('.')[2]))
            if device in ('virtio-net', 'e1000')]
    fbuf = [node for node, device in devices.items() if device == 'fbuf']
    return dict(cpus=int(variables['cpus']) if (variables.get('cpus') or '').isdigit() else 1,
                memory=variables.get('memory.size', '256M'),
                loader='uefi' if variables.get('lpc.bootrom') else 'bhyveload',
                disks=disk_paths(variables), nics=nics,
                console=variables.get('lpc.com1.path'),
                vnc=variables.get(fbuf[0] + '.rfb') if fbuf else None)


def _supervisor_of(name):
    """The supervised run named ``name`` (its pidfiles; the program does not matter to look at it), or None
    for a name no supervisor of this collection could have."""
    return Supervised('bhyve', name, ['/bin/true']) if Supervised.valid_name(name) else None


class BhyveVmInfo(object):
    def __init__(self, module, runner):
        self.module = module
        refuse_nul(module.params)
        self.config_dir = module.params['config_dir']
        self.only = module.params['name']

    def run(self):
        files, errors = read_config_dir(self.config_dir)
        try:
            in_vmm = set(os.listdir(VMM_DIR))
        except OSError:
            in_vmm = set()
        vms = []
        for name in sorted(set(files) | in_vmm):
            if self.only and name != self.only:
                continue
            config_file, variables = files.get(name, (None, {}))
            run = _supervisor_of(name)
            managed = bool(run and run.alive())
            record = supervisor.parse_record(read_text(BhyveVmKind._record(name))) if run else None
            state = 'running' if managed or name in in_vmm else ('stopped' if config_file else 'absent')
            vms.append(dict(
                name=name, state=state, supervised=managed, in_vmm=name in in_vmm,
                pid=run.pid() if managed else None, config_file=config_file,
                config=dict((k, v) for k, v in variables.items() if not k.endswith('.password')) or None,
                definition=definition(variables) if config_file else None,
                last_exit=dict(status=record[0], reason=record[1], time=record[2]) if record else None))
        return dict(changed=False, vms=vms, config_dir=self.config_dir, config_errors=errors)
