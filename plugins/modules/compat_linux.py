#!/usr/bin/python
# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: compat_linux
short_description: FreeBSD's Linux ABI with a Linux userland, loaded, mounted and kept across reboots
version_added: 0.1.0
description:
  - Enables linux(4), FreeBSD's Linux binary compatibility, and keeps a Linux userland at O(root)
    (C(/compat/linux) by default) with the filesystems Linux programs need mounted inside it.
  - The kernel modules are loaded and persisted as M(bsd.multiplicity.kld) does, and the userland is
    made and mounted as M(bsd.multiplicity.chroot_env) does (with the same marker file and the same
    fstab block); this module adds the C(compat.linux) sysctls, C(linux_enable) for C(rc.d/linux),
    userlands from a C(linux_base) package, and a check of the userland against the Linux version
    the kernel claims.
  - "The check: glibc records the oldest Linux kernel it runs on in C(libc.so.6); a userland whose C
    library needs a newer Linux than C(compat.linux.osrelease) says would stop every program with
    C(FATAL: kernel too old). That is found before anything changes (for a userland already there)
    and reported naming both versions, warned about, or fixed by raising C(compat.linux.osrelease)."
  - Settings that must survive a reboot go where FreeBSD reads them at boot -- C(kld_list) or
    C(loader.conf) for the modules, fstab for the mounts (mounted by C(rc.d/mountcritlocal)), and a
    block of C(/etc/sysctl.conf) that C(rc.d/sysctl_lastload) applies once the modules are loaded.
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
      - Check mode also checks that the modules exist, that an existing userland is there and that
        its C library accepts the osrelease in force.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  root:
    description:
      - Where the Linux userland is. Programs are run there through C(chroot) (or by path, with
        C(compat.linux.emul_path) naming it).
    type: path
    default: /compat/linux
  state:
    description:
      - V(present) loads the modules, makes the userland if it is missing, mounts its filesystems and
        sets the sysctls, now and for the next boot.
      - V(absent) unmounts the filesystems in reverse order, removes the module's fstab, sysctl.conf and
        rc.conf settings and unloads the modules, except while Linux filesystems are mounted outside
        O(root) (another userland or a Linux jail uses them). The userland stays unless O(purge=true).
    type: str
    choices: [present, absent]
    default: present
  modules:
    description:
      - The ABI modules. V(linux64) runs 64-bit Linux programs, V(linux) 32-bit ones.
    type: list
    elements: str
    default: [linux, linux64]
  enable:
    description:
      - How the ABI comes back at boot.
      - V(kld_list) lists the modules in C(kld_list) of C(rc.conf); V(loader_conf) sets
        C(<module>_load="YES") in O(loader_conf).
      - V(rc_linux) sets C(linux_enable="YES") for C(rc.d/linux), the Handbook's way, which loads the
        modules at boot (and mounts what is not mounted under C(compat.linux.emul_path)); the modules are
        loaded now with C(kldload).
      - V(none) loads the modules now only.
    type: str
    choices: [kld_list, loader_conf, rc_linux, none]
    default: kld_list
  userland:
    description: Where the Linux userland comes from when O(root) holds none yet; made once.
    type: dict
    default: {}
    suboptions:
      source:
        description:
          - V(existing) adopts the tree at O(root) as it is (it must exist).
          - V(debootstrap) runs C(debootstrap) (C(pkg install debootstrap)) or C(mmdebstrap) for a Debian
            or Ubuntu O(userland.suite); the linprocfs mount it needs is there before it runs.
          - V(package) installs a C(linux_base) package (O(userland.package)), whose userland is
            C(/compat/linux).
          - V(archives) extracts tar archives, V(copy) copies the tree at O(userland.path).
          - A userland that is there is never made again or replaced unless O(force=true); a different
            request is warned about.
        type: str
        choices: [existing, debootstrap, package, archives, copy]
        default: existing
      suite:
        description: The Debian or Ubuntu suite (V(bookworm), V(jammy)), with O(userland.source=debootstrap).
        type: str
      mirror:
        description: The mirror debootstrap fetches from.
        type: str
      variant:
        description: The debootstrap variant.
        type: str
        default: minbase
      packages:
        description: More packages to include in the bootstrap.
        type: list
        elements: str
        default: []
      options:
        description: More options for debootstrap, one per item.
        type: list
        elements: str
        default: []
      package:
        description: The C(linux_base) package with O(userland.source=package) (V(linux_base-rl9)).
        type: str
      archives:
        description: Local paths or URLs of tar archives with O(userland.source=archives).
        type: list
        elements: str
      manifest:
        description: A release MANIFEST with the archives' SHA-256 sums.
        type: str
      checksums:
        description: The archives' SHA-256 sums by file name.
        type: dict
      path:
        description: The tree to copy with O(userland.source=copy).
        type: path
  osrelease:
    description:
      - The Linux version the kernel claims (C(compat.linux.osrelease), what C(uname -r) prints), set now
        and, with O(persist), in O(sysctl_conf). Unset, it is left as the kernel has it.
      - Three numbers first (V(5.15.0)), then what a distribution kernel adds.
    type: str
  emul_path:
    description:
      - Make O(root) C(compat.linux.emul_path), where the kernel looks first for the files that Linux
        programs open by absolute path. The host has one; only one userland can be it.
    type: bool
    default: true
  abi_check:
    description:
      - What to do when the userland's C library needs a newer Linux than the osrelease in force.
      - V(error) fails, naming both versions, before anything is changed; V(warn) warns; V(raise) sets
        C(compat.linux.osrelease) to the oldest version the userland accepts.
      - A userland that this run makes is checked once it is made.
    type: str
    choices: [error, warn, raise]
    default: error
  mounts:
    description:
      - Mount linprocfs, linsysfs, devfs, fdescfs (with C(linrdlnk)) and a tmpfs (mode 1777) on C(proc),
        C(sys), C(dev), C(dev/fd) and C(dev/shm) under O(root), as C(rc.d/linux) does.
    type: bool
    default: true
  persist:
    description:
      - Keep everything for the next boot (the modules as O(enable) says, the mounts in O(fstab), the
        sysctls in O(sysctl_conf)). V(false) changes the running system only.
    type: bool
    default: true
  fstab:
    description: The fstab that keeps the mounts, in a block the module owns.
    type: path
    default: /etc/fstab
  sysctl_conf:
    description: The sysctl.conf that keeps the sysctls, in a block the module owns.
    type: path
    default: /etc/sysctl.conf
  loader_conf:
    description: The loader.conf of O(enable=loader_conf).
    type: path
    default: /boot/loader.conf
  jail:
    description:
      - Run the userland as a jail (the Handbook's Linux jail) -- the options of M(bsd.multiplicity.jail), with
        O(bsd.multiplicity.jail#module:name) required; its path, state and purge come from this module.
      - "What a Linux jail needs is added: its filesystems are the userland's mounts (with a tmpfs on C(run)
        too, and devfs with the jail's O(bsd.multiplicity.jail#module:devfs_ruleset), default 4), mounted by
        the host and kept in fstab (so C(mount_devfs) is off); C(exec.start) and C(exec.stop) are C(/bin/true)
        (a Linux userland has no C(/etc/rc)) and the jail persists without a process; C(allow.sysvipc)."
      - Programs run in it with C(jexec NAME /bin/bash). An address inherited from the host (C(ip4), C(ip6)
        with C(interface)) works as for any jail. A Linux userland reads no C(rc.conf), so a VNET jail's
        network is configured from the host (O(bsd.multiplicity.jail#module:vnet.configure=host), which
        is the default here and the only choice), with C(ifconfig -j) and C(route -j) in C(exec.poststart).
    type: dict
  force:
    description:
      - When the userland was made from another O(userland) request, make it again as now requested (its
        mounts are unmounted, the tree emptied without crossing a mount, the bootstrap run, the mounts made
        again). What was in it is lost.
    type: bool
    default: false
  purge:
    description:
      - With O(state=absent), also remove the userland at O(root), after everything below it is
        unmounted; never through a mount. Data is lost.
      - With O(userland.source=package), the package is deleted too (C(pkg delete -y)), last.
    type: bool
    default: false
notes:
  - The ABI is the kernel's; nothing here runs the userland's programs but debootstrap's second stage.
seealso:
  - module: bsd.multiplicity.kld
  - module: bsd.multiplicity.chroot_env
  - name: linux(4)
    description: Linux ABI support.
    link: https://man.freebsd.org/cgi/man.cgi?query=linux&sektion=4
  - name: FreeBSD Handbook, Linux Binary Compatibility
    description: The Handbook's setup, which this module converges.
    link: https://docs.freebsd.org/en/books/handbook/linuxemu/
'''

EXAMPLES = r'''
- name: Linux compatibility with a Debian 12 userland in /compat/debian
  bsd.multiplicity.compat_linux:
    root: /compat/debian
    userland:
      source: debootstrap
      suite: bookworm

- name: The Handbook's way, with Rocky Linux 9 from packages
  bsd.multiplicity.compat_linux:
    enable: rc_linux
    userland:
      source: package
      package: linux_base-rl9

- name: An old userland on a kernel that claims an older Linux; raise osrelease if it must be
  bsd.multiplicity.compat_linux:
    root: /compat/ubuntu
    abi_check: raise

- name: Run a Linux program in it
  ansible.builtin.command:
    argv: [chroot, /compat/debian, /bin/uname, -r]
  changed_when: false

- name: A Linux jail with an address on lo0, then bash in it
  bsd.multiplicity.compat_linux:
    root: /jails/debian
    emul_path: false
    userland:
      source: debootstrap
      suite: bookworm
    jail:
      name: debian
      hostname: debian.example.org
      interface: lo0
      ip4: [127.0.1.10]
# jexec debian /bin/bash

- name: A Linux jail with its own network stack on bridge0, configured from the host
  bsd.multiplicity.compat_linux:
    root: /jails/ubuntu
    emul_path: false
    userland:
      source: debootstrap
      suite: jammy
      mirror: http://archive.ubuntu.com/ubuntu
    jail:
      name: ubuntu
      vnet:
        bridge: bridge0
        addresses: [192.0.2.21/24]
        gateway: 192.0.2.1

- name: Remove it, keeping the userland
  bsd.multiplicity.compat_linux:
    root: /compat/debian
    state: absent
'''

RETURN = r'''
compat_linux:
  description: The Linux ABI and the userland after the run (as check mode expects them).
  returned: always
  type: dict
  contains:
    root:
      description: The userland's root.
      type: str
    state:
      description: V(present) or V(absent).
      type: str
    modules:
      description: Whether each ABI module is loaded.
      type: dict
    osrelease:
      description: C(compat.linux.osrelease) (null while the ABI is not loaded).
      type: str
    emul_path:
      description: C(compat.linux.emul_path) (null while the ABI is not loaded).
      type: str
    sysctl_conf:
      description: The settings of the module's block of O(sysctl_conf).
      type: dict
    mounts:
      description: The mount points under O(root), in mount order.
      type: list
      elements: str
    jail:
      description: With O(jail), what M(bsd.multiplicity.jail) returns of the jail.
      type: dict
      returned: with O(jail)
    userland:
      description:
        - The userland, read from its own files (none of its programs is run) -- its os-release
          C(ID), C(VERSION_ID) and C(PRETTY_NAME), its C library, glibc's version and the oldest
          Linux it accepts, and the bootstrap its marker records.
      type: dict
  sample:
    root: /compat/debian
    state: present
    modules: {linux: true, linux64: true}
    osrelease: 5.15.0
    emul_path: /compat/debian
    sysctl_conf: {compat.linux.emul_path: /compat/debian}
    mounts: [/compat/debian/proc, /compat/debian/sys, /compat/debian/dev, /compat/debian/dev/fd, /compat/debian/dev/shm]
    userland:
      exists: true
      distribution: debian
      version: '12'
      pretty_name: Debian GNU/Linux 12 (bookworm)
      libc: /usr/lib/x86_64-linux-gnu/libc.so.6
      glibc: '2.36'
      min_kernel: 3.2.0
      bootstrap: {request: {method: debootstrap, suite: bookworm, variant: minbase, packages: [], mirror: null}}
actions:
  description: The planned actions, in order (what would be run, in check mode).
  returned: in check mode, or with C(-vvv)
  type: list
  elements: dict
commands:
  description: The commands the module ran on the host, with their exit status.
  returned: in check mode, or with C(-vvv)
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.module import run_manager
from ansible_collections.bsd.multiplicity.plugins.module_utils._linux.manager import (
    CompatLinuxManager, compat_linux_argument_spec,
)


def main():
    module = AnsibleModule(**compat_linux_argument_spec())
    run_manager(module, CompatLinuxManager)


if __name__ == '__main__':
    main()
