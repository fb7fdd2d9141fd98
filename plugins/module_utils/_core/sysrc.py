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

    def __init__(self, variable, operator, value='', path=RC_CONF, verb='persist', in_call_order=False, listed=None):
        if operator not in ('=', '+=', '-=', 'remove'):
            raise ValueError('unknown sysrc operator %r' % operator)
        self.variable = variable
        self.operator = operator
        self.value = value
        self.path = path
        self.verb = verb        # what the edit is for, as actions name it (autostart, persist)
        # ``+=`` of object names (jail_list): each is placed where the call's order of its objects puts
        # it among the names already listed, so that a list finished by a later run (after a failure
        # or a crash) reads as one uninterrupted run would have written it.
        self.in_call_order = in_call_order and operator == '+='
        self.listed = list(listed or [])     # the list as read when the call planned

    @classmethod
    def parse(cls, assignment, path=RC_CONF, verb='persist', in_call_order=False, listed=None):
        """``VAR=value``, ``VAR+=items`` or ``VAR-=items`` as sysrc takes it on its command line."""
        for operator in ('+=', '-=', '='):
            if operator in assignment:
                variable, value = assignment.split(operator, 1)
                return cls(variable, operator, value, path, verb, in_call_order, listed)
        raise ValueError('not a sysrc assignment: %r' % assignment)

    def describe(self):
        where = '' if self.path == RC_CONF else ' in %s' % self.path
        if self.operator == 'remove':
            return 'remove %s%s' % (self.variable, where)
        return 'set %s%s%s%s' % (self.variable, self.operator, self.value, where)


def placed(current, added, order):
    """``current`` (a list's items) with ``added`` inserted, in turn: each after the last item that ``order``
    puts before it, else before the first that ``order`` puts after it, else (or when ``order`` does not
    hold it) at the end."""
    rank = dict((name, index) for index, name in enumerate(order))
    result = list(current)
    for item in added:
        if item in result:
            continue
        if item not in rank:
            result.append(item)
            continue
        earlier = [index for index, name in enumerate(result) if rank.get(name, -1) > -1 and rank[name] < rank[item]]
        later = [index for index, name in enumerate(result) if rank.get(name, -1) > rank[item]]
        result.insert(earlier[-1] + 1 if earlier else later[0] if later else len(result), item)
    return result


def merged_sysrc(edits, order=()):
    """[(path, argv, ordered)]: one sysrc per file for its assignments and one for its removals, list
    items of one variable joined in the order planned (duplicates dropped).  ``ordered`` names the
    variables whose new items must go between the items listed (:func:`placed`, in ``order``, the
    call's order of its objects), which ``argv`` shows as ``VAR+=items`` and the run writes as
    ``VAR=list`` from the list as it is then; where appending keeps that order, ``VAR+=`` is run."""
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
                                             for (variable, operator), items in assignments.items()],
                             _out_of_order(edits, path, assignments, order)))
        if removals:
            commands.append((path, prefix + ['-x'] + removals, []))
    return commands


def _out_of_order(edits, path, assignments, order):
    """The variables of ``path`` whose ``+=`` items, appended, would break the call's order (each
    variable looked at once: its edits share the list as the call read it)."""
    found, seen = [], set()
    rank = dict((name, index) for index, name in enumerate(order))
    for edit in edits:
        if edit.path != path or not edit.in_call_order or edit.variable in seen:
            continue
        seen.add(edit.variable)
        if not _appends_in_order(edit.listed, assignments.get((edit.variable, '+='), []), rank):
            found.append(edit.variable)
    return found


def _appends_in_order(listed, items, rank):
    """Whether :func:`placed` would put each new item of ``items`` at the end, in linear time: an item
    goes last when nothing listed is in the call's order yet, or when the last item is and comes before it."""
    result, present = list(listed), set(listed)
    any_ranked = any(name in rank for name in result)
    for item in items:
        if item in present:
            continue
        if item in rank:
            last = result[-1] if result else None
            if any_ranked and not (last in rank and rank[last] < rank[item]):
                return False
            any_ranked = True
        result.append(item)
        present.add(item)
    return True


def place_in_order(runner, argv, ordered, order):
    """The sysrc ``argv`` with each ``VAR+=items`` of an ``ordered`` variable turned into ``VAR=list``:
    the list as the file holds it now (read under the file's lock, which the caller holds), with the
    items placed in ``order``.  ``VAR-=items`` of the same variable are applied to it too."""
    prefix = argv[:3] if argv[1:2] == ['-f'] else argv[:1]
    assignments = argv[len(prefix):]
    result = list(prefix)
    lists = {}
    for assignment in assignments:
        variable = assignment.split('=', 1)[0].rstrip('+-')
        if variable not in ordered:
            result.append(assignment)
            continue
        if variable not in lists:
            read = runner.run(prefix + ['-n', '-i', variable], action='read %s' % variable)
            lists[variable] = read.stdout.split()
        items = assignment.split('=', 1)[1].split()
        if '+=' in assignment:
            lists[variable] = placed(lists[variable], items, order)
        else:
            lists[variable] = [item for item in lists[variable] if item not in items]
    for variable, items in lists.items():
        result.append('%s=%s' % (variable, ' '.join(items)))
    return result
