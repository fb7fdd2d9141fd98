#!/usr/bin/python
# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: rc_conf
short_description: Set, list and remove variables of rc.conf and loader.conf under the collection's lock
version_added: 0.2.0
description:
  - Sets variables of an rc.conf-style file (C(/etc/rc.conf), C(rc.conf.local), C(/boot/loader.conf)), adds
    words to and removes words from its list variables (C(cloned_interfaces), C(kld_list)), and removes
    variables, as C(sysrc) does, but in one rewrite of the file for all of them.
  - The file is rewritten from its content at that moment, atomically, under the lock that every module of
    this collection takes for its own edits of that file, so a role that uses this module beside a running
    M(bsd.multiplicity.jail), M(bsd.multiplicity.kld) or M(bsd.multiplicity.topology) task loses none of their
    entries (C(sysrc) and C(lineinfile) run beside them can).
  - Only the file's own assignments count, as it holds them. A value that C(/etc/defaults/rc.conf) gives
    is not taken as set in O(path).
  - Lines this module does not write (comments, other variables, shell code) are kept as they are.
author:
  - bsd.multiplicity contributors (@bsd-multiplicity)
extends_documentation_fragment:
  - bsd.multiplicity._attributes
  - bsd.multiplicity._attributes.PLATFORM_FREEBSD
  - bsd.multiplicity._attributes.ACTIONGROUP_MULTIPLICITY
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff is the file before and after.
  idempotent:
    support: full
options:
  path:
    description: The file. It is created (mode 0644) when a variable is set in a file that does not exist.
    type: path
    default: /etc/rc.conf
  syntax:
    description:
      - Which reader the file is for. V(sh) for rc.conf files (sourced by C(/bin/sh) at boot), V(loader) for
        loader.conf files (read by the boot loader; names may hold dots, V(kern.racct.enable)).
      - V(auto) takes V(loader) for a file named C(loader.conf*) or under C(/boot/), else V(sh).
    type: str
    choices: [auto, sh, loader]
    default: auto
  values:
    description:
      - Variables to set, by name. A boolean is written V(YES) or V(NO); a number as written.
      - V(null) removes the variable (every assignment of it in the file).
      - A value that holds a double quote, a backslash, C($), a backquote or a line break is refused before
        anything is read or changed. C(sysrc) writes such a value unescaped between double quotes, so
        C($(command)) in it would run whenever C(rc.conf) is read.
    type: dict
    default: {}
  defaults:
    description:
      - Variables to set only where the file does not set them, by name. A value the operator wrote is kept.
      - Values are checked as those of O(values).
    type: dict
    default: {}
  list_add:
    description:
      - Words that a space-separated list variable must hold, by variable name. Missing words are appended
        in the order given; the words already listed and their order are kept.
    type: dict
    default: {}
  list_remove:
    description:
      - Words that a space-separated list variable must not hold, by variable name. The variable stays, maybe
        empty, as with C(sysrc VAR-=word).
    type: dict
    default: {}
notes:
  - A variable may be named in only one of O(values), O(defaults), O(list_add) and O(list_remove).
seealso:
  - name: sysrc(8)
    description: Safely edit system rc files.
    link: https://man.freebsd.org/cgi/man.cgi?query=sysrc&sektion=8
  - name: loader.conf(5)
    description: System bootstrap configuration information.
    link: https://man.freebsd.org/cgi/man.cgi?query=loader.conf&sektion=5
  - module: community.general.sysrc
'''

EXAMPLES = r'''
- name: Enable jails and bring a bridge up at boot
  bsd.multiplicity.rc_conf:
    values:
      jail_enable: true
      jail_parallel_start: true
    defaults:
      ifconfig_bridge0: up      # kept as the operator wrote it, if set ("addm em0 up")
    list_add:
      cloned_interfaces: [bridge0]

- name: Turn resource accounting on at the next boot (a loader tunable)
  bsd.multiplicity.rc_conf:
    path: /boot/loader.conf
    values:
      kern.racct.enable: 1

- name: Drop a bridge from the cloned interfaces and forget its line
  bsd.multiplicity.rc_conf:
    values:
      ifconfig_bridge1: null
    list_remove:
      cloned_interfaces: [bridge1]
'''

RETURN = r'''
path:
  description: The file.
  returned: always
  type: str
  sample: /etc/rc.conf
values:
  description: Each named variable's value after the run (as check mode predicts it); V(null) when it is not in the file.
  returned: always
  type: dict
  sample:
    jail_enable: "YES"
    cloned_interfaces: lo1 bridge0
actions:
  description: The planned actions, in order (what would be done, in check mode).
  returned: in check mode, or with C(-vvv)
  type: list
  elements: dict
  sample:
    - verb: set
      description: set jail_enable="YES" in /etc/rc.conf
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.module import run_manager
from ansible_collections.bsd.multiplicity.plugins.module_utils._rcconf.manager import RcConfManager, rc_conf_argument_spec


def main():
    module = AnsibleModule(**rc_conf_argument_spec())
    run_manager(module, RcConfManager)


if __name__ == '__main__':
    main()
