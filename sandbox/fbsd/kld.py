"""kldload(8), kldunload(8), kldstat(8) over a simulated kernel linker.

Loadable files are placeholders in kern.module_path (/boot/kernel,
/boot/modules) holding JSON: the modules they contain, the modules they
depend on, their size and the sysctl nodes they add.
"""

import json
import os

from fbsd.core import Command, getopt, locked_state

POINTER_WIDTH = 18  # sizeof(void *) * 2 + 2 on amd64
KLDUNLOAD_EX_USAGE = 64


def module_path(state):
    return [d for d in state['sysctl']['kern.module_path'].split(';') if d]


def read_placeholder(path):
    with open(path) as handle:
        return json.load(handle)


def find_file(files, name):
    """kldfind(2): a loaded file by its name, with or without .ko, or its path."""
    for entry in files:
        if name in (entry['name'], entry['path']) or entry['name'] == name + '.ko':
            return entry
    return None


def find_module(files, name):
    for entry in files:
        for module in entry['modules']:
            if module['name'] == name:
                return entry, module
    return None, None


def locate(state, name):
    """Where kldload(2) finds ``name``: a path, or NAME.ko in the module path."""
    if '/' in name:
        return name if os.path.isfile(name) else None
    filename = name if name.endswith('.ko') else name + '.ko'
    for directory in module_path(state):
        candidate = os.path.join(directory, filename)
        if os.path.isfile(candidate):
            return candidate
    return None


def link_file(state, name):
    """Load ``name`` and its dependencies; return (file id, errno name or None)."""
    kld = state['kld']
    # The linker looks a bare name up as a module first: one built into the
    # kernel (or loaded from another file) is already there.
    if '/' not in name and not name.endswith('.ko') and find_module(kld['files'], name)[0] is not None:
        return None, 'EEXIST'
    path = locate(state, name)
    if path is None:
        return None, 'ENOENT'
    filename = os.path.basename(path)
    if find_file(kld['files'], filename) is not None:
        return None, 'EEXIST'
    info = read_placeholder(path)
    for module in info.get('modules', []):
        if find_module(kld['files'], module)[0] is not None:
            return None, 'EEXIST'
    depends = []
    for dependency in info.get('depends', []):
        provider = find_module(kld['files'], dependency)[0]
        if provider is None:
            error = link_file(state, dependency)[1]
            if error:
                return None, 'ENOENT' if error == 'ENOENT' else error
            provider = find_module(kld['files'], dependency)[0]
        provider['refs'] += 1
        depends.append(provider['id'])
    kernel = kld['files'][0]
    kernel['refs'] += 1
    entry = {
        'id': kld['next_file_id'], 'refs': 1, 'address': kld['next_address'],
        'size': info.get('size', 0x4000), 'name': filename, 'path': path,
        'modules': [], 'depends': depends,
    }
    for module in info.get('modules', []):
        entry['modules'].append({'id': kld['next_module_id'], 'name': module, 'refs': 0})
        kld['next_module_id'] += 1
    kld['next_file_id'] += 1
    kld['next_address'] += (entry['size'] + 0xfff) & ~0xfff
    kld['files'].append(entry)
    state['sysctl_dynamic'].update(info.get('sysctl', {}))
    state.setdefault('sysctl_dynamic_writable', []).extend(info.get('writable', []))
    return entry['id'], None


def unlink_file(state, entry):
    kld = state['kld']
    kld['files'].remove(entry)
    kld['files'][0]['refs'] -= 1
    for dependency_id in entry['depends']:
        for other in kld['files']:
            if other['id'] == dependency_id:
                other['refs'] -= 1
    info = read_placeholder(entry['path']) if os.path.isfile(entry['path']) else {}
    for key in info.get('sysctl', {}):
        state['sysctl_dynamic'].pop(key, None)
    writable = state.get('sysctl_dynamic_writable', [])
    state['sysctl_dynamic_writable'] = [key for key in writable if key not in info.get('writable', [])]


