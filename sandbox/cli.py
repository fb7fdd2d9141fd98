"""sandbox: disposable FreeBSD-like hosts for bsd.multiplicity's tests and demo.

An instance is an overlayfs copy of a cached minimal Debian root (built once
with mmdebstrap), with FreeBSD's command surface simulated by fbsdsim and
FreeBSD's configuration files in place.  Ansible reaches it with the
community.general.chroot connection; `sandbox run` enters it the same way.

    sandbox create NAME      make an instance (seconds once the root is cached)
    sandbox run NAME -- CMD  run CMD inside; stdout, stderr and status pass through
    sandbox log NAME         the simulated commands run so far (--json for raw records)
    sandbox reboot NAME      shutdown -r now inside: the simulated kernel restarts, rc runs
    sandbox fault NAME --fail K | --crash K
                             the K-th simulated command from now fails, or the host loses
                             power right after it (see fbsd/fault.py)
    sandbox boot NAME        power on a host that crashed: the loader and rc run
    sandbox guest NAME VM EVENT
                             the simulated guest of bhyve VM VM does EVENT: reboot, poweroff,
                             halt, triple-fault (its bhyve exits 0, 1, 2, 3), ignore-acpi or
                             obey-acpi (whether SIGTERM's power button turns it off)
    sandbox create NAME --from OTHER
                             a copy of OTHER as it is now (files and simulated kernel)
    sandbox destroy NAME     unmount and remove everything the instance made
    sandbox path NAME        the instance's root directory
    sandbox list             instances that exist

Environment: BSDM_SANDBOX_DIR (instances, default /var/tmp/bsd-multiplicity/sandbox),
BSDM_CACHE_DIR (cached root, default ~/.cache/bsd-multiplicity),
BSDM_DEBIAN_MIRROR (default http://deb.debian.org/debian).
"""

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

import baserelease
from fbsd import boot, debootstrap, registry, store

HERE = os.path.dirname(os.path.abspath(__file__))
SUITE = 'bookworm'
# python3 runs Ansible's modules; busybox-static becomes the base.txz userland; xz-utils
# lets tar read .txz as FreeBSD's libarchive tar does.
PACKAGES = ['python3', 'busybox-static', 'xz-utils']
NAME_RE = re.compile(r'^[a-z0-9][a-z0-9_-]{0,31}$')
SIM_DIR = registry.SIM_DIR
PATH = '/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin'

# FreeBSD's location of each simulated command (the instance's /sbin and /bin
# are Debian's merged-usr links, so these land in /usr/sbin and /usr/bin).
COMMANDS = dict((path, path.rsplit('/', 1)[1]) for path in registry.commands())

RELEASE = {'kernel': '14.3-RELEASE', 'userland': '14.3-RELEASE', 'osreldate': 1403000,
           'build': 'releng/14.3-n271432-8c9ce319fef7', 'build_id': '8c9ce319fef7'}


class SandboxError(Exception):
    pass


def instances_dir():
    return os.environ.get('BSDM_SANDBOX_DIR', '/var/tmp/bsd-multiplicity/sandbox')


def cache_dir():
    return os.environ.get('BSDM_CACHE_DIR', os.path.join(os.path.expanduser('~'), '.cache', 'bsd-multiplicity'))


def instance_dir(name):
    if not NAME_RE.match(name or ''):
        raise SandboxError('invalid instance name %r: use 1-32 of a-z, 0-9, "_" and "-"' % name)
    return os.path.join(instances_dir(), name)


@contextlib.contextmanager
def instance_lock(name):
    """Serialise create, destroy and reboot of one instance: two runs never tear down each other's work
    half way (a second destroy then finds nothing left to do)."""
    instance_dir(name)
    os.makedirs(instances_dir(), exist_ok=True)
    with open(os.path.join(instances_dir(), '.%s.lock' % name), 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def root_of(name):
    return os.path.join(instance_dir(name), 'root')


def mounts_under(path):
    """Mount points at or below ``path``, deepest first (from /proc/self/mountinfo)."""
    path = os.path.realpath(path)
    found = []
    with open('/proc/self/mountinfo') as handle:
        for line in handle:
            point = line.split()[4].encode().decode('unicode_escape')
            if point == path or point.startswith(path + '/'):
                found.append(point)
    return sorted(found, key=lambda p: p.count('/'), reverse=True)


def run(argv, **kwargs):
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False,
                            **kwargs)
    if result.returncode != 0:
        raise SandboxError('%s exited %d: %s' % (' '.join(argv), result.returncode, result.stderr.strip()))
    return result.stdout


