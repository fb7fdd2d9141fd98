#!/usr/bin/python
# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: jail
short_description: Manage a FreeBSD jail with jail(8), jail.conf and rc.conf
version_added: 0.1.0
description:
  - Configures one jail in C(jail.conf) format, provides its root filesystem, starts and stops it with
    C(jail(8)), applies what can change in a running jail with C(jail -m), and lists it in C(jail_list) so
    that C(rc.d/jail) starts it at boot. No jail manager (iocage, bastille, ezjail) is needed.
  - The configuration goes to C(/etc/jail.conf.d/<name>.conf) unless the jail is already defined in one of the
    files C(rc.d/jail) reads for it (C(/etc/jail.<name>.conf), C(/etc/jail.conf.d/<name>.conf),
    C(/etc/jail.conf)), or O(config_file) names a file.
  - A new block gets the options given plus FreeBSD's usual defaults (C(exec.start) of C(/etc/rc), C(exec.stop),
    C(exec.clean), C(mount.devfs)) and a comment naming the jail above it. An existing block, whether this module
    wrote it or a person did, is edited in place; only the parameters of the options given are replaced, an
    option the task omits keeps its current value, and every other line, comment and variable is kept. To drop
    a parameter, set it to V(null) in O(parameters).
  - Shared files (the config file, C(/etc/rctl.conf)) are changed under a lock from a fresh read at apply time,
    and C(jail_list) with C(sysrc jail_list+=)/C(-=), so two runs converging different jails at once lose nothing.
  - Files inside the jail's root (its C(rc.conf), C(/bin/freebsd-version)) belong to the jail's root user, so they
    are read and written without following symlinks, and FIFOs or devices in their place are refused.
  - Everything else in a shared file (comments, other jails, wildcard blocks) is kept byte for byte.
  - A run that changes nothing reads the config files and the jail's C(rc.conf) directly and runs at most five
    commands (C(jls), C(zfs get) with a root dataset, C(sysrc -e) when O(autostart) is set, C(rctl) when
    O(rctl) is set, C(ifconfig -j) for the addresses of a running VNET jail with O(vnet.addresses)).
  - What the run would fail on (a missing O(vnet.bridge), template snapshot, release archive, thin base or root
    directory) fails before the first change, in check mode too.
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
      - Nothing on the host is changed; the planned commands are returned in RV(actions).
  diff_mode:
    support: full
    details:
      - Shows the config file and the jail's C(rc.conf) as text diffs, and the run state and live parameter
        changes as a structured diff.
  idempotent:
    support: full
