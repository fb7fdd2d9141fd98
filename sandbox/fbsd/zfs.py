"""zfs(8) and zpool(8) over a simulated pool 'zroot' (src-notes section 10, zfs-*.8).

Datasets are records in the instance state.  A filesystem's data is the real
directory at its mountpoint inside the instance; a snapshot is a copy of that
directory kept under /var/db/fbsdsim/zfs, so clone, rollback and send/receive
carry real files.  Space accounting is approximate (file sizes, no compression).
"""

import json
import os
import shutil
import subprocess
import sys
import time

from fbsd import store
from fbsd.prison import find_jail
from fbsd.core import Command, Exit, commit, getopt, locked_state

STORE = '/var/db/fbsdsim/zfs'
POOL_SIZE = 107374182400
STREAM_MAGIC = b'FBSDSIM-ZFS-STREAM 1\n'
# Each subcommand's synopsis as zfs_main.c get_usage() prints it (OpenZFS 2.2).
SYNOPSES = {
    'version': ['\tversion'],
    'create': ['\tcreate [-Pnpuv] [-o property=value] ... <filesystem>',
               '\tcreate [-Pnpsv] [-b blocksize] [-o property=value] ... -V <size> <volume>'],
    'destroy': ['\tdestroy [-fnpRrv] <filesystem|volume>',
                '\tdestroy [-dnpRrv] <filesystem|volume>@<snap>[%<snap>][,...]',
                '\tdestroy <filesystem|volume>#<bookmark>'],
    'snapshot': ['\tsnapshot [-r] [-o property=value] ... <filesystem|volume>@<snap> ...'],
    'rollback': ['\trollback [-rRf] <snapshot>'],
    'clone': ['\tclone [-p] [-o property=value] ... <snapshot> <filesystem|volume>'],
    'rename': ['\trename [-f] <filesystem|volume|snapshot> <filesystem|volume|snapshot>',
               '\trename -p [-f] <filesystem|volume> <filesystem|volume>',
               '\trename -u [-f] <filesystem> <filesystem>', '\trename -r <snapshot> <snapshot>'],
    'list': ['\tlist [-Hp] [-r|-d max] [-o property[,...]] [-s property]...',
             '\t    [-S property]... [-t type[,...]] [filesystem|volume|snapshot] ...'],
    'set': ['\tset <property=value> ... <filesystem|volume|snapshot> ...'],
    'get': ['\tget [-rHp] [-d max] [-o "all" | field[,...]]', '\t    [-t type[,...]] [-s source[,...]]',
            '\t    <"all" | property[,...]> [filesystem|volume|snapshot|bookmark] ...'],
    'inherit': ['\tinherit [-rS] <property> <filesystem|volume|snapshot> ...'],
    'upgrade': ['\tupgrade [-v]', '\tupgrade [-r] [-V version] <-a | filesystem ...>'],
    'mount': ['\tmount', '\tmount [-flvO] [-o opts] <-a | filesystem>'],
    'unmount': ['\tunmount [-fu] <-a | filesystem|mountpoint>'],
    'send': ['\tsend [-DnPpRVvLecwhb] [-[i|I] snapshot] <snapshot>'],
    'receive': ['\treceive [-vMnsFhu] [-o <property>=<value>] ... [-x <property>] ...',
                '\t    <filesystem|volume|snapshot>'],
    'jail': ['\tjail <jailid|jailname> <filesystem>'],
    'unjail': ['\tunjail <jailid|jailname> <filesystem>'],
}
ALIAS_COMMANDS = {'snap': 'snapshot', 'recv': 'receive', 'umount': 'unmount'}
USAGE = (['usage: zfs command args ...', 'where \'command\' is one of the following:', '']
         + [line for lines in SYNOPSES.values() for line in lines])

# name: (default, inheritable); None default = not set unless given.
SETTABLE = {
    'mountpoint': (None, True), 'canmount': ('on', False), 'compression': ('off', True), 'atime': ('on', True),
    'readonly': ('off', True), 'exec': ('on', True), 'setuid': ('on', True), 'devices': ('on', True),
    'checksum': ('on', True), 'copies': ('1', True), 'dedup': ('off', True), 'sync': ('standard', True),
    'recordsize': ('131072', True), 'quota': ('0', False), 'refquota': ('0', False), 'reservation': ('0', False),
    'refreservation': ('0', False), 'jailed': ('off', True), 'snapdir': ('hidden', True),
    'aclmode': ('discard', True), 'aclinherit': ('restricted', True), 'xattr': ('on', True),
    'primarycache': ('all', True), 'logbias': ('latency', True), 'sharenfs': ('off', True),
    'volsize': (None, False), 'volblocksize': ('16384', False), 'volmode': ('default', True),
}
READONLY = ('type', 'creation', 'used', 'available', 'referenced', 'compressratio', 'mounted', 'origin', 'guid',
            'createtxg', 'usedbysnapshots', 'usedbydataset', 'usedbychildren', 'written', 'name')
ALIASES = {'avail': 'available', 'refer': 'referenced', 'compress': 'compression', 'reserv': 'reservation',
           'refreserv': 'refreservation', 'recsize': 'recordsize', 'ratio': 'compressratio', 'volblock': 'volblocksize'}
