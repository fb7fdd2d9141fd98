# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who owns what in a file the collection shares with people and other tools: one marker scheme.

An owner is ``KIND NAME`` (``jail web``, ``domain web``, ``chroot /srv/build``).  What one owner
wrote is marked by a comment line directly above it (a jail's block in jail.conf, the settings of a
guest file), optionally with what it holds::

    # Managed by bsd.multiplicity: jail web
    # Managed by bsd.multiplicity: domain web; settings: name memory vcpus

or, for lines among other lines (an fstab block), between two lines::

    # BEGIN chroot /srv/build (managed by bsd.multiplicity)
    # END chroot /srv/build (managed by bsd.multiplicity)

Markers written by earlier versions are read as their owner's (``LEGACY``) and replaced by the
current form when the owner next writes, so a file is adopted, never given a second marker.
rctl.conf has no markers: a rule names its jail in its subject (``jail:web:``), which owns it.
"""

from __future__ import annotations

import re

PREFIX = '# Managed by bsd.multiplicity: '
BLOCK = '# %s %s (managed by bsd.multiplicity)'

# Earlier versions' single-line markers: (pattern, kind, group of the name or None, how the detail in
# group 1 is read, or None).
LEGACY = (
    (re.compile(r'# Managed by bsd\.multiplicity\.jail: this block is rewritten on every run\.\Z'), 'jail', None, None),
    (re.compile(r'# Managed by bsd\.multiplicity\.jail: (\S+)\Z'), 'jail', 1, None),
    (re.compile(r'# bsd\.multiplicity\.xen_domu manages:(.*)\Z'), 'domain', None, 'settings: %s'),
)


def marker(owner, detail=None):
    """The marker line of ``owner`` (without its line break)."""
    return PREFIX + owner + ('; ' + detail if detail else '')


def read(line):
    """(owner, detail) of a marker line, current or earlier; None for any other line.  An earlier marker
    that did not name its object gives the kind alone as the owner (it marks whatever it is above)."""
    line = line.rstrip('\r\n').strip()
    if line.startswith(PREFIX):
        owner, unused, detail = line[len(PREFIX):].partition('; ')
        return owner, detail or None
    for pattern, kind, name_group, detail in LEGACY:
        match = pattern.match(line)
        if match:
            name = match.group(name_group) if name_group else None
            return ('%s %s' % (kind, name) if name else kind), (detail % match.group(1).strip() if detail else None)
    return None


def marks(line, owner):
    """Whether ``line`` is ``owner``'s marker (an earlier marker without a name: any of its kind's)."""
    found = read(line)
    return found is not None and found[0] in (owner, owner.split(' ', 1)[0])


def block_markers(owner):
    """The begin and end lines that delimit the lines ``owner`` manages among others."""
    return BLOCK % ('BEGIN', owner), BLOCK % ('END', owner)
