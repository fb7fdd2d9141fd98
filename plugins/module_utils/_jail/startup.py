# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How jails are started: one jail(8) run for every new jail of a call.

jail(8) given a configuration and no jail name does every jail of it, each on its own: one that
fails is reported by its name, those depending on it are skipped, the others are created, and jails
already running are passed over (jail.c main loop, state.c start_state).  So the jails a call
starts are given to one ``jail -f - -p1 -c`` as a configuration on standard input that includes
their files.  ``-p1`` runs one jail's commands at a time, as rc.d/jail does without
``jail_parallel_start``.

A jail's ``depend`` must name jails of the configuration jail(8) reads (a running jail defined
elsewhere is "undefined" to it), so the files of the jails it depends on are included too.  Only a
file that holds its one jail is included in a run for many (any other jail in it would be started
too); a jail whose file holds others is started on its own, by name.
"""

from __future__ import annotations

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import Action
from ansible_collections.bsd.multiplicity.plugins.module_utils.jail_conf import JailConfError, include_lines

# The batch key of a jail's start (planner.Action.batch).
START = ('jail', 'start')
MANY = ['jail', '-f', '-', '-p1', '-c']


def command(name, conf_path, holds_only, depended):
    """How one jail is started: dict(argv, data, batch, files).

    ``depended`` are (path, holds_only) of the files that configure the jails it depends on, or None
    when one of them is configured nowhere (jail(8) then says so, naming it).
    """
    if not depended:
        files = [conf_path]
        argv, data = ['jail', '-f', conf_path, '-c', name], None
    else:
        files = list(dict.fromkeys([path for path, unused in depended] + [conf_path]))
        try:
            data = include_lines(files)
        except JailConfError as exc:
            raise MultiplicityError('Jail %s: cannot start it with the jails it depends on: %s' % (name, exc))
        argv = ['jail', '-f', '-', '-c', name]
    alone = holds_only and all(only for unused, only in depended or ())
    return dict(argv=argv, data=data, files=files, batch=START if alone else None)


def batch_action(members):
    """The one jail(8) run that starts every jail of ``members`` ((outcome, action) of each)."""
    files = []
    for outcome, unused in members:
        files.extend(f for f in outcome.current.extra['start']['files'] if f not in files)
    names = [outcome.name for outcome, unused in members]
    return Action('start', 'start jails %s (one jail(8) run)' % ', '.join(names), argv=MANY,
                  data=include_lines(files))


def failures(members, error, running):
    """{name: MultiplicityError} of the members not running after the failed run (``running``: the names
    jls reports), each with what jail(8) said of it and what the run's hooks printed (their lines name no
    jail, so each failed member is shown them)."""
    lines = [line.strip() for line in
             (getattr(error, 'stderr', None) or getattr(error, 'stdout', None) or str(error)).splitlines()]
    prefixes = dict((outcome.name, ('jail: %s: ' % outcome.name, 'jail: "%s" ' % outcome.name, '%s: ' % outcome.name))
                    for outcome, unused in members)
    every = tuple(p for names in prefixes.values() for p in names) + ('jail: ',)
    hooks = [line for line in lines if line and not line.startswith(every)]
    found = {}
    for outcome, unused in members:
        name = outcome.name
        if name in running:
            continue
        own = [line for line in lines if line.startswith(prefixes[name])]
        said = '; '.join(own + hooks) or '; '.join(line for line in lines if line) or 'no output'
        found[name] = MultiplicityError('Failed to start jail %s: %s exited %s: %s' % (
            name, ' '.join(MANY), getattr(error, 'rc', '?'), said))
    return found
