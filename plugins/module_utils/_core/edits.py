# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed edits of files, which the engine merges: every edit of one file in a call is one locked
rewrite from the file as it is then (never from a text read at plan time).

- :class:`FileEdit`: a part of a shared file that one object owns (its block of jail.conf, fstab,
  rctl.conf, a Xen guest file, an rc.conf list), ``edit(text) -> text``; None removes the file.
- :class:`OwnedFile`: a whole file that one object owns alone (its text; None removes it).
- rc.conf assignments and list edits are :class:`sysrc.SysrcEdit` (one ``sysrc`` per file).

A plan takes an edit in two ways: ``plan.write(edit)`` where its actions need the file at that point
(a jail's block before its start: the edits of several objects to one file are merged when they
wait for each other, as a batched action), ``plan.edits`` for the host-wide edits applied once after
every object's actions.
"""

from __future__ import annotations

import os

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import ownership
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import edit_locked, find_block, replace_block


class FileEdit(object):
    """``edit(text or None) -> text or None`` of ``path``; ``parent``: make its directory if missing;
    ``private``: the file holds a secret (a VNC password), so it is written 0600 whatever its mode was."""

    def __init__(self, path, edit, description, mode=0o644, verb='persist', parent=False, private=False):
        self.path = path
        self.edit = edit
        self.description = description
        self.mode = mode
        self.verb = verb
        self.parent = parent
        self.private = private

    def describe(self):
        return self.description


class OwnedFile(FileEdit):
    """The whole of ``path``, owned by one object: ``text`` (None: the file is removed)."""

    def __init__(self, path, text, description, mode=0o644, verb='persist', parent=False):
        super().__init__(path, lambda current: text, description, mode=mode, verb=verb, parent=parent)
        self.text = text


def rewrite(path, edits):
    """Apply ``edits`` (all of ``path``) in order, in one locked rewrite."""
    if any(e.parent for e in edits) and not os.path.isdir(os.path.dirname(path)):
        os.makedirs(os.path.dirname(path), 0o755)
    if not os.path.isdir(os.path.dirname(path)) and all(isinstance(e, OwnedFile) and e.text is None for e in edits):
        return      # nothing to remove

    def combined(text):
        for edit in edits:
            text = edit.edit(text)
        return text
    edit_locked(path, combined, mode=edits[0].mode, private=any(e.private for e in edits))


def block_edit(owner, lines, adopt=()):
    """The edit (text -> text) that makes ``owner``'s block of a line-based file (fstab, sysctl.conf)
    hold ``lines`` (none: no block at all); every other line of the file is kept.  A block of an
    earlier owner name (``adopt``) is the owner's: kept as it is while it holds these lines, else
    replaced where it is."""
    begin, end = ownership.block_markers(owner)
    body = ''.join(line + '\n' for line in lines) or None

    def edit(text):
        if not (text or body):
            return text
        for earlier in adopt:
            old_begin, old_end = ownership.block_markers(earlier)
            span = find_block(text or '', old_begin, old_end)
            if span is None:
                continue
            if body is not None and replace_block(text, old_begin, old_end, body) == text:
                return text             # it holds these lines: an upgrade rewrites nothing
            # Renamed where it is, then edited as the owner's own block.
            block = text[span[0]:span[1]].replace(old_begin, begin, 1)
            head, unused, tail = block.rpartition(old_end)
            text = text[:span[0]] + head + end + tail + text[span[1]:]
            break
        return replace_block(text or '', begin, end, body)
    return edit


def block_text(text, owner):
    """The lines of ``owner``'s block in ``text``, without its markers ('' when it has none)."""
    begin, end = ownership.block_markers(owner)
    span = find_block(text or '', begin, end)
    if span is None:
        return ''
    return ''.join((text or '')[span[0]:span[1]].splitlines(True)[1:-1])
