# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A jail's rctl(8) rules: validation, the kernel's spelling, and its lines in /etc/rctl.conf.

Rules are compared in the form the kernel prints them
(``jail:NAME:resource:action=amount`` with ``/per`` only when per is not
``jail``), so a declared ``memoryuse:deny=1g`` equals the live
``jail:www:memoryuse:deny=1073741824``.
"""

from __future__ import annotations

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParameterError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import split_lines

RCTL_CONF = '/etc/rctl.conf'

# rctl(8) RESOURCES plus the I/O resources of FreeBSD 11 and later.
RESOURCES = ('cputime', 'datasize', 'stacksize', 'coredumpsize', 'memoryuse', 'memorylocked', 'maxproc',
             'openfiles', 'vmemoryuse', 'pseudoterminals', 'swapuse', 'nthr', 'msgqqueued', 'msgqsize',
             'nmsgq', 'nsem', 'nsemop', 'nshm', 'shmsize', 'wallclock', 'pcpu', 'readbps', 'writebps',
             'readiops', 'writeiops')
NOT_DENIABLE = ('cputime', 'wallclock', 'readbps', 'writebps', 'readiops', 'writeiops')
SIGNALS = ('hup', 'int', 'quit', 'ill', 'trap', 'abrt', 'emt', 'fpe', 'kill', 'bus', 'segv', 'sys', 'pipe',
           'alrm', 'term', 'urg', 'stop', 'tstp', 'chld', 'ttin', 'ttou', 'io', 'xcpu', 'xfsz', 'vtalrm',
           'prof', 'winch', 'info', 'usr1', 'usr2', 'thr')
ACTIONS = ('deny', 'log', 'devctl', 'throttle') + tuple('sig' + s for s in SIGNALS)
PERS = ('process', 'user', 'loginclass', 'jail')
SUFFIXES = 'kmgtpe'


def _amount(text):
    """expand_number(3), as rctl(8) applies it: a k/m/g/t/p/e suffix multiplies by 1024s."""
    number, suffix = (text[:-1], text[-1].lower()) if text[-1:].isalpha() else (text, '')
    if not number.isdigit() or (suffix and suffix not in SUFFIXES):
        raise ValueError(text)
    return int(number) * 1024 ** (SUFFIXES.index(suffix) + 1 if suffix else 0)


def _key(rule):
    """(resource, action, per) of a canonical rule: what the kernel keeps one of."""
    head, unused, tail = rule.partition('=')
    return head.split(':')[2:] + [tail.partition('/')[2] or 'jail']


def normalize(name, rules):
    """Declared rules in the kernel's spelling; ParameterError names the bad rule.

    A rule is ``resource:action=amount[/per]``, or the same preceded by
    ``jail:NAME:`` (or ``j:NAME:``) for this jail.
    """
    result = []
    keys = {}
    for rule in rules:
        text = str(rule).strip()
        fields = text.split(':')
        if len(fields) == 4 and fields[0] in ('jail', 'j'):
            if fields[1] != name:
                raise ParameterError('rctl', 'rule %r is for jail %r, not for %s' % (text, fields[1], name))
            fields = fields[2:]
        if len(fields) != 2 or '=' not in fields[1]:
            raise ParameterError('rctl', 'rule %r is not resource:action=amount[/per]' % text)
        resource, (action, unused, amount_per) = fields[0], fields[1].partition('=')
        amount, slash, per = amount_per.partition('/')
        if resource not in RESOURCES:
            raise ParameterError('rctl', 'rule %r: unknown resource %r (one of %s)'
                                 % (text, resource, ', '.join(RESOURCES)))
        if action not in ACTIONS:
            raise ParameterError('rctl', 'rule %r: unknown action %r (deny, log, devctl, throttle or a '
                                         'signal such as sigterm)' % (text, action))
        if action == 'deny' and resource in NOT_DENIABLE:
            raise ParameterError('rctl', 'rule %r: %s cannot be denied, only logged or signalled'
                                 % (text, resource))
        if slash and per not in PERS:
            raise ParameterError('rctl', 'rule %r: per must be one of %s' % (text, ', '.join(PERS)))
        try:
            number = _amount(amount)
        except ValueError:
            raise ParameterError('rctl', 'rule %r: amount %r is not a number with an optional k/m/g/t/p/e '
                                         'suffix' % (text, amount))
        canonical = 'jail:%s:%s:%s=%d' % (name, resource, action, number)
        if per and per != 'jail':
            canonical += '/' + per
        key = tuple(_key(canonical))
        if key in keys:
            raise ParameterError('rctl', 'rules %r and %r set the same limit (the kernel keeps one %s:%s per '
                                         '%s)' % (keys[key], text, key[0], key[1], key[2]))
        keys[key] = text
        result.append(canonical)
    return result


def parse_rules(output, name):
    """Live rules of jail ``name`` from ``rctl jail:NAME:``, in the kernel's spelling."""
    prefix = 'jail:%s:' % name
    rules = []
    for line in output.splitlines():
        line = line.strip()
        if not line.startswith(prefix):
            continue
        if line.endswith('/jail'):
            line = line[:-len('/jail')]
        rules.append(line)
    return rules


def rules_by_jail(output):
    """{jail name: its lines} of the output of ``rctl`` (every rule), for :func:`parse_rules`."""
    found = {}
    for line in output.splitlines():
        fields = line.strip().split(':')
        if len(fields) > 2 and fields[0] == 'jail':
            found[fields[1]] = found.get(fields[1], '') + line.strip() + '\n'
    return found


def _owned(line, name):
    token = line.split('#', 1)[0].strip().split(None, 1)
    return bool(token) and (token[0].startswith('jail:%s:' % name) or token[0].startswith('j:%s:' % name))


def conf_rules(text, name):
    """This jail's rules in rctl.conf text (what rc.d/rctl adds at boot)."""
    return [line.split('#', 1)[0].split()[0] for line in split_lines(text or '') if _owned(line, name)]


def update_conf(text, name, rules):
    """rctl.conf text with this jail's lines replaced by ``rules``; every other line kept as it is.

    The new rules take the place of the first old one, or go at the end.
    """
    lines = split_lines(text or '')
    kept, position = [], None
    for line in lines:
        if _owned(line, name):
            if position is None:
                position = len(kept)
            continue
        kept.append(line)
    if position is None:
        position = len(kept)
        if kept and not kept[-1].endswith('\n'):
            kept[-1] += '\n'
    new = [rule + '\n' for rule in rules]
    return ''.join(kept[:position] + new + kept[position:])


def live_actions(current, desired):
    """(filters to remove, rules to add) that turn the live set ``current`` into ``desired``.

    A filter names subject, resource, action and per with an empty amount
    (``jail:www:memoryuse:deny=/jail``), so it removes exactly one rule.  A
    rule whose amount changes is removed and added again.
    """
    remove = ['%s=/%s' % (rule.partition('=')[0], _key(rule)[2]) for rule in current if rule not in desired]
    add = [rule for rule in desired if rule not in current]
    return remove, add