SIZES = ('quota', 'refquota', 'reservation', 'refreservation', 'volsize', 'recordsize', 'volblocksize')
CHOICES = {'canmount': ('on', 'off', 'noauto'), 'compression': ('on', 'off', 'lz4', 'gzip', 'zstd', 'zle', 'lzjb'),
           'readonly': ('on', 'off'), 'atime': ('on', 'off'), 'jailed': ('on', 'off'), 'exec': ('on', 'off'),
           'setuid': ('on', 'off'), 'devices': ('on', 'off'), 'dedup': ('on', 'off', 'verify', 'sha256'),
           'sync': ('standard', 'always', 'disabled'), 'snapdir': ('hidden', 'visible'),
           'volmode': ('default', 'full', 'geom', 'dev', 'none')}


def sub_usage(sub):
    """usage(B_FALSE) inside a subcommand: its synopsis, then the property table or a pointer to it."""
    lines = ['usage:'] + SYNOPSES[sub]
    if sub not in ('set', 'get', 'inherit', 'list'):
        return lines + ['', 'For the property list, run: zfs set|get', '',
                        'For the delegated permission list, run: zfs allow|unallow']
    header = '\t%-14s %s  %s   %s' % ('PROPERTY', 'EDIT', 'INHERIT', 'VALUES')
    lines += ['', 'The following properties are supported:', '', header, '']
    for name in sorted(set(READONLY) | set(SETTABLE)):
        editable = name in SETTABLE
        inheritable = editable and SETTABLE[name][1]
        values = '<size>' if name in SIZES else ' | '.join(CHOICES.get(name, ())) or '-'
        lines.append('\t%-15s %s%s%s' % (name, 'YES    ' if editable else ' NO    ',
                                         '  YES   ' if inheritable else '   NO   ', values))
    return lines + ['', 'Sizes are specified in bytes with standard units such as K, M, G, etc.', '',
                    'User-defined properties can be specified by using a name containing a colon (:).']


class ZfsCommand(Command):
    """zfs and zpool set opterr = 0 and report bad options themselves, with the subcommand's usage (exit 2)."""

    def __init__(self, prog, usage, usage_of):
        super().__init__(prog, usage, usage_status=2)
        self.usage_of = usage_of
        self.sub = None

    def bad_option(self, flag=None):
        self.usage(*(self.usage_of(self.sub) if self.sub else self.usage_lines), status=2)

    def option_error(self, flag, missing):
        # Without a leading ':' in the optstring, getopt returns '?' for a missing argument too.
        self.err('invalid option \'%s\'' % flag)
        self.bad_option(flag)


class ZfsError(Exception):
    pass


def initial_datasets(now):
    # 'fixed': the host's own datasets report set sizes instead of walking the whole root.
    def fs(props, used=98304):
        return {'type': 'filesystem', 'props': props, 'creation': now, 'used': used, 'origin': None, 'fixed': True}
    return {
        'zroot': fs({'mountpoint': '/zroot', 'compression': 'lz4', 'atime': 'off'}),
        'zroot/ROOT': fs({'mountpoint': 'none'}),
        'zroot/ROOT/default': fs({'mountpoint': '/', 'canmount': 'noauto'}, used=2147483648),
        'zroot/tmp': fs({'mountpoint': '/tmp', 'exec': 'off', 'setuid': 'off'}),
        'zroot/usr': fs({'mountpoint': '/usr', 'canmount': 'off'}),
        'zroot/usr/home': fs({}),
        'zroot/var': fs({'mountpoint': '/var', 'canmount': 'off'}),
        'zroot/var/log': fs({'exec': 'off', 'setuid': 'off'}),
    }


def datasets(state):
    zfs = state.setdefault('zfs', {})
    if 'datasets' not in zfs:
        zfs['datasets'] = initial_datasets(int(time.time()))
        zfs['next_guid'] = 1000
    return zfs['datasets']


