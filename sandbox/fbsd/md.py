"""mdconfig(8): memory disks, following sbin/mdconfig/mdconfig.c (FreeBSD 14).

Disks are records in the state.  /dev/mdN is made real where it can be: a
symlink to the backing file (vnode), to a sparse file of the disk's size
kept under /var/db/fbsdsim/md (malloc, swap), or to /dev/null (null), so a
program that writes to /dev/md0 writes somewhere real inside the instance.
The kernel side (md.c) is remembered, not read: the errno of a busy unit,
of a missing unit and of a mounted disk are marked [mem].
"""

import os
import re

from fbsd import mount
from fbsd.core import Command, Exit, getopt, locked_state

STORE = '/var/db/fbsdsim/md'
USAGE = ['usage: mdconfig -a -t type [-n] [-o [no]option] ... [-f file]',
         '                [-s size] [-S sectorsize] [-u unit] [-L label]',
         '                [-x sectors/track] [-y heads/cylinder]',
         '       mdconfig -d -u unit [-o [no]force]',
         '       mdconfig -r -u unit -s size [-o [no]force]',
         '       mdconfig -l [-v] [-n] [-f file] [-u unit]',
         '       mdconfig file',
         '\t\ttype = {malloc, vnode, swap}',
         '\t\toption = {async, cache, compress,',
         '\t\t          force, mustdealloc, readonly, ro,',
         '\t\t          reserve, verify}',
         '\t\tsize = %d (512 byte blocks), %db (B),',
         '\t\t       %dk (kB), %dm (MB), %dg (GB),',
         '\t\t       %dt (TB), or %dp (PB)']
TYPES = ('malloc', 'vnode', 'swap', 'null')
# Option names as mdconfig accepts them, and the flag each one sets; printed in this order by -l -v.
OPTIONS = {'async': 'async', 'cache': 'cache', 'compress': 'compress', 'force': 'force',
           'readonly': 'readonly', 'ro': 'readonly', 'reserve': 'reserve', 'verify': 'verify',
           'mustdealloc': 'mustdealloc'}
PRINT_ORDER = ('async', 'cache', 'compress', 'force', 'readonly', 'reserve', 'verify', 'mustdealloc')
NUMBER = re.compile(r'(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*|)')
SUFFIXES = {'b': 0, 'k': 10, 'm': 20, 'g': 30, 't': 40, 'p': 50}


def disks(state):
    return state.setdefault('md', {})


def parse_size(cmd, text):
    """strtoumax(text, 0), then mdconfig's suffixes; no suffix means 512-byte sectors."""
    match = NUMBER.match(text)
    digits, suffix = match.group(1), text[match.end(1):]
    number = int(digits, 16) if digits[:2].lower() == '0x' else int(digits, 8) if digits[:1] == '0' else \
        int(digits or '0')
    if suffix == '':
        return number * 512
    if suffix[0].lower() not in SUFFIXES:
        cmd.errx(1, 'unknown suffix on -s argument')
    return number << SUFFIXES[suffix[0].lower()]


def humanize(size):
    """humanize_number(HN_AUTOSCALE, HN_B | HN_NOSPACE | HN_DECIMAL) in a 6-byte buffer [mem]."""
    value = float(size)
    for unit in ('B', 'K', 'M', 'G', 'T', 'P', 'E'):
        if value < 1000 or unit == 'E':
            if unit != 'B' and value < 10:
                return '%.1f%s' % (value, unit)
            return '%d%s' % (int(value + 0.5) if unit != 'B' else value, unit)
        value /= 1024
    return str(size)


def device_node(unit):
    return '/dev/md%d' % unit


def store_file(unit):
    """The sparse file behind a malloc or swap disk."""
    return os.path.join(STORE, 'md%d' % unit)


def make_node(unit, disk):
    node = device_node(unit)
    if os.path.lexists(node):
        os.unlink(node)
    if disk['type'] == 'vnode':
        target = disk['file']
    elif disk['type'] == 'null':
        target = '/dev/null'
    else:
        os.makedirs(STORE, exist_ok=True)
        target = store_file(unit)
        with open(target, 'ab') as handle:
            handle.truncate(disk['size'])
    os.symlink(target, node)


def remove_node(unit, disk):
    paths = [device_node(unit)]
    if disk['type'] in ('malloc', 'swap'):
        paths.append(store_file(unit))
    for path in paths:
        if os.path.lexists(path):
            os.unlink(path)


