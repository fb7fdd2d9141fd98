"""rctl(8) over the instance's simulated RCTL rule database.

Written from rctl(8) and usr.bin/rctl/rctl.c: the command expands the rule
(subject abbreviations u/p/l/c/j, user names to uids, expand_number(3)
amounts) and the kernel checks and stores it.  Kernel behaviour taken from
memory of sys/kern/kern_rctl.c, marked [mem]:
- rules print as ``subject:id:resource:action=amount`` and ``/per`` only when
  per differs from the subject;
- adding a rule that equals an existing one except for the amount replaces it;
- removing with a filter that matches nothing fails with ESRCH;
- ``deny`` is refused (EOPNOTSUPP) for resources that cannot be denied.
Rules for a jail name are kept whether or not such a jail runs, as the kernel
keys them by name.  Usage (-u) reports zero for every resource: nothing is
accounted here.
"""

import os
import pwd

from fbsd.console import yes
from fbsd.core import Command, getopt, locked_state

USAGE = ['usage: rctl [ -h ] [-a rule | -l filter | -r filter | -u filter | filter]']

SUBJECTS = ('process', 'user', 'loginclass', 'jail')
ABBREVIATIONS = {'u': 'user', 'g': 'group', 'p': 'process', 'l': 'loginclass', 'c': 'loginclass',
                 'class': 'loginclass', 'j': 'jail'}
RESOURCES = ('cputime', 'datasize', 'stacksize', 'coredumpsize', 'memoryuse', 'memorylocked', 'maxproc',
             'openfiles', 'vmemoryuse', 'pseudoterminals', 'swapuse', 'nthr', 'msgqqueued', 'msgqsize',
             'nmsgq', 'nsem', 'nsemop', 'nshm', 'shmsize', 'wallclock', 'pcpu', 'readbps', 'writebps',
             'readiops', 'writeiops')
NOT_DENIABLE = ('cputime', 'wallclock', 'readbps', 'writebps', 'readiops', 'writeiops')
SIGNALS = ('sighup', 'sigint', 'sigquit', 'sigill', 'sigtrap', 'sigabrt', 'sigemt', 'sigfpe', 'sigkill',
           'sigbus', 'sigsegv', 'sigsys', 'sigpipe', 'sigalrm', 'sigterm', 'sigurg', 'sigstop', 'sigtstp',
           'sigchld', 'sigttin', 'sigttou', 'sigio', 'sigxcpu', 'sigxfsz', 'sigvtalrm', 'sigprof', 'sigwinch',
           'siginfo', 'sigusr1', 'sigusr2', 'sigthr')
ACTIONS = ('deny', 'log', 'devctl', 'throttle') + SIGNALS
SUFFIXES = 'kmgtpe'


class RuleError(Exception):
    def __init__(self, errno_text):
        super().__init__(errno_text)
        self.errno_text = errno_text


def expand_number(text):
    """expand_number(3): digits with an optional k/m/g/t/p/e suffix (powers of 1024)."""
    number, suffix = (text[:-1], text[-1].lower()) if text[-1:].isalpha() else (text, '')
    if not number.isdigit() or (suffix and suffix not in SUFFIXES):
        raise ValueError(text)
    return int(number) * 1024 ** (SUFFIXES.index(suffix) + 1 if suffix else 0)


def split_rule(text):
    """strsep(3) the way rctl.c and kern_rctl.c do: None for fields not reached."""
    fields = [None] * 6
    rest = text
    for index, seps in enumerate((':', ':', ':', '=/', '/')):
        if rest is None:
            break
        cuts = [rest.find(sep) for sep in seps if sep in rest]
        fields[index], rest = (rest[:min(cuts)], rest[min(cuts) + 1:]) if cuts else (rest, None)
    fields[5] = rest
    return fields