def parse_size(text):
    """'10G', '512M', '1.5T', '4096' -> bytes."""
    units = {'': 1, 'B': 1, 'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40, 'P': 1 << 50}
    value = text.upper().rstrip('B') if text.upper().endswith(('KB', 'MB', 'GB', 'TB')) else text.upper()
    number, unit = value, ''
    if value and value[-1] in units:
        number, unit = value[:-1], value[-1]
    try:
        return int(float(number) * units[unit])
    except ValueError:
        raise ZfsError('bad numeric value \'%s\'' % text)


def human(number):
    """zfs_nicenum: exact multiples as '96K', otherwise 3 significant digits ('1.99M', '98.0G')."""
    index = 0
    while index < 5 and number >= 1024 ** (index + 1):
        index += 1
    unit = ' KMGTP'[index].strip()
    if number % (1024 ** index) == 0:
        return '%d%s' % (number // 1024 ** index, unit)
    value = float(number) / 1024 ** index
    for precision in (2, 1, 0):
        text = '%.*f%s' % (precision, value, unit)
        if len(text) <= 5:
            break
    return text


def parent_of(name):
    return name.rsplit('/', 1)[0] if '/' in name else None


def lookup(state, name, types=None):
    found = datasets(state).get(name)
    if found is None:
        raise ZfsError('cannot open \'%s\': dataset does not exist' % name)
    if types and found['type'] not in types:
        raise ZfsError('cannot open \'%s\': operation not applicable to datasets of this type' % name)
    return found


def prop_source(state, name, prop):
    """(value, source) of a settable or user property, with inheritance."""
    record = datasets(state)[name]
    if prop in record['props']:
        return record['props'][prop], 'local'
    default, inheritable = SETTABLE.get(prop, (None, True))
    if inheritable:
        parent = parent_of(name.split('@')[0]) if '@' not in name else name.split('@')[0]
        walk = parent
        while walk:
            props = datasets(state)[walk]['props']
            if prop in props:
                if prop == 'mountpoint':
                    value = props[prop]
                    if value in ('none', 'legacy'):
                        return value, 'inherited from %s' % walk
                    return value.rstrip('/') + name[len(walk):], 'inherited from %s' % walk
                return props[prop], 'inherited from %s' % walk
            walk = parent_of(walk)
    if prop == 'mountpoint':
        return '/' + name, 'default'
    if default is None:
        return '-', '-'
    return default, 'default'


def mountpoint(state, name):
    """Where a filesystem's files are, or None (volume, snapshot, none/legacy, canmount=off)."""
    record = datasets(state)[name]
    if record['type'] != 'filesystem':
        return None
    value = prop_source(state, name, 'mountpoint')[0]
    if value in ('none', 'legacy', '-') or prop_source(state, name, 'canmount')[0] == 'off':
        return None
    return value


def children(state, name, snapshots=True):
    return sorted(n for n in datasets(state) if (n.startswith(name + '/') or
                                                 (snapshots and n.startswith(name + '@'))))


def child_mountpoints(state, name):
    own = mountpoint(state, name)
    points = set()
    for other in children(state, name, snapshots=False):
        point = mountpoint(state, other)
        if point and own and point != own:
            points.add(point)
    return points


def tree_size(path, skip=()):
    total = 0
    for directory, subdirs, files in os.walk(path):
        subdirs[:] = [d for d in subdirs if os.path.join(directory, d) not in skip]
        for filename in files:
            try:
                total += os.lstat(os.path.join(directory, filename)).st_size
            except OSError:
                pass
    return total


def referenced(state, name):
    record = datasets(state)[name]
    if record['type'] == 'volume':
        return 57344
    if record['type'] == 'snapshot':
        return record.get('used', 98304)
    if record.get('fixed'):
        return record['used']
    point = mountpoint(state, name)
    if point and os.path.isdir(point):
        return 98304 + tree_size(point, child_mountpoints(state, name))
    return 98304


def used(state, name):
    record = datasets(state)[name]
    if record['type'] == 'snapshot':
        return 0                      # nothing has diverged since it was taken
    if record['type'] == 'volume':
        reservation = int(prop_source(state, name, 'refreservation')[0]) or 0
        return max(57344, reservation)
    total = referenced(state, name)
    for child in children(state, name, snapshots=False):
        if parent_of(child) == name:
            total += used(state, child)
    return total


def value_of(state, name, prop, parsable):
    """(value, source) of any property as zfs get/list print it."""
    record = datasets(state)[name]
    prop = ALIASES.get(prop, prop)
    if prop == 'name':
        return name, '-'
    if prop in READONLY:
        if prop == 'type':
            value = record['type']
        elif prop == 'creation':
            created = time.localtime(record['creation'])
            value = str(record['creation']) if parsable else time.strftime('%a %b %d %H:%M %Y', created)
        elif prop in ('used', 'usedbydataset'):
            number = used(state, name) if prop == 'used' else referenced(state, name)
            value = str(number) if parsable else human(number)
        elif prop == 'referenced':
            number = referenced(state, name)
            value = str(number) if parsable else human(number)
        elif prop == 'available':
            if record['type'] == 'snapshot':
                return '-', '-'
            number = POOL_SIZE - used(state, 'zroot')
            quota = int(prop_source(state, name, 'quota')[0]) if 'quota' in record['props'] else 0
            if quota:
                number = min(number, max(0, quota - used(state, name)))
            value = str(number) if parsable else human(number)
        elif prop == 'mounted':
            if record['type'] != 'filesystem':
                return '-', '-'
            value = 'yes' if mountpoint(state, name) and not record.get('unmounted') else 'no'
        elif prop == 'origin':
            value = record.get('origin') or '-'
        elif prop == 'guid':
            value = str(record.get('guid', 1))
        elif prop == 'compressratio':
            value = '1.00' if parsable else '1.00x'
        else:
            value = '0'
        return value, '-'
    if prop not in SETTABLE and ':' not in prop:
        raise ZfsError('bad property list: invalid property \'%s\'' % prop)
    if record['type'] == 'volume' and prop in ('mountpoint', 'canmount', 'atime', 'exec', 'setuid', 'devices',
                                               'recordsize', 'snapdir', 'aclmode', 'aclinherit', 'xattr',
                                               'quota', 'refquota'):
        return '-', '-'
    if record['type'] == 'snapshot' and prop in ('mountpoint', 'canmount', 'quota', 'reservation', 'refquota',
                                                 'refreservation', 'volsize', 'recordsize', 'jailed'):
        return '-', '-'
    if record['type'] == 'filesystem' and prop in ('volsize', 'volblocksize', 'volmode'):
        return '-', '-'
    value, source = prop_source(state, name, prop)
    if prop in SIZES and value not in ('-',) and not parsable:
        value = 'none' if value == '0' and prop != 'volsize' else human(int(value))
    return value, source


def check_property(prop, value, creating_volume=False):
    prop = ALIASES.get(prop, prop)
    if prop in READONLY:
        raise ZfsError('cannot set property \'%s\': read-only property' % prop)
    if prop not in SETTABLE and ':' not in prop:
        raise ZfsError('invalid property \'%s\'' % prop)
    if prop in CHOICES and value not in CHOICES[prop]:
        raise ZfsError('\'%s\' must be one of \'%s\'' % (prop, ' | '.join(CHOICES[prop])))
    if prop in SIZES:
        if value == 'none':
            return prop, '0'
        return prop, str(parse_size(value))
    if prop == 'mountpoint' and value not in ('none', 'legacy') and not value.startswith('/'):
        raise ZfsError('\'mountpoint\' must be an absolute path, \'none\', or \'legacy\'')
    return prop, value


def parse_props(options):
    props = {}
    for flag, value in options:
        if flag == 'o':
            if '=' not in value:
                raise ZfsError('missing \'=\' for property=value argument')
            name, val = value.split('=', 1)
            name, val = check_property(name, val)
            props[name] = val
    return props


def snapshot_dir(record):
    return os.path.join(STORE, str(record['guid']))


def copy_tree(source, target, skip=()):
    os.makedirs(target, exist_ok=True)
    for entry in os.listdir(source):
        path = os.path.join(source, entry)
        if path in skip:
            continue
        destination = os.path.join(target, entry)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.copytree(path, destination, symlinks=True,
                            ignore=lambda d, names: [n for n in names if os.path.join(d, n) in skip])
        else:
            shutil.copy2(path, destination, follow_symlinks=False)


def clear_tree(path, skip=()):
    for entry in os.listdir(path):
        full = os.path.join(path, entry)
        if full in skip:
            continue
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full)
        else:
            os.unlink(full)


def new_record(state, kind, props, origin=None):
    zfs = state['zfs']
    zfs['next_guid'] += 1
    return {'type': kind, 'props': props, 'creation': int(time.time()), 'used': 98304, 'origin': origin,
            'guid': zfs['next_guid']}


def create(state, name, props, volume_size=None, parents=False, origin=None, sparse=False):
    table = datasets(state)
    if name in table:
        raise ZfsError('cannot create \'%s\': dataset already exists' % name)
    if not name.startswith('zroot/') or '@' in name:
        raise ZfsError('cannot create \'%s\': no such pool \'%s\'' % (name, name.split('/')[0]))
    parent = parent_of(name)
    if parent not in table:
        if not parents:
            raise ZfsError('cannot create \'%s\': parent does not exist' % name)
        create(state, parent, {}, parents=True)
    if table[parent]['type'] != 'filesystem':
        raise ZfsError('cannot create \'%s\': parent is not a filesystem' % name)
    if volume_size is not None:
        props['volsize'] = str(volume_size)
        if not sparse and 'refreservation' not in props:
            props['refreservation'] = str(volume_size)
        record = new_record(state, 'volume', props, origin)
        # The device a volume appears as, for bhyve and mdconfig to open.
        os.makedirs(os.path.dirname('/dev/zvol/' + name), exist_ok=True)
        with open('/dev/zvol/' + name, 'w') as handle:
            handle.write('fbsdsim: zvol %s\n' % name)
    else:
        record = new_record(state, 'filesystem', props, origin)
    table[name] = record
    point = mountpoint(state, name)
    if point:
        os.makedirs(point, exist_ok=True)
    return record


def destroy(state, name, recursive, dependents):
    table = datasets(state)
    record = lookup(state, name)
    below = children(state, name) if '@' not in name else []
    clones = [n for n in table if store.field_of(table, n, 'origin') in ([name] + below)]
    if below and not recursive:
        raise ZfsError('cannot destroy \'%s\': filesystem has children\nuse \'-r\' to destroy the following '
                       'datasets:\n%s' % (name, '\n'.join(below)))
    if clones and not dependents:
        what = 'snapshot has dependent clones' if '@' in name else 'filesystem has dependent clones'
        raise ZfsError('cannot destroy \'%s\': %s\nuse \'-R\' to destroy the following datasets:\n%s'
                       % (name, what, '\n'.join(sorted(clones))))
    for clone in clones:
        if clone in table:
            destroy(state, clone, True, True)
    for child in sorted(below, key=lambda n: -n.count('/') - n.count('@')):
        if child in table:
            destroy(state, child, True, dependents)
    point = mountpoint(state, name)
    if record['type'] == 'snapshot':
        shutil.rmtree(snapshot_dir(record), ignore_errors=True)
    elif record['type'] == 'volume' and os.path.exists('/dev/zvol/' + name):
        os.unlink('/dev/zvol/' + name)
    elif point and point != '/' and os.path.isdir(point):
        clear_tree(point, child_mountpoints(state, name))
        try:
            os.rmdir(point)
        except OSError:
            pass
    del table[name]


def snapshot(state, name):
    table = datasets(state)
    fs, snap = name.split('@', 1)
    record = lookup(state, fs)
    if name in table:
        raise ZfsError('cannot create snapshot \'%s\': dataset already exists' % name)
    if not snap:
        raise ZfsError('cannot create snapshot \'%s\': empty component or misplaced \'@\' or \'#\' '
                       'delimiter in name' % name)
    snap_record = new_record(state, 'snapshot', {})
    snap_record['used'] = referenced(state, fs) if record['type'] == 'filesystem' else 57344
    point = mountpoint(state, fs)
    os.makedirs(STORE, exist_ok=True)
    target = snapshot_dir(snap_record)
    if point and os.path.isdir(point):
        copy_tree(point, target, child_mountpoints(state, fs))
    else:
        os.makedirs(target)
    table[name] = snap_record


def restore(state, snap_name, fs):
    """Replace the files of fs with those of a snapshot."""
    point = mountpoint(state, fs)
    if point:
        os.makedirs(point, exist_ok=True)
        clear_tree(point, child_mountpoints(state, fs))
        copy_tree(snapshot_dir(datasets(state)[snap_name]), point)


def rename(state, old, new, parents):
    table = datasets(state)
    lookup(state, old)
    if '@' in old:
        if '@' not in new:
            new = old.split('@')[0] + '@' + new
        if new.split('@')[0] != old.split('@')[0]:
            raise ZfsError('cannot rename to \'%s\': snapshots must be part of same dataset' % new)
        if new in table:
            raise ZfsError('cannot rename to \'%s\': dataset already exists' % new)
        table[new] = table.pop(old)
        return
    if new in table:
        raise ZfsError('cannot rename to \'%s\': dataset already exists' % new)
    if parent_of(new) not in table:
        if not parents:
            raise ZfsError('cannot rename to \'%s\': parent does not exist' % new)
        create(state, parent_of(new), {}, parents=True)
    old_point = mountpoint(state, old)
    moved = [old] + children(state, old)
    records = dict((n, table.pop(n)) for n in moved)
    for name, record in records.items():
        table[new + name[len(old):]] = record
    for record in table.values():
        if record.get('origin') in records:
            record['origin'] = new + record['origin'][len(old):]
    new_point = mountpoint(state, new)
    if old_point and new_point and old_point != new_point and os.path.isdir(old_point):
        os.makedirs(os.path.dirname(new_point), exist_ok=True)
        os.rename(old_point, new_point)


def set_property(state, name, prop, value):
    record = lookup(state, name)
    old_point = mountpoint(state, name) if prop in ('mountpoint', 'canmount') else None
    if prop == 'volsize' and record['type'] != 'volume':
        raise ZfsError('cannot set property for \'%s\': \'volsize\' does not apply to datasets of this type' % name)
    if record['type'] == 'snapshot' and ':' not in prop:
        raise ZfsError('cannot set property for \'%s\': this property can not be modified for snapshots' % name)
    record['props'][prop] = value
    move_files(state, name, old_point)


def move_files(state, name, old_point):
    new_point = mountpoint(state, name)
    if old_point and new_point and old_point != new_point and os.path.isdir(old_point):
        if os.path.isdir(new_point) and not os.listdir(new_point):
            os.rmdir(new_point)
        os.makedirs(os.path.dirname(new_point.rstrip('/')) or '/', exist_ok=True)
        os.rename(old_point, new_point)
    elif new_point:
        os.makedirs(new_point, exist_ok=True)


def select(state, operands, recursive, depth, types):
    table = datasets(state)
    roots = operands or ['zroot']
    chosen = []
    for root in roots:
        lookup(state, root)
        if not operands or recursive or depth is not None:
            limit = depth if depth is not None else (10 ** 6 if recursive or not operands else 0)
            base = root.count('/')
            for name in [root] + children(state, root):
                level = name.split('@')[0].count('/') - base + ('@' in name)
                if level <= limit:
                    chosen.append(name)
        else:
            chosen.append(root)
    result = []
    for name in chosen:
        kind = table[name]['type']
        explicit = name in operands
        if kind in types or (explicit and 'snapshot' not in types and kind == 'snapshot') or 'all' in types:
            if name not in result:
                result.append(name)
    return result


def zfs_list(cmd, state, options, operands):
    opts = dict(options)
    columns = [ALIASES.get(c, c) for c in opts.get('o', 'name,used,avail,refer,mountpoint').split(',')]
    types = opts.get('t', 'filesystem,volume').split(',')
    if 'snap' in types:
        types.append('snapshot')
    depth = int(opts['d']) if 'd' in opts else None
    recursive = 'r' in opts
    names = select(state, operands, recursive, depth, types)
    if operands and not recursive and depth is None:
        names = operands
    for flag, value in options:
        if flag in ('s', 'S'):
            key = ALIASES.get(value, value)
            names.sort(key=lambda n: sort_key(state, n, key), reverse=flag == 'S')
    parsable = 'p' in opts
    rows = [[value_of(state, n, c, parsable)[0] for c in columns] for n in names]
    if 'H' in opts:
        for row in rows:
            cmd.out('\t'.join(row))
        return
    if not rows and not operands:
        cmd.out('no datasets available')
        return
    header = [c.upper() if c not in ('available', 'referenced') else {'available': 'AVAIL',
                                                                      'referenced': 'REFER'}[c] for c in columns]
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(columns))]
    for row in [header] + rows:
        cmd.out('  '.join(str(v).ljust(widths[i]) if i < len(row) - 1 else str(v) for i, v in enumerate(row)))


