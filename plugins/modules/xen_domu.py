#!/usr/bin/python
# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: xen_domu
short_description: Xen guest domains (domUs) as xl.cfg files, run with the xl toolstack
version_added: 0.1.0
description:
  - Declares a Xen guest as an C(xl.cfg) file and runs it with C(xl) on a dom0 running NetBSD, FreeBSD or
    Linux. Creates the disk images it is asked to (sparse files or sparse ZFS volumes), links it for
    start at boot, and starts, stops or restarts the domain.
  - The file is edited in place. The settings this module declares are replaced where they are written;
    every other line, comment and setting in the file is kept. A comment line at the top lists the settings
    the module manages, so that a setting it wrote earlier and no longer declares is removed.
  - Every value is written as an xl.cfg string or number with Xen's quoting rules (see
    R(the xl.cfg engine,ansible_collections.bsd.multiplicity.docsite.guide_xen)), so no value can add a setting.
  - A running domain is compared with its file (type, memory, maxmem, vcpus, maxvcpus, kernel, ramdisk,
    cmdline, bootloader, disks and vifs, from C(xl list -l)); differences are reported in
    RV(domain.pending_changes) and applied by a restart only when O(restart_on_change=true).
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
      - Only C(xl list) is run; the result predicts the domain's state.
  diff_mode:
    support: full
    details:
      - Shows the config file as a text diff and the run state before and after.
  idempotent:
    support: full