def cached_rootfs():
    """The Debian root every instance is layered on; built once per package set."""
    key = hashlib.sha256(json.dumps([SUITE, 'minbase', PACKAGES]).encode()).hexdigest()[:12]
    base = os.path.join(cache_dir(), 'rootfs')
    target = os.path.join(base, '%s-minbase-%s' % (SUITE, key))
    os.makedirs(base, exist_ok=True)
    with open(os.path.join(base, '.lock'), 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(target, '.complete')):
            return target
        if shutil.which('mmdebstrap') is None:
            raise SandboxError('mmdebstrap is not installed (apt-get install mmdebstrap); it builds the cached root once')
        tarball = target + '.tar'
        mirror = os.environ.get('BSDM_DEBIAN_MIRROR', 'http://deb.debian.org/debian')
        sys.stderr.write('sandbox: building the cached Debian root (once): %s\n' % target)
        run(['mmdebstrap', '--quiet', '--variant=minbase', '--include=' + ','.join(PACKAGES), SUITE, tarball, mirror])
        shutil.rmtree(target, ignore_errors=True)
        os.makedirs(target)
        run(['tar', '-xpf', tarball, '-C', target, '--numeric-owner'])
        os.unlink(tarball)
        open(os.path.join(target, '.complete'), 'w').close()
        return target


def resolve_in_root(root, path):
    """Resolve ``path`` inside ``root``, following symlinks without ever leaving it."""
    current = root
    parts = [p for p in path.split('/') if p]
    for hops in range(40):
        if not parts:
            return current
        candidate = os.path.join(current, parts.pop(0))
        if os.path.islink(candidate):
            link = os.readlink(candidate)
            base = root if link.startswith('/') else current
            parts = [p for p in link.split('/') if p] + parts
            current = base
            continue
        current = candidate
    raise SandboxError('too many symlinks resolving %s in %s' % (path, root))


def cached_base_release(lower):
    """The stand-in base.txz and MANIFEST, built once per cached root and release."""
    # Named for what it holds: a cache made before kernel.txz was added is not taken for this one.
    target = os.path.join(lower + '-dist', RELEASE['userland'] + '-base-kernel')
    if not os.path.exists(target):
        building = '%s.%d' % (target, os.getpid())
        baserelease.build(os.path.join(lower, 'bin/busybox'), RELEASE['userland'], building)
        try:
            os.rename(building, target)
        except OSError:   # another create finished first
            shutil.rmtree(building)
    return target