def sort_key(state, name, prop):
    value = value_of(state, name, prop, True)[0]
    return (0, int(value), '') if value.isdigit() else (1, 0, value)


def zfs_get(cmd, state, options, operands):
    opts = dict(options)
    if not operands:
        cmd.bad_option()
    props, targets = operands[0].split(','), operands[1:]
    fields = opts.get('o', 'name,property,value,source').split(',')
    if fields == ['all']:
        fields = ['name', 'property', 'value', 'received', 'source']
    sources = opts.get('s')
    types = opts.get('t', 'all').split(',')
    names = select(state, targets, 'r' in opts, int(opts['d']) if 'd' in opts else None, types)
    if targets and 'r' not in opts and 'd' not in opts:
        names = targets
    rows = []
    for name in names:
        lookup(state, name)
        wanted = props
        if props == ['all']:
            wanted = ['type', 'creation', 'used', 'available', 'referenced', 'compressratio', 'mounted',
                      'origin'] + sorted(SETTABLE) + sorted(p for p in datasets(state)[name]['props'] if ':' in p)
        for prop in wanted:
            value, source = value_of(state, name, prop, 'p' in opts)
            if props == ['all'] and value == '-' and source == '-' and prop not in READONLY:
                continue
            if ':' in prop and source == '-':
                value = '-'
            if sources and not any(source.startswith(s.replace('temporary', 'temp')) for s in sources.split(',')):
                continue
            row = {'name': name, 'property': ALIASES.get(prop, prop), 'value': value, 'received': '-',
                   'source': source}
            rows.append([row[f] for f in fields])
    if 'H' in opts:
        for row in rows:
            cmd.out('\t'.join(row))
        return
    header = [f.upper() for f in fields]
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(fields))]
    for row in [header] + rows:
        cmd.out('  '.join(v.ljust(widths[i]) if i < len(row) - 1 else v for i, v in enumerate(row)))


