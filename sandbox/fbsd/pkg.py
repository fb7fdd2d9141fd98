"""pkg(8) with a small local repository (sandbox/fbsd/pkg-catalog.json, copied into the instance).

Subcommands: ``-v``, ``-N``, ``update``, ``install``, ``info`` (``-e``, ``-q``, ``-a``), ``query``
(``-a``, ``%n %v %o %c %a``), ``delete``/``remove``, ``upgrade -n``. Installing writes the package's
(placeholder) files for real and records it; nothing is downloaded or run. Without ``-y`` pkg
asks for confirmation unless ``BATCH`` or ``ASSUME_ALWAYS_YES`` is set in the environment.
Output layouts follow pkg 2.x [mem]; ``pkg info NAME`` details are abbreviated.
"""

import json
import os
import sys

from fbsd import registry
from fbsd.core import Command, STATE_DIR, getopt, locked_state

VERSION = '2.1.2'      # [mem] pkg on FreeBSD 14.3
CATALOG = STATE_DIR + '/pkg-catalog.json'
USAGE = ['Usage: pkg [-v] [-d] [-l] [-N] [-j <jail name or id>|-c <chroot path>|-r <rootdir>] '
         '[-C <configuration file>] [-R <repo config dir>] [-o var=value] [-4|-6] <command> [<args>]',
         '', "For more information on available commands and options see 'pkg help'."]
REPO_BANNER = ['Updating FreeBSD repository catalogue...', 'FreeBSD repository is up to date.',
               'All repositories are up to date.']


def _catalog():
    with open(CATALOG) as handle:
        return dict((k, v) for k, v in json.load(handle).items() if not k.startswith('_'))


def _installed(state):
    return state.setdefault('pkg', {})


def _yes(options):
    return any(flag == 'y' for flag, dummy in options) or \
        os.environ.get('BATCH', '').lower() in ('yes', 'true', '1') or \
        os.environ.get('ASSUME_ALWAYS_YES', '').lower() in ('yes', 'true', '1')


def _confirm(cmd, options):
    if _yes(options):
        return True
    cmd.out('Proceed with this action? [y/N]: ')
    answer = sys.stdin.readline().strip().lower()
    return answer in ('y', 'yes')


def _with_deps(catalog, names):
    ordered = []

    def visit(name):
        for dep in catalog[name]['deps']:
            visit(dep)
        if name not in ordered:
            ordered.append(name)
    for name in names:
        visit(name)
    return ordered


def install(cmd, args):
    options, names = getopt(cmd, args, 'AfIMnqRUyg')
    quiet = any(f == 'q' for f, dummy in options)
    catalog = _catalog()
    missing = [n for n in names if n not in catalog]
    if not names:
        cmd.usage('Usage: pkg install [-AfInFMqRUy] [-r reponame] [-Cgix] <pkg-name> ...', '',
                  "For more information see 'pkg help install'.")
    if not any(f == 'U' for f, dummy in options) and not quiet:
        for line in REPO_BANNER:
            cmd.out(line)
    if missing:
        for name in missing:
            cmd.err("pkg: No packages available to install matching '%s' have been found in the repositories"
                    % name)
        return 1
    with locked_state() as state:
        installed = _installed(state)
        todo = [n for n in _with_deps(catalog, names) if n not in installed]
        if not todo:
            if not quiet:
                cmd.out('The most recent versions of packages are already installed')
            return 0
        if not quiet:
            cmd.out('The following %d package(s) will be affected (of 0 checked):' % len(todo))
            cmd.out('')
            cmd.out('New packages to be INSTALLED:')
            for name in todo:
                cmd.out('\t%s: %s [FreeBSD]' % (name, catalog[name]['version']))
            cmd.out('')
            cmd.out('Number of packages to be installed: %d' % len(todo))
        if any(f == 'n' for f, dummy in options):
            return 0
        if not _confirm(cmd, options):
            return 1
        for index, name in enumerate(todo, 1):
            entry = catalog[name]
            if not quiet:
                cmd.out('[%d/%d] Installing %s-%s...' % (index, len(todo), name, entry['version']))
            for path, content in entry['files'].items():
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, 'w') as handle:
                    handle.write(content)
                if '/rc.d/' in path:
                    os.chmod(path, 0o555)
            programs = [path for path, package in registry.PACKAGED.items() if package == name]
            for path in programs:
                # A program the package installs that fbsdsim simulates.
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, 'w') as handle:
                    handle.write(registry.wrapper_text(os.path.basename(path)))
                os.chmod(path, 0o755)
            installed[name] = dict(version=entry['version'], origin=entry['origin'], comment=entry['comment'],
                                   automatic=int(name not in names), files=sorted(list(entry['files']) + programs))
    return 0


