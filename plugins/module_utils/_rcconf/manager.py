# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Variables of rc.conf-style files (rc.conf, rc.conf.local, loader.conf): one variable is one object.

The file is read once per call; every variable's edit of one file is one locked rewrite from the
file as it is then (the collection's lock, which the modules' own rc.conf and loader.conf edits
hold), so a role run beside a module run loses nothing.  Values are refused unless they read back
the same through the file's reader: sh for rc.conf (which sources it at boot), the boot loader for
loader.conf; both read ``name="value"`` alike when the value holds none of ``"\\$``, a backquote or
a line break.  sysrc(8) itself writes a value between double quotes unescaped, so ``$(...)`` in a
value given to it would run at every boot: here it is refused.
"""

from __future__ import annotations

import os
import re

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.edits import FileEdit
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.engine import Current, Desired, Kind
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParameterError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import read_text
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.module import KindModule
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import LIVE, Option, compare
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.shvars import ShVars

SH = 'sh'
LOADER = 'loader'
# sh variable names; loader.conf also takes tunables and module settings with dots (kern.racct.enable).
NAME_RE = {SH: re.compile(r'^[A-Za-z_][A-Za-z0-9_]*\Z'), LOADER: re.compile(r'^[A-Za-z_][A-Za-z0-9_.]*\Z')}
# What both readers take inside "...": no quote, backslash, dollar, backquote or line break.
UNSAFE = frozenset('"\\$`\n\r\x00')

SET, DEFAULT, REMOVE, ADD, DISCARD = 'set', 'default', 'remove', 'add', 'discard'


def rc_conf_argument_spec():
    return dict(
        argument_spec=dict(
            path=dict(type='path', default='/etc/rc.conf'),
            syntax=dict(type='str', default='auto', choices=['auto', SH, LOADER]),
            values=dict(type='dict', default={}),
            defaults=dict(type='dict', default={}),
            list_add=dict(type='dict', default={}),
            list_remove=dict(type='dict', default={}),
        ),
        supports_check_mode=True,
    )


def syntax_of(path, syntax):
    """``sh`` or ``loader``: as given, or from the file's name (loader.conf, loader.conf.local, /boot/...)."""
    if syntax != 'auto':
        return syntax
    return LOADER if os.path.basename(path).startswith('loader.conf') or path.startswith('/boot/') else SH


def _text_value(parameter, value):
    """A declared value as the file holds it: booleans are YES/NO (rc.conf's words), numbers as written."""
    if isinstance(value, bool):
        return 'YES' if value else 'NO'
    if isinstance(value, (int, float, str)):
        text = str(value)
        bad = sorted(set(c for c in text if c in UNSAFE))
        if bad:
            raise ParameterError(parameter, '%r holds %s, which the file\'s reader would not read back as written '
                                            '(sh expands $ and backquotes at boot)' % (text, ', '.join(repr(c) for c in bad)))
        return text
    raise ParameterError(parameter, 'must be a string, a number or a boolean, not %s' % type(value).__name__)


def _words(parameter, value):
    items = value if isinstance(value, list) else [value]
    words = []
    for item in items:
        word = _text_value(parameter, item)
        if not word or any(c.isspace() for c in word):
            raise ParameterError(parameter, '%r is not one word of a space-separated list' % word)
        if word not in words:
            words.append(word)
    return words


def after_value(op, value, words, current):
    """The variable's value after the edit (None: not in the file)."""
    if op == SET:
        return value
    if op == DEFAULT:
        return value if current is None else current
    if op == REMOVE:
        return None
    listed = (current or '').split()
    if op == ADD:
        missing = [w for w in words if w not in listed]
        return ' '.join(listed + missing) if missing else current
    return ' '.join(w for w in listed if w not in words) if current is not None else None