def send(state, options, operands):
    """Header and snapshot directory of a stream; written after the lock is dropped."""
    if len(operands) != 1 or '@' not in operands[0]:
        raise ZfsError('cannot send \'%s\': not a snapshot' % (operands[0] if operands else ''))
    record = lookup(state, operands[0])
    if sys.stdout.isatty():
        raise ZfsError('Error: Stream can not be written to a terminal.\n'
                       'You must redirect standard output.')
    header = {'snapshot': operands[0], 'props': record['props']}
    fs = operands[0].split('@')[0]
    header['fs_props'] = datasets(state)[fs]['props'] if any(f == 'R' for f, v in options) else {}
    return header, snapshot_dir(record)


def write_stream(header, directory):
    sys.stdout.flush()
    out = sys.stdout.buffer
    out.write(STREAM_MAGIC + json.dumps(header).encode() + b'\n')
    out.flush()
    subprocess.run(['tar', '-cf', '-', '-C', directory, '.'], stdout=out, check=True)


def raw_line():
    """One line of stdin read byte by byte: a buffered read could swallow the start of
    the tar data that follows, which tar then reads from the same descriptor."""
    line = b''
    while not line.endswith(b'\n'):
        byte = os.read(0, 1)
        if not byte:
            break
        line += byte
    return line