def expand(cmd, text, resolve_ids):
    """What rctl(8) passes to the kernel, or None after a warning (the command's own checks)."""
    subject, subject_id, rest = (text.split(':', 2) + [None, None])[:3]
    if subject_id is None:
        cmd.warnx("malformed rule '%s': missing subject" % text)
        return None
    subject = ABBREVIATIONS.get(subject.lower(), subject)
    if resolve_ids and subject == 'user' and subject_id and not subject_id.isdigit():
        try:
            subject_id = str(pwd.getpwnam(subject_id).pw_uid)
        except KeyError:
            cmd.warnx("malformed rule '%s': unknown user '%s'" % (text, subject_id))
            return None
    resolved = '%s:%s:%s' % (subject, subject_id, rest or '')
    fields = split_rule(resolved)
    amount, per = fields[4], fields[5]
    if not amount:
        return resolved
    try:
        number = expand_number(amount)
    except ValueError:
        cmd.warnx("malformed rule '%s': invalid numeric value '%s'" % (text, amount))
        return None
    expanded = '%s:%s:%s:%s=%d' % (fields[0], fields[1], fields[2], fields[3], number)
    return expanded + ('/' + per if per is not None else '')


def parse_kernel(text, filter_mode):
    """The kernel's view of a rule string: dict of fields (None = unspecified)."""
    subject, subject_id, resource, action, amount, per = split_rule(text)
    if per is not None and ('/' in per or ':' in per):
        raise RuleError('EINVAL')
    if amount and not amount.isdigit():
        raise RuleError('EINVAL')
    rule = dict(subject=subject or None, id=subject_id or None, resource=resource or None,
                action=action or None, amount=int(amount) if amount else None, per=per or None)
    if rule['subject'] is not None and rule['subject'] not in SUBJECTS:
        raise RuleError('EINVAL')
    if rule['resource'] is not None and rule['resource'] not in RESOURCES:
        raise RuleError('EINVAL')
    if rule['action'] is not None and rule['action'] not in ACTIONS:
        raise RuleError('EINVAL')
    if rule['per'] is not None and rule['per'] not in SUBJECTS:
        raise RuleError('EINVAL')
    if rule['subject'] in ('process', 'user') and rule['id'] is not None and not rule['id'].isdigit():
        raise RuleError('EINVAL')
    if not filter_mode:
        if None in (rule['subject'], rule['id'], rule['resource'], rule['action'], rule['amount']):
            raise RuleError('EINVAL')
        if rule['per'] is None:
            rule['per'] = rule['subject']
        if rule['action'] == 'deny' and rule['resource'] in NOT_DENIABLE:
            raise RuleError('EOPNOTSUPP')
    return rule


def render(rule):
    text = '%s:%s:%s:%s=%d' % (rule['subject'], rule['id'], rule['resource'], rule['action'], rule['amount'])
    return text + ('/' + rule['per'] if rule['per'] != rule['subject'] else '')


def matches(rule, wanted):
    return all(wanted[key] is None or wanted[key] == rule[key] for key in wanted)


def humanize_ids(rule):
    if rule['subject'] != 'user':
        return render(rule)
    try:
        name = pwd.getpwuid(int(rule['id'])).pw_name
    except KeyError:
        return render(rule)
    return render(dict(rule, id=name))


