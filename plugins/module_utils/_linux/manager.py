# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The compat_linux module: FreeBSD's Linux ABI (linux(4)) with a Linux userland at a root.

A composite of the engine: its kernel modules are objects of the kld kind and its userland (made
once, with the filesystems rc.d/linux mounts there, persisted in fstab) one of the chroot kind,
each read, compared, planned and re-read by its own kind.  What is its own: the ``compat.linux``
sysctls (now, and in its block of sysctl.conf), ``linux_enable`` for rc.d/linux, a userland that
a package installs, and the check of the userland's C library against ``compat.linux.osrelease``.
"""

from __future__ import annotations

import os

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.bsd.multiplicity.plugins.module_utils._chroot.manager import ChrootEnvKind, validate_path
from ansible_collections.bsd.multiplicity.plugins.module_utils._core import mounts as mnt
from ansible_collections.bsd.multiplicity.plugins.module_utils._core import sysctlconf
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.edits import FileEdit, rewrite
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.engine import Current, Desired, Kind, part
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError, ParameterError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import GuestTree, os_release, read_text
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.module import KindModule
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import LIVE, Option, Options
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.sysrc import SysrcEdit
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail.manager import JailKind
from ansible_collections.bsd.multiplicity.plugins.module_utils._kld.manager import KldKind
from ansible_collections.bsd.multiplicity.plugins.module_utils._linux import abi

DEFAULT_ROOT = '/compat/linux'
OSRELEASE, EMUL_PATH = 'compat.linux.osrelease', 'compat.linux.emul_path'
# What rc.d/linux mounts under the emulation path (linux(4)), in its order; fdescfs with linrdlnk so
# that Linux programs read /dev/fd links as Linux does.
LINUX_MOUNTS = (
    dict(type='linprocfs', target='/proc'),
    dict(type='linsysfs', target='/sys'),
    dict(type='devfs', target='/dev'),
    dict(type='fdescfs', target='/dev/fd', options=['linrdlnk']),
    dict(type='tmpfs', target='/dev/shm', options=['mode=1777']),
)
# A Linux jail's userland also wants its own /run; its devfs hides the host's devices (devfs.rules'
# devfsrules_jail) unless the jail names another ruleset.
JAIL_MOUNTS = (dict(type='tmpfs', target='/run', options=['mode=755']),)
JAIL_RULESET = 4
# What a jail whose userland is Linux runs: nothing at start or stop (it has no /etc/rc), kept alive
# without a process; System V IPC for the programs that use shared memory.
JAIL_DEFAULTS = dict(exec=dict(start=['/bin/true'], stop=['/bin/true']), persist=True, mount_devfs=False)
SOURCES = ('existing', 'debootstrap', 'package', 'archives', 'copy')
ENABLE = ('kld_list', 'loader_conf', 'rc_linux', 'none')
# How each way of enabling persists the modules (the kld kind's ``persistent``).
PERSISTENT = dict(kld_list='rc_conf', loader_conf='loader_conf', rc_linux='none', none='none')
# Linux's own uname -r: three numbers, then what a distribution kernel adds (5.15.0, 6.1.0-13-amd64).
OSRELEASE_CHARS = frozenset('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_+~')


def compat_linux_argument_spec():
    return dict(
        argument_spec=dict(
            root=dict(type='path', default=DEFAULT_ROOT),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            modules=dict(type='list', elements='str', default=['linux', 'linux64']),
            enable=dict(type='str', default='kld_list', choices=list(ENABLE)),
            userland=dict(type='dict', default={}, options=dict(
                source=dict(type='str', default='existing', choices=list(SOURCES)),
                suite=dict(type='str'),
                mirror=dict(type='str'),
                variant=dict(type='str', default='minbase'),
                packages=dict(type='list', elements='str', default=[]),
                options=dict(type='list', elements='str', default=[]),
                package=dict(type='str'),
                archives=dict(type='list', elements='str'),
                manifest=dict(type='str'),
                checksums=dict(type='dict'),
                path=dict(type='path'),
            )),
            osrelease=dict(type='str'),
            emul_path=dict(type='bool', default=True),
            abi_check=dict(type='str', default='error', choices=['error', 'warn', 'raise']),
            mounts=dict(type='bool', default=True),
            persist=dict(type='bool', default=True),
            fstab=dict(type='path', default='/etc/fstab'),
            sysctl_conf=dict(type='path', default=sysctlconf.PATH),
            loader_conf=dict(type='path', default='/boot/loader.conf'),
            jail=dict(type='dict'),
            force=dict(type='bool', default=False),
            purge=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )


def validate_osrelease(value):
    """``compat.linux.osrelease`` as linux(4) takes it: three numbers first (it reads the version from
    them), then what a distribution kernel adds; at most 64 characters."""
    if value is None:
        return None
    text = str(value)
    if abi.kernel_version(text) is None or text.count('.') < 2 or len(text) > 64 or not set(text) <= OSRELEASE_CHARS:
        raise ParameterError('osrelease', '%r is not a Linux release as compat.linux.osrelease takes it (three '
                                          'numbers such as 5.15.0, then letters, digits, ".", "-", "_", "+", "~")'
                             % text)
    return text


def bootstrap_of(userland, root):
    """The chroot kind's ``bootstrap`` for a userland source (a package's userland is adopted as it is)."""
    source = userland.get('source') or 'existing'
    if source == 'debootstrap':
        return dict(method='debootstrap', suite=userland.get('suite'), mirror=userland.get('mirror'),
                    variant=userland.get('variant') or 'minbase', packages=list(userland.get('packages') or []),
                    options=list(userland.get('options') or []))
    if source == 'archives':
        return dict(method='archives', archives=userland.get('archives'), manifest=userland.get('manifest'),
                    checksums=userland.get('checksums'))
    if source == 'copy':
        return dict(method='copy', source=userland.get('path'))
    if source == 'package':
        if not userland.get('package') or not userland['package'].startswith('linux_base-'):
            raise ParameterError('userland.package', 'required with userland.source=package: a linux_base-* package '
                                                     '(linux_base-rl9, linux_base-c7)')
        if root != DEFAULT_ROOT:
            raise ParameterError('root', 'a linux_base package installs its userland in %s, not %s'
                                 % (DEFAULT_ROOT, root))
    return dict(method='none')


# Its own options (its parts' are their kinds'): each applied in place.
OPTIONS = Options(
    Option(OSRELEASE, LIVE),
    Option(EMUL_PATH, LIVE),
    Option('sysctl.conf', LIVE),
    Option('linux_enable', LIVE),
    Option('package', LIVE),
)


class CompatLinuxKind(Kind):
    """The Linux ABI at one userland root: kernel modules and a userland (its parts), sysctls."""

    name = 'Linux compatibility'
    key = 'linux_compat'
    name_option = 'root'
    facts_key = 'compat_linux'
    run_state = False
    argument_spec = compat_linux_argument_spec()['argument_spec']
    OPTIONS = OPTIONS
    LEADING = ('package',)      # a package's userland is installed before its mounts, deleted after

    def __init__(self, runner):
        super().__init__(runner)
        self.modules_kind = KldKind(runner)
        self.userland_kind = ChrootEnvKind(runner)
        self.jail_kind = JailKind(runner)
        self.jail_spec = ArgumentSpecValidator(self.jail_kind.argument_spec, **self.jail_kind.module_kwargs)

    # -- desired: its parts, and its own settings -----------------------------------------------
    def desired(self, params):
        root = validate_path(params['root'] or DEFAULT_ROOT)
        state, persist = params['state'], params['persist']
        osrelease = validate_osrelease(params.get('osrelease'))
        userland = params.get('userland') or {}
        bootstrap = bootstrap_of(userland, root)
        if not params['modules']:
            raise ParameterError('modules', 'at least one module (linux64 runs 64-bit Linux programs)')
        modules = [part('module %s' % name, self.modules_kind, dict(
            name=name, state=state, persistent=PERSISTENT[params['enable']] if persist else 'none',
            loader_conf=params['loader_conf'])) for name in params['modules']]
        jail = self._jail_params(params, root) if params.get('jail') is not None else None
        ruleset = jail['devfs_ruleset'] if jail and jail['devfs_ruleset'] is not None else JAIL_RULESET
        mounts = [dict(entry, source=None, read_only=False, options=list(entry.get('options', [])),
                       ruleset=ruleset if jail and entry['type'] == 'devfs' else None)
                  for entry in ((LINUX_MOUNTS + (JAIL_MOUNTS if jail else ())) if params['mounts'] else ())]
        tree = part('userland', self.userland_kind, dict(
            path=root, state=state, bootstrap=bootstrap, mounts=mounts, fstab=params['fstab'],
            persist=persist, force=params['force'], purge=params['purge']))
        jails = [part('jail %s' % jail['name'], self.jail_kind, jail)] if jail else []
        emul_path = root if params['emul_path'] else None
        wanted = {}
        if osrelease:
            wanted[OSRELEASE] = osrelease
        if emul_path and emul_path != DEFAULT_ROOT:
            wanted[EMUL_PATH] = emul_path
        for mib, value in wanted.items():
            sysctlconf.setting_line(mib, value, 'osrelease' if mib == OSRELEASE else 'root')
        settings = {OSRELEASE: osrelease, EMUL_PATH: emul_path,
                    'sysctl.conf': wanted if persist and state == 'present' else None,
                    'linux_enable': 'YES' if params['enable'] == 'rc_linux' and persist else None,
                    'package': userland.get('package') if userland.get('source') == 'package' else None}
        return Desired(root, state, settings, purge=params['purge'], parts=modules + [tree] + jails, params=params,
                       modules=modules, userland=tree, jail=jails[0] if jails else None)

    def _jail_params(self, params, root):
        """The jail of a Linux userland: the jail module's options as given, over what a Linux jail needs
        (rooted at the userland, mounts made with the userland's, nothing run at start); errors name them."""
        given = dict(params['jail'])
        for option in ('path', 'root', 'state', 'purge'):
            if given.get(option) is not None:
                raise ParameterError('jail.%s' % option, 'comes from the userland (root, state, purge)')
        merged = dict(JAIL_DEFAULTS, **given)
        merged['exec'] = dict(JAIL_DEFAULTS['exec'], **(given.get('exec') or {}))
        if given.get('vnet') is not None:
            # A Linux userland runs no rc of FreeBSD: the host configures the jail's network.
            if given['vnet'].get('configure') not in (None, 'host'):
                raise ParameterError('jail.vnet.configure', 'a Linux userland reads no /etc/rc.conf: its network '
                                                            'is configured from the host (host)')
            merged['vnet'] = dict(given['vnet'], configure='host')
        merged['allow'] = sorted(set(given.get('allow') or []) | set(['sysvipc']))
        merged.update(path=root, state='absent' if params['state'] == 'absent' else given.get('state') or 'started')
        checked = self.jail_spec.validate(merged)
        if checked.error_messages:
            raise ParameterError('jail', '; '.join(checked.error_messages))
        if checked.validated_parameters.get('root'):
            raise ParameterError('jail.root', 'comes from the userland')
        return checked.validated_parameters

    # -- observe: after its parts -------------------------------------------------------------------
    def observe(self, view, wanted):
        if self.userland_kind.platform(view) != mnt.FREEBSD:
            raise MultiplicityError('compat_linux manages FreeBSD\'s Linux ABI (linux(4)); this host is not FreeBSD')
        live = {}
        for line in view.run(['sysctl', '-i', OSRELEASE, EMUL_PATH], action='read the compat.linux sysctls').stdout.splitlines():
            name, sep, value = line.partition(': ')
            if sep:
                live[name] = value
        rc_linux = any(d.extra['params']['enable'] == 'rc_linux' for d in wanted)
        linux_enable = view.run(['sysrc', '-i', '-n', 'linux_enable'], action='read linux_enable from rc.conf'
                                ).stdout.strip() if rc_linux else None
        packages = [d.settings['package'] for d in wanted if d.settings['package']]
        installed = set(p for p in packages if view.lookup(
            ['pkg', 'info', '-e', p], missing=lambda failed: failed.rc == 1, action='look for package %s' % p) is not None)
        found = {}
        for desired in wanted:
            params, root = desired.extra['params'], desired.name
            sysctl_text = read_text(params['sysctl_conf'])
            owned = sysctlconf.owned_settings(sysctl_text, self._owner(root))
            userland = desired.extra['userland']
            exists = userland.current.state != 'absent'
            settings = {OSRELEASE: live.get(OSRELEASE), EMUL_PATH: live.get(EMUL_PATH), 'sysctl.conf': owned,
                        'linux_enable': linux_enable if rc_linux else None,
                        'package': desired.settings['package'] if desired.settings['package'] in installed else None}
            loaded = [m.current.state != 'absent' for m in desired.extra['modules']]
            found[root] = Current(
                'stopped' if exists or any(loaded) else 'absent', settings, live=live, sysctl_text=sysctl_text,
                leftovers=bool(owned) or (rc_linux and (linux_enable or '').upper() == 'YES'),
                userland=abi.inspect(GuestTree(userland.desired.extra['real'], 'Linux userland')) if exists else None)
            if desired.state == 'absent':
                self._keep_shared_modules(desired, userland.current)
        return found

    @staticmethod
    def _owner(root):
        return 'compat_linux %s' % root

    @staticmethod
    def _keep_shared_modules(desired, userland):
        """The ABI modules stay loaded (and listed to load at boot) while a Linux filesystem is mounted
        outside this root: another userland or a Linux jail uses them."""
        root = desired.extra['userland'].desired.extra['real'].rstrip('/') + '/'
        others = [m['node'] for m in userland.extra.get('table') or []
                  if m.get('type') in ('linprocfs', 'linsysfs') and not (m['node'] + '/').startswith(root)]
        if others:
            for module in desired.extra['modules']:
                module.kept = ('kernel module %s is kept: Linux filesystems are mounted outside %s (%s)'
                               % (module.desired.name, desired.name, ', '.join(others)))

    # -- verbs: its own part ----------------------------------------------------------------------
    def create(self, plan, desired, current, changes):
        package = desired.settings['package']
        if package and not current.settings['package']:
            plan.add('package', 'install %s (its userland is %s)' % (package, desired.name),
                     argv=['pkg', 'install', '-y', package])
            plan.made.add(('Directory', desired.name))
        self.update(plan, desired, current, changes)

    def update(self, plan, desired, current, changes):
        wanted, found = desired.settings, current.settings
        if wanted['package'] and not found['package'] and not any(a.verb == 'package' for a in plan.actions):
            self.create(plan, desired, current, changes)
            return
        osrelease = self._checked_osrelease(plan, desired, current)
        for mib, value in ((OSRELEASE, osrelease), (EMUL_PATH, wanted[EMUL_PATH])):
            if value is not None and value != found[mib]:
                plan.add('sysctl', 'set %s to %s' % (mib, value), argv=['sysctl', '%s=%s' % (mib, value)])
        if wanted['sysctl.conf'] is not None:
            settings = dict(wanted['sysctl.conf'])
            if osrelease is not None:
                settings[OSRELEASE] = osrelease
            self._persist_sysctl(plan, desired, current, settings)
        if wanted['linux_enable'] and (found['linux_enable'] or '').upper() != 'YES':
            plan.edits.append(SysrcEdit('linux_enable', '=', 'YES'))
        if current.extra['userland'] is None or (wanted[OSRELEASE] or found[OSRELEASE]) is None:
            # A userland this run makes, or an osrelease that its modules bring, is checked once it is there.
            plan.add('abi', 'check the userland at %s against compat.linux.osrelease' % desired.name,
                     func=lambda: self._check_after(plan, desired))

    def _checked_osrelease(self, plan, desired, current):
        """The osrelease to set (None: leave it): the declared one, or with abi_check=raise the userland's
        oldest Linux where the one in force is older; a userland too new fails or is warned about."""
        declared = desired.settings[OSRELEASE]
        userland = current.extra['userland']
        in_force = declared or current.settings[OSRELEASE]
        if userland is None or in_force is None:
            return declared
        reason = abi.too_old(userland, in_force)
        if reason is None:
            return declared
        mode = desired.extra['params']['abi_check']
        if mode == 'raise':
            return abi.dotted(userland.min_kernel)
        message = 'The Linux userland at %s: %s' % (desired.name, reason)
        if mode == 'warn':
            plan.warn(message)
            return declared
        raise MultiplicityError(message + '; set osrelease to %s or later, or abi_check=raise; nothing was changed'
                                % abi.dotted(userland.min_kernel))

    def _check_after(self, plan, desired):
        """The ABI check of a userland that was not there when the call planned."""
        root, params = desired.name, desired.extra['params']
        userland = abi.inspect(GuestTree(desired.extra['userland'].desired.extra['real'], 'Linux userland'))
        result = self.runner.run(['sysctl', '-n', OSRELEASE], action='read compat.linux.osrelease')
        in_force = result.stdout.strip()
        reason = abi.too_old(userland, in_force)
        if reason is None:
            return
        if params['abi_check'] == 'warn':
            plan.warn('The Linux userland at %s: %s' % (root, reason))
            return
        if params['abi_check'] == 'error':
            raise MultiplicityError('The Linux userland at %s: %s; set osrelease to %s or later, or abi_check=raise'
                                    % (root, reason, abi.dotted(userland.min_kernel)))
        raised = abi.dotted(userland.min_kernel)
        self.runner.run(['sysctl', '%s=%s' % (OSRELEASE, raised)], action='raise %s to %s' % (OSRELEASE, raised))
        if params['persist']:
            settings = dict(desired.settings['sysctl.conf'] or {}, **{OSRELEASE: raised})
            rewrite(params['sysctl_conf'], [self._sysctl_edit(desired, settings)])

    def _sysctl_edit(self, desired, settings):
        path = desired.extra['params']['sysctl_conf']
        return FileEdit(path, sysctlconf.owned_edit(self._owner(desired.name), settings, 'osrelease'),
                        'write the compat.linux settings of %s to %s' % (desired.name, path), verb='sysctl.conf')

    def _persist_sysctl(self, plan, desired, current, settings):
        edit = self._sysctl_edit(desired, settings)
        before = current.extra['sysctl_text']
        after = edit.edit(before)
        if after != before:
            plan.edits.append(edit)
            plan.file_diff(edit.path, before, after)

    def destroy(self, plan, desired, current, changes, purge=False):
        if current.settings[EMUL_PATH] == desired.name != DEFAULT_ROOT:
            # Programs of another userland (or of modules kept loaded) must not look for their files here.
            plan.add('sysctl', 'set %s back to %s' % (EMUL_PATH, DEFAULT_ROOT),
                     argv=['sysctl', '%s=%s' % (EMUL_PATH, DEFAULT_ROOT)])
        if current.settings['sysctl.conf']:
            self._persist_sysctl(plan, desired, current, {})
        if desired.extra['params']['enable'] == 'rc_linux' and current.settings['linux_enable']:
            plan.edits.append(SysrcEdit('linux_enable', 'remove'))
        package = current.settings['package']
        if purge and package:
            # The package's files are pkg's to remove, after the unmounts and the purge of what is left.
            plan.add('package', 'delete %s (its userland was %s)' % (package, desired.name),
                     argv=['pkg', 'delete', '-y', package])

    # -- the result -------------------------------------------------------------------------------
    def provides(self, desired):
        """A present userland is a directory a jail of the same call may be rooted in."""
        return [('Directory', desired.name), ('Path', desired.name)]

    def facts(self, outcome):
        desired, current = outcome.desired, outcome.current
        userland = desired.extra['userland']
        tree = GuestTree(userland.desired.extra['real'], 'Linux userland')
        exists = os.path.isdir(desired.name)
        release = os_release(tree) if exists else {}
        libc = abi.inspect(tree) if exists else abi.Userland()
        chroot = userland.kind.facts(userland)
        jail = desired.extra['jail']
        found = {'jail': jail.kind.facts(jail)} if jail is not None else {}
        found.update(
            root=desired.name, state=self.shown_state(current.state),
            modules=dict((m.desired.name, m.kind.facts(m)['loaded']) for m in desired.extra['modules']),
            osrelease=current.settings.get(OSRELEASE), emul_path=current.settings.get(EMUL_PATH),
            sysctl_conf=current.settings.get('sysctl.conf') or {},
            mounts=chroot['mounts'],
            userland=dict(exists=exists, distribution=release.get('ID'), version=release.get('VERSION_ID'),
                          pretty_name=release.get('PRETTY_NAME'), bootstrap=chroot['bootstrap'], **libc.facts()))
        return found

    def report(self, outcome, diff_mode):
        """Its facts; in diff mode the files' diffs, then the modules, mounts and sysctls before and after."""
        facts = self.facts(outcome)
        found = {self.facts_key: facts}
        if diff_mode:
            userland, label = outcome.desired.extra['userland'], '%s %s' % (self.name, outcome.name)
            before = dict(state=self.shown_state(outcome.before.state),
                          modules=dict((m.desired.name, m.before.state != 'absent') for m in outcome.desired.extra['modules']),
                          mounts=[m['node'] for m in userland.before.extra.get('mounted') or []],
                          osrelease=outcome.before.settings.get(OSRELEASE), emul_path=outcome.before.settings.get(EMUL_PATH))
            modules = outcome.desired.extra['modules']
            after = dict(state=facts['state'], modules=dict((m.desired.name, m.current.state != 'absent') for m in modules),
                         mounts=facts['mounts'], osrelease=self._osrelease_after(outcome),
                         emul_path=outcome.desired.settings[EMUL_PATH] or facts['emul_path'])
            if outcome.desired.state == 'absent':
                after.update(osrelease=before['osrelease'], emul_path=before['emul_path'])
            found['diff'] = list(outcome.plan.files) + [dict(before_header=label, after_header=label,
                                                             before=before, after=after)]
        return found

    @staticmethod
    def _osrelease_after(outcome):
        set_to = [a.argv[1].split('=', 1)[1] for a in outcome.plan.actions
                  if a.verb == 'sysctl' and a.argv[1].startswith(OSRELEASE + '=')]
        return set_to[-1] if set_to else outcome.current.settings.get(OSRELEASE)


class CompatLinuxManager(KindModule):
    """The compat_linux module: one engine call, its result in the module's shape."""

    kind_class = CompatLinuxKind
