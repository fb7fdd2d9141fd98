#!/usr/bin/python
# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: bhyve_vm
short_description: bhyve virtual machines as bhyve_config(5) files, run by a supervisor
version_added: 0.2.0
description:
  - Declares a bhyve(8) virtual machine on a FreeBSD host as a bhyve_config(5) file that bhyve reads itself
    (C(bhyve -k FILE)), makes the disks it is asked to (sparse files or sparse ZFS volumes with C(volmode=dev)),
    keeps a per-VM copy of the UEFI variables, and starts, stops or restarts the VM.
  - The file is edited in place. The variables this module declares are set where they are written; every other
    line is kept. A comment line at the top lists the variables the module wrote, so that one it no longer
    declares is removed. Every value is written so that bhyve reads it back as given (a C(%) is escaped; a value
    holding a line break or any control character is refused), and every variable is one bhyve knows
    (bhyve_config(5)) unless it comes through O(extra_config).
  - A running VM is a bhyve process run by a small supervisor (C(/usr/local/libexec/bsd-multiplicity/bhyve-supervisor))
    under daemon(8). It boots the guest again when it reboots (bhyve exits 0), running C(bhyveload) first for
    guests loaded that way, and stops when the guest powers off, halts, triple-faults or bhyve fails; why the
    last run ended is in RV(vm.last_exit).
  - The VM's taps are chosen once (the lowest tap no other VM's file names) and kept in the file, as are the
    NICs' MAC addresses (derived from the host's C(/etc/hostid), the VM and the NIC when none is given).
  - The host needs vmm(4) loaded, nmdm(4) for the console and if_bridge (M(bsd.multiplicity.kld) loads and
    persists them).
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
      - Nothing is run but reads; the result predicts the VM's state, its taps and MACs included.
  diff_mode:
    support: full
    details:
      - Shows the config file as a text diff and the run state before and after.
  idempotent:
    support: full
