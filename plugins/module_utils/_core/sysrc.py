# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Edits of rc.conf-style variables that many objects share, merged into as few sysrc runs as possible."""

from __future__ import annotations

# sysrc's read-modify-write of a file is not atomic: edits hold the file's lock (as every module does).
RC_CONF = '/etc/rc.conf'


class SysrcEdit(object):
    """A change to one variable of an rc.conf-style file that many objects share (``kld_list``,
    ``jail_list``, ``vmm_load``).  Planned per object; every edit of a call to one file is merged
    into one ``sysrc`` (``VAR+=`` and ``VAR-=`` items joined) and run once, under the file's lock,
    after the objects' own actions: sysrc edits the file as it is then, so a concurrent run's
    entries are kept."""

    def __init__(self, variable, operator, value='', path=RC_CONF, verb='persist'):
        if operator not in ('=', '+=', '-=', 'remove'):
            raise ValueError('unknown sysrc operator %r' % operator)
        self.variable = variable
        self.operator = operator
        self.value = value
        self.path = path
        self.verb = verb        # what the edit is for, as actions name it (autostart, persist)

    @classmethod
    def parse(cls, assignment, path=RC_CONF, verb='persist'):
        """``VAR=value``, ``VAR+=items`` or ``VAR-=items`` as sysrc takes it on its command line."""
        for operator in ('+=', '-=', '='):
            if operator in assignment:
                variable, value = assignment.split(operator, 1)
                return cls(variable, operator, value, path, verb)
        raise ValueError('not a sysrc assignment: %r' % assignment)

    def describe(self):
        where = '' if self.path == RC_CONF else ' in %s' % self.path
        if self.operator == 'remove':
            return 'remove %s%s' % (self.variable, where)
        return 'set %s%s%s%s' % (self.variable, self.operator, self.value, where)


def merged_sysrc(edits):
    """[(path, argv)]: one sysrc per file for its assignments and one for its removals, list items of
    one variable joined in the order planned (duplicates dropped)."""
    by_path = {}
    for edit in edits:
        assignments, removals = by_path.setdefault(edit.path, ({}, []))
        if edit.operator == 'remove':
            if edit.variable not in removals:
                removals.append(edit.variable)
            continue
        key = (edit.variable, edit.operator)
        if edit.operator == '=':
            assignments[key] = [edit.value]
            continue
        items = assignments.setdefault(key, [])
        items.extend(item for item in edit.value.split() if item not in items)
    commands = []
    for path, (assignments, removals) in by_path.items():
        prefix = ['sysrc'] + ([] if path == RC_CONF else ['-f', path])
        if assignments:
            commands.append((path, prefix + ['%s%s%s' % (variable, operator, ' '.join(items))
                                             for (variable, operator), items in assignments.items()]))
        if removals:
            commands.append((path, prefix + ['-x'] + removals))
    return commands