def install_freebsd_layer(root, name):
    """fbsdsim, its command wrappers, FreeBSD's files and the initial state."""
    shutil.copytree(os.path.join(HERE, 'fbsd'), os.path.join(root, SIM_DIR.lstrip('/'), 'fbsd'),
                    ignore=shutil.ignore_patterns('__pycache__'))
    for path, command in COMMANDS.items():
        if path in registry.PACKAGED:
            continue            # written by pkg install
        target = os.path.join(resolve_in_root(root, os.path.dirname(path)), os.path.basename(path))
        if os.path.lexists(target):
            os.unlink(target)
        with open(target, 'w') as handle:
            handle.write(registry.wrapper_text(command))
        os.chmod(target, 0o755)
    # FreeBSD's own files, copied over the Debian ones.
    source = os.path.join(HERE, 'freebsd-root')
    for directory, subdirectories, files in os.walk(source):
        relative = os.path.relpath(directory, source)
        os.makedirs(os.path.join(root, relative), exist_ok=True)
        for filename in files:
            if filename != '.keep':
                shutil.copy2(os.path.join(directory, filename), os.path.join(root, relative, filename))
    # Loadable kernel files: placeholders holding their metadata.
    for directory in ('boot/kernel', 'boot/modules'):
        os.makedirs(os.path.join(root, directory), exist_ok=True)
    with open(os.path.join(root, 'boot/kernel/kernel'), 'w') as handle:
        handle.write(baserelease.KERNEL_TEXT)
    for filename, info in registry.kernel_files().items():
        with open(os.path.join(root, 'boot/kernel', filename), 'w') as handle:
            json.dump(dict(info, fbsdsim='placeholder for a loadable kernel file'), handle, indent=1, sort_keys=True)
    os.makedirs(os.path.join(root, 'var/db/fbsdsim'), exist_ok=True)
    shutil.copy2(os.path.join(HERE, 'fbsd', 'pkg-catalog.json'), os.path.join(root, 'var/db/fbsdsim/pkg-catalog.json'))
    os.makedirs(os.path.join(root, 'var/log/fbsdsim'), exist_ok=True)
    state = store.State(os.path.join(root, 'var/db/fbsdsim/state.d'))
    state.update(boot.kernel_state(name, RELEASE, time.time()))
    state.save()
    open(os.path.join(root, 'var/log/fbsdsim/commands.log'), 'w').close()
    with open(os.path.join(root, 'etc/hostname'), 'w') as handle:
        handle.write(name + '\n')


def create(name, source=None):
    with instance_lock(name):
        _create(name, source)


def _create(name, source=None):
    base = instance_dir(name)
    lower = cached_rootfs()
    try:
        os.mkdir(base)
    except FileExistsError:
        raise SandboxError('instance %s already exists (%s); destroy it first' % (name, base))
    root = os.path.join(base, 'root')
    try:
        for part in ('work', 'root'):
            os.makedirs(os.path.join(base, part))
        if source is None:
            os.makedirs(os.path.join(base, 'upper'))
        else:
            copy_upper(source, os.path.join(base, 'upper'))
        run(['mount', '-t', 'overlay', 'overlay', '-o', 'lowerdir=%s,upperdir=%s,workdir=%s'
             % (lower, os.path.join(base, 'upper'), os.path.join(base, 'work')), root])
        run(['mount', '-t', 'proc', 'proc', os.path.join(root, 'proc')])
        share_userlands(root)
        if source is None:
            install_freebsd_layer(root, name)
            # FreeBSD keeps release archives in /usr/freebsd-dist (bsdinstall's place).
            shutil.copytree(cached_base_release(lower), os.path.join(root, 'usr/freebsd-dist'))
        with open(os.path.join(base, 'instance.json'), 'w') as handle:
            json.dump({'name': name, 'root': root, 'lower': lower, 'release': RELEASE}, handle, indent=1)
    except BaseException:
        _destroy(name)
        raise
    print(root)


def share_userlands(root):
    """The userlands the test machine made (``sandbox userland``), read-only where the instance's
    debootstrap finds them: the instance has no network."""
    source = userlands_dir()
    os.makedirs(source, exist_ok=True)
    target = os.path.join(root, debootstrap.USERLANDS.lstrip('/'))
    os.makedirs(target, exist_ok=True)
    run(['mount', '--bind', source, target])
    run(['mount', '-o', 'remount,bind,ro', target])


def userlands_dir():
    return os.path.join(cache_dir(), 'userlands')


