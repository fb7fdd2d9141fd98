#!/usr/bin/python
# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: topology
short_description: Converge a host's declared guests in one call
version_added: 0.2.0
description:
  - Takes the guests of a host as one data structure and converges them in one module call, in dependency
    order, reading the host once for all of them. A run that changes nothing runs the same few read-only
    commands whatever the number of guests (C(jls), and C(sysrc -e), C(zfs get) and C(rctl) when some guest
    uses autostart, a dataset or rctl rules).
  - The whole declaration is checked before anything is read or changed. Each guest's options are those of
    its kind's own module, checked against that module's argument spec; a bad option, a name declared twice
    (names are unique across kinds), a C(depend) on a name that is not declared, or a dependency
    cycle fails naming the guest and the option.
  - Guests that are to be stopped or removed are handled first, dependants before what they depend on; then
    the others, dependencies first. A guest that fails is reported by name with what it had already done;
    the guests that depend on it are skipped, and every independent guest is still converged.
  - A kind is managed when its option is given, an empty list included; the host is read only for managed kinds
    (a Linux dom0 is never asked for C(jls)). Guests of a managed kind that are on the host but not declared are
    listed in RV(undeclared); with
    O(prune=true) they are removed (stopped, their configuration and autostart entry removed). Their data is
    never purged.
  - Kernel modules, jails, chroots and Xen domUs are the kinds today. bhyve VMs and the Linux ABI layer join as they are built
    on the same engine.
author:
  - bsd.multiplicity contributors (@bsd-multiplicity)
extends_documentation_fragment:
  - bsd.multiplicity._attributes
  - bsd.multiplicity._attributes.PLATFORM_XEN_DOM0
  - bsd.multiplicity._attributes.ACTIONGROUP_MULTIPLICITY
attributes:
  check_mode:
    support: full
    details:
      - Nothing on the host is changed; RV(plan) groups the guests by what would happen to them and each guest's
        planned commands are in RV(guests).
  diff_mode:
    support: full
    details:
      - Returns every guest's configuration file and C(rc.conf) diffs and its structured diff, one after the other.
  idempotent:
    support: full