options:
  name:
    description: The domain name (C(name) in the file); letters, digits, C(_), C(.) and C(-).
    type: str
    required: true
  state:
    description:
      - V(present) writes the config file (and disks, autostart) and leaves the run state alone.
      - V(started) also runs C(xl create) when the domain is not running.
      - V(stopped) asks the guest to shut down (C(xl shutdown), with C(-F) for HVM guests) and waits up to
        O(stop_timeout) seconds for it to go; then C(xl destroy) only when O(force_stop=true).
      - V(restarted) stops (as above) and starts the domain with the current file.
      - V(absent) stops the domain, removes its autostart entry and its config file. Disk images are kept
        unless O(purge=true).
    type: str
    choices: [present, started, stopped, restarted, absent]
    default: started
  type:
    description: C(type) in xl.cfg. Xen uses V(pv) when it is not set.
    type: str
    choices: [pv, pvh, hvm]
  memory:
    description: Memory at start, in MiB.
    type: int
  maxmem:
    description: Maximum memory in MiB (for ballooning up); at least O(memory).
    type: int
  vcpus:
    description: Virtual CPUs online at start.
    type: int
  maxvcpus:
    description: Maximum virtual CPUs; at least O(vcpus).
    type: int
  kernel:
    description: Kernel image in the dom0 (PV and PVH direct boot). Not with O(bootloader).
    type: str
  ramdisk:
    description: Initial ramdisk in the dom0.
    type: str
  cmdline:
    description: Kernel command line (C(cmdline) in xl.cfg, which xl prefers to C(extra) and C(root)).
    type: str
    aliases: [extra]
  bootloader:
    description: Bootloader run in the dom0, for example V(pygrub). Not with O(kernel).
    type: str
  bootloader_args:
    description: Arguments of the bootloader.
    type: list
    elements: str
  disks:
    description:
      - The guest's disks, written as xl disk specs (xl-disk-configuration(5)) with C(target) last.
      - With O(disks[].size), a missing raw target is created, never resized and never overwritten; a target
        under C(/dev/zvol/) is created as a sparse ZFS volume with C(zfs create -s -V), any other path as a
        sparse file (mode 0600) in an existing directory.
    type: list
    elements: dict
    suboptions:
      target:
        description: The image file or block device in the dom0 (absolute path).
        type: str
        required: true
      vdev:
        description: The device name the guest sees, for example V(xvda), V(hdc) or V(sdb).
        type: str
        required: true
      format:
        description: Image format.
        type: str
        choices: [raw, qcow, qcow2, vhd, qed]
        default: raw
      access:
        description: Read-write or read-only.
        type: str
        choices: [rw, ro]
        default: rw
      devtype:
        description: V(cdrom) for a CD-ROM drive.
        type: str
        choices: [disk, cdrom]
      backendtype:
        description: The backend (V(phy), V(qdisk), V(tap), V(standalone)); xl picks one when not set.
        type: str
      script:
        description: Block hotplug script (for example V(block-iscsi)).
        type: str
      size:
        description: Create a missing raw target of this size (V(20G), V(512M), bytes without a suffix).
        type: str
  vifs:
    description:
      - Network interfaces, written as xl vif specs (xl-network-configuration(5)). Values may not hold
        commas, C(=) or blanks (blanks are allowed in O(vifs[].ip), a list of addresses).
    type: list
    elements: dict
    suboptions:
      bridge:
        description: The dom0 bridge (V(xenbr0) on Linux, V(bridge0) on the BSDs).
        type: str
      mac:
        description: MAC address; Xen picks one in 00:16:3e when it is not set.
        type: str
      ip:
        description: Addresses for the vif-route and vif-nat scripts.
        type: str
      model:
        description: Emulated NIC model of an HVM guest (V(e1000), V(rtl8139)).
        type: str
      type:
        description: V(ioemu) or V(vif).
        type: str
      vifname:
        description: Backend interface name in the dom0.
        type: str
      script:
        description: Hotplug script (V(vif-bridge), V(vif-route), V(vif-nat)).
        type: str
      rate:
        description: Rate limit, for example V(10Mb/s).
        type: str
      backend:
        description: Backend domain (driver domains).
        type: str
      gatewaydev:
        description: Gateway device for vif-route/vif-nat.
        type: str
  serial:
    description: Serial console of an HVM guest, for example V(pty).
    type: str
  vnc:
    description: VNC console of an HVM guest. Listens on 127.0.0.1 unless told otherwise.
    type: dict
    suboptions:
      enabled:
        description: Turn the VNC server on.
        type: bool
        default: true
      listen:
        description: Address to listen on.
        type: str
        default: 127.0.0.1
      display:
        description: Display number (port 5900 + display); Xen picks one when not set.
        type: int
      password:
        description: VNC password (written to the file, which should then stay private).
        type: str
  on_poweroff:
    description: What Xen does when the guest powers off.
    type: str
    choices: [destroy, restart, rename-restart, preserve, coredump-destroy, coredump-restart, soft-reset]
  on_reboot:
    description: What Xen does when the guest reboots.
    type: str
    choices: [destroy, restart, rename-restart, preserve, coredump-destroy, coredump-restart, soft-reset]
  on_crash:
    description: What Xen does when the guest crashes.
    type: str
    choices: [destroy, restart, rename-restart, preserve, coredump-destroy, coredump-restart, soft-reset]
  config:
    description:
      - Any other xl.cfg settings, by their xl.cfg name (lower case). Values are strings, numbers, booleans
        (written V(1)/V(0)) or lists of them. They are applied last, so they override what the options above
        wrote.
    type: dict
  config_dir:
    description:
      - Directory of the config files. Default V(/etc/xen) on Linux, V(/usr/local/etc/xen) on FreeBSD,
        V(/usr/pkg/etc/xen) on NetBSD.
    type: path
  config_file:
    description: The config file; default V(<config_dir>/<name>.cfg).
    type: path
  autostart:
    description:
      - Start the domain at boot. On Linux and FreeBSD a symbolic link to the config file in O(auto_dir) (read
        by the xendomains service); on NetBSD the name in C(xendomains) of C(/etc/rc.conf).
      - Not managed when not set.
    type: bool
  auto_dir:
    description: The xendomains directory; default V(/etc/xen/auto) on Linux, V(/usr/local/etc/xen/auto) on FreeBSD.
    type: path
  restart_on_change:
    description: Restart a running domain whose configuration changed, so the change takes effect.
    type: bool
    default: false
  stop_timeout:
    description: Seconds to wait for the guest to shut down.
    type: int
    default: 120
  force_stop:
    description: Destroy the domain (C(xl destroy), like pulling the plug) when it does not shut down in time.
    type: bool
    default: false
  purge:
    description:
      - With O(state=absent), also remove the domain's writable disk images named in its config file (regular
        files, and ZFS volumes under C(/dev/zvol/) with C(zfs destroy)) that this collection made for it (with
        O(disks[].size)), as recorded on the host in C(/var/db/bsd-multiplicity). A disk it did not make (attached
        by hand, made by an earlier version) is kept, with a warning. Other block devices (LVM volumes,
        partitions), read-only disks and CD-ROM images are never removed.
    type: bool
    default: false
