#!/usr/bin/python
# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: xen_domu_info
short_description: Xen guest domains known to xl and their config files
version_added: 0.1.0
description:
  - Lists every domain C(xl list) shows (except Domain-0) and every guest config file in O(config_dir),
    joined by domain name, with the run state, the file's settings as xl reads them and the running
    domain's configuration from C(xl list -l).
  - Runs two commands whatever the number of domains.
author:
  - bsd.multiplicity contributors (@bsd-multiplicity)
extends_documentation_fragment:
  - bsd.multiplicity._attributes
  - bsd.multiplicity._attributes.INFO_MODULE
  - bsd.multiplicity._attributes.PLATFORM_XEN_DOM0
  - bsd.multiplicity._attributes.ACTIONGROUP_MULTIPLICITY
options:
  name:
    description: Only this domain.
    type: str
  config_dir:
    description:
      - Directory of the config files. Default V(/etc/xen) on Linux, V(/usr/local/etc/xen) on FreeBSD,
        V(/usr/pkg/etc/xen) on NetBSD. Files that are not guest definitions (C(xl.conf), C(*.sxp)...) and
        files without a C(name) setting are skipped.
    type: path
seealso:
  - module: bsd.multiplicity.xen_domu
'''

EXAMPLES = r'''
- name: Every domain of the dom0
  bsd.multiplicity.xen_domu_info:
  register: xen

- name: Names of the domains configured but not running
  ansible.builtin.debug:
    msg: "{{ xen.domains | selectattr('state', 'eq', 'stopped') | map(attribute='name') | list }}"
'''

RETURN = r'''
domains:
  description: One entry per domain, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Domain name.
      type: str
    domid:
      description: Domain id while it exists, else null.
      type: int
    state:
      description: V(running), V(paused), V(shutdown), V(crashed), V(dying), or V(stopped) when only a file exists.
      type: str
    memory:
      description: Current memory in MiB (from C(xl list)), null when not running.
      type: int
    vcpus:
      description: Online vCPUs, null when not running.
      type: int
    config_file:
      description: The config file defining this name, null when there is none.
      type: str
    config:
      description: The file's settings as xl reads them.
      type: dict
    live:
      description: The running domain's type, memory, maxmem, vcpus, maxvcpus, kernel, ramdisk, cmdline, disks and vifs.
      type: dict
config_dir:
  description: The directory that was read.
  returned: always
  type: str
config_errors:
  description: Files of the directory that do not parse, with the error and its line.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.module import run_manager
from ansible_collections.bsd.multiplicity.plugins.module_utils._xen.info import (
    XenDomuInfo, xen_domu_info_argument_spec,
)


def main():
    module = AnsibleModule(**xen_domu_info_argument_spec())
    run_manager(module, XenDomuInfo)


if __name__ == '__main__':
    main()