def attach(state, disk, unit=None):
    """MDIOCATTACH: the unit used, or an errno name."""
    table = disks(state)
    if unit is None:
        unit = 0
        while str(unit) in table:
            unit += 1
    elif str(unit) in table:
        return None, 'EBUSY'   # [mem] md.c: mdnew() finds the unit in use
    if disk['size'] == 0:
        return None, 'EINVAL'
    table[str(unit)] = disk
    make_node(unit, disk)
    return unit, None


def detach(state, unit, force):
    """MDIOCDETACH: None, or an errno name."""
    table = disks(state)
    disk = table.get(str(unit))
    if disk is None:
        return 'ENOENT'   # [mem]
    mounted = mount.of_special(state, device_node(unit))
    if mounted and not force:
        return 'EBUSY'    # [mem] the provider is open
    del table[str(unit)]
    remove_node(unit, disk)
    return None


def describe(unit, disk, nflag, verbose):
    name = str(unit) if nflag else 'md%d' % unit
    if not verbose:
        return name
    flags = [o for o in PRINT_ORDER if o in disk['options']]
    fields = (name, disk['type'], '%6s' % humanize(disk['size']), disk.get('file') or '-', disk.get('label') or '-',
              ','.join(flags))
    return '\t'.join(fields)


def parse_unit(cmd, text):
    for prefix in ('/dev/', 'md'):
        if text.startswith(prefix):
            text = text[len(prefix):]
    if not text.isdigit():
        cmd.errx(1, 'bad unit: %s' % text)
    return int(text)


def mdconfig_main(prog, args):
    cmd = Command(prog, USAGE)
    if not args:
        cmd.bad_option()
    options, operands = getopt(cmd, args, 'ab:df:lno:rs:S:t:u:vx:y:L:')
    action = None
    values = {}
    option_flags = set()
    for flag, value in options:
        if flag in 'adrl':
            wanted = {'a': 'attach', 'd': 'detach', 'r': 'resize', 'l': 'list'}[flag]
            if action not in (None, wanted):
                others = {'a': '-d, -r, and -l', 'd': '-a, -r, and -l', 'r': '-a, -d, and -l', 'l': '-a, -r, and -d'}
                cmd.errx(1, '-%s is mutually exclusive with %s' % (flag, others[flag]))
            action = wanted
        elif flag == 'o':
            if value in ('cluster', 'nocluster'):
                cmd.warnx('Option cluster is ignored')
                continue
            negated = value.startswith('no') and value[2:] in OPTIONS
            name = value[2:] if negated else value
            if name not in OPTIONS:
                cmd.errx(1, 'unknown option: %s' % value)
            if negated:
                option_flags.discard(OPTIONS[name])
            else:
                option_flags.add(OPTIONS[name])
        elif flag in 'tfs':
            if flag in values:
                cmd.errx(1, '-%s can be passed only once' % flag)
            if flag == 't' and value not in TYPES:
                cmd.errx(1, 'unknown type: %s' % value)
            if flag == 't':
                option_flags.add('compress')   # set by -t, so a later -o nocompress clears it
            if flag == 'f':
                if not os.path.exists(value):
                    cmd.fail(1, 'realpath', 'ENOENT')
                value = os.path.realpath(value)
            values[flag] = value
        else:
            values[flag] = value
    action = action or 'attach'
    size = parse_size(cmd, values['s']) if 's' in values else 0
    if action == 'attach':
        return do_attach(cmd, values, operands, option_flags, size)
    check_not_attach(cmd, action, values, operands, option_flags)
    unit = parse_unit(cmd, values['u']) if 'u' in values else None
    if action == 'list':
        return do_list(cmd, values, unit)
    if unit is None:
        cmd.errx(1, '-%s requires -u' % ('d' if action == 'detach' else 'r'))
    with locked_state() as state:
        if action == 'detach':
            error = detach(state, unit, 'force' in option_flags)
        else:
            disk = disks(state).get(str(unit))
            error = 'ENOENT' if disk is None else None
            if disk is not None:
                disk['size'] = size
                if disk['type'] in ('malloc', 'swap'):
                    make_node(unit, disk)
        if error:
            cmd.fail(1, 'ioctl(/dev/mdctl)', error)
    return 0