def read_stream():
    """The header and an unpacked copy of a stream on stdin (read before taking the lock)."""
    if raw_line() != STREAM_MAGIC:
        raise ZfsError('cannot receive: invalid stream (bad magic number)')
    header = json.loads(raw_line().decode())
    os.makedirs(STORE, exist_ok=True)
    spool = os.path.join(STORE, 'incoming.%d' % os.getpid())
    os.makedirs(spool)
    subprocess.run(['tar', '-xpf', '-', '-C', spool], stdin=0, check=True)
    return header, spool


def receive(state, options, operands, stream):
    if len(operands) != 1:
        raise ZfsError('missing snapshot argument')
    header, spool = stream
    target = operands[0]
    fs, _unused, snap = target.partition('@')
    snap = snap or header['snapshot'].split('@')[1]
    table = datasets(state)
    if fs in table:
        if not any(f == 'F' for f, v in options):
            raise ZfsError('cannot receive new filesystem stream: destination \'%s\' exists\n'
                           'must specify -F to overwrite it' % fs)
        destroy(state, fs, True, True)
    create(state, fs, dict(header.get('fs_props', {})))
    point = mountpoint(state, fs)
    if point:
        copy_tree(spool, point)
    snapshot(state, '%s@%s' % (fs, snap))


def jail_dataset(state, options, operands, attach):
    if len(operands) != 2:
        raise ZfsError('missing argument')
    jail = find_jail(state, operands[0])
    if jail is None:
        raise ZfsError('invalid jail id or name')
    record = lookup(state, operands[1], ('filesystem',))
    if prop_source(state, operands[1], 'jailed')[0] != 'on':
        verb = 'jail' if attach else 'unjail'
        raise ZfsError('cannot %s \'%s\': \'jailed\' property not set' % (verb, operands[1]))
    if attach:
        record['jail'] = jail['name']
    else:
        record.pop('jail', None)