def delete(cmd, args):
    options, names = getopt(cmd, args, 'aDfgixnqRy')
    with locked_state() as state:
        installed = _installed(state)
        found = [n for n in names if n in installed]
        for name in names:
            if name not in installed:
                cmd.out('No packages matched for pattern \'%s\'' % name)
        if not found:
            return 1 if names else 0
        cmd.out('Installed packages to be REMOVED:')
        for name in found:
            cmd.out('\t%s: %s' % (name, installed[name]['version']))
        if any(f == 'n' for f, dummy in options):
            return 0                    # dry run
        if not _confirm(cmd, options):
            return 1
        for name in found:
            for path in installed[name]['files']:
                if os.path.isfile(path):
                    os.unlink(path)
            del installed[name]
    return 0


def info(cmd, args):
    options, names = getopt(cmd, args, 'aAeEgqx')
    flags = set(f for f, dummy in options)
    with locked_state(write=False) as state:
        installed = _installed(state)
    if 'e' in flags:
        return 0 if names and all(n in installed for n in names) else 1
    selected = sorted(installed) if (not names or 'a' in flags) else names
    status = 0
    for name in selected:
        if name not in installed:
            cmd.err('pkg: No package(s) matching %s' % name)
            status = 1
            continue
        entry = installed[name]
        label = '%s-%s' % (name, entry['version'])
        if 'q' in flags:
            cmd.out(label)
        elif names and 'a' not in flags:
            cmd.out(label)
            for key, value in (('Name', name), ('Version', entry['version']), ('Origin', entry['origin']),
                               ('Comment', entry['comment'])):
                cmd.out('%-16s: %s' % (key, value))
        else:
            cmd.out('%-31s %s' % (label, entry['comment']))
    return status


def query(cmd, args):
    options, rest = getopt(cmd, args, 'aegix')
    if not rest:
        cmd.usage('Usage: pkg query <query-format> <pkg-name>', '       pkg query -a <query-format>', '',
                  "For more information see 'pkg help query'.")
    fmt, names = rest[0], rest[1:]
    with locked_state(write=False) as state:
        installed = _installed(state)
    selected = sorted(installed) if any(f == 'a' for f, dummy in options) else [n for n in names if n in installed]
    for name in selected:
        entry = installed[name]
        values = {'n': name, 'v': entry['version'], 'o': entry['origin'], 'c': entry['comment'],
                  'a': str(entry['automatic']), '%': '%'}
        out, index = [], 0
        while index < len(fmt):
            char = fmt[index]
            if char == '%' and index + 1 < len(fmt) and fmt[index + 1] in values:
                out.append(values[fmt[index + 1]])
                index += 2
                continue
            if char == '\\' and index + 1 < len(fmt) and fmt[index + 1] in 'nt':
                out.append('\n' if fmt[index + 1] == 'n' else '\t')
                index += 2
                continue
            out.append(char)
            index += 1
        cmd.out(''.join(out))
    return 0 if selected or not names else 1


def update(cmd, args):
    getopt(cmd, args, 'fqr:')
    for line in REPO_BANNER:
        cmd.out(line)
    return 0


def upgrade(cmd, args):
    getopt(cmd, args, 'fInqUyFr:')
    cmd.out('Checking for upgrades (0 candidates): 100%')
    cmd.out('Your packages are up to date.')
    return 0


SUBCOMMANDS = {'install': install, 'delete': delete, 'remove': delete, 'info': info, 'query': query,
               'update': update, 'upgrade': upgrade}


def pkg_main(prog, args):
    cmd = Command(prog, USAGE, usage_status=1)
    while args and args[0].startswith('-'):
        flag = args.pop(0)
        if flag in ('-v', '--version'):
            cmd.out(VERSION)
            return 0
        if flag == '-N':
            with locked_state(write=False) as state:
                count = len(_installed(state))
            if not args:
                cmd.out('pkg: %d packages installed' % count)
                return 0
            continue
        cmd.option_error(flag.lstrip('-')[:1], False)
    if not args:
        cmd.bad_option()
    sub = SUBCOMMANDS.get(args[0])
    if sub is None:
        cmd.err("pkg: unknown command: %s" % args[0])
        cmd.usage(*USAGE)
    return sub(Command('pkg %s' % args[0], USAGE), args[1:])
