# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sizes as zfs(8) and xl read them: a number with an optional K, M, G, T, P or E (powers of 1024).

ansible-core's ``human_to_bytes`` does the arithmetic; the pattern here keeps out what zfs would
refuse (negative numbers, other units).  rctl(8) amounts follow FreeBSD's expand_number(3) rules
instead (``_jail/rctl.py``).
"""

from __future__ import annotations

import re

from ansible.module_utils.common.text.formatters import human_to_bytes

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParameterError

SIZE_RE = re.compile(r'^\s*(\d+(?:\.\d+)?)\s*([KMGTPE]?)(?:i?B)?\s*\Z', re.IGNORECASE)


def size_bytes(value):
    """'10G' -> 10737418240; None when ``value`` is not a size."""
    match = SIZE_RE.match(str(value))
    if not match:
        return None
    return int(human_to_bytes(match.group(1) + (match.group(2) or '').upper()))


def require_size(value, parameter):
    """size_bytes, or a ParameterError naming ``parameter``."""
    found = size_bytes(value)
    if found is None:
        raise ParameterError(parameter, '%r is not a size (a number with an optional K, M, G, T, P or E)' % (value,))
    return found