def zfs_main(prog, args):
    cmd = ZfsCommand(prog, USAGE, sub_usage)
    if not args:
        cmd.err('missing command')
        cmd.usage(*USAGE, status=2)
    sub, rest = args[0], args[1:]
    optstrings = {'create': 'b:no:pPsuvV:', 'destroy': 'dfnpRrv', 'snapshot': 'o:r', 'snap': 'o:r',
                  'rollback': 'fRr', 'clone': 'o:p', 'rename': 'fpru', 'list': 'd:Ho:prs:S:t:',
                  'get': 'd:Ho:prs:t:', 'set': 'u', 'inherit': 'rS', 'send': 'DLPRbcehnpsvw', 'receive': 'dFnuve',
                  'recv': 'dFnuve', 'jail': '', 'unjail': '', 'mount': 'aflo:Ov', 'unmount': 'afu',
                  'umount': 'afu', 'upgrade': 'arV:', 'version': ''}
    if sub not in optstrings:
        cmd.err('unrecognized command \'%s\'' % sub)
        cmd.usage(*USAGE, status=2)
    cmd.sub = ALIAS_COMMANDS.get(sub, sub)
    options, operands = getopt(cmd, rest, optstrings[sub])
    flags = set(f for f, v in options)
    read_only = sub in ('list', 'get', 'send', 'version')
    # A pipe 'zfs send | zfs receive' must not hold the lock while streaming.
    stream = None
    if sub in ('receive', 'recv'):
        try:
            stream = read_stream()
        except ZfsError as exc:
            cmd.err(str(exc))
            return 1
    try:
        with locked_state(write=not read_only) as state:
            datasets(state)
            try:
                result = dispatch(cmd, state, sub, options, flags, operands, stream)
            except ZfsError as exc:
                cmd.err(str(exc))
                if not read_only:
                    raise_exit(state)
                return 1
    finally:
        if stream:
            shutil.rmtree(stream[1], ignore_errors=True)
    if sub == 'send':
        write_stream(*result)
        return 0
    return result


def raise_exit(state):
    """Keep what already happened on disk consistent with the state, then fail."""
    commit(state)
    raise Exit(1)


def dispatch(cmd, state, sub, options, flags, operands, stream=None):
    if sub == 'version':
        cmd.out('zfs-2.2.7-FreeBSD_g1234567\nzfs-kmod-2.2.7-FreeBSD_g1234567')
    elif sub == 'create':
        if len(operands) != 1:
            cmd.err('missing filesystem argument' if not operands else 'too many arguments')
            cmd.bad_option()
        size = dict(options).get('V')
        props = parse_props(options)
        if 'n' not in flags:
            create(state, operands[0], props, parse_size(size) if size else None, 'p' in flags,
                   sparse='s' in flags)
    elif sub == 'destroy':
        if len(operands) != 1:
            cmd.bad_option()
        target = operands[0]
        if '@' in target and '%' not in target:
            fs, snaps = target.split('@', 1)
            for snap in snaps.split(','):
                if 'n' not in flags:
                    destroy(state, '%s@%s' % (fs, snap), 'r' in flags, 'R' in flags)
        elif 'n' not in flags:
            destroy(state, target, 'r' in flags or 'R' in flags, 'R' in flags)
    elif sub in ('snapshot', 'snap'):
        if not operands:
            cmd.bad_option()
        for name in operands:
            if '@' not in name:
                raise ZfsError('cannot create snapshot \'%s\': a snapshot name must be specified' % name)
            fs, snap = name.split('@', 1)
            for each in [fs] + (children(state, fs, snapshots=False) if 'r' in flags else []):
                snapshot(state, '%s@%s' % (each, snap))
    elif sub == 'rollback':
        if len(operands) != 1 or '@' not in operands[0]:
            cmd.bad_option()
        name = operands[0]
        fs = name.split('@')[0]
        record = lookup(state, name)
        later = sorted((n for n in datasets(state) if n.startswith(fs + '@')
                        and datasets(state)[n]['guid'] > record['guid']), key=lambda n: datasets(state)[n]['guid'])
        if later and not flags & {'r', 'R'}:
            raise ZfsError('cannot rollback to \'%s\': more recent snapshots or bookmarks exist\n'
                           'use \'-r\' to force deletion of the following snapshots and bookmarks:\n%s'
                           % (name, '\n'.join(later)))
        for snap in later:
            destroy(state, snap, False, 'R' in flags)
        restore(state, name, fs)
    elif sub == 'clone':
        if len(operands) != 2:
            cmd.bad_option()
        source, target = operands
        if '@' not in source:
            raise ZfsError('cannot open \'%s\': snapshot name expected' % source)
        lookup(state, source)
        create(state, target, parse_props(options), parents='p' in flags, origin=source)
        restore(state, source, target)
    elif sub == 'rename':
        if len(operands) != 2:
            cmd.bad_option()
        rename(state, operands[0], operands[1], 'p' in flags)
    elif sub == 'list':
        zfs_list(cmd, state, options, operands)
    elif sub == 'get':
        zfs_get(cmd, state, options, operands)
    elif sub == 'set':
        pairs = [o for o in operands if '=' in o]
        targets = operands[len(pairs):]
        if not pairs or not targets:
            cmd.bad_option()
        for target in targets:
            lookup(state, target)
            for pair in pairs:
                name, value = check_property(*pair.split('=', 1))
                set_property(state, target, name, value)
    elif sub == 'inherit':
        if len(operands) < 2:
            cmd.bad_option()
        prop = ALIASES.get(operands[0], operands[0])
        if prop in READONLY or (prop not in SETTABLE and ':' not in prop):
            raise ZfsError('invalid property \'%s\'' % prop)
        if prop in ('quota', 'reservation', 'refquota', 'refreservation', 'volsize', 'canmount'):
            raise ZfsError('\'%s\' property cannot be inherited' % prop)
        for target in operands[1:]:
            lookup(state, target)
            for name in [target] + (children(state, target) if 'r' in flags else []):
                old_point = mountpoint(state, name) if prop == 'mountpoint' else None
                datasets(state)[name]['props'].pop(prop, None)
                if prop == 'mountpoint':
                    move_files(state, name, old_point)
    elif sub == 'send':
        return send(state, options, operands)
    elif sub in ('receive', 'recv'):
        receive(state, options, operands, stream)
    elif sub in ('jail', 'unjail'):
        jail_dataset(state, options, operands, sub == 'jail')
    elif sub == 'mount' and not operands:
        for name in sorted(datasets(state)):
            point = mountpoint(state, name)
            if point and datasets(state)[name]['type'] == 'filesystem':
                cmd.out('%-30s  %s' % (name, point))
    elif sub in ('mount', 'unmount', 'umount'):
        for name in operands:
            lookup(state, name, ('filesystem',))
            datasets(state)[name]['unmounted'] = sub != 'mount'
    else:
        cmd.errx(1, 'fbsdsim: zfs %s is not simulated' % sub)
    return 0