options:
  name:
    description: The VM's name (C(/dev/vmm/NAME)); up to 31 letters, digits, C(_), C(.) and C(-).
    type: str
    required: true
  state:
    description:
      - V(present) writes the config file, makes the disks and UEFI variables, and leaves the run state alone.
      - V(started) also starts the VM when it does not run.
      - V(stopped) presses the guest's ACPI power button (SIGTERM to bhyve) and waits up to O(stop_timeout)
        seconds; then C(bhyvectl --force-poweroff) only with O(force_stop=true).
      - V(restarted) stops (as above) and starts the VM again.
      - V(absent) stops the VM and removes its config file. Disks and UEFI variables are kept unless O(purge=true).
    type: str
    choices: [present, started, stopped, restarted, absent]
    default: started
  cpus:
    description: Virtual CPUs (C(cpus)); at most C(hw.vmm.maxcpu).
    type: int
    default: 1
  sockets:
    description: Virtual sockets (C(sockets)); O(cpus) must be O(sockets) x O(cores) x O(threads).
    type: int
  cores:
    description: Cores per socket (C(cores)).
    type: int
  threads:
    description: Threads per core (C(threads)).
    type: int
  memory:
    description: Guest memory (C(memory.size)), a number with K, M, G or T; at most what C(hw.physmem) gives.
    type: str
    default: 256M
  wired_memory:
    description: Wire the guest's memory (C(memory.wired)); needed for PCI passthrough.
    type: bool
    default: false
  uuid:
    description: The SMBIOS UUID (C(uuid)); bhyve derives one from the host and VM names when not set.
    type: str
  boot:
    description: How the guest boots.
    type: dict
    suboptions:
      loader:
        description:
          - V(uefi) boots the firmware (C(lpc.bootrom)) with the VM's own variables file (C(lpc.bootvars)).
          - V(bhyveload) loads a FreeBSD kernel from the first disk (or O(boot.disk)) before every boot.
          - V(grub) loads a Linux (or other) guest with C(grub-bhyve) (package grub2-bhyve) before every boot, from a
            device map written beside the config file (C(NAME.device.map)) that names the disks as C((hdN)) and the
            CDs as C((cdN)), in the order of O(disks).
        type: str
        choices: [uefi, bhyveload, grub]
        default: uefi
      grub_root:
        description: The GRUB device grub-bhyve boots from (C(-r)), with O(boot.loader=grub). Default V(hd0,msdos1).
        type: str
      grub_dir:
        description: A directory of the guest's disk holding C(grub.cfg) (C(-d)), with O(boot.loader=grub).
        type: str
      firmware:
        description: The UEFI firmware. Default C(/usr/local/share/uefi-firmware/BHYVE_UEFI.fd) (package edk2-bhyve).
        type: path
      vars_template:
        description: The UEFI variables the VM's own copy starts from. Default C(/usr/local/share/uefi-firmware/BHYVE_UEFI_VARS.fd).
        type: path
      disk:
        description: The disk bhyveload loads from (default the first of O(disks)).
        type: str
      env:
        description: Loader variables for bhyveload (C(-e NAME=VALUE)).
        type: list
        elements: str
  disks:
    description: The VM's disks, each on its own PCI slot.
    type: list
    elements: dict
    suboptions:
      path:
        description: A file, a device, or a ZFS volume as C(/dev/zvol/POOL/NAME).
        type: str
        required: true
      size:
        description: Make the disk with this size when it does not exist (sparse); an existing disk is never
          resized or overwritten.
        type: str
      model:
        description: The emulated device. V(ahci-cd) is read-only media (an ISO).
        type: str
        choices: [virtio-blk, nvme, ahci-hd, ahci-cd]
        default: virtio-blk
      readonly:
        description: The guest cannot write it (C(ro)).
        type: bool
        default: false
      slot:
        description: Its PCI slot (1-28); the next free one from 2 when not set.
        type: int
      options:
        description: More block-device variables of bhyve_config(5) (C(nocache), C(sectorsize), C(ser)...).
        type: dict
  nics:
    description: Network interfaces, each a tap(4) attached to a bridge when the VM starts.
    type: list
    elements: dict
    suboptions:
      bridge:
        description: The if_bridge the tap joins; it must exist.
        type: str
        required: true
      model:
        description: The emulated NIC.
        type: str
        choices: [virtio-net, e1000]
        default: virtio-net
      mac:
        description: A unicast MAC address; chosen once and kept when not set.
        type: str
      tap:
        description: The tap to use (C(tapN)); chosen once and kept when not set.
        type: str
      slot:
        description: Its PCI slot (1-28).
        type: int
      options:
        description: More network variables of bhyve_config(5) (C(mtu)...).
        type: dict
  shares:
    description: Host directories shared with the guest over virtio-9p.
    type: list
    elements: dict
    suboptions:
      name:
        description: The share's name as the guest mounts it.
        type: str
        required: true
      path:
        description: The host directory.
        type: path
        required: true
      readonly:
        description: The guest cannot write it.
        type: bool
        default: false
      slot:
        description: Its PCI slot (1-28).
        type: int
  ppt_devices:
    description:
      - Host PCI devices given to the guest, as ppt(4) names them (V(ppt0)) or by their host address as C(pptdevs) in
        C(/boot/loader.conf) writes it (V(2/0/0)), which must be listed there. More devices than ppt(4) holds
        (C(hw.vmm.ppt.devices)) are refused. Such guests need O(wired_memory).
    type: list
    elements: str
  vnc:
    description: A framebuffer with a VNC server (UEFI guests), and a USB tablet for the pointer.
    type: dict
    suboptions:
      enabled:
        description: Whether the framebuffer is there.
        type: bool
        default: true
      listen:
        description: The address the VNC server listens on (numeric).
        type: str
        default: 127.0.0.1
      port:
        description: Its TCP port.
        type: int
        default: 5900
      password:
        description: The VNC password (weak authentication); the config file is then written mode 0600.
        type: str
      wait:
        description: Wait for a VNC client before booting the guest.
        type: bool
        default: false
      width:
        description: Width in pixels.
        type: int
      height:
        description: Height in pixels.
        type: int
  cloud_init:
    description:
      - A cloud-init NoCloud seed for the guest, as an ISO 9660 volume labelled C(cidata) (made with makefs(8)) on an
        ahci-cd. It is made again when what it holds changes; the guest reads it when it boots.
    type: dict
    suboptions:
      user_data:
        description: C(user-data), a string as given or a dictionary written as C(#cloud-config).
        type: raw
      meta_data:
        description: C(meta-data), a dictionary over C(instance-id) and C(local-hostname) (both the VM's name), or a string.
          cloud-init runs its once-per-instance modules again only when C(instance-id) changes.
        type: raw
      network_config:
        description: C(network-config) (version 1 or 2), a dictionary or a string; not written when not set.
        type: raw
      slot:
        description: Its PCI slot (1-28).
        type: int
  tpm:
    description: A TPM 2.0 for the guest (UEFI guests), from a swtpm socket or the host's TPM.
    type: dict
    suboptions:
      type:
        description: V(swtpm) (a socket of sysutils/swtpm) or V(passthru) (a host device such as C(/dev/tpm0)).
        type: str
        choices: [swtpm, passthru]
        default: swtpm
      path:
        description: The socket or device.
        type: str
        required: true
  extra_config:
    description:
      - Raw bhyve_config(5) variables (path to value), set last. bhyve ignores variables it does not know, so
        only this option may write one the module does not know.
    type: dict
  autostart:
    description:
      - Start the VM at boot (V(true)) or not (V(false)), by its name in C(bsdm_bhyve_list) of C(/etc/rc.conf), in the
        order of the call (a VM after those it depends on), with C(bsdm_bhyve_enable=YES). The rc.d script
        C(bsdm_bhyve) of the C(bsd.multiplicity.vmm_host) role starts them in that order after the network and
        stops them in reverse at shutdown. Not managed when not set.
    type: bool
  config_dir:
    description: Where the VM's config file (C(NAME.conf)) is.
    type: path
    default: /usr/local/etc/bhyve
  data_dir:
    description: Where the VM's own files (its UEFI variables) are, in a directory named after it.
    type: path
    default: /var/db/bhyve
  restart_on_change:
    description: Restart a running VM whose configuration changed; otherwise the change waits (RV(vm.pending_changes)).
    type: bool
    default: false
  stop_timeout:
    description: Seconds to wait for the guest to power off.
    type: int
    default: 60
  force_stop:
    description: Power the VM off with C(bhyvectl --force-poweroff) when it did not within O(stop_timeout).
    type: bool
    default: false
  purge:
    description: With O(state=absent), also remove the disks this collection made (as its host-side record lists
      them) and the UEFI variables. Disks the operator made are kept, with a warning.
    type: bool
    default: false
notes:
  - Taps are attached to their bridge when the VM starts; at boot, the rc.d script of the vmm_host role starts
    autostart VMs after the bridges exist.
seealso:
  - module: bsd.multiplicity.bhyve_vm_info
  - module: bsd.multiplicity.topology
'''

EXAMPLES = r'''
- name: The talk's FreeBSD guest, loaded with bhyveload, on a bridge, with a serial console
  bsd.multiplicity.bhyve_vm:
    name: guest
    cpus: 2
    memory: 1G
    boot:
      loader: bhyveload
    disks:
      - path: /vm/guest/disk.img
        size: 8G
    nics:
      - bridge: bridge0

- name: A Linux guest with UEFI, a zvol and VNC on localhost
  bsd.multiplicity.bhyve_vm:
    name: debian
    cpus: 2
    memory: 2G
    disks:
      - path: /dev/zvol/zroot/vm/debian
        size: 20G
        model: nvme
      - path: /vm/iso/debian-12.iso
        model: ahci-cd
    nics:
      - bridge: bridge0
    vnc:
      password: "{{ vault_vnc_password }}"
      wait: true

- name: A cloud image booted with a cloud-init seed
  bsd.multiplicity.bhyve_vm:
    name: web
    memory: 1G
    disks:
      - path: /vm/web/disk.img
    nics:
      - bridge: bridge0
    cloud_init:
      user_data:
        users:
          - name: admin
            ssh_authorized_keys: ["{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"]
        packages: [nginx]
      network_config:
        version: 2
        ethernets:
          id0: {match: {name: "vtnet*"}, dhcp4: true}

- name: Stop it, powering it off if the guest does not shut down in 2 minutes
  bsd.multiplicity.bhyve_vm:
    name: debian
    state: stopped
    stop_timeout: 120
    force_stop: true

- name: Remove it and the disks the collection made for it
  bsd.multiplicity.bhyve_vm:
    name: debian
    state: absent
    purge: true
'''

RETURN = r'''
vm:
  description: The VM after the run (in check mode, as it would be).
  returned: always
  type: dict
  contains:
    name:
      description: The VM's name.
      type: str
      sample: guest
    state:
      description: V(running), V(stopped) (configured, not running) or V(absent).
      type: str
      sample: running
    pid:
      description: The pid of its supervisor's bhyve run (the program daemon(8) runs), when running.
      type: int
    config_file:
      description: The config file.
      type: str
      sample: /usr/local/etc/bhyve/guest.conf
    config:
      description: The variables the module wrote, as bhyve reads them.
      type: dict
      sample: {name: guest, cpus: "2", memory.size: 1G, pci.0.2.0.device: virtio-blk}
    console:
      description: The nmdm(4) end to attach to and the command that does it.
      type: dict
      sample: {device: /dev/nmdm-guest.1B, command: [cu, -l, /dev/nmdm-guest.1B]}
    vnc:
      description: The VNC address, when there is a framebuffer.
      type: str
      sample: "127.0.0.1:5900"
    disks:
      description: The disks with their model and slot.
      type: list
      elements: dict
    nics:
      description: The NICs with their bridge, tap, MAC, model and slot.
      type: list
      elements: dict
      sample: [{bridge: bridge0, tap: tap0, mac: "58:9c:fc:0a:1b:2c", model: virtio-net, slot: 3}]
    last_exit:
      description: Why the last run ended (C(status) of bhyve, C(reason), C(time)), or null.
      type: dict
      sample: {status: 1, reason: poweroff, time: 1764892800}
    pending_changes:
      description: Variables of the file that the running VM does not have yet; they apply at its next start.
      type: list
      elements: str
pending_restart:
  description: The running VM differs from its configuration (see RV(vm.pending_changes)).
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
from ansible_collections.bsd.multiplicity.plugins.module_utils._bhyve.manager import (
    BhyveVmManager, bhyve_vm_argument_spec,
)


def main():
    module = AnsibleModule(**bhyve_vm_argument_spec())
    run_manager(module, BhyveVmManager, secrets=[(module.params.get('vnc') or {}).get('password')])


if __name__ == '__main__':
    main()