notes:
  - Changing memory or vCPUs of a running domain is reported as pending; this module does not use
    C(xl mem-set) or C(xl vcpu-set).
  - On a dom0 where O(config_dir) does not exist yet, it is created (mode 0755).
seealso:
  - module: bsd.multiplicity.xen_domu_info
  - name: xl.cfg(5)
    description: Xen guest configuration file format.
    link: https://xenbits.xen.org/docs/unstable/man/xl.cfg.5.html
'''

EXAMPLES = r'''
- name: A small PV guest on a NetBSD dom0, with a new sparse disk image
  bsd.multiplicity.xen_domu:
    name: nbsd1
    type: pv
    kernel: /netbsd-XEN3_DOMU.gz
    cmdline: root=xbd0a
    memory: 256
    vcpus: 1
    disks:
      - target: /var/xen/nbsd1.img
        vdev: xvda
        size: 8G
    vifs:
      - bridge: bridge0
    autostart: true

- name: A PVH guest on a FreeBSD dom0, its disk a sparse zvol
  bsd.multiplicity.xen_domu:
    name: web1
    type: pvh
    kernel: /usr/local/lib/xen/boot/pvhgrub
    memory: 2048
    vcpus: 2
    disks:
      - target: /dev/zvol/zroot/xen/web1
        vdev: xvda
        size: 20G
    vifs:
      - bridge: bridge0
        mac: "00:16:3e:0a:00:01"
    restart_on_change: true

- name: An HVM guest with a CD-ROM and VNC on localhost, plus settings without an option of their own
  bsd.multiplicity.xen_domu:
    name: win1
    type: hvm
    memory: 4096
    vcpus: 2
    disks:
      - {target: /srv/xen/win1.img, vdev: hda, size: 40G}
      - {target: /srv/iso/install.iso, vdev: hdc, devtype: cdrom, access: ro}
    vnc:
      display: 1
    config:
      boot: dc
      viridian: true
      usbdevice: [tablet]

- name: Stop a guest, destroying it if it has not shut down after a minute
  bsd.multiplicity.xen_domu:
    name: web1
    state: stopped
    stop_timeout: 60
    force_stop: true

- name: Remove a guest and its disk image
  bsd.multiplicity.xen_domu:
    name: nbsd1
    state: absent
    purge: true
'''

RETURN = r'''
domain:
  description: The domain after the run (predicted in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: The domain name.
      type: str
      sample: web1
    domid:
      description: Xen's domain id while it exists, else null.
      type: int
      sample: 3
    state:
      description: V(running), V(paused), V(shutdown), V(crashed), V(dying), V(stopped) (configured, not running) or V(absent).
      type: str
      sample: running
    config_file:
      description: The config file.
      type: str
      sample: /etc/xen/web1.cfg
    config:
      description: The settings of the file as xl reads them (every atom a string, lists as lists).
      type: dict
      sample: {name: web1, type: pvh, memory: "2048", vif: ["bridge=bridge0"]}
    autostart:
      description: Whether the domain starts at boot.
      type: bool
    pending_changes:
      description: Settings whose running value differs from the file; they take effect at the next restart.
      type: list
      elements: str
      sample: [memory]
    console:
      description: How to reach the console (C(command)), and the VNC address of HVM guests (C(vnc)).
      type: dict
      sample: {command: [xl, console, web1], vnc: "127.0.0.1:5901"}
pending_restart:
  description: The running domain differs from its configuration (see RV(domain.pending_changes)).
  returned: always
  type: bool
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
from ansible_collections.bsd.multiplicity.plugins.module_utils._xen.manager import (
    XenDomuManager, xen_domu_argument_spec,
)


def main():
    module = AnsibleModule(**xen_domu_argument_spec())
    run_manager(module, XenDomuManager, secrets=[(module.params.get('vnc') or {}).get('password')])


if __name__ == '__main__':
    main()
