#!/usr/bin/python
# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: kld
short_description: Load FreeBSD kernel modules and keep them loaded at boot
version_added: 0.1.0
description:
  - Loads kernel modules into the running kernel with C(kldload) and unloads them with C(kldunload).
  - Persists them across reboots in the C(kld_list) variable of C(rc.conf) (through C(sysrc)), or as
    C(<name>_load="YES") in C(/boot/loader.conf).
  - Reads the kernel with one C(kldstat -v) and C(rc.conf) with one C(sysrc -n kld_list), so a run
    that changes nothing is read-only and costs two commands however many modules are listed.
author:
  - bsd.multiplicity contributors (@bsd-multiplicity)
extends_documentation_fragment:
  - bsd.multiplicity._attributes
  - bsd.multiplicity._attributes.PLATFORM_FREEBSD
  - bsd.multiplicity._attributes.ACTIONGROUP_MULTIPLICITY
attributes:
  check_mode:
    support: full
    details:
      - Check mode also verifies that every module to load exists in C(kern.module_path).
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  name:
    description:
      - Kernel modules to manage, as C(kldload) names them (V(vmm), V(if_bridge), V(linux64)).
      - A trailing C(.ko) is accepted and dropped. Paths are refused.
      - A module counts as loaded when a file of that name is loaded or a loaded file
        (including the kernel itself) contains a module of that name.
    type: list
    elements: str
    required: true
  state:
    description:
      - V(present) loads the modules and persists them as O(persistent) says.
      - V(absent) unloads them and removes them from C(kld_list) and C(loader.conf)
        (a hand-written C(<name>_load="NO") is left alone), unless O(persistent=none).
    type: str
    choices: [present, absent]
    default: present
  persistent:
    description:
      - Where the module is recorded so that it is loaded again at boot.
      - V(rc_conf) adds it to C(kld_list) in C(rc.conf), loaded by C(rc.d/kld) late in boot (preferred
        by FreeBSD for most modules).
      - V(loader_conf) sets C(<name>_load="YES") in O(loader_conf), loaded by the boot loader (needed for
        modules such as V(vmm) with C(hw.vmm.*) tunables or for storage drivers).
      - V(none) only changes the running kernel and leaves boot configuration untouched.
    type: str
    choices: [rc_conf, loader_conf, none]
    default: rc_conf
  loader_conf:
    description: Path of the boot loader configuration file used with O(persistent=loader_conf).
    type: path
    default: /boot/loader.conf
notes:
  - C(kld_list) is changed with C(sysrc kld_list+=...) and C(sysrc kld_list-=...), so entries that other tasks,
    people or concurrent runs put there are kept in their order; the managed modules are appended.
  - A module that is compiled into the kernel is reported as loaded; asking for it to be V(absent) fails
    with a message, because it cannot be unloaded.
seealso:
  - name: kldload(8)
    description: Load a file into the kernel.
    link: https://man.freebsd.org/cgi/man.cgi?query=kldload&sektion=8
  - name: rc.conf(5) kld_list
    description: Kernel modules loaded by rc.d/kld at boot.
    link: https://man.freebsd.org/cgi/man.cgi?query=rc.conf&sektion=5
  - module: community.general.sysrc
'''

EXAMPLES = r'''
- name: Load what bhyve and VNET jails need, and keep it at boot
  bsd.multiplicity.kld:
    name:
      - vmm
      - nmdm
      - if_bridge
      - if_epair

- name: Load vmm from the boot loader, so that hw.vmm tunables apply
  bsd.multiplicity.kld:
    name: vmm
    persistent: loader_conf

- name: Unload the Linux ABI and drop it from kld_list and loader.conf
  bsd.multiplicity.kld:
    name: [linux64, linux]
    state: absent

- name: Try a module for this boot only
  bsd.multiplicity.kld:
    name: if_wg
    persistent: none
'''

RETURN = r'''
modules:
  description: The state of each managed module after the run (before it, in check mode), keyed by name.
  returned: always
  type: dict
  sample:
    vmm:
      loaded: true
      file: vmm.ko
      id: 5
      refs: 1
      path: /boot/kernel/vmm.ko
      compiled_in: false
      in_kld_list: true
kld_list:
  description: The entries of C(kld_list) in C(rc.conf), when the module read it.
  returned: when O(persistent=rc_conf), or O(state=absent) and O(persistent) is not V(none)
  type: list
  elements: str
  sample: [vmm, nmdm, if_bridge]
actions:
  description: The planned actions, in order (what would be run, in check mode).
  returned: in check mode, or with C(-vvv)
  type: list
  elements: dict
  sample:
    - verb: load
      description: load kernel module 'vmm'
      argv: [kldload, vmm]
commands:
  description: The commands the module ran on the host, with their exit status.
  returned: in check mode, or with C(-vvv)
  type: list
  elements: dict
  sample:
    - argv: [/sbin/kldstat, -v]
      rc: 0
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.module import run_manager
from ansible_collections.bsd.multiplicity.plugins.module_utils._kld.manager import KldManager, kld_argument_spec


def main():
    module = AnsibleModule(**kld_argument_spec())
    run_manager(module, KldManager)


if __name__ == '__main__':
    main()
