#!/usr/bin/python
# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: chroot_env
short_description: Chroot environments with a userland and the filesystems it needs, on FreeBSD and Linux
version_added: 0.1.0
description:
  - Makes a directory that holds a userland (FreeBSD release archives, a Debian/Ubuntu userland from
    C(mmdebstrap) or C(debootstrap), a copy of a tree, a ZFS clone, or an existing directory), mounts the
    filesystems it needs (devfs, procfs/linprocfs/linsysfs, tmpfs, nullfs or bind mounts of host
    directories) and keeps those mounts in an fstab file so they come back at boot.
  - The platform is detected with C(uname -s); FreeBSD uses C(mount -t nullfs), C(devfs) and C(mount -p),
    Linux bind mounts and C(/proc/self/mountinfo).
  - A marker file, C(.bsd-multiplicity-chroot.json) in O(path), records how the userland was made (method,
    sources, SHA-256 of archives) and which mounts belong to the chroot. A later run with a different
    bootstrap request reports it (RV(bootstrap_changed) and a warning) and never re-applies it over the
    existing userland, unless O(force=true).
  - Mounts are compared with the mount table by resolved path, so a chroot reached through a symlink is
    not mounted twice. Files inside the chroot (the marker, C(os-release)) belong to whoever is root in it,
    so they are opened without following symlinks, and mount points are created the same way.
  - The fstab block is edited under a lock from the file as it is at that moment, so several chroots
    converged at once keep each other's lines. O(purge=true) never removes through a mount.
  - Running tasks inside the chroot is the job of the C(community.general.chroot) connection plugin; see
    the examples.
author:
  - bsd.multiplicity contributors (@bsd-multiplicity)
extends_documentation_fragment:
  - bsd.multiplicity._attributes
  - bsd.multiplicity._attributes.PLATFORM_FREEBSD_LINUX
  - bsd.multiplicity._attributes.ACTIONGROUP_MULTIPLICITY
attributes:
  check_mode:
    support: full
    details:
      - Local archives are checked (existence and SHA-256) in check mode too; nothing is changed.
      - What the real run would fail on fails in check mode too, before any change (a missing directory
        with O(bootstrap.method=none), a missing template snapshot or mount source, a mount point that is a
        symlink inside the chroot).
  diff_mode:
    support: full
    details:
      - Shows the fstab file as a text diff and the mounts as a structured diff.
  idempotent:
    support: full
options:
  path:
    description:
      - The chroot's directory. Refused when it is V(/), contains V(..), or resolves to one of the running
        system's own directories (V(/usr), V(/var), V(/etc)...) or to a parent of one.
    type: path
    required: true
  state:
    description:
      - V(present) makes the userland if needed and mounts what O(mounts) declares.
      - V(absent) unmounts everything mounted under O(path) (deepest first, never following a mount into the
        host) and removes the chroot's lines from O(fstab). The userland is kept unless O(purge), with its
        marker (saying that nothing is mounted), so that declaring it again adopts it as it is.
    type: str
    choices: [present, absent]
    default: present
  bootstrap:
    description: How the userland appears in O(path). Applied only when O(path) has no marker yet.
    type: dict
    suboptions:
      method:
        description:
          - V(none) adopts an existing directory as it is.
          - V(archives) extracts O(bootstrap.archives) with C(tar) after checking their SHA-256 sums.
          - V(debootstrap) runs C(mmdebstrap) (or C(debootstrap) when it is the only one installed).
          - V(copy) copies O(bootstrap.source) with C(cp -Rp).
          - V(zfs_clone) clones O(bootstrap.template) into O(bootstrap.dataset) mounted at O(path).
          - Every method except V(none) refuses a non-empty O(path) without a marker.
        type: str
        choices: [none, archives, debootstrap, copy, zfs_clone]
        default: none
      archives:
        description: Archives (V(base.txz), V(lib32.txz)...), absolute paths or URLs, extracted in order.
        type: list
        elements: str
      manifest:
        description:
          - A FreeBSD release C(MANIFEST) (path or URL) holding the archives' SHA-256 sums. Defaults to the
            C(MANIFEST) beside the first archive, when there is one.
        type: str
      checksums:
        description: SHA-256 sums by archive file name, instead of a C(MANIFEST).
        type: dict
      suite:
        description: Debian or Ubuntu suite (V(bookworm), V(noble)), with O(bootstrap.method=debootstrap).
        type: str
      mirror:
        description: The mirror URL; the tool's default when unset.
        type: str
      variant:
        description: The tool's variant (V(minbase), V(buildd), V(essential)...).
        type: str
        default: minbase
      packages:
        description: Extra packages to include.
        type: list
        elements: str
        default: []
      options:
        description: Further arguments for C(mmdebstrap)/C(debootstrap) (V(--components=main,contrib), V(--arch=arm64)).
        type: list
        elements: str
        default: []
      source:
        description: The tree to copy, with O(bootstrap.method=copy).
        type: path
      template:
        description: The snapshot to clone (V(pool/dataset@snapshot)), with O(bootstrap.method=zfs_clone).
        type: str
      dataset:
        description: The dataset to create, with O(bootstrap.method=zfs_clone).
        type: str
  mounts:
    description:
      - The complete set of filesystems mounted in the chroot, mounted in this order and unmounted in reverse.
        Mounts this module made earlier and no longer listed are unmounted; mounts made by others are left
        alone with a warning.
    type: list
    elements: dict
    default: []
    suboptions:
      type:
        description:
          - V(devfs) (Linux - a bind mount of C(/dev)), V(procfs)/V(proc), V(linprocfs), V(linsysfs)/V(sysfs),
            V(tmpfs), V(nullfs)/V(bind) (a host directory; nullfs on FreeBSD, a bind mount on Linux),
            V(fdescfs) (FreeBSD only), V(devpts) (Linux only).
        type: str
        required: true
        choices: [bind, devfs, devpts, fdescfs, linprocfs, linsysfs, nullfs, proc, procfs, sysfs, tmpfs]
      target:
        description:
          - Where inside the chroot, as an absolute path. Defaults to the usual place (V(/dev), V(/proc),
            V(/compat/linux/proc), V(/sys), V(/tmp)...); required for V(nullfs)/V(bind).
        type: str
      source:
        description: The host directory, for V(nullfs)/V(bind).
        type: path
      read_only:
        description: Mount read-only.
        type: bool
        default: false
      options:
        description: Further mount options, one per item (V(size=512m), V(mode=1777), V(nosuid)).
        type: list
        elements: str
        default: []
      ruleset:
        description: The devfs ruleset number for a V(devfs) mount on FreeBSD.
        type: int
  fstab:
    description: The fstab file that keeps the mounts for the next boot, in a block the module owns.
    type: path
    default: /etc/fstab
  persist:
    description: Keep the mounts in O(fstab). V(false) mounts them now only.
    type: bool
    default: true
  force:
    description:
      - When the marker records a different bootstrap request, make the userland again as now requested --
        everything mounted below O(path) is unmounted, the directory emptied (never through a mount) and
        the bootstrap run, then the mounts made. What was in it is lost.
      - Without it, a different request is only reported. A ZFS clone is not made again in place.
    type: bool
    default: false
  purge:
    description:
      - With O(state=absent), also remove the userland (the directory, or the dataset of O(bootstrap.method=zfs_clone)).
        Refused while anything is still mounted below O(path). Data is lost.
    type: bool
    default: false