options:
  kernel_modules:
    description:
      - The kernel modules the host's guests need (C(vmm), C(if_bridge), C(if_epair), C(linux64)...). Each
        element is one module, with the options of M(bsd.multiplicity.kld) but a single O(bsd.multiplicity.kld#module:name)
        (a string). Guests that name it in C(depend) are converged after it is loaded.
      - Kernel modules are not listed in RV(undeclared) and never pruned; the kernel's own modules are not guests.
    type: list
    elements: dict
    version_added: 0.2.0
  jails:
    description:
      - The jails of the host. Each element takes the options of M(bsd.multiplicity.jail), with the same defaults
        (O(bsd.multiplicity.jail#module:state) defaults to V(started)).
      - C(depend) names guests (of any kind) that are converged before this one and removed after it; it is also
        written to the jail's configuration, as C(jail(8)) understands it.
      - The addresses of a running VNET jail are compared with its C(rc.conf), not read live (that would cost a
        command per jail); M(bsd.multiplicity.jail) reads them live.
    type: list
    elements: dict
  chroots:
    description:
      - The chroot environments of the host. Each element takes the options of M(bsd.multiplicity.chroot_env) and
        is named by its O(bsd.multiplicity.chroot_env#module:path) (for C(depend) and in RV(guests)).
      - C(depend) (a list of guest names) orders it after those guests; it is not an option of the chroot itself.
      - Chroots are not listed in RV(undeclared) and never pruned; a directory is a chroot because a declaration
        says so.
    type: list
    elements: dict
  xen_domus:
    description:
      - The Xen guests of a dom0. Each element takes the options of M(bsd.multiplicity.xen_domu); C(depend) (a list
        of guest names) orders it after those guests.
      - Read with one C(xl list) (and one C(xl list -l) when a domain runs) for all of them; domains that Xen or
        the configuration directory know but the declaration does not are listed in RV(undeclared).
    type: list
    elements: dict
  bhyve_vms:
    description:
      - The bhyve VMs of the host. Each element takes the options of M(bsd.multiplicity.bhyve_vm); C(depend) (a
        list of guest names) orders it after those guests (a VM after the jail that serves it, for example).
      - Read without a command (config files, C(/dev/vmm), each supervisor's pidfile lock); VMs with a config file
        in a declared VM's O(bsd.multiplicity.bhyve_vm#module:config_dir) or in vmm(4) that the declaration does
        not name are listed in RV(undeclared).
    type: list
    elements: dict
    version_added: 0.2.0
  linux_compat:
    description:
      - Linux userlands under FreeBSD's Linux ABI. Each element takes the options of
        M(bsd.multiplicity.compat_linux) and is named by its O(bsd.multiplicity.compat_linux#module:root); C(depend)
        orders it after those guests, and a jail rooted in a userland can depend on it.
      - Its kernel modules are converged once per call, also when another userland or O(kernel_modules) names them.
      - Userlands are not listed in RV(undeclared) and never pruned.
    type: list
    elements: dict
    version_added: 0.2.0
  defaults:
    description:
      - Options every guest of a kind starts from, by kind (V(kernel_modules), V(jails), V(chroots), V(xen_domus),
        V(bhyve_vms), V(linux_compat)), as the
        parameters at the top of C(jail.conf) apply to every jail. A guest's own options are merged over
        them, dictionaries key by key (recursively) and anything else replaced; set an option to V(null) in a
        guest to drop its default.
      - In their strings, C(${name}) is replaced by the guest's name (a chroot's path), as C(jail(8)) expands
        C(${name}) in C(jail.conf). Nothing else is expanded.
      - The guest's name cannot have a default. Defaults are checked with each guest, against its kind's
        options; an error names the guest.
    type: dict
    version_added: 0.2.0
  facts:
    description:
      - Which guests RV(guests) returns with their facts (what the kind's own module returns under its key,
        for example C(jail)).
      - V(changed) returns them for guests that were created, changed, removed or failed; an unchanged guest
        is its kind, name, state and empty C(actions) (read every guest's facts with
        M(bsd.multiplicity.jail_info)). With thousands of guests this keeps the result small.
      - V(all) returns them for every guest.
    type: str
    choices: [all, changed]
    default: changed
    version_added: 0.2.0
  prune:
    description: Remove the guests of the managed kinds that are on the host but not declared (never purged).
    type: bool
    default: false
notes:
  - The host view is read once per call. A change made on the host by something else during the call is seen
    by the shared files (each is re-read under a lock when it is written) but not by the reads done at the start.
seealso:
  - module: bsd.multiplicity.jail
  - module: bsd.multiplicity.jail_info
'''

EXAMPLES = r'''
- name: Converge every jail of the host in one call
  bsd.multiplicity.topology:
    jails:
      - name: db
        path: /usr/local/jails/db
        root: {type: zfs_clone, dataset: zroot/jails/db, template: zroot/jails/templates/14.3-RELEASE@base}
        vnet: {bridge: bridge0, addresses: [10.0.0.10/24], gateway: 10.0.0.1}
        autostart: true
      - name: web
        path: /usr/local/jails/web
        root: {type: zfs_clone, dataset: zroot/jails/web, template: zroot/jails/templates/14.3-RELEASE@base}
        vnet: {bridge: bridge0, addresses: [10.0.0.11/24], gateway: 10.0.0.1}
        depend: [db]
        autostart: true

- name: Jails that differ only in name and address, their common options declared once
  bsd.multiplicity.topology:
    defaults:
      jails:
        path: /usr/local/jails/${name}
        hostname: ${name}.example.org
        root:
          type: zfs_clone
          dataset: zroot/jails/${name}
          template: zroot/jails/templates/14.3-RELEASE@base
        vnet: {bridge: bridge0, gateway: 10.0.0.1}
        autostart: true
    jails:
      - {name: app1, vnet: {addresses: [10.0.0.21/24]}}
      - {name: app2, vnet: {addresses: [10.0.0.22/24]}}
      - {name: app3, vnet: {addresses: [10.0.0.23/24]}, autostart: false}

- name: Show what a changed declaration would do, guest by guest
  bsd.multiplicity.topology:
    jails: "{{ host_jails }}"
    prune: true
  check_mode: true
  diff: true
  register: preview

- name: Print the jails that would be created or removed
  ansible.builtin.debug:
    msg: "create {{ preview.plan.create }}, remove {{ preview.plan.remove }}"
'''

RETURN = r'''
guests:
  description: Every declared (and pruned) guest by name, with its kind, whether it changed or failed, its state
    before and after, its actions, and (see O(facts)) the result its own module returns (for a jail,
    RV(bsd.multiplicity.jail#module:jail) under C(jail)).
  returned: always
  type: dict
  sample:
    web:
      kind: jails
      name: web
      changed: true
      before: absent
      jail: {name: web, state: running, jid: 4, path: /usr/local/jails/web}
      actions: [{verb: create_dataset, description: clone ... mounted at /usr/local/jails/web}]
order:
  description: The declared guests in dependency order.
  returned: always
  type: list
  elements: str
  sample: [db, web]
plan:
  description: The guests grouped by what happened to them (would happen, in check mode).
  returned: always
  type: dict
  contains:
    create:
      description: Guests that did not exist.
      type: list
      elements: str
    change:
      description: Guests changed in place (configuration, live parameters, run state).
      type: list
      elements: str
    restart:
      description: Guests stopped and started again.
      type: list
      elements: str
    remove:
      description: Guests removed.
      type: list
      elements: str
    unchanged:
      description: Guests already as declared.
      type: list
      elements: str
    failed:
      description: Guests that failed or were skipped because a dependency failed.
      type: list
      elements: str
undeclared:
  description: Guests of the managed kinds on the host that the declaration does not name.
  returned: always
  type: list
  elements: str
commands:
  description: The commands the module ran on the host, with their exit status.
  returned: in check mode, or with C(-vvv)
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.module import run_manager
from ansible_collections.bsd.multiplicity.plugins.module_utils._topology import manager


def main():
    module = AnsibleModule(
        # One option per kind of guest (kernel_modules, jails, chroots, xen_domus, bhyve_vms): its list of guests.
        argument_spec=dict(
            dict((kind.key, dict(type='list', elements='dict')) for kind in manager.KINDS),
            defaults=dict(type='dict'),
            facts=dict(type='str', choices=['all', 'changed'], default='changed'),
            prune=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    run_manager(module, manager.TopologyManager)


if __name__ == '__main__':
    main()
