#!/usr/bin/python
# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: bhyve_vm_info
short_description: The bhyve VMs of a host, defined and running, joined by name
version_added: 0.2.0
description:
  - Lists every VM that has a bhyve_config(5) file (C(NAME.conf)) in O(config_dir) and every VM in vmm(4)
    (C(/dev/vmm)), joined by name, with the file's variables, what they define, and the run state.
  - Runs no command, whatever the number of VMs; the files, C(/dev/vmm), each supervisor's pidfile lock and
    its exit record are read directly.
author:
  - bsd.multiplicity contributors (@bsd-multiplicity)
extends_documentation_fragment:
  - bsd.multiplicity._attributes
  - bsd.multiplicity._attributes.INFO_MODULE
  - bsd.multiplicity._attributes.PLATFORM_FREEBSD
  - bsd.multiplicity._attributes.ACTIONGROUP_MULTIPLICITY
options:
  name:
    description: Only this VM.
    type: str
  config_dir:
    description: The directory of the VMs' config files (as O(bsd.multiplicity.bhyve_vm#module:config_dir)).
    type: path
    default: /usr/local/etc/bhyve
seealso:
  - module: bsd.multiplicity.bhyve_vm
'''

EXAMPLES = r'''
- name: Read every VM of the host
  bsd.multiplicity.bhyve_vm_info:
  register: vms

- name: Show the consoles of the running ones
  ansible.builtin.debug:
    msg: "{{ vms.vms | selectattr('state', 'eq', 'running') | map(attribute='definition.console') | list }}"
'''

RETURN = r'''
vms:
  description: The VMs, by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The VM's name.
      type: str
    state:
      description: V(running) (in vmm(4) or run by its supervisor), V(stopped) (only a file).
      type: str
    supervised:
      description: Whether this collection's supervisor runs it.
      type: bool
    in_vmm:
      description: Whether vmm(4) has it (C(/dev/vmm/NAME)).
      type: bool
    pid:
      description: The supervisor's program pid, when supervised.
      type: int
    config_file:
      description: Its config file, null when there is none.
      type: str
    config:
      description: The file's variables as bhyve uses them (a VNC password left out).
      type: dict
    definition:
      description: What the file defines (C(cpus), C(memory), C(loader), C(disks), C(nics), C(console), C(vnc)).
      type: dict
    last_exit:
      description: Why the last supervised run ended (C(status), C(reason), C(time)), or null.
      type: dict
config_dir:
  description: The directory that was read.
  returned: always
  type: str
config_errors:
  description: Files of the directory that bhyve would not read, with the error and its line.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.module import run_manager
from ansible_collections.bsd.multiplicity.plugins.module_utils._bhyve.info import BhyveVmInfo, bhyve_vm_info_argument_spec


def main():
    module = AnsibleModule(**bhyve_vm_info_argument_spec())
    run_manager(module, BhyveVmInfo)


if __name__ == '__main__':
    main()