options:
  name:
    description:
      - The jail's name (letters, digits, V(_) and V(-)). Numeric names are refused because C(jail(8)) reads them as jids.
    type: str
    required: true
  state:
    description:
      - V(present) configures the jail and leaves its run state alone.
      - V(started) also starts it; V(stopped) stops it; V(restarted) stops and starts it.
      - V(absent) stops it, removes its configuration and removes it from C(jail_list). Its root filesystem
        (directory or dataset) is kept unless O(purge=true).
    type: str
    choices: [present, started, stopped, restarted, absent]
    default: started
  config_file:
    description:
      - The file that holds the jail's block. By default the file that already defines the jail, else
        C(/etc/jail.conf.d/<name>.conf) (one file per jail, FreeBSD 14 and later).
      - Give V(/etc/jail.conf) to keep all jails in one shared file.
    type: path
  path:
    description:
      - The jail's root directory (C(path) parameter). Required unless the jail is already configured or O(state=absent).
      - A new path of an existing jail is another root - the jail is made again there (its new root created as
        O(root) says) when it is restarted (see O(restart_on_change)); its old root is left as it is, never purged,
        also with O(purge=true).
    type: path
  hostname:
    description: C(host.hostname) of the jail. Can be changed in a running jail.
    type: str
  ip4:
    description:
      - IPv4 addresses of a jail that shares the host's network stack (C(ip4.addr)), as V(ADDR), V(ADDR/PREFIX) or
        V(IFACE|ADDR/PREFIX). Can be changed in a running jail. Not for VNET jails (see O(vnet.addresses)).
    type: list
    elements: str
  ip6:
    description: IPv6 addresses (C(ip6.addr)), like O(ip4).
    type: list
    elements: str
  interface:
    description: The host interface that O(ip4) and O(ip6) addresses are added to as aliases (C(interface) parameter).
    type: str
  vnet:
    description:
      - Give the jail its own network stack (C(vnet)) connected by an C(epair(4)) to a bridge.
      - The epair is created by an C(exec.prestart) hook and destroyed by an C(exec.poststop) hook written into
        the jail's block, so that C(rc.d/jail) at boot does the same as this module. Its jail side is passed
        with C(vnet.interface); its address and default route are written to the jail's own C(/etc/rc.conf)
        (C(ifconfig_<if>), C(defaultrouter)), where the jail's C(rc.d/netif) applies them at start.
    type: dict
    suboptions:
      bridge:
        description: Bridge that the host side of the epair joins (C(ifconfig BRIDGE addm ...)). It must exist when the jail starts.
        type: str
      epair:
        description:
          - Base name of the epair; the host side is V(<epair>a), the jail side V(<epair>b).
          - Defaults to V(ej_<name>) (with V(-) as V(_)); at most 14 characters.
        type: str
      addresses:
        description:
          - Addresses of the jail side, V(ADDR/PREFIX), IPv4 or IPv6. Written to the jail's C(rc.conf); on a
            running jail they are also changed in place with C(ifconfig -j).
        type: list
        elements: str
      gateway:
        description: IPv4 default route of the jail (C(defaultrouter)). A change takes effect at the next start.
        type: str
      gateway6:
        description: IPv6 default route of the jail (C(ipv6_defaultrouter)).
        type: str
      configure:
        description:
          - Who configures the jail's network at its start.
          - V(rc) (the default) writes the addresses and default routes to the jail's own C(/etc/rc.conf),
            where its C(rc.d/netif) and C(rc.d/routing) apply them; for a jail that runs C(/etc/rc).
          - V(host) writes nothing inside the jail. An C(exec.poststart) command of the jail's block runs in
            the host after the start, with C(ifconfig -j NAME lo0 inet 127.0.0.1/8 up), the addresses with
            C(ifconfig -j NAME <epair>b inet ADDR alias), and C(route -j NAME add default GW). For a jail
            whose userland runs no FreeBSD rc, such as a Linux jail (M(bsd.multiplicity.compat_linux)
            chooses it). C(route -j) needs FreeBSD 14 or later.
          - Addresses are changed in a running jail in place either way; a new gateway, or a change of
            O(vnet.configure), takes effect at the next start.
        type: str
        choices: [rc, host]
  devfs_ruleset:
    description:
      - The devfs ruleset of the jail's C(/dev). V(4) (C(devfsrules_jail)) is used by C(jail(8)) when unset;
        V(5) (C(devfsrules_jail_vnet)) is the usual choice for VNET jails.
    type: int
  securelevel:
    description: The jail's securelevel.
    type: int
    choices: [-1, 0, 1, 2, 3]
  enforce_statfs:
    description: Which mount points are visible in the jail.
    type: int
    choices: [0, 1, 2]
  children_max:
    description: How many child jails this jail may create (C(children.max)).
    type: int
  allow:
    description:
      - C(allow.*) flags, without the prefix; V(raw_sockets) sets C(allow.raw_sockets), V(noraw_sockets) clears it.
    type: list
    elements: str
  persist:
    description: Keep the jail alive without processes (C(persist)).
    type: bool
  mount_devfs:
    description: Mount devfs on the jail's C(/dev) (C(mount.devfs)). Defaults to V(true) for a jail the module writes.
    type: bool
  mount_fstab:
    description: An fstab(5) file of mounts for the jail (C(mount.fstab)).
    type: path
  mounts:
    description: Mounts made when the jail starts (C(mount) entries), such as read-only nullfs shares.
    type: list
    elements: dict
    suboptions:
      source:
        description: What to mount (a host directory for nullfs).
        type: path
        required: true
      target:
        description: Where, as an absolute path inside the jail.
        type: str
        required: true
      type:
        description: File system type.
        type: str
        default: nullfs
      options:
        description: Mount options.
        type: str
        default: ro
  exec:
    description:
      - The jail's C(exec.*) hooks, each a list of commands run by C(jail(8)) through C(/bin/sh -c).
      - When neither O(exec.start) nor O(exec.stop) is given, a jail the module writes gets
        C(exec.start = "/bin/sh /etc/rc") and C(exec.stop = "/bin/sh /etc/rc.shutdown jail").
    type: dict
    suboptions:
      prepare:
        description: C(exec.prepare), on the host before anything else.
        type: list
        elements: str
      prestart:
        description: C(exec.prestart), on the host before the jail is created.
        type: list
        elements: str
      created:
        description: C(exec.created), on the host once the jail exists.
        type: list
        elements: str
      start:
        description: C(exec.start), inside the jail.
        type: list
        elements: str
      poststart:
        description: C(exec.poststart), on the host after start.
        type: list
        elements: str
      prestop:
        description: C(exec.prestop), on the host before stop.
        type: list
        elements: str
      stop:
        description: C(exec.stop), inside the jail.
        type: list
        elements: str
      poststop:
        description: C(exec.poststop), on the host after the jail is removed.
        type: list
        elements: str
      release:
        description: C(exec.release), on the host at the very end.
        type: list
        elements: str
      clean:
        description: Run commands in a clean environment (C(exec.clean)). Defaults to V(true) for a jail the module writes.
        type: bool
      jail_user:
        description: User that runs commands inside the jail (C(exec.jail_user)).
        type: str
      system_user:
        description: User that runs commands on the host (C(exec.system_user)).
        type: str
      consolelog:
        description: File that receives the output of the commands (C(exec.consolelog)).
        type: path
      timeout:
        description: Seconds to wait for each command (C(exec.timeout)).
        type: int
  depend:
    description:
      - Jails this jail depends on (C(depend)). C(jail(8)) starts them first and stops them last when they are
        configured in the same file. The module starts such a jail with C(jail -f - -c NAME) from a configuration
        on standard input that includes the files of the jails it depends on, directly or not (C(jail(8)) refuses
        a C(depend) on a jail its configuration does not define, even a running one), so those not running are
        started first.
      - At boot, C(rc.d/jail) starts each jail of C(jail_list) from its own file, where a jail of another file is
        undefined to C(jail(8)); to have such jails start at boot, configure them and the jails they depend on in
        C(/etc/jail.conf) (O(config_file=/etc/jail.conf)).
    type: list
    elements: str
  parameters:
    description:
      - Any other C(jail(8)) parameter, by its name (V(sysvshm), V(allow.mount.zfs), V(osrelease)...).
        V(true) writes the bare name, V(false) the C(no) form, a list a comma list; V(null) removes the
        parameter from the block.
    type: dict
  root:
    description:
      - Where the jail's root filesystem comes from. Nothing is created over existing data.
    type: dict
    suboptions:
      type:
        description:
          - V(directory) uses O(path) as it is (it must exist).
          - V(zfs_clone) clones O(root.template) into O(root.dataset), mounted at O(path) (thin and instant).
          - V(release) extracts O(root.archives) into O(path) (in O(root.dataset) if given) when O(path) is empty.
          - V(thin) shares the release tree O(root.base) read-only between jails, mounted with nullfs at
            C(/basejail) inside the jail (a C(mount) entry of the jail's block), C(bin), C(sbin), C(lib),
            C(libexec), C(boot), C(rescue) and most of C(/usr) are links into it, and the writable parts
            (C(etc), C(var), C(root), C(tmp), C(usr/local), C(usr/home)...) are copied once into O(path)
            (in O(root.dataset) if given) with C(cp -Rp). Updating the base updates every thin jail on it.
          - V(image) runs the UFS file system of a disk image (O(root.image), a bhyve VM's disk for example)
            as the root. C(exec.prepare) attaches it with C(mdconfig -a -t vnode) and mounts it at O(path) before
            jail(8) mounts anything there (refusing a mount point in the image that is a symlink); C(exec.release)
            unmounts it and detaches the md(4) disk after the jail's own mounts are gone. The jail is not
            started while a bhyve VM that has the image as a disk runs, and M(bsd.multiplicity.bhyve_vm) does not
            start such a VM while the image is attached. O(purge) never removes the image.
        type: str
        choices: [directory, zfs_clone, release, thin, image]
        default: directory
      image:
        description: The disk image (a file, or a zvol C(/dev/zvol/...)) with O(root.type=image).
        type: str
      partition:
        description:
          - The partition of the image that holds the UFS file system, as md(4) names it (V(p2) for a GPT
            partition, V(s1a) for an MBR slice's); the whole disk when not set.
        type: str
      dataset:
        description: ZFS dataset of the jail, created with C(mountpoint) set to O(path).
        type: str
      template:
        description: Snapshot to clone, V(pool/dataset@snapshot), with O(root.type=zfs_clone).
        type: str
      base:
        description:
          - The release tree thin jails share, with O(root.type=thin); for example the mountpoint of a template
            the P(bsd.multiplicity.jail_host#role) role extracted. It must not be inside O(path).
        type: path
      archives:
        description:
          - Release archives (V(base.txz), V(lib32.txz)...), absolute paths or URLs, extracted in order.
          - Defaults to V(/usr/freebsd-dist/base.txz) with O(root.type=release).
        type: list
        elements: str
      manifest:
        description:
          - The release's C(MANIFEST) (path or URL) whose SHA-256 sums the archives must match. Defaults to the
            C(MANIFEST) beside the first archive; required when archives are URLs.
        type: str
      properties:
        description: ZFS properties of O(root.dataset) (V(quota), V(reservation), V(compression)...), set at
          creation and kept equal afterwards with C(zfs set).
        type: dict
  rctl:
    description:
      - The jail's resource limits, as the complete set of rctl(8) rules with the subject C(jail:NAME) left out,
        for example V(memoryuse:deny=2g), V(pcpu:deny=50) or V(maxproc:log=200/process). Amounts take the
        k/m/g/t suffixes of rctl(8) (powers of 1024); a rule may also be written with its C(jail:NAME:) prefix.
      - The live rules (C(rctl -a)/C(rctl -r)) and the jail's lines in C(/etc/rctl.conf), which rc.d/rctl loads
        at boot, are made equal to this list; rules of other subjects and every other line of the file are kept.
        Rules apply whether the jail runs or not, as the kernel keys them by jail name. A rule whose amount
        changes is removed and added again.
      - V([]) removes all of the jail's rules. Unset leaves them alone, except that O(state=absent) removes the
        rules C(/etc/rctl.conf) holds for the jail.
      - Live rules need a kernel booted with C(kern.racct.enable=1) (see the P(bsd.multiplicity.jail_host#role)
        role's C(jail_host_racct)). On a kernel booted without it the rules are written to C(/etc/rctl.conf)
        only, the rest of the jail is converged, and a warning says that they wait for such a boot.
    type: list
    elements: str
  autostart:
    description:
      - V(true) sets C(jail_enable=YES) and appends the jail to C(jail_list) in C(rc.conf); V(false) removes it
        from C(jail_list). Unset leaves both alone.
      - When C(jail_list) is empty (which means every jail of C(/etc/jail.conf)), those jails are written into it
        first, so that they keep starting at boot.
    type: bool
  restart_on_change:
    description:
      - Restart a running jail when a parameter that C(jail -m) cannot change was changed (path, vnet, mounts,
        hooks...). By default the change is written, the jail keeps running and RV(jail.pending_restart) lists it.
    type: bool
    default: false
  purge:
    description:
      - With O(state=absent), also destroy the jail's dataset (O(root.dataset), recursively) or remove its
        O(path) directory. Data is lost.
    type: bool
    default: false
notes:
  - Values are written so that C(jail(8)) reads back exactly what was given; quotes, C($), C(;), braces and
    newlines cannot inject statements.
  - Run state comes from C(jls -n -j NAME --libxo json all).
seealso:
  - name: jail(8)
    description: Manage system jails.
    link: https://man.freebsd.org/cgi/man.cgi?query=jail&sektion=8
  - name: jail.conf(5)
    description: Configuration file for jail(8).
    link: https://man.freebsd.org/cgi/man.cgi?query=jail.conf&sektion=5
  - module: bsd.multiplicity.jail_info
'''

EXAMPLES = r'''
- name: A VNET jail cloned from a template snapshot, on bridge0
  bsd.multiplicity.jail:
    name: web
    path: /usr/local/jails/web
    hostname: web.example.org
    root:
      type: zfs_clone
      template: zroot/jails/templates/14.3-RELEASE@base
      dataset: zroot/jails/web
      properties:
        quota: 10G
        compression: lz4
    vnet:
      bridge: bridge0
      addresses: [192.0.2.11/24]
      gateway: 192.0.2.1
    devfs_ruleset: 5
    autostart: true
    rctl:
      - memoryuse:deny=2g
      - pcpu:deny=50
      - maxproc:deny=200

- name: A thin jail on the read-only base of the 14.3 template
  bsd.multiplicity.jail:
    name: cache
    path: /usr/local/jails/cache
    hostname: cache.example.org
    root:
      type: thin
      base: /usr/local/jails/templates/14.3-RELEASE
    ip4: ["em0|192.0.2.30/24"]

- name: A classic jail sharing the host's stack, from release archives
  bsd.multiplicity.jail:
    name: build
    path: /usr/local/jails/build
    root:
      type: release
      archives: [/usr/freebsd-dist/base.txz]
    ip4: ["em0|192.0.2.20/24"]
    allow: [raw_sockets]
    parameters:
      sysvshm: new

- name: Change a setting of a jail defined by hand in /etc/jail.conf (other lines kept)
  bsd.multiplicity.jail:
    name: legacy
    state: present
    hostname: legacy.example.org

- name: Remove a jail, keeping its dataset
  bsd.multiplicity.jail:
    name: old
    state: absent
'''

RETURN = r'''
jail:
  description: The jail after the run (in check mode, as planned).
  returned: always
  type: dict
  contains:
    name:
      description: The jail's name.
      type: str
    state:
      description: V(running), V(stopped) (configured, not running) or V(absent).
      type: str
    jid:
      description: The jail id, when running.
      type: int
    path:
      description: The jail's root directory.
      type: str
    config_file:
      description: The file that holds the jail's block.
      type: str
    parameters:
      description: The jail's effective parameters as C(jail(8)) resolves them (wildcards and variables applied).
      type: dict
    ip4:
      description: IPv4 addresses the running jail has (shared-stack jails).
      type: list
      elements: str
    ip6:
      description: IPv6 addresses the running jail has (shared-stack jails).
      type: list
      elements: str
    vnet_interface:
      description: The jail side of the epair, for VNET jails.
      type: str
    vnet_addresses:
      description: Addresses configured for the epair in the jail's rc.conf, by family.
      type: dict
    userland_version:
      description: The userland release in the jail's root (what C(freebsd-version -u) prints there).
      type: str
    dataset:
      description: The jail's dataset, when it has one.
      type: str
    pending_restart:
      description: Parameters changed in the configuration that the running jail only picks up when restarted.
      type: list
      elements: str
    rctl:
      description: The jail's rctl rules as the kernel prints them, when O(rctl) is given.
      type: list
      elements: str
  sample:
    name: web
    state: running
    jid: 3
    path: /usr/local/jails/web
    config_file: /etc/jail.conf.d/web.conf
    userland_version: 14.3-RELEASE
    pending_restart: []
    rctl: ["jail:web:memoryuse:deny=2147483648"]
actions:
  description: The planned actions, in order (what would be run, in check mode).
  returned: in check mode, or with C(-vvv)
  type: list
  elements: dict
  sample:
    - verb: start
      description: start jail web
      argv: [jail, -f, /etc/jail.conf.d/web.conf, -c, web]
commands:
  description: The commands the module ran on the host, with their exit status.
  returned: in check mode, or with C(-vvv)
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.module import run_manager
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail.manager import JailManager, jail_argument_spec


def main():
    module = AnsibleModule(**jail_argument_spec())
    run_manager(module, JailManager)


if __name__ == '__main__':
    main()
