# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The chroot_env module: a directory holding a userland, with the filesystems it needs mounted.

A run that changes nothing reads the marker, the fstab file and the mount
table, and runs ``uname -s`` (plus ``mount -p`` on FreeBSD, where the mount
table is not a file).
"""

from __future__ import annotations

import json
import os
import stat
import sys

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import mounts as mnt
from ansible_collections.bsd.multiplicity.plugins.module_utils._core import release
from ansible_collections.bsd.multiplicity.plugins.module_utils._core import zfs
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError, ParameterError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import (
    GuestTree, read_text, remove_tree, os_release as files_os_release,
)
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.engine import Current, Desired, FileEdit, Kind, expected_state
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.module import KindModule
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.prerequisites import Directory, Path, Snapshot
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import LIVE, Option, Options, Plan
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.records import Unfinished

MARKER = '.bsd-multiplicity-chroot.json'
METHODS = ('none', 'archives', 'debootstrap', 'copy', 'zfs_clone')
# The running system's own directories: a chroot may live below them, never on or above them.
SYSTEM_DIRS = ('/bin', '/boot', '/compat', '/dev', '/etc', '/home', '/lib', '/lib32', '/lib64', '/libexec', '/opt',
               '/proc', '/rescue', '/root', '/sbin', '/sys', '/tmp', '/usr', '/usr/local', '/var')


def chroot_argument_spec():
    return dict(
        argument_spec=dict(
            path=dict(type='path', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            bootstrap=dict(type='dict', options=dict(
                method=dict(type='str', default='none', choices=list(METHODS)),
                archives=dict(type='list', elements='str'),
                manifest=dict(type='str'),
                checksums=dict(type='dict'),
                suite=dict(type='str'),
                mirror=dict(type='str'),
                variant=dict(type='str', default='minbase'),
                packages=dict(type='list', elements='str', default=[]),
                options=dict(type='list', elements='str', default=[]),
                source=dict(type='path'),
                template=dict(type='str'),
                dataset=dict(type='str'),
            )),
            mounts=dict(type='list', elements='dict', default=[], options=dict(
                type=dict(type='str', required=True, choices=sorted(set(mnt.TYPES[mnt.FREEBSD]) |
                                                                    set(mnt.TYPES[mnt.LINUX]))),
                target=dict(type='str'),
                source=dict(type='path'),
                read_only=dict(type='bool', default=False),
                options=dict(type='list', elements='str', default=[]),
                ruleset=dict(type='int'),
            )),
            fstab=dict(type='path', default='/etc/fstab'),
            persist=dict(type='bool', default=True),
            force=dict(type='bool', default=False),
            purge=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )


def validate_path(path):
    """The chroot's path, refused when it is the host root or on/above the system's own directories."""
    if not path or not path.startswith('/'):
        raise ParameterError('path', '%r must be an absolute path' % path)
    if '..' in path.split('/'):
        raise ParameterError('path', '%r must not contain ".."' % path)
    real = os.path.realpath(path)
    if real == '/':
        raise ParameterError('path', '%s resolves to the host root' % path)
    own = set(SYSTEM_DIRS) | set(os.path.realpath(d) for d in SYSTEM_DIRS)
    own.add(os.path.dirname(os.path.realpath(sys.executable)))
    for directory in sorted(own):
        if (directory.rstrip('/') + '/').startswith(real.rstrip('/') + '/'):
            raise ParameterError('path', '%s resolves to %s, which is or contains the running system\'s %s'
                                 % (path, real, directory))
    return os.path.normpath(path)


def bootstrap_request(bootstrap):
    """What the marker records about how the userland was made (compared on later runs)."""
    method = bootstrap['method']
    if method == 'archives':
        if not bootstrap.get('archives'):
            raise ParameterError('bootstrap.archives', 'required with bootstrap.method=archives')
        for archive in bootstrap['archives']:
            if not (archive.startswith('/') or release.is_url(archive)):
                raise ParameterError('bootstrap.archives', '%r is neither an absolute path nor a URL' % archive)
        for name, digest in (bootstrap.get('checksums') or {}).items():
            if not release.SHA256_RE.match(str(digest)):
                raise ParameterError('bootstrap.checksums', '%s: %r is not a SHA-256 hex digest' % (name, digest))
        if any(release.is_url(a) for a in bootstrap['archives']) and not (bootstrap.get('manifest') or
                                                                          bootstrap.get('checksums')):
            raise ParameterError('bootstrap.checksums', 'required (or bootstrap.manifest) when archives are URLs')
        return dict(method=method, archives=list(bootstrap['archives']))
    if method == 'debootstrap':
        if not bootstrap.get('suite'):
            raise ParameterError('bootstrap.suite', 'required with bootstrap.method=debootstrap')
        return dict(method=method, suite=bootstrap['suite'], mirror=bootstrap.get('mirror'),
                    variant=bootstrap['variant'], packages=sorted(bootstrap['packages']))
    if method == 'copy':
        if not bootstrap.get('source'):
            raise ParameterError('bootstrap.source', 'required with bootstrap.method=copy')
        return dict(method=method, source=os.path.normpath(bootstrap['source']))
    if method == 'zfs_clone':
        template, dataset = bootstrap.get('template') or '', bootstrap.get('dataset') or ''
        if template.count('@') != 1:
            raise ParameterError('bootstrap.template', '%r is not a snapshot name (pool/dataset@snapshot)' % template)
        if not dataset or '@' in dataset:
            raise ParameterError('bootstrap.dataset', 'required with bootstrap.method=zfs_clone, a filesystem name')
        return dict(method=method, template=template, dataset=dataset)
    return dict(method='none')


def os_release(path):
    """PRETTY_NAME of the userland's os-release(5), or FreeBSD's USERLAND_VERSION.

    These are the guest's files: symlinks are not followed, FIFOs and devices not opened.
    """
    tree = GuestTree(path, 'chroot')
    pretty = files_os_release(tree).get('PRETTY_NAME')
    if pretty:
        return pretty
    version = tree.read_optional('bin/freebsd-version') or ''
    for line in version.split('\n'):
        if line.startswith('USERLAND_VERSION='):
            return 'FreeBSD ' + line.split('=', 1)[1].strip().strip('"\'')
    return None


# Every option of a chroot, declared once: the parts it is made of, each applied in place.
OPTIONS = Options(
    Option('bootstrap', LIVE),      # the userland, made once (recorded in the marker)
    Option('mounts', LIVE),         # the filesystems mounted inside it
    Option('fstab', LIVE),          # its block of the host's fstab
    Option('marker', LIVE),         # what the marker records
)


class ChrootEnvKind(Kind):
    """One chroot: a directory holding a userland (bootstrapped once, recorded in a marker file), the
    filesystems mounted inside it, and its block of the host's fstab."""

    name = 'chroot'
    key = 'chroots'
    run_state = False       # there (present) or not
    name_option = 'path'
    facts_key = 'chroot'
    argument_spec = chroot_argument_spec()['argument_spec']
    OPTIONS = OPTIONS

    def __init__(self, runner):
        super().__init__(runner)
        self.table_now = None       # the mount table after this call's last mount (None: as observed)

    # -- desired (no I/O but resolving the path) ---------------------------------------------
    def desired(self, params):
        path = validate_path(params['path'])
        bootstrap = params.get('bootstrap') or dict(method='none')
        request = bootstrap_request(bootstrap) if params['state'] == 'present' else None
        # The mount table names resolved paths: compare and mount with this one, or mounts stack up.
        real = os.path.realpath(path)
        return Desired(path, params['state'], {}, purge=params['purge'], params=params, real=real,
                       tree=GuestTree(real, 'chroot'), bootstrap=bootstrap, request=request)

    # -- observe ---------------------------------------------------------------------------------
    def platform(self, view):
        system = view.run(['uname', '-s'], action='ask which system this is').stdout.strip()
        if system not in mnt.TYPES:
            raise MultiplicityError('chroot_env supports FreeBSD and Linux hosts, not %s' % system)
        return system

    def observe(self, view, wanted):
        platform = self.platform(view)
        table = mnt.read_table(view, platform)
        found = {}
        for desired in wanted:
            params, path = desired.extra['params'], desired.name
            mounted = mnt.below(table, desired.extra['real'])
            try:
                marker = self.marker(desired)
            except MultiplicityError as exc:
                found[path] = exc
                continue
            fstab_text = read_text(params['fstab']) if params['persist'] or desired.state == 'absent' else None
            exists = marker is not None or _populated(path)
            clone = self._clone_to_purge(desired, marker)
            found[path] = Current('stopped' if exists else 'absent', platform=platform, table=table,
                                  mounted=mounted, marker=marker, fstab_text=fstab_text, clone=clone,
                                  leftovers=bool(mounted) or fstab_text is not None or os.path.lexists(path))
        return found

    def _clone_to_purge(self, desired, marker):
        """(dataset, its properties or None) that the marker says the chroot was cloned to, read from
        zfs when a purge may destroy it: the marker is the guest's to write, zfs is the host's."""
        request = ((marker or {}).get('bootstrap') or {}).get('request') or {}
        if not (desired.state == 'absent' and desired.purge and request.get('method') == 'zfs_clone'):
            return None
        dataset = str(request.get('dataset') or '')
        if not dataset or '@' in dataset or dataset.startswith('-') or '\0' in dataset:
            raise MultiplicityError('The marker %s names %r as the chroot\'s dataset, which is no dataset name; '
                                    'nothing is purged' % (os.path.join(desired.name, MARKER), dataset))
        return dataset, zfs.read_dataset(self.runner, dataset, ['mounted'])

    @staticmethod
    def marker(desired):
        path = desired.name
        text = desired.extra['tree'].read(MARKER) if os.path.isdir(path) else None
        if text is None:
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise MultiplicityError('The marker %s is not valid JSON; fix or remove it' % os.path.join(path, MARKER))

    # -- compare: the chroot as found against the chroot as declared, by part ------------------------
    def compare(self, desired, current):
        if desired.state == 'absent':
            return []
        self._work(desired, current)
        before, after = current.extra['_before'], current.extra['_after']
        changes = [OPTIONS.change(option.name, before[option.name], after[option.name]) for option in OPTIONS]
        return [c for c in changes if c is not None]

    def _work(self, desired, current):
        """The actions a present chroot needs (made once per object, copied by create and update)."""
        if '_work' in current.extra:
            return current.extra['_work']
        params, platform = desired.extra['params'], current.extra['platform']
        work = Plan()
        marker = current.extra['marker']
        wanted_mounts = mnt.normalize(params['mounts'], platform, desired.extra['real'])
        new_marker = self._plan_bootstrap(work, desired, marker, current)
        # A userland made again is unmounted first: its mounts are planned as if none were there.
        seen = current.but(mounted=[], table=[m for m in current.extra['table'] if m not in current.extra['mounted']],
                           marker=None) if desired.extra.get('replacing') else current
        early = self._mount_before_bootstrap(work, desired, seen, wanted_mounts)
        owned, mounted_as = self._plan_mounts(work, desired, seen, wanted_mounts, early)
        new_marker = dict(new_marker, mounts=owned)
        fstab_text = new_fstab = current.extra['fstab_text']
        if params['persist']:
            edit = _fstab_block(desired.name, [mnt.fstab_line(e, platform) for e in wanted_mounts])
            new_fstab = edit(fstab_text)
            if new_fstab != fstab_text:
                _plan_fstab(work, desired.name, params['fstab'], edit)
                work.file_diff(params['fstab'], fstab_text, new_fstab)
        if new_marker != marker:
            tree, text = desired.extra['tree'], json.dumps(new_marker, indent=1, sort_keys=True) + '\n'
            unfinished = Unfinished('chroot', desired.name, desired.name)

            def write_marker():
                tree.write(MARKER, text, mode=0o644)
                unfinished.finish()     # the bootstrap, if one ran, is done
            work.add('marker', 'record the bootstrap and mounts in %s' % os.path.join(desired.name, MARKER),
                     func=write_marker)
        current.warnings.extend(work.warnings)     # said whether or not anything changes
        current.extra.update(_work=work, desired_mounts=wanted_mounts, new_fstab=new_fstab,
                             _before=dict(bootstrap=(marker or {}).get('bootstrap'),
                                          mounts=mounted_as,
                                          fstab=fstab_text, marker=marker),
                             _after=dict(bootstrap=new_marker.get('bootstrap'), mounts=owned, fstab=new_fstab,
                                         marker=new_marker))
        return work

    # -- verbs -------------------------------------------------------------------------------------
    def create(self, plan, desired, current, changes):
        work = self._work(desired, current)
        plan.actions.extend(work.actions)
        plan.prerequisites.extend(work.prerequisites)
        plan.edits.extend(work.edits)
        plan.files.extend(work.files)

    update = create

    def destroy(self, plan, desired, current, changes, purge=False):
        params, path = desired.extra['params'], desired.name
        self._plan_unmount_all(plan, current)
        fstab_text = current.extra['fstab_text']
        current.extra['new_fstab'] = fstab_text
        if fstab_text is not None:
            edit = _fstab_block(path, [])
            current.extra['new_fstab'] = edit(fstab_text)
            if current.extra['new_fstab'] != fstab_text:
                _plan_fstab(plan, path, params['fstab'], edit)
                plan.file_diff(params['fstab'], fstab_text, current.extra['new_fstab'])
        marker, marker_path = current.extra['marker'], os.path.join(path, MARKER)
        if marker is not None and marker.get('mounts') and not purge:
            # The userland stays, and with it the record of how it was made: declared again, it is adopted
            # as it is (not refused as someone's files), and a different request is told apart.
            tree, text = desired.extra['tree'], json.dumps(dict(marker, mounts=[]), indent=1, sort_keys=True) + '\n'
            plan.add('marker', 'record in %s that nothing is mounted' % marker_path,
                     func=lambda: tree.write(MARKER, text, mode=0o644))
        if purge and os.path.lexists(path):
            clone = current.extra.get('clone')
            if clone and clone[1] is not None:
                dataset, props = clone
                self._check_own_clone(path, desired.extra['real'], marker, dataset, props)
                # Not -r: a dataset or snapshot made below it is someone's data; zfs refuses and says so.
                plan.add('purge', 'destroy dataset %s' % dataset, argv=zfs.destroy_argv(dataset))
            else:
                plan.add('purge', 'remove %s' % path, func=lambda: remove_tree(path))

    @staticmethod
    def _check_own_clone(path, real, marker, dataset, props):
        """The dataset a marker names is destroyed only if zfs says it is this chroot's: mounted at its
        path and cloned from the template the marker records."""
        template = marker['bootstrap']['request'].get('template')
        mountpoint = os.path.normpath(props.get('mountpoint') or '-')
        if mountpoint not in (os.path.normpath(path), real) or props.get('origin') != template:
            raise MultiplicityError(
                'Refusing to purge chroot %s: its marker names dataset %s, but zfs says that dataset is mounted '
                'at %s and cloned from %s, not at this path from %s; the marker is not to be trusted, so nothing '
                'is destroyed (remove what you want gone yourself)' % (
                    path, dataset, props.get('mountpoint'), props.get('origin') or 'nothing', template))

    def provides(self, desired):
        """A present chroot is a directory (a jail of the same call may be rooted there)."""
        return [('Directory', desired.name), ('Path', desired.name)]

    def reread(self, view, outcomes):
        """One fresh mount table for every changed chroot: what is mounted in each now."""
        table = mnt.read_table(view, outcomes[0].current.extra['platform'], fresh=True)
        return dict((o.name, o.current.but(state=expected_state(o), mounted=mnt.below(table, o.desired.extra['real'])))
                    for o in outcomes)

    def expected(self, outcome):
        """Where not read again (check mode; unchanged): in its expected state, the declared mounts in
        place (none once absent)."""
        mounts = [] if outcome.desired.state == 'absent' else outcome.before.extra.get('desired_mounts', [])
        return outcome.before.but(state=expected_state(outcome), mounted=[dict(node=e['node']) for e in mounts])

    def facts(self, outcome):
        desired, current, path = outcome.desired, outcome.current, outcome.desired.name
        exists = os.path.isdir(path)
        marker = self.marker(desired) if exists else None
        return dict(path=path, platform=current.extra['platform'], exists=exists,
                    mounts=[m['node'] for m in current.extra['mounted']],
                    bootstrap=(marker or current.extra['marker'] or {}).get('bootstrap'),
                    os_release=os_release(path) if exists else None)

    def report(self, outcome, diff_mode):
        facts = self.facts(outcome)
        found = dict(chroot=facts, bootstrap_changed=bool(outcome.desired.extra.get('bootstrap_changed')))
        if diff_mode:
            # The same keys on both sides: an unchanged chroot shows no difference.
            label = 'chroot %s' % outcome.name
            found['diff'] = list(outcome.plan.files) + [dict(
                before_header=label, after_header=label,
                before=dict(state=self.shown_state(outcome.before.state),
                            mounts=[m['node'] for m in outcome.before.extra['mounted']]),
                after=dict(state=self.shown_state(outcome.current.state), mounts=facts['mounts']))]
        return found

    # -- bootstrap ---------------------------------------------------------------------------------
    def _plan_bootstrap(self, plan, desired, marker, current):
        """Actions that make the userland (with ``force``, again over one made otherwise); returns the
        marker to record."""
        request, path, boot = desired.extra['request'], desired.name, desired.extra['bootstrap']
        replacing = False
        if marker is not None:
            recorded = marker.get('bootstrap') or {}
            if recorded.get('request') == request or request['method'] == 'none':
                return dict(marker)
            desired.extra['bootstrap_changed'] = True
            if not desired.extra['params'].get('force'):
                plan.warn('%s was bootstrapped with %s; the new request %s is not applied over the '
                          'existing userland (force=true makes it again; state=absent purge=true removes it)'
                          % (path, json.dumps(recorded.get('request'), sort_keys=True),
                             json.dumps(request, sort_keys=True)))
                return dict(marker)
            if 'zfs_clone' in (request['method'], (recorded.get('request') or {}).get('method')):
                raise MultiplicityError('%s: force cannot make a ZFS clone again in place; remove it with state=absent '
                                        'purge=true first' % path)
            replacing = desired.extra['replacing'] = True
            plan.warn('%s was bootstrapped with %s; with force it is emptied and made again as %s'
                      % (path, json.dumps(recorded.get('request'), sort_keys=True), json.dumps(request, sort_keys=True)))
            self._plan_unmount_all(plan, current)
            plan.add('clean', 'empty %s to make its userland again (force)' % path,
                     func=lambda: remove_tree(path, keep_top=True))
        method = request['method']
        if method == 'none':
            plan.require(Directory(path, 'path', hint=' (bootstrap.method=none adopts an existing directory)'))
            return dict(bootstrap=dict(request=request))
        unfinished = Unfinished('chroot', path, path)
        if _populated(path) and not replacing:
            if not unfinished.found():
                raise MultiplicityError('%s is not empty and has no %s marker: not bootstrapping over existing '
                                        'files (use bootstrap.method=none to adopt them)' % (path, MARKER))
            # The host's record says an earlier run began the bootstrap and was cut: what is there is its.
            plan.warn('The bootstrap of %s stopped half way in an earlier run; it is emptied and made again' % path)
            plan.add('clean', 'empty %s: an earlier bootstrap into it stopped half way' % path,
                     func=lambda: remove_tree(path, keep_top=True))
        record = dict(request=request)
        if method == 'zfs_clone':
            plan.require(Snapshot(request['template'], 'bootstrap.template'))
            plan.add('clone', 'clone %s to %s mounted at %s' % (request['template'], request['dataset'], path),
                     argv=zfs.clone_argv(request['template'], request['dataset'], [('mountpoint', path)]))
            return dict(bootstrap=record)
        argv = self._debootstrap_argv(boot, path) if method == 'debootstrap' else None
        if (argv is None or not argv[0].endswith('mmdebstrap')) and not os.path.isdir(path):
            # mmdebstrap wants an empty directory or none; the others need it to exist.
            plan.add('mkdir', 'create directory %s' % path, func=lambda: os.makedirs(path, 0o755, exist_ok=True))
        if method == 'archives':
            checked, record['sha256'] = release.check_local(self.runner, boot['archives'], boot.get('manifest'),
                                                            boot.get('checksums'))
            if not checked:
                plan.warn('No MANIFEST beside %s and no bootstrap.checksums: archives are extracted '
                          'without a checksum check' % boot['archives'][0])
            self._bootstrap_step(plan, unfinished, 'extract', 'extract %s into %s' % (
                ', '.join(os.path.basename(a) for a in boot['archives']), path),
                func=lambda: release.extract(self.runner, boot['archives'], path, boot.get('manifest'),
                                             boot.get('checksums')))
        elif method == 'debootstrap':
            self._bootstrap_step(plan, unfinished, 'debootstrap', 'bootstrap %s into %s with %s' % (
                request['suite'], path, argv[0]), argv=argv)
        elif method == 'copy':
            source = request['source']
            plan.require(Directory(source, 'bootstrap.source'))
            # "source/." copies the contents, with BSD and GNU cp alike.
            self._bootstrap_step(plan, unfinished, 'copy', 'copy %s into %s' % (source, path),
                                 argv=['cp', '-Rp', os.path.join(source, '.'), path])
        return dict(bootstrap=record)

    def _bootstrap_step(self, plan, unfinished, verb, description, argv=None, func=None):
        """The step that fills the tree, begun by recording it on the host (the marker's write ends it)."""
        def run():
            unfinished.begin(description)
            if func is not None:
                func()
            else:
                self.runner.run(argv, action=description)
        plan.add(verb, description, argv=argv, func=run)

    def _debootstrap_argv(self, boot, path):
        tool = None
        for candidate in ('mmdebstrap', 'debootstrap'):
            tool = self.runner.which(candidate)
            if tool:
                break
        if not tool:
            raise MultiplicityError('bootstrap.method=debootstrap needs mmdebstrap or debootstrap on the host '
                                    '(pkg install debootstrap on FreeBSD, apt-get install mmdebstrap on Debian)')
        argv = [tool, '--variant=%s' % boot['variant']]
        if boot['packages']:
            argv.append('--include=%s' % ','.join(boot['packages']))
        argv += list(boot['options']) + [boot['suite'], path]
        if boot.get('mirror'):
            argv.append(boot['mirror'])
        return argv

    # -- mounts ------------------------------------------------------------------------------------
    def _mount_before_bootstrap(self, plan, desired, current, wanted_mounts):
        """debootstrap's second stage runs the userland's own programs, which want its /proc: a declared
        procfs (linprocfs) is mounted before debootstrap runs (mmdebstrap wants an empty directory and
        mounts what it needs itself).  Returns the nodes so mounted."""
        steps = [i for i, a in enumerate(plan.actions) if a.verb == 'debootstrap']
        if not steps or os.path.basename(plan.actions[steps[0]].argv[0]) != 'debootstrap':
            return set()
        early = Plan()
        entries = [e for e in wanted_mounts if e['type'] in ('procfs', 'linprocfs', 'proc')]
        for entry in entries:
            self._plan_mount(early, desired, current, entry, for_bootstrap=True)
        plan.actions[steps[0]:steps[0]] = early.actions
        return set(e['node'] for e in entries)

    def _plan_mounts(self, plan, desired, current, wanted_mounts, early=()):
        """Mount what is missing (in declared order; those of ``early`` are mounted already, before the
        bootstrap), unmount what this module mounted and no longer declares (in reverse).  Returns the
        nodes the chroot owns afterwards, and its managed mounts as found (those it mounted or is to
        mount; a declared node mounted otherwise than declared marked so), to compare the two."""
        owned_before = list((current.extra['marker'] or {}).get('mounts') or [])
        wanted = [e['node'] for e in wanted_mounts]
        found = [m['node'] for m in current.extra['mounted'] if m['node'] in wanted or m['node'] in owned_before]
        for node in reversed([m['node'] for m in current.extra['mounted']]):
            if node in wanted:
                continue
            if node in owned_before:
                plan.add('umount', 'unmount %s (no longer declared)' % node, argv=['umount', node])
            else:
                plan.warn('%s is mounted inside the chroot but was not mounted by this module; left '
                          'alone' % node)
        for index, entry in enumerate(wanted_mounts):
            # A node on a filesystem declared before it (dev/fd on devfs) is that filesystem's, not the tree's.
            on = [e['node'] for e in wanted_mounts[:index] if entry['node'].startswith(e['node'] + '/')]
            if entry['node'] not in early and self._plan_mount(plan, desired, current, entry, on=on):
                found = [n for n in found if n != entry['node']] + ['%s (not as declared)' % entry['node']]
        return wanted, found

    @staticmethod
    def _plan_unmount_all(plan, current):
        """Unmount what is mounted inside the chroot: deepest first, later mounts before earlier ones."""
        order = sorted(enumerate(current.extra['mounted']), key=lambda im: (-im[1]['node'].count('/'), -im[0]))
        for unused, entry in order:
            plan.add('umount', 'unmount %s' % entry['node'], argv=['umount', entry['node']])

    def _plan_mount(self, plan, desired, current, entry, for_bootstrap=False, on=()):
        """Mount one declared entry unless it is mounted as declared; True when something else is
        mounted on its node (unmounted first).  A node on a filesystem mounted before it (``on``) is
        looked at when it is mounted, not in the tree below; where it lands is checked after, as always."""
        platform, tree, node = current.extra['platform'], desired.extra['tree'], entry['node']
        mounted_now = mnt.last_on(current.extra['table'], node)
        if mnt.satisfied(entry, mounted_now, platform):
            return False
        if mounted_now is not None:
            plan.add('umount', 'unmount %s to mount it as declared' % node, argv=['umount', node])
        if entry['type'] in ('bind', 'nullfs'):
            plan.require(Path(entry['source'], 'mounts.source'))
        if on:
            plan.add('mkdir', 'create mount point %s on %s if it has none' % (node, on[-1]),
                     func=lambda: os.path.lexists(node) or os.mkdir(node, 0o755))
        elif for_bootstrap or desired.extra.get('replacing'):
            # The tree is made by this plan: its mount point is looked at (never through a link) once it is.
            plan.add('mkdir', 'create mount point %s if the userland has none' % node,
                     func=lambda: _mount_point_exists(tree, entry) or tree.makedirs(entry['target']))
        elif not _mount_point_exists(tree, entry):
            plan.add('mkdir', 'create mount point %s' % node, func=lambda target=entry['target']: tree.makedirs(target))
        plan.add('mount', 'mount %s on %s%s' % (entry['declared'], node, ' for the bootstrap' if for_bootstrap else ''),
                 argv=mnt.mount_argv(entry, platform), func=lambda: self._mount(entry, platform, current))
        return mounted_now is not None

    def _mount(self, entry, platform, current):
        """One mount, checked against where it landed, from the table as the call's last mount left it."""
        before = self.table_now if self.table_now is not None else current.extra['table']
        self.table_now = mnt.mount_checked(self.runner, entry, platform, before)