class RcVarKind(Kind):
    """One variable of one rc.conf-style file: set to a value, holding some list words, or absent."""

    name = 'variable'
    key = 'rc_vars'
    run_state = False
    facts_key = 'variable'
    argument_spec = dict(name=dict(type='str', required=True), path=dict(type='path', default='/etc/rc.conf'),
                         syntax=dict(type='str', default='auto'), op=dict(type='str', default=SET),
                         value=dict(type='raw'), words=dict(type='list', elements='raw', default=[]))
    OPTIONS = (Option('value', LIVE),)

    def desired(self, params):
        path, name, op = params['path'], params['name'], params['op']
        syntax = syntax_of(path, params['syntax'])
        where = params.get('parameter') or 'values'
        if not NAME_RE[syntax].match(name or ''):
            raise ParameterError('%s.%s' % (where, name), 'is not a variable name of %s (%s)' % (
                path, 'letters, digits and "_"' if syntax == SH else 'letters, digits, "_" and "."'))
        value = words = None
        if op == SET and params['value'] is None:
            op = REMOVE
        if op in (SET, DEFAULT):
            if params['value'] is None:
                raise ParameterError('%s.%s' % (where, name), 'needs a value')
            value = _text_value('%s.%s' % (where, name), params['value'])
        elif op in (ADD, DISCARD):
            words = _words('%s.%s' % (where, name), params['words'])
        return Desired(name, 'absent' if op == REMOVE else 'present', {}, path=path, syntax=syntax, op=op,
                       value=value, words=words)

    def observe(self, view, wanted):
        found = {}
        for d in wanted:
            path, syntax = d.extra['path'], d.extra['syntax']
            # One file's plain assignments, read once per call by the reader of its syntax.
            file_vars = view.cached(('rc vars', path, syntax), lambda: ShVars(read_text(path), loader=syntax == LOADER))
            current = file_vars.vars.get(d.name)
            # A list's value after the edit depends on what the file lists now.
            after = after_value(d.extra['op'], d.extra['value'], d.extra['words'], current)
            found[d.name] = Current('absent' if current is None else 'stopped', dict(value=current),
                                    file=file_vars, after=after)
        return found

    def compare(self, desired, current):
        return compare(self.OPTIONS, current.settings, dict(value=current.extra['after']))

    def _write(self, plan, desired, verb):
        d = desired.extra
        name, op, value, words = desired.name, d['op'], d['value'], d['words']

        def edit(text):
            # From the file as it is under the lock: a list keeps what another run added meanwhile.
            parsed = ShVars(text, loader=d['syntax'] == LOADER)
            return parsed.edited({name: after_value(op, value, words, parsed.vars.get(name))})[0]
        shown = {SET: 'set %s="%s"' % (name, value), DEFAULT: 'set %s="%s"' % (name, value), REMOVE: 'remove %s' % name,
                 ADD: 'add %s to %s' % (' '.join(words or []), name),
                 DISCARD: 'remove %s from %s' % (' '.join(words or []), name)}[op]
        plan.write(FileEdit(d['path'], edit, '%s in %s' % (shown, d['path']), verb=verb))

    def create(self, plan, desired, current, changes):
        if current.extra['after'] is not None:      # not an empty list_add (nothing to list)
            self._write(plan, desired, 'set')

    def update(self, plan, desired, current, changes):
        if changes:
            self._write(plan, desired, 'set')

    def destroy(self, plan, desired, current, changes, purge=False):
        self._write(plan, desired, 'remove')

    def needs_reread(self, plan):
        """The values are what the rewrite wrote (or would write): nothing to read again."""
        return False

    def facts(self, outcome):
        found = outcome.before
        return dict(name=outcome.name, path=outcome.desired.extra['path'],
                    value=found.extra['after'] if outcome.error is None else found.settings['value'])


class RcConfManager(KindModule):
    """The rc_conf module: each named variable one object of one engine call; one rewrite of the file."""

    kind_class = RcVarKind

    @staticmethod
    def requests(params):
        requests, seen = [], set()
        common = dict(path=params['path'], syntax=params['syntax'])
        for parameter, op in (('values', SET), ('defaults', DEFAULT), ('list_add', ADD), ('list_remove', DISCARD)):
            for name, value in (params[parameter] or {}).items():
                if name in seen:
                    raise ParameterError(parameter, '%s is named in more than one of values, defaults, list_add '
                                                    'and list_remove' % name)
                seen.add(name)
                request = dict(common, name=name, op=op, parameter=parameter)
                if op in (SET, DEFAULT):
                    request['value'] = value
                else:
                    request['words'] = value if isinstance(value, list) else [value]
                requests.append(request)
        if not requests:
            raise ParameterError('values', 'name at least one variable (values, defaults, list_add or list_remove)')
        return requests

    def shape(self, outcomes):
        path = outcomes[0].desired.extra['path']
        result = dict(path=path, values=dict((o.name, self.kind.facts(o)['value']) for o in outcomes))
        if self.module._diff:
            text = outcomes[0].before.extra['file'].text
            after = text
            for outcome in outcomes:
                for action in outcome.plan.actions:
                    if action.edit is not None:
                        after = action.edit.edit(after)
            result['diff'] = [dict(before_header=path, after_header=path, before=text or '', after=after or '')]
        return result