def kldload(prog, args):
    cmd = Command(prog, ['usage: kldload [-nqv] file ...'])
    options, operands = getopt(cmd, args, 'nqv')
    flags = ''.join(flag for flag, value in options)
    verbose = 'v' in flags and flags.rfind('v') > flags.rfind('q')
    if not operands:
        cmd.bad_option()
    errors = 0
    with locked_state() as state:
        for name in operands:
            if 'n' in flags and (find_file(state['kld']['files'], name) is not None
                                 or find_module(state['kld']['files'], name)[0] is not None):
                continue
            fileid, error = link_file(state, name)
            if error == 'EEXIST':
                cmd.warnx("can't load %s: module already loaded or in kernel" % name)
                errors += 1
            elif error:
                cmd.warn("can't load %s" % name, error)
                errors += 1
            elif verbose:
                cmd.out('Loaded %s, id=%d' % (name, fileid))
    return 1 if errors else 0


def kldunload(prog, args):
    cmd = Command(prog, ['usage: kldunload [-fv] -i id ...', '       kldunload [-fv] [-n] name ...'],
                  usage_status=KLDUNLOAD_EX_USAGE)
    options, operands = getopt(cmd, args, 'finv')
    flags = ''.join(flag for flag, value in options)
    if not operands:
        cmd.bad_option()
    with locked_state() as state:
        files = state['kld']['files']
        for name in operands:
            if 'i' in flags:
                entry = next((f for f in files if str(f['id']) == name), None)
                if entry is None:
                    cmd.fail(1, "can't unload file", 'ENOENT')
            else:
                entry = find_file(files, name)
                if entry is None:
                    cmd.errx(1, "can't find file %s" % name)
            if 'v' in flags:
                cmd.out('Unloading %s, id=%d' % (entry['name'], entry['id']))
            if entry['name'] == 'kernel' or entry['refs'] > 1:
                cmd.fail(1, "can't unload file", 'EBUSY')
            unlink_file(state, entry)
    return 0


def _human(size):
    for unit in ('B', 'K', 'M', 'G'):
        if size < 1024 or unit == 'G':
            return ('%d%s' % (size, unit)) if unit == 'B' or size >= 10 else ('%.1f%s' % (size, unit))
        size /= 1024.0
    return str(size)


def _print_file(cmd, entry, verbose, human):
    size = _human(entry['size']) if human else '%x' % entry['size']
    line = '%2d %4d 0x%016x %8s %s' % (entry['id'], entry['refs'], entry['address'], size, entry['name'])
    if verbose:
        cmd.out('%s (%s)' % (line, entry['path']))
        cmd.out('\tContains modules:')
        cmd.out('\t\t Id Name')
        for module in entry['modules']:
            cmd.out('\t\t%3d %s' % (module['id'], module['name']))
    else:
        cmd.out(line)


def kldstat(prog, args):
    cmd = Command(prog, ['usage: kldstat [-dhqv] [-i id] [-n filename]', '       kldstat [-dq] [-m modname]'])
    options, operands = getopt(cmd, args, 'dhi:m:n:qv')
    if operands:
        cmd.bad_option()
    opts = dict(options)
    with locked_state(write=False) as state:
        files = state['kld']['files']
        if 'm' in opts:
            entry, module = find_module(files, opts['m'])
            if module is None:
                if 'q' not in opts:
                    cmd.warn("can't find module %s" % opts['m'], 'ENOENT')
                return 1
            if 'q' in opts:
                return 0
            cmd.out('Id  Refs Name')
            cmd.out('%3d %4d %s' % (module['id'], module['refs'], module['name']))
            return 0
        selected = files
        if 'i' in opts:
            if not opts['i'].isdigit():
                cmd.bad_option()
            selected = [f for f in files if f['id'] == int(opts['i'])]
            if not selected:
                cmd.fail(1, "can't stat file id %s" % opts['i'], 'ENOENT')
        if 'n' in opts:
            entry = find_file(files, opts['n'])
            if entry is None:
                cmd.fail(1, "can't find file %s" % opts['n'], 'ENOENT')
            selected = [entry]
        if 'q' in opts and 'm' not in opts:
            return 0
        cmd.out('Id Refs Address%sSize Name' % (' ' * (POINTER_WIDTH - 7 + 9 - 4)))
        for entry in selected:
            _print_file(cmd, entry, 'v' in opts, 'h' in opts)
    return 0


def rc_kld_list(console, rc):
    """rc.d/kld: the modules of kld_list."""
    for name in rc.get('kld_list', '').split():
        status, out = console.run('kldload', '-n', name, show=False)
        if status != 0:
            console.say("kld: Can't load %s" % name)   # [mem] rc.d/kld via load_kld