def cached_userland(suite, variant, include):
    """The userland the instances' debootstrap installs for (suite, variant, packages), made once with
    mmdebstrap on this machine; its path."""
    os.makedirs(userlands_dir(), exist_ok=True)
    target = os.path.join(userlands_dir(), debootstrap.userland_name(suite, variant, include))
    with open(os.path.join(userlands_dir(), '.lock'), 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(target):
            return target
        if shutil.which('mmdebstrap') is None:
            raise SandboxError('mmdebstrap is not installed (apt-get install mmdebstrap); it makes the userland once')
        mirror = os.environ.get('BSDM_DEBIAN_MIRROR', 'http://deb.debian.org/debian')
        sys.stderr.write('sandbox: making the %s userland (once): %s\n' % (suite, target))
        building = '%s.%d.tar' % (target, os.getpid())
        argv = ['mmdebstrap', '--quiet', '--variant=%s' % variant] + (['--include=' + ','.join(include)] if include else [])
        try:
            run(argv + [suite, building, mirror])
            os.rename(building, target)
        finally:
            if os.path.exists(building):
                os.unlink(building)
        return target


def copy_upper(source, target):
    """What ``source`` changed over the cached root (overlayfs whiteouts and xattrs kept), under its lock.

    A running process of ``source`` (a simulated bhyve) is not copied: the copy starts with what
    its files and simulated kernel say.
    """
    with instance_lock(source):
        if not os.path.ismount(root_of(source)):
            raise SandboxError('instance %s does not exist or is not mounted' % source)
        run(['cp', '-a', os.path.join(instance_dir(source), 'upper'), target])


def kill_processes_in(root):
    """Stop what still runs inside the instance (a bhyve in the foreground, jailed daemons)."""
    for attempt in range(50):
        if not signal_processes_in(root) or attempt == 49:
            return
        time.sleep(0.05)


def signal_processes_in(root):
    found = False
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            process_root = os.readlink('/proc/%s/root' % pid)
        except OSError:
            continue
        if process_root == root or process_root.startswith(root + '/'):
            found = True
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
    return found


def destroy(name):
    with instance_lock(name):
        _destroy(name)


def _destroy(name):
    base = instance_dir(name)
    if not os.path.exists(base):
        return
    kill_processes_in(os.path.realpath(os.path.join(base, 'root')))
    for point in mounts_under(base):
        result = subprocess.run(["umount", point], stderr=subprocess.PIPE, universal_newlines=True, check=False)
        if result.returncode != 0:
            raise SandboxError('cannot unmount %s: %s; nothing was removed' % (point, result.stderr.strip()))
    left = mounts_under(base)
    if left:
        raise SandboxError('still mounted under %s: %s; nothing was removed' % (base, ', '.join(left)))
    shutil.rmtree(base)


def enter(name, command):
    root = root_of(name)
    if not os.path.ismount(root):
        raise SandboxError('instance %s does not exist or is not mounted' % name)
    if not command:
        raise SandboxError('run needs a command after --')
    env = ['env', '-i', 'PATH=' + PATH, 'HOME=/root', 'LANG=C.UTF-8', 'TERM=' + os.environ.get('TERM', 'dumb')]
    os.execvp('chroot', ['chroot', root] + env + command)


def reboot(name):
    """shutdown -r now inside the instance, then what rc printed while booting."""
    status = subprocess.call(['chroot', root_of(name), 'env', '-i', 'PATH=' + PATH, 'LANG=C.UTF-8',
                              '/sbin/shutdown', '-r', 'now'])
    if status != 0:
        raise SandboxError('shutdown -r now failed in %s (exit status %d)' % (name, status))
    with open(os.path.join(root_of(name), 'var/log/fbsdsim/boot.log')) as handle:
        sys.stdout.write(handle.read())


def in_simulator(name, code):
    """Run fbsdsim's Python inside the instance (where its state and files are)."""
    return subprocess.call(['chroot', root_of(name), 'env', '-i', 'PATH=' + PATH, 'LANG=C.UTF-8', '/usr/bin/python3',
                            '-I', '-c', 'import sys; sys.path.insert(0, %r); %s' % (SIM_DIR, code)])


def arm_fault(name, mode, at):
    if not os.path.ismount(root_of(name)):
        raise SandboxError('instance %s does not exist or is not mounted' % name)
    if in_simulator(name, 'from fbsd import fault; fault.arm(%r, %d)' % (mode, at)) != 0:
        raise SandboxError('cannot arm the fault in %s' % name)


def guest_event(name, vm, event):
    if in_simulator(name, 'from fbsd import bhyve; sys.exit(bhyve.guest_event(%r, %r))' % (vm, event)) != 0:
        raise SandboxError('guest %s of %s cannot %s' % (vm, name, event))


def power_on(name):
    """Boot a host that crashed on an injected fault, then what rc printed."""
    if in_simulator(name, 'from fbsd import boot; sys.exit(boot.power_on())') != 0:
        raise SandboxError('%s did not boot' % name)
    with open(os.path.join(root_of(name), 'var/log/fbsdsim/boot.log')) as handle:
        sys.stdout.write(handle.read())


def show_log(name, as_json):
    path = os.path.join(root_of(name), 'var/log/fbsdsim/commands.log')
    if not os.path.exists(path):
        raise SandboxError('instance %s has no command log (does it exist?)' % name)
    with open(path) as handle:
        for line in handle:
            if as_json:
                sys.stdout.write(line)
            else:
                record = json.loads(line)
                print('%s\t%s' % (record['rc'], ' '.join(shlex.quote(a) for a in record['argv'])))


def main(argv=None):
    parser = argparse.ArgumentParser(prog='sandbox', description=__doc__.split('\n\n', maxsplit=1)[0])
    sub = parser.add_subparsers(dest='verb', required=True)
    for verb in ('destroy', 'path'):
        sub.add_parser(verb).add_argument('name')
    create_parser = sub.add_parser('create')
    create_parser.add_argument('name')
    create_parser.add_argument('--from', dest='source', metavar='OTHER', help='copy this instance as it is now')
    fault_parser = sub.add_parser('fault')
    fault_parser.add_argument('name')
    armed = fault_parser.add_mutually_exclusive_group(required=True)
    armed.add_argument('--fail', type=int, metavar='K', help='the K-th simulated command from now fails')
    armed.add_argument('--crash', type=int, metavar='K', help='the host loses power right after the K-th command')
    sub.add_parser('boot').add_argument('name')
    guest_parser = sub.add_parser('guest')
    guest_parser.add_argument('name')
    guest_parser.add_argument('vm')
    guest_parser.add_argument('event', choices=['reboot', 'poweroff', 'halt', 'triple-fault', 'ignore-acpi',
                                                'obey-acpi'])
    log = sub.add_parser('log')
    log.add_argument('name')
    log.add_argument('--json', action='store_true', help='one JSON record per command')
    enter_parser = sub.add_parser('run')
    enter_parser.add_argument('name')
    enter_parser.add_argument('command', nargs=argparse.REMAINDER)
    sub.add_parser('list')
    sub.add_parser('reboot').add_argument('name')
    userland_parser = sub.add_parser('userland', help='make (once) a userland the instances\' debootstrap installs')
    userland_parser.add_argument('suite')
    userland_parser.add_argument('--variant', default='debootstrap', choices=list(debootstrap.VARIANTS))
    userland_parser.add_argument('--include', default='', help='packages, comma-separated')
    args = parser.parse_args(argv)
    try:
        rooted = ('create', 'destroy', 'run', 'reboot', 'fault', 'boot', 'guest', 'userland')
        if os.geteuid() != 0 and args.verb in rooted:
            raise SandboxError('%s needs root (mounts and chroot)' % args.verb)
        if args.verb == 'create':
            create(args.name, args.source)
        elif args.verb == 'fault':
            mode, at = ('fail', args.fail) if args.fail is not None else ('crash', args.crash)
            if at < 1:
                raise SandboxError('fault: K counts commands from 1')
            arm_fault(args.name, mode, at)
        elif args.verb == 'boot':
            power_on(args.name)
        elif args.verb == 'guest':
            guest_event(args.name, args.vm, args.event)
        elif args.verb == 'destroy':
            destroy(args.name)
        elif args.verb == 'path':
            print(root_of(args.name))
        elif args.verb == 'log':
            show_log(args.name, args.json)
        elif args.verb == 'list':
            if os.path.isdir(instances_dir()):
                for name in sorted(os.listdir(instances_dir())):
                    if not name.startswith('.') and os.path.isdir(os.path.join(instances_dir(), name)):
                        print(name)
        elif args.verb == 'reboot':
            reboot(args.name)
        elif args.verb == 'userland':
            print(cached_userland(args.suite, args.variant, [p for p in args.include.split(',') if p]))
        elif args.verb == 'run':
            command = args.command[1:] if args.command[:1] == ['--'] else args.command
            enter(args.name, command)
    except SandboxError as exc:
        sys.stderr.write('sandbox: %s\n' % exc)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