def check_not_attach(cmd, action, values, operands, option_flags):
    """The combinations mdconfig refuses for -d, -r and -l, in its order."""
    for flag, message in (('S', '-S can only be used with -a'), ('x', '-x can only be used with -a'),
                          ('y', '-y can only be used with -a')):
        if flag in values:
            cmd.errx(1, message)
    if action != 'resize' and 's' in values:
        cmd.errx(1, '-s can only be used with -a and -r')
    if 'f' in values and action != 'list':
        cmd.errx(1, '-f can only be used with -a and -l')
    if 't' in values:
        cmd.errx(1, '-t can only be used with -a')
    if operands:
        cmd.errx(1, 'file can only be used with -a')
    if action == 'list' and option_flags:
        cmd.errx(1, '-o can only be used with -a, -d, and -r')
    if action == 'detach' and option_flags - {'force'}:
        cmd.errx(1, 'only -o [no]force can be used with -d')
    if action == 'resize' and option_flags - {'force', 'reserve'}:
        cmd.errx(1, 'only -o [no]force and -o [no]reserve can be used with -r')
    if action == 'resize' and 's' not in values:
        cmd.errx(1, 'must specify -s for -r')
    if action != 'list' and 'v' in values:
        cmd.errx(1, '-v can only be used with -l')


def do_attach(cmd, values, operands, option_flags, size):
    kind = values.get('t')
    if kind is None:
        option_flags.add('compress')
        if 'f' in values or operands:
            kind = 'vnode'
        elif 's' in values:
            kind = 'swap'
        else:
            cmd.errx(1, 'unable to determine type')
    if ('f' in values or operands) and kind != 'vnode':
        cmd.errx(1, 'only -t vnode can be used with file name')
    backing = None
    if kind == 'vnode':
        if 'f' in values:
            if operands:
                cmd.bad_option()
            given = values['f']
        else:
            if len(operands) != 1:
                cmd.bad_option()
            given = operands[0]
        if not os.path.exists(given):
            cmd.fail(1, 'could not find full path for %s' % given, 'ENOENT')
        backing = os.path.realpath(given)
        if not os.path.isfile(backing):
            cmd.errx(1, '%s is not a regular file' % given)
        size = size or os.path.getsize(backing)
    elif 's' not in values:
        cmd.errx(1, 'must specify -s for -t malloc, -t swap, or -t null')
    if 'v' in values:
        cmd.errx(1, '-v can only be used with -l')
    unit = parse_unit(cmd, values['u']) if 'u' in values else None
    disk = {'type': kind, 'size': size, 'file': backing, 'label': values.get('L'),
            'sectorsize': int(values['S']) if values.get('S', '').isdigit() else 512, 'options': sorted(option_flags)}
    with locked_state() as state:
        created, error = attach(state, disk, unit)
        if error:
            cmd.fail(1, 'ioctl(/dev/mdctl)', error)
    if unit is None:
        cmd.out(('%d' if 'n' in values else 'md%d') % created)
    return 0


def do_list(cmd, values, unit):
    nflag, verbose = 'n' in values, 'v' in values
    wanted_file = os.path.realpath(values['f']) if 'f' in values else None
    with locked_state(write=False) as state:
        table = sorted((int(u), d) for u, d in disks(state).items())
    shown = [(u, d) for u, d in table if (unit is None or u == unit)
             and (wanted_file is None or d.get('file') == wanted_file)]
    if unit is not None:
        for number, disk in shown:
            cmd.out(describe(number, disk, nflag, verbose or wanted_file is None))
        if not shown:
            raise Exit(255)
        return 0
    if verbose:
        for number, disk in shown:
            cmd.out(describe(number, disk, nflag, True))
    elif shown:
        cmd.out(''.join(describe(n, d, nflag, False) + ' ' for n, d in shown))
    if wanted_file is not None and not shown:
        raise Exit(255)
    return 0


def power_off(state):
    for unit, disk in state.get('md', {}).items():
        remove_node(int(unit), disk)


def rc_mdconfig(console, rc):
    """rc.d/mdconfig: mdconfig_mdN, in unit order."""
    names = sorted((k for k in rc if k.startswith('mdconfig_md') and k[11:].isdigit()), key=lambda k: int(k[11:]))
    for name in names:
        console.run('mdconfig', '-a', *(rc[name].split() + ['-u', name[11:]]))
