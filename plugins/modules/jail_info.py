#!/usr/bin/python
# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: jail_info
short_description: List the FreeBSD jails of a host, configured and running
version_added: 0.1.0
description:
  - Reports every jail defined in the files C(rc.d/jail) reads (C(/etc/jail.conf) with its C(.include)s,
    C(/etc/jail.conf.d/*.conf), C(/etc/jail.*.conf)) and every running jail, with its configuration resolved as
    C(jail(8)) resolves it (wildcard blocks, variables) and its run state.
  - Reads the files directly and runs one command, C(jls -n --libxo json all), however many jails there are.
author:
  - bsd.multiplicity contributors (@bsd-multiplicity)
extends_documentation_fragment:
  - bsd.multiplicity._attributes
  - bsd.multiplicity._attributes.PLATFORM_FREEBSD
  - bsd.multiplicity._attributes.ACTIONGROUP_MULTIPLICITY
  - bsd.multiplicity._attributes.INFO_MODULE
options:
  name:
    description: Only report these jails. All jails by default.
    type: list
    elements: str
notes:
  - A file that does not parse is reported in RV(config_errors) and the other files are still read.
seealso:
  - module: bsd.multiplicity.jail
  - name: jls(8)
    description: List jails.
    link: https://man.freebsd.org/cgi/man.cgi?query=jls&sektion=8
'''

EXAMPLES = r'''
- name: Read every jail
  bsd.multiplicity.jail_info:
  register: jails

- name: Show which jails are configured but not running
  ansible.builtin.debug:
    msg: "{{ jails.jails | dict2items | selectattr('value.state', 'eq', 'stopped') | map(attribute='key') }}"
'''

RETURN = r'''
jails:
  description: The jails, keyed by name, in configuration order and then running-only jails by name.
  returned: always
  type: dict
  sample:
    web:
      name: web
      state: running
      configured: true
      config_file: /etc/jail.conf.d/web.conf
      jid: 3
      path: /usr/local/jails/web
      hostname: web.example.org
      ip4: []
      ip6: []
      vnet: true
      parameters: {path: /usr/local/jails/web, vnet: true, vnet.interface: [ej_webb]}
      runtime: {jid: 3, vnet: new, securelevel: '-1'}
      userland_version: 14.3-RELEASE
config_errors:
  description: Files or jails whose configuration could not be read, with the parser's message (file and line).
  returned: always
  type: list
  elements: dict
  sample:
    - file: /etc/jail.conf
      msg: '/etc/jail.conf line 4: }: syntax error'
commands:
  description: The commands the module ran on the host, with their exit status.
  returned: in check mode, or with C(-vvv)
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.module import run_manager
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail.info import JailInfo, jail_info_argument_spec


def main():
    module = AnsibleModule(**jail_info_argument_spec())
    run_manager(module, JailInfo)


if __name__ == '__main__':
    main()