ZPOOL_SYNOPSES = {
    'list': ['\tlist [-gHLpPv] [-o property[,...]] [-T d|u] [pool] ... [interval [count]]'],
    'status': ['\tstatus [-DegiLpPstvx] [-T d|u] [pool] ... [interval [count]]'],
    'get': ['\tget [-Hp] [-o "all" | field[,...]] <"all" | property[,...]> <pool> ...'],
}
ZPOOL_USAGE = (['usage: zpool command args ...', 'where \'command\' is one of the following:', '']
               + [line for lines in ZPOOL_SYNOPSES.values() for line in lines])


def zpool_main(prog, args):
    cmd = ZfsCommand(prog, ZPOOL_USAGE, lambda sub: ['usage:'] + ZPOOL_SYNOPSES[sub])
    if not args or args[0] not in ZPOOL_SYNOPSES:
        cmd.err('unrecognized command \'%s\'' % args[0] if args else 'missing command')
        cmd.usage(*ZPOOL_USAGE, status=2)
    sub = cmd.sub = args[0]
    options, operands = getopt(cmd, args[1:], {'list': 'gHLo:pPvT:', 'status': 'DegiLpPstvxT:',
                                               'get': 'Ho:p'}[sub])
    opts = dict(options)
    with locked_state(write=False) as state:
        datasets(state)
        alloc = used(state, 'zroot')
    for pool in operands:
        if pool != 'zroot' and sub != 'get':
            cmd.errx(1, 'cannot open \'%s\': no such pool' % pool)
    values = {'name': 'zroot', 'size': POOL_SIZE, 'alloc': alloc, 'allocated': alloc, 'free': POOL_SIZE - alloc,
              'ckpoint': '-', 'expandsz': '-', 'frag': 0, 'fragmentation': 0,
              'cap': alloc * 100 // POOL_SIZE, 'capacity': alloc * 100 // POOL_SIZE, 'dedup': '1.00',
              'dedupratio': '1.00', 'health': 'ONLINE', 'altroot': '-'}
    parsable = 'p' in opts

    def show(key):
        value = values[key]
        if isinstance(value, int) and key in ('size', 'alloc', 'allocated', 'free') and not parsable:
            return human(value)
        if key in ('cap', 'capacity', 'frag', 'fragmentation') and not parsable:
            return '%d%%' % value
        if key in ('dedup', 'dedupratio') and not parsable:
            return value + 'x'
        return str(value)

    if sub == 'list':
        columns = opts.get('o', 'name,size,alloc,free,ckpoint,expandsz,frag,cap,dedup,health,altroot').split(',')
        for column in columns:
            if column not in values:
                cmd.errx(2, 'bad property list: invalid property \'%s\'' % column)
        row = [show(c) for c in columns]
        if 'H' in opts:
            cmd.out('\t'.join(row))
        else:
            header = [c.upper() for c in columns]
            cmd.out('  '.join(h.ljust(max(len(h), len(v))) for h, v in zip(header, row)).rstrip())
            cmd.out('  '.join(v.ljust(max(len(h), len(v))) for h, v in zip(header, row)).rstrip())
    elif sub == 'status':
        cmd.out('  pool: zroot\n state: ONLINE\nconfig:\n\n\tNAME        STATE     READ WRITE CKSUM\n'
                '\tzroot       ONLINE       0     0     0\n\t  ada0p4    ONLINE       0     0     0\n\n'
                'errors: No known data errors')
    else:
        if len(operands) < 2:
            cmd.bad_option()
        for prop in operands[0].split(','):
            if prop not in values:
                cmd.errx(2, 'bad property list: invalid property \'%s\'' % prop)
            row = ['zroot', prop, show(prop), '-' if prop != 'altroot' else 'default']
            cmd.out('\t'.join(row) if 'H' in opts else '  '.join(row))
    return 0


def power_off(state):
    """Datasets stay; their attachment to a jail (zfs jail) went with the jail."""
    for record in state.get('zfs', {}).get('datasets', {}).values():
        record.pop('jail', None)