seealso:
  - plugin: community.general.chroot
    plugin_type: connection
    description: Run tasks inside the chroot.
'''

EXAMPLES = r'''
- name: A Debian userland with /proc, /dev and a read-only view of /srv/data
  bsd.multiplicity.chroot_env:
    path: /var/chroots/bookworm
    bootstrap:
      method: debootstrap
      suite: bookworm
      packages: [python3]
    mounts:
      - type: proc
      - type: devfs
      - type: bind
        source: /srv/data
        target: /data
        read_only: true

- name: A FreeBSD 14.3 userland from release archives, with devfs ruleset 4
  bsd.multiplicity.chroot_env:
    path: /usr/local/chroots/build
    bootstrap:
      method: archives
      archives: [/usr/freebsd-dist/base.txz]
    mounts:
      - type: devfs
        ruleset: 4
      - type: tmpfs
        options: [size=1g]

# Tasks inside the chroot run through the chroot connection plugin on the host:
#   build ansible_connection=community.general.chroot ansible_host=/usr/local/chroots/build
- name: Remove the chroot, keeping its files
  bsd.multiplicity.chroot_env:
    path: /usr/local/chroots/build
    state: absent
'''

RETURN = r'''
chroot:
  description: The chroot after the run (before it, in check mode, except for the mounts).
  returned: always
  type: dict
  contains:
    path:
      description: The chroot's directory.
      type: str
    platform:
      description: V(FreeBSD) or V(Linux), as detected.
      type: str
    exists:
      description: Whether the directory exists.
      type: bool
    mounts:
      description: Mount points under O(path), in mount order.
      type: list
      elements: str
    bootstrap:
      description: What the marker records about how the userland was made.
      type: dict
    os_release:
      description: The userland's C(PRETTY_NAME) from C(etc/os-release), or C(FreeBSD <version>).
      type: str
  sample:
    path: /var/chroots/bookworm
    platform: Linux
    exists: true
    mounts: [/var/chroots/bookworm/proc]
    bootstrap: {request: {method: debootstrap, suite: bookworm, variant: minbase, packages: [], mirror: null}}
    os_release: Debian GNU/Linux 12 (bookworm)
bootstrap_changed:
  description: The marker records a different bootstrap request than the one given; it was not applied.
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

from ansible_collections.bsd.multiplicity.plugins.module_utils._chroot.manager import (
    ChrootManager, chroot_argument_spec,
)
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.module import run_manager


def main():
    module = AnsibleModule(**chroot_argument_spec())
    run_manager(module, ChrootManager)


if __name__ == '__main__':
    main()
