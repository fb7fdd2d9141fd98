# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile values: comment starters, every line break str.splitlines() knows, quotes, shell
syntax, NUL, bytes that are not UTF-8, mixed with ordinary text."""

from __future__ import annotations

import os

from hypothesis import strategies as st

# make fuzz multiplies every example count.
SCALE = int(os.environ.get('BSDM_PROPERTY_SCALE', '1'))

LINE_BREAKS = ['\n', '\r', '\r\n', '\f', '\v', '\x1c', '\x1d', '\x1e', '\x85', '\u2028', '\u2029']
HOSTILE_PIECES = LINE_BREAKS + [
    ' ', '\t', '#', '//', '/*', '*/', ';', '{', '}', '"', "'", '\\', '$', '${x}', '$(touch canary)',
    '`touch canary`', '|', '&', '<', '>', '(', ')', ',', '=', '+=', '*', '?', '[', '~', '\x00', '\x7f',
    '\udcff', '\udc80',            # bytes 0xff and 0x80 read with surrogateescape
    '..', '/', '-', '_', '.', ':', '%', '@', 'é', '\u200b',
]


def examples(count):
    return count * SCALE


def hostile_text(max_size=12, surrogates=True, min_size=0):
    pieces = [p for p in HOSTILE_PIECES if surrogates or not any(0xdc80 <= ord(c) <= 0xdcff for c in p)]
    plain = st.characters(blacklist_categories=('Cs',), max_codepoint=0x24f)
    return st.lists(st.one_of(st.sampled_from(pieces), plain), min_size=min_size, max_size=max_size).map(''.join)


def word(alphabet='abcdefghijklmnopqrstuvwxyz0123456789_.', max_size=16):
    """Mostly well-formed names, so that the accepted path is exercised as much as the refusals."""
    return st.one_of(st.text(alphabet=alphabet, min_size=1, max_size=max_size), hostile_text(max_size=6))