def _populated(path):
    try:
        return any(entry not in (MARKER, 'lost+found', '.zfs') for entry in os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return False


def _mount_point_exists(tree, entry):
    """True when the mount point is a real directory; False when it is missing.  A symlink on the
    way (which mount(8) would follow, out of the chroot or onto another node) is refused."""
    info = tree.lstat(entry['target'])
    if info is None:
        return False
    if not stat.S_ISDIR(info.st_mode):
        raise MultiplicityError('Mount target %s is %s, not a directory; not mounting there'
                                % (entry['node'], 'a symlink' if stat.S_ISLNK(info.st_mode) else 'a file'))
    return True


def _fstab_block(path, lines):
    """The edit that gives the chroot's block of the fstab these lines (none: no block); earlier
    versions named its block after the module."""
    return mnt.fstab_edit('chroot %s' % path, lines, adopt=['bsd.multiplicity.chroot_env %s' % path])


def _plan_fstab(plan, path, fstab_path, edit):
    # One locked rewrite of the fstab for every chroot of the call, from the file as it is then: other
    # chroots (and other runs) have blocks there too.
    plan.edits.append(FileEdit(fstab_path, edit, 'write the mounts of %s to %s' % (path, fstab_path), verb='fstab'))


class ChrootManager(KindModule):
    """The chroot_env module: one engine call, its result in the module's shape."""

    kind_class = ChrootEnvKind
