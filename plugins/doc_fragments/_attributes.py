# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # Every module of this collection.
    DOCUMENTATION = r'''
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
      - This assumes that the system controlled/queried by the module has not changed in a relevant way.
'''

    # Modules that manage FreeBSD hosts.
    PLATFORM_FREEBSD = r'''
options: {}
attributes:
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: freebsd
'''

    # Modules that work the same on FreeBSD and Linux hosts.
    PLATFORM_FREEBSD_LINUX = r'''
options: {}
attributes:
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: [freebsd, linux]
'''

    # Modules for a Xen dom0 running NetBSD, FreeBSD or Linux.
    PLATFORM_XEN_DOM0 = r'''
options: {}
attributes:
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: [freebsd, netbsd, linux]
'''

    # Modules that belong to the bsd.multiplicity.multiplicity action group.
    ACTIONGROUP_MULTIPLICITY = r'''
options: {}
attributes:
  action_group:
    description: Use C(group/bsd.multiplicity.multiplicity) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - bsd.multiplicity.multiplicity
'''

    # Modules that only read (the *_info modules).
    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    support: full
'''