def humanize_amount(text):
    """humanize_number(3) into 6 bytes, autoscaled, base 1024, one decimal below 10."""
    head, sep, amount_per = text.partition('=')
    amount, slash, per = amount_per.partition('/')
    quotient, remainder, scale = int(amount), 0, 0
    while (quotient >= 10000 or (quotient == 9999 and remainder >= 512)) and scale < 6:
        remainder = quotient % 1024
        quotient //= 1024
        scale += 1
    prefix = ['', 'K', 'M', 'G', 'T', 'P', 'E'][scale]
    if scale > 0 and (quotient < 9 or (quotient == 9 and remainder < 973)):
        tenths = (remainder * 10 + 512) // 1024
        value = '%d.%d' % (quotient + tenths // 10, tenths % 10)
    else:
        value = '%d' % (quotient + (remainder + 512) // 1024)
    return '%s=%s%s%s' % (head, value + prefix, slash, per)


ERRNO = {'EINVAL': 'Invalid argument', 'ESRCH': 'No such process', 'EOPNOTSUPP': 'Operation not supported'}


def _enabled(cmd, state):
    if not state['sysctl'].get('kern.racct.enable'):
        cmd.errx(1, 'RACCT/RCTL present, but disabled; enable using kern.racct.enable=1 tunable')


# What each mode says when the kernel refuses an operand: "<this> '<operand>': <errno text>".
FAILURES = {'a': 'failed to add rule', 'r': 'failed to remove rule', 'u': 'failed to show resource consumption for',
            'l': 'failed to get limits for', '': 'failed to show rules for'}


def show(cmd, rule, hflag, nflag):
    text = render(rule) if nflag else humanize_ids(rule)
    cmd.out(humanize_amount(text) if hflag else text)


def add_rule(state, rule):
    rules = state.setdefault('rctl', [])
    same = dict(rule, amount=None)
    rules[:] = [r for r in rules if not matches(r, same)]
    rules.append(rule)


def remove_rules(state, wanted):
    """Remove the matching rules; the errno when there is none."""
    rules = state.setdefault('rctl', [])
    kept = [r for r in rules if not matches(r, wanted)]
    if len(kept) == len(rules):
        return 'ESRCH'
    rules[:] = kept
    return None


def show_usage(cmd, wanted):
    if wanted['subject'] is None or wanted['id'] is None:
        return 'EINVAL'
    for resource in RESOURCES:
        cmd.out('%s=0' % resource)
    return None


def show_limits(cmd, state, wanted, hflag, nflag):
    """Rules that apply to a process: its own and those of its user (no process here is jailed)."""
    if wanted['subject'] != 'process' or wanted['id'] is None:
        return 'EINVAL'
    try:
        with open('/proc/%s/status' % wanted['id']) as handle:
            uid = [line.split()[1] for line in handle if line.startswith('Uid:')][0]
    except OSError:
        return 'ESRCH'
    for rule in state.get('rctl', []):
        if (rule['subject'], rule['id']) in (('process', wanted['id']), ('user', uid)):
            show(cmd, rule, hflag, nflag)
    return None


def run_operand(cmd, state, mode, expanded, hflag, nflag):
    """Carry out one operand; the errno name when the kernel refuses it."""
    try:
        rule = parse_kernel(expanded, filter_mode=mode != 'a')
    except RuleError as exc:
        return exc.errno_text
    if mode == 'a':
        return add_rule(state, rule)
    if mode == 'r':
        return remove_rules(state, rule)
    if mode == 'u':
        return show_usage(cmd, rule)
    if mode == 'l':
        return show_limits(cmd, state, rule, hflag, nflag)
    for found in state.get('rctl', []):
        if matches(found, rule):
            show(cmd, found, hflag, nflag)
    return None


def rctl_main(prog, args):
    cmd = Command(prog, USAGE)
    options, operands = getopt(cmd, args, 'ahlnru')
    flags = set(option[0] for option in options)
    mode = ''.join(flags & set('alru'))
    if len(mode) > 1:
        cmd.errx(1, 'at most one of -a, -l, -r, or -u may be specified')
    if not operands:
        if mode:
            cmd.bad_option()
        operands = ['::']
    failures = 0
    with locked_state() as state:
        _enabled(cmd, state)
        for operand in operands:
            expanded = expand(cmd, operand, resolve_ids=not ('a' in flags and 'n' in flags))
            if expanded is None:
                failures += 1
                continue
            errno_name = run_operand(cmd, state, mode, expanded, 'h' in flags, 'n' in flags)
            if errno_name:
                cmd.warnx("%s '%s': %s" % (FAILURES[mode], operand, ERRNO[errno_name]))
                failures += 1
    return failures


def rc_rctl(console, rc):
    """rc.d/rctl: the rules of rctl_rules (/etc/rctl.conf) when rctl_enable is on."""
    path = rc.get('rctl_rules') or '/etc/rctl.conf'
    if yes(rc.get('rctl_enable')) and os.path.exists(path):
        with open(path) as handle:
            for line in handle:
                rule = line.split('#', 1)[0].strip()
                if rule:
                    console.run('rctl', '-a', rule)
