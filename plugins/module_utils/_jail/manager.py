# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The jail module: configuration in jail.conf, root filesystem, run state, rc.conf autostart.

A run that changes nothing reads the jail's config file and rc.conf directly
and runs at most four commands: ``jls`` (run state), ``zfs get`` (only with
a root dataset), ``sysrc -e`` (only when autostart is managed) and ``rctl``
(only when rctl rules are managed).
"""

from __future__ import annotations

import collections
import glob
import os
import re
import stat

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import disks, ownership, zfs
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import (
    CommandError, MultiplicityError, ParameterError,
)
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import (
    GuestTree, read_text, remove_tree,
)
from ansible_collections.bsd.multiplicity.plugins.module_utils._core import release
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.engine import (
    Current, Desired, FileEdit, Kind, expected_state,
)
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.module import KindModule
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.pending import PendingRestart
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.records import Unfinished
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.prerequisites import (
    Bridge, Directory, File, Path, Snapshot,
)
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import LIVE, RECREATE, RESTART, Option, Options, as_list
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.sysrc import SysrcEdit
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.shvars import ShVars, set_vars
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail import config, rctl, rootfs, startup
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail.runtime import (
    jls_not_found, parse_ifconfig_addresses, parse_jls_json, parse_sysrc_e, read_all_jails,
)
from ansible_collections.bsd.multiplicity.plugins.module_utils.jail_conf import JailConfError, parse

# The line written above a block this module created (_core/ownership.py).  It names its jail, so it
# goes away with that block and never makes a neighbouring hand-written block look like the module's.
MARKER = ownership.marker('jail %s')


def jail_argument_spec():
    hooks = dict((hook, dict(type='list', elements='str')) for hook in config.HOOKS)
    hooks.update(clean=dict(type='bool'), jail_user=dict(type='str'), system_user=dict(type='str'),
                 consolelog=dict(type='path'), timeout=dict(type='int'))
    return dict(
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', default='started', choices=['present', 'started', 'stopped', 'restarted',
                                                               'absent']),
            config_file=dict(type='path'),
            path=dict(type='path'),
            hostname=dict(type='str'),
            ip4=dict(type='list', elements='str'),
            ip6=dict(type='list', elements='str'),
            interface=dict(type='str'),
            vnet=dict(type='dict', options=dict(
                bridge=dict(type='str'),
                epair=dict(type='str'),
                addresses=dict(type='list', elements='str'),
                gateway=dict(type='str'),
                gateway6=dict(type='str'),
                configure=dict(type='str', choices=['rc', 'host']),
            )),
            devfs_ruleset=dict(type='int'),
            securelevel=dict(type='int', choices=[-1, 0, 1, 2, 3]),
            enforce_statfs=dict(type='int', choices=[0, 1, 2]),
            children_max=dict(type='int'),
            allow=dict(type='list', elements='str'),
            persist=dict(type='bool'),
            mount_devfs=dict(type='bool'),
            mount_fstab=dict(type='path'),
            mounts=dict(type='list', elements='dict', options=dict(
                source=dict(type='path', required=True),
                target=dict(type='str', required=True),
                type=dict(type='str', default='nullfs'),
                options=dict(type='str', default='ro'),
            )),
            exec=dict(type='dict', options=hooks),
            depend=dict(type='list', elements='str'),
            parameters=dict(type='dict'),
            root=dict(type='dict', options=dict(
                type=dict(type='str', default=rootfs.DIRECTORY,
                          choices=[rootfs.DIRECTORY, rootfs.ZFS_CLONE, rootfs.RELEASE, rootfs.THIN, rootfs.IMAGE]),
                image=dict(type='str'),
                partition=dict(type='str'),
                dataset=dict(type='str'),
                base=dict(type='path'),
                template=dict(type='str'),
                archives=dict(type='list', elements='str'),
                manifest=dict(type='str'),
                properties=dict(type='dict'),
            )),
            rctl=dict(type='list', elements='str'),
            autostart=dict(type='bool'),
            restart_on_change=dict(type='bool', default=False),
            purge=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )


def _jail_m_value(param, value):
    if value is True:
        return param
    if value is False:
        head, dot, tail = param.rpartition('.')
        return '%s%sno%s' % (head, dot, tail)
    if isinstance(value, list):
        return '%s=%s' % (param, ','.join(value))
    return '%s=%s' % (param, value)


def _kernel_value(param, value):
    """A configured value in the form jls reports it (bare addresses, text)."""
    if param in ('ip4.addr', 'ip6.addr'):
        return [config.kernel_address(v) for v in (value if isinstance(value, list) else [value])]
    if isinstance(value, bool):
        return value
    if isinstance(value, list):
        return ','.join(value)
    return str(value)


def _positive(params):
    """Resolved parameters with ``noX`` booleans turned into ``X: False``."""
    result = {}
    for key, value in params.items():
        head, dot, tail = key.rpartition('.')
        if value is True and tail.startswith('no'):
            result[head + dot + tail[2:]] = False
        else:
            result[key] = value
    return result


def read_config(view, path):
    """The parsed config file (None when it does not exist), read once per call: /etc/jail.conf is a
    candidate for every jail, and a topology call looks at every file in /etc/jail.conf.d."""
    def read():
        text = file_text(view, path)
        if text is None:
            return None
        try:
            return parse(text, path)
        except JailConfError as exc:
            return exc
    found = view.cached(('jail.conf', path), read)
    if isinstance(found, JailConfError):
        raise MultiplicityError('Cannot read %s: %s' % (path, found))
    return found


def file_text(view, path):
    """A host file's text (None: missing), read once per call: the parse of a jail.conf file and the
    scans of its text share it."""
    return view.cached(('file', path), lambda: read_text(path))


def _include_reader(path):
    """Files named by .include, read as jail(8) would (a missing one is an error there too)."""
    text = read_text(path)
    if text is None:
        raise JailConfError('%s: cannot open included file' % path)
    return text


# The interfaces a jail.conf block moves into its jail, found in a file's text before it is parsed.
VNET_INTERFACE_RE = re.compile(r'vnet\.interface\s*\+?=\s*"?([A-Za-z0-9_.]+)')


def _names(value):
    """A resolved list parameter (``depend``): one value is a string, several a list."""
    if not value or value is True:
        return []
    return [value] if isinstance(value, str) else list(value)


def _named_from_hook(changes, hook, split, named):
    """A hook command the module writes from options (``split`` finds it: (what it sets, the other
    commands)) changes with them: named by the options the user changed (``named(old, new)``); the
    hook's change stays only when its other commands changed too."""
    found = []
    for change in changes:
        if change.name == hook:
            (old, old_rest), (new, new_rest) = split(change.before), split(change.after)
            if old != new:
                found.extend(named(old, new))
                if old_rest == new_rest:
                    continue
        found.append(change)
    return found


def _bridge_named(changes):
    """A new ``vnet.bridge`` changes the epair hook of ``exec.prestart``."""
    return _named_from_hook(changes, 'exec.prestart', config.bridge_of,
                            lambda old, new: [OPTIONS.change('vnet.bridge', old, new)])


def _network_changes(old, new):
    if old is None or new is None:
        return [OPTIONS.change('vnet.configure', 'rc' if old is None else 'host', 'rc' if new is None else 'host')]
    return [OPTIONS.change('vnet.' + key, old[key], new[key])
            for key in ('addresses', 'gateway', 'gateway6') if old[key] != new[key]]


def _network_named(changes):
    """The host's network hook of ``exec.poststart`` (vnet.configure: host) changes with the addresses and
    the routes, or when the host starts or stops configuring the jail's network."""
    return _named_from_hook(changes, 'exec.poststart', config.network_of, _network_changes)


def _same_addresses(live, wanted):
    return all(sorted(live[f]) == sorted(wanted[f]) for f in ('inet', 'inet6'))


def _autostart_vars(text):
    """jail_enable and jail_list as ``sysrc -e`` printed them, with the list's names as a set."""
    rcvars = parse_sysrc_e(text)
    listed = rcvars.get('jail_list', '').split()
    enable = rcvars.get('jail_enable', 'NO')
    return dict(enable=enable, enabled=enable.upper() in ('YES', 'TRUE', 'ON', '1'), listed=listed,
                names=frozenset(listed))


def _parameter(name):
    """A jail(8) parameter: changed in the running jail with ``jail -m`` when jail(8) allows it, else at
    the next start; a new ``path`` is another root, so the jail is made again there (its old root is
    left as it is, never purged)."""
    if name == 'path':
        return Option(name, RECREATE)
    return Option(name, LIVE if config.is_live(name) else RESTART)


def _vnet_parameter(name):
    """A VNET jail's parameter: as any jail's, but its ip4/ip6 addresses (its own rc.conf's) apply at start."""
    return Option(name, RESTART) if name.startswith('ip') else _parameter(name)


# Every option of a jail, declared once: the jail(8) parameters of its block (by the rules above) and
# what the module manages beside them.
OPTIONS = Options(
    Option('jail.conf', LIVE),              # the block's layout alone (its parameters unchanged)
    Option('vnet.addresses', LIVE),         # ifconfig in the running jail, and its rc.conf
    Option('vnet.bridge', RESTART),         # its epair is added to the bridge by exec.prestart
    Option('vnet.gateway', RESTART),        # set at its start (by its rc, or by the host's exec.poststart)
    Option('vnet.gateway6', RESTART),
    Option('vnet.configure', RESTART),      # rc inside the jail or the host's exec.poststart, at its start
    Option('rc.conf', LIVE),                # the jail's rc.conf rewritten, its settings unchanged
    Option('root.properties', LIVE),        # zfs set
    Option('autostart', LIVE),              # jail_enable and jail_list
    Option('rctl', LIVE),                   # the kernel's rules (rctl -a/-r) and rctl.conf
    Option('rctl.conf', LIVE),              # rctl.conf alone
    family=_parameter)
VNET_OPTIONS = OPTIONS.with_family(_vnet_parameter)


def _pending(d):
    """The jail's record of restarts owed (its jid names the running instance)."""
    return PendingRestart('jail', d.name, id_key='jid')


class JailDesired(Desired):
    """One jail as declared, its options checked: the module's options (``p``), its root, its jail
    parameters for a new block (``desired_params``) and for an existing one (``explicit``), the jail's
    side of its epair and its rctl rules in the kernel's spelling."""

    def __init__(self, params):
        name = config.validate_name(params['name'])
        super().__init__(name, params['state'], {}, restart_allowed=bool(params.get('restart_on_change')),
                         purge=bool(params.get('purge')))
        self.p = params
        self.root = None
        if params.get('root') is not None or (params.get('path') and self.state != 'absent'):
            self.root = rootfs.validate(params.get('root'), params.get('path'), require_path=self.state != 'absent')
        if params.get('vnet') and params['vnet'].get('addresses') is not None and not params.get('path'):
            raise ParameterError('path', 'required with vnet.addresses (the jail\'s rc.conf is under it)')
        jail_params = dict(params, name=name)
        if self.root and self.root['type'] == rootfs.THIN:
            # A thin root adds its base mount.
            jail_params['mounts'] = [rootfs.thin_mount(self.root)] + list(params.get('mounts') or [])
        # Checked now so that bad input fails before anything is read or changed.
        self.desired_params = config.desired_params(jail_params)
        # What an existing block gets: only the options this task sets (an omitted option keeps its value).
        self.explicit = config.desired_params(dict(jail_params, exec=params.get('exec') or None), defaults=False)
        if self.root and self.root['type'] == rootfs.IMAGE:
            # The image is attached and mounted first, and detached last: its hooks go around the others.
            # The same hooks for a new block and an existing one (checks of what a new one mounts).
            points = mount_points(self.desired_params, params['path'])
            hooks = rootfs.image_hooks(self.root, params['path'], points)
            for found in (self.desired_params, self.explicit):
                found['exec.prepare'] = hooks['prepare'] + as_list(found.get('exec.prepare'))
                found['exec.release'] = as_list(found.get('exec.release')) + hooks['release']
        self.jail_if = config.epair_names(dict(params, name=name))[1] if params.get('vnet') else None
        self.rctl = rctl.normalize(name, params['rctl']) if params.get('rctl') is not None else None


def mount_points(found, path):
    """Where jail(8) mounts inside the root, relative to it, in its order: the fstab lines' nodes, then dev
    and proc (``found``: the jail's parameters)."""
    path = path.rstrip('/')
    nodes = [os.path.normpath(line.split()[1]) for line in as_list(found.get('mount')) if len(line.split()) > 1]
    points = [n[len(path) + 1:] for n in nodes if n.startswith(path + '/')]
    return points + [p for p, key in (('dev', 'mount.devfs'), ('proc', 'mount.procfs')) if found.get(key)]


class JailKind(Kind):
    """Jails: a block of jail.conf (a file of their own in /etc/jail.conf.d, or an adopted one), a
    root filesystem, rc.conf network settings inside the jail, rctl rules, jail_list autostart, and
    the run state jail(8) and jls report."""

    name = 'jail'
    key = 'jails'
    facts_key = 'jail'
    argument_spec = jail_argument_spec()['argument_spec']
    OPTIONS = OPTIONS

    def desired(self, params):
        return JailDesired(params)

    # ------------------------------------------------------------ reading
    def _locate_config(self, view, d):
        """(path, parsed text) of the file that configures this jail, adopted if written by hand."""
        given = d.p.get('config_file')
        if given:
            conf = read_config(view, given)
            return given, conf if conf is not None else parse('', given)
        path, conf = self._find_block(view, d.name)
        if path is not None:
            return path, conf
        default = os.path.join(config.CONF_D, '%s.conf' % d.name)
        return default, parse('', default)

    @staticmethod
    def _find_block(view, name):
        """(path, parsed text) of the file holding the jail's block, as rc.d/jail looks for it; else a file
        of several jails (jail.conf.d/web.conf holding web1 and web2) that jail(8) reads through an
        .include of /etc/jail.conf; (None, None) when no file configures it."""
        for path in config.config_candidates(name):
            conf = read_config(view, path)
            if conf is not None and conf.block_span(name):
                return path, conf
        path = JailKind._configured_elsewhere(view).get(name)
        return (path, read_config(view, path)) if path is not None else (None, None)

    @staticmethod
    def _configured_elsewhere(view):
        """{jail: the file configuring it} over every file of the host, for jails not in their own file;
        read once per call."""
        def scan():
            found = {}
            for path in config.host_conf_files():
                try:
                    conf = read_config(view, path)
                except MultiplicityError:
                    continue        # jail(8) reports a file it cannot read; a task naming the jail too
                for name in (conf.jails if conf else []):
                    found.setdefault(name, path)
            return found
        return view.cached('jail_conf_files', scan)

    def _read_runtime(self, view, d):
        """The running jail as jls reports it, or None."""
        return view.per_object('jails', d.name, lambda: self._read_one_runtime(d),
                               lambda: read_all_jails(self.runner))

    def _read_one_runtime(self, d):
        argv = ['jls', '-n', '-j', d.name, '--libxo', 'json', 'all']
        result = self.runner.run_lookup(argv, missing=jls_not_found, action='read jail %s' % d.name)
        if result is None:
            return None
        jails = [j for j in parse_jls_json(result.stdout) if j.get('name') == d.name]
        return jails[0] if jails else None

    def _read_rctl(self, view, d):
        """Live and configured rctl rules of this jail, with what must change; None when unmanaged.

        ``state: absent`` also removes rules that rctl.conf holds for the jail.
        """
        if d.rctl is None and d.state != 'absent':
            return None
        text = file_text(view, rctl.RCTL_CONF)
        in_conf = rctl.conf_rules(text, d.name)
        if d.rctl is None and not in_conf:
            return None
        desired = [] if d.state == 'absent' else d.rctl
        try:
            live = rctl.parse_rules(view.per_object(
                'rctl', d.name, lambda: self.runner.run(['rctl', 'jail:%s:' % d.name],
                                                        action='read rctl rules of jail %s' % d.name).stdout,
                lambda: rctl.rules_by_jail(self.runner.run(['rctl'], action='read the rctl rules').stdout)) or '',
                d.name)
            disabled = False
        except CommandError as exc:
            if 'disabled' not in (exc.stderr or ''):
                raise
            # kern.racct.enable is a boot-time tunable: no run can apply the rules now. They go to
            # rctl.conf, which rc.d/rctl loads at the next boot, and every run says so.
            live, disabled = list(desired), True
        try:
            conf_matches = rctl.normalize(d.name, in_conf) == desired
        except ParameterError:
            conf_matches = False    # a hand-written line rctl would refuse: rewrite it
        new_text = (text or '') if conf_matches else rctl.update_conf(text, d.name, desired)
        remove, add = rctl.live_actions(live, desired)
        return dict(live=live, desired=desired, conf=in_conf, text=text or '', new_text=new_text,
                    remove=remove, add=add, disabled=disabled)

    def _read_live_addresses(self, view, d, runtime):
        """Addresses on the jail's side of the epair, read from the running jail; None when not managed."""
        vnet = d.p.get('vnet') or {}
        if not runtime or not d.jail_if or vnet.get('addresses') is None or d.state == 'absent':
            return None
        # One command per jail: a call of many jails compares rc.conf only (documented).
        return view.per_object('addresses', d.name, lambda: self._read_one_address_set(d))

    def _read_one_address_set(self, d):
        result = self.runner.run_lookup(['ifconfig', '-j', d.name, d.jail_if],
                                        missing=lambda failed: 'does not exist' in failed.stderr,
                                        action='read the addresses of %s in jail %s' % (d.jail_if, d.name))
        return parse_ifconfig_addresses(result.stdout if result else '')

    def _check_mount_points(self, d, ctx):
        """jail(8) mounts the fstab lines, then devfs and procfs, at paths inside the jail's root,
        following symlinks there: a guest that turned /mnt into a link to /etc would get host data
        mounted over.  Refuse a mount point that is a symlink, or lies below one, before starting; and
        one that is missing, as jail(8) would fail on it after its first mounts (a point inside an
        earlier mount of the jail is not known before that mount)."""
        path = ctx['path'].rstrip('/')
        relative = mount_points(ctx['after'], path)
        tree = self._guest(d, ctx['path'])
        for index, rel in enumerate(relative):
            info = tree.lstat(rel)
            if info is not None and stat.S_ISLNK(info.st_mode):
                raise MultiplicityError('Jail %s: mount point %s/%s is a symlink; jail(8) would mount through it, '
                                        'so the jail is not started' % (d.name, path, rel))
            if info is None and not any(rel.startswith(earlier + '/') for earlier in relative[:index]):
                raise MultiplicityError('Jail %s: mount point %s/%s does not exist; jail(8) would fail to mount '
                                        'there (make the directory in the jail\'s root, or remove the mount)'
                                        % (d.name, path, rel))

    def _check_again_after_stop(self, plan, d, ctx):
        """A restart checks the mount points again once the jail is stopped: its processes could change
        them after the check above, while it ran; once it is stopped none is left to (jail(8) mounts
        right after)."""
        verbs = [a.verb for a in plan.actions]
        if 'stop' not in verbs or verbs.index('stop') > verbs.index('start'):
            return
        stop = plan.actions[verbs.index('stop')]

        def stop_then_check(argv=stop.argv, description=stop.description):
            self.runner.run(argv, action=description)
            try:
                self._check_mount_points(d, ctx)
            except MultiplicityError as exc:
                raise MultiplicityError('%s; it was stopped for its restart and is left stopped' % exc)
        stop.func = stop_then_check

    def _guest(self, d, path):
        """The jail's root as the guest's root user may have shaped it: no symlink is followed."""
        return GuestTree(path, 'Jail %s root' % d.name)

    # ------------------------------------------------------------ desired config
    def _new_conf_text(self, d, conf):
        """The config file's text after this task: a new block gets the defaults and this jail's
        marker; an existing block (written by this module or by hand) only the options given."""
        if d.state == 'absent':
            if not conf.block_span(d.name):
                return conf.text
            text = self._without_marker(d, conf)
            edited = parse(text, conf.path).remove_jail(d.name).render()
            return '' if not edited.strip() else edited
        if conf.block_span(d.name) is not None:
            # The parsed file is shared by the call (cached): the new text is computed, not edited in.
            return conf.updated_text(d.name, d.explicit)
        if not d.p.get('path'):
            raise ParameterError('path', 'required to configure jail %s' % d.name)
        params = dict((k, v) for k, v in d.desired_params.items() if v is not None)
        return parse(conf.text, conf.path).set_jail(d.name, params, comment=(MARKER % d.name)[2:]).render()

    def _without_marker(self, d, conf):
        """The text with this jail's marker line (directly above its block) removed."""
        text = conf.text
        start = conf.block_span(d.name)[0]
        line_start = text.rfind('\n', 0, start) + 1
        if text[line_start:start].strip() or line_start == 0:
            return text
        previous = text.rfind('\n', 0, line_start - 1) + 1
        if ownership.marks(text[previous:line_start - 1], 'jail %s' % d.name):      # earlier versions' too
            return text[:previous] + text[line_start:]
        return text

    # ------------------------------------------------------------ the engine's contract
    def observe(self, view, wanted):
        # One zfs get for every root dataset of the call (a call of one jail reads its own).
        properties = set(p for d in wanted if d.root for p in (d.root.get('properties') or {}))
        found = {}
        for d in wanted:
            try:
                found[d.name] = self._observe_one(view, d, properties)
            except MultiplicityError as exc:
                found[d.name] = exc
        # A file another jail of the call writes its block to does not hold one jail alone after the call.
        paths = collections.Counter(c.extra['conf_path'] for c in found.values() if isinstance(c, Current))
        for current in found.values():
            if isinstance(current, Current) and paths[current.extra['conf_path']] > 1:
                current.extra['holds_only'] = False
        self._refuse_shared_interfaces(view, wanted, found)
        # How each is started needs the files of the jails it depends on: this call's, as they will be.
        files = dict((name, (c.extra['conf_path'], c.extra['holds_only'], _names(c.extra['after'].get('depend'))))
                     for name, c in found.items() if isinstance(c, Current))
        for d in wanted:
            current = found[d.name]
            if isinstance(current, Current) and d.state != 'absent':
                depended, missing = self._depended(view, d.name, files)
                current.extra['depend_missing'] = missing
                try:
                    current.extra['start'] = startup.command(d.name, current.extra['conf_path'],
                                                             current.extra['holds_only'], depended)
                except MultiplicityError as exc:
                    found[d.name] = exc
        return found

    @staticmethod
    def _refuse_shared_interfaces(view, wanted, found):
        """Two jails whose VNET epairs get the same names (``web-1`` and ``web_1`` both make ``ej_web_1a``)
        would take each other's interfaces: the epair hook first destroys a host-side interface of its
        name that a failed start left.  Such a jail fails before any change, naming the other, whether
        the other is of this call or configured on the host."""
        mine = collections.defaultdict(list)
        for d in wanted:
            if d.jail_if and d.state != 'absent' and isinstance(found.get(d.name), Current):
                mine[d.jail_if].append(d.name)
        if not mine:
            return
        owners = dict((iface, set(names)) for iface, names in mine.items())
        for path in config.host_conf_files():
            text = file_text(view, path) or ''
            if not any(iface in owners for iface in VNET_INTERFACE_RE.findall(text)):
                continue
            try:
                conf = read_config(view, path)
            except MultiplicityError:
                continue        # jail(8) cannot read it either
            for other in conf.jails:
                try:
                    ifaces = conf.resolve(other).get('vnet.interface') or []
                except JailConfError:
                    continue
                for iface in [ifaces] if isinstance(ifaces, str) else ifaces:
                    if iface in owners:
                        owners[iface].add(other)
        for iface, names in owners.items():
            for name in mine[iface]:
                others = sorted(names - set([name]))
                if others:
                    found[name] = MultiplicityError(
                        'Jail %s: its VNET epair would be named %sa/%s, as that of jail %s: the jails would take '
                        'each other\'s interfaces; set vnet.epair to another name for one of them'
                        % (name, iface[:-1], iface, ', '.join(others)))

    @staticmethod
    def _depended(view, name, files):
        """([(path, holds_only)] of the files configuring the jails this one depends on, directly or not
        (jail(8) must find every one of them defined), None); or (None, the first jail configured nowhere)."""
        found, seen, todo = [], set([name]), list(files[name][2])
        while todo:
            other = todo.pop(0)
            if other in seen:
                continue
            seen.add(other)
            if other not in files:
                path, conf = JailKind._find_block(view, other)
                if path is None:
                    return None, other
                try:
                    depend = _names(conf.resolve(other).get('depend'))
                except JailConfError:
                    depend = []     # jail(8) reports it when it reads the file
                files[other] = (path, conf.holds_only(other), depend)
            path, holds_only, depend = files[other]
            found.append((path, holds_only))
            todo.extend(depend)
        return found, None

    def _observe_one(self, view, d, properties):
        warnings = []
        conf_path, conf = self._locate_config(view, d)
        new_text = self._new_conf_text(d, conf)
        configured = conf.block_span(d.name) is not None
        new_conf = conf if new_text == conf.text else parse(new_text, conf_path)
        try:
            before = _positive(conf.resolve(d.name)) if configured else {}
            if d.state == 'absent':
                after = {}
            elif new_conf is conf and configured:
                after = dict(before)        # the file stays as it is: resolved once
            else:
                after = _positive(new_conf.resolve(d.name))
        except JailConfError as exc:
            raise ParameterError('parameters', 'the resulting configuration of %s does not resolve: %s'
                                 % (d.name, exc))
        runtime = self._read_runtime(view, d)
        current_state = 'running' if runtime else ('stopped' if configured else 'absent')
        path = after.get('path') or before.get('path') or (runtime or {}).get('path') or d.p.get('path')

        dataset = None
        root = d.root
        if root and root.get('dataset'):
            dataset = view.per_object(
                'datasets', root['dataset'],
                lambda: zfs.read_dataset(self.runner, root['dataset'], (root.get('properties') or {}).keys()),
                lambda: zfs.read_datasets(self.runner, properties))

        rc_path = os.path.join(path, 'etc', 'rc.conf') if path else None
        # The jail's own rc.conf holds its network, unless the host configures it (vnet.configure: host).
        in_rc = bool(d.jail_if) and not config.host_configured(d.p.get('vnet'))
        rc_text = self._guest(d, path).read('etc/rc.conf') if (rc_path and in_rc) else None
        rc_new = rc_text
        rc_wanted = None
        rc = ShVars(rc_text)        # the jail's rc.conf, parsed once for the whole plan
        rc_vars = rc_new_vars = rc.vars
        if in_rc and d.state != 'absent':
            rc_wanted = config.jail_rc_vars(d.p, d.jail_if, rc_vars)
            rc_new, rc_new_vars = rc.edited(rc_wanted)

        autostart = d.p.get('autostart')
        rcvars = None
        if autostart is not None or d.state == 'absent':
            # Parsed once per call: with many jails, jail_list is long and every jail asks.
            rcvars = view.cached('jail_rcvars', lambda: _autostart_vars(view.run(
                ['sysrc', '-e', 'jail_enable', 'jail_list'], action='read jail_enable and jail_list').stdout))
        rc_settings = self._autostart_settings(d, rcvars, autostart, warnings)
        rctl_state = self._read_rctl(view, d)
        live_addresses = self._read_live_addresses(view, d, runtime)
        leftovers = bool(rc_settings or (d.purge and self._purge_target(root, dataset, path))
                         or self._rctl_changes(rctl_state))
        unfinished = bool(root and path and root['type'] == rootfs.RELEASE and Unfinished('jail', d.name, path).found())
        if unfinished:
            warnings.append('Jail %s: the extraction into %s stopped half way in an earlier run; it is emptied and '
                            'extracted again' % (d.name, path))
        ready = bool(root) and self._root_ready(root, dataset, path, unfinished)
        incomplete = bool(current_state != 'absent' and root and not ready)
        return Current(
            current_state, leftovers=leftovers, incomplete=incomplete, warnings=warnings,
            conf_path=conf_path, old_text=conf.text, new_text=new_text, configured=configured, root=root,
            dataset=dataset, path=path, rc_path=rc_path, rc_text=rc_text, rc_new=rc_new, rc_wanted=rc_wanted,
            rc_vars=rc_vars, rc_new_vars=rc_new_vars, rc_settings=rc_settings, rctl=rctl_state, runtime=runtime,
            before=before, after=after, live_addresses=live_addresses, holds_only=new_conf.holds_only(d.name),
            unfinished=unfinished,
            recorded=_pending(d).recorded((runtime or {}).get('jid')))

    def compare(self, desired, current):
        d, ctx = desired, current.extra
        changes = self._changes(d, ctx['before'], ctx['after'], ctx['runtime'], ctx['old_text'] != ctx['new_text'],
                                ctx['rc_text'] != ctx['rc_new'], ctx['rc_vars'], ctx['rc_new_vars'], ctx['root'],
                                ctx['dataset'], ctx['rc_settings'], ctx['rctl'], ctx['live_addresses'],
                                current.warnings)
        named = set(c.name for c in changes)
        changes.extend(OPTIONS.not_picked_up(param) for param in ctx['recorded']
                       if param not in named and d.state != 'absent')
        return changes

    @staticmethod
    def _running(plan, current):
        """Whether the jail runs at this point of the plan (after the stops and starts so far)."""
        running = current.state == 'running'
        for action in plan.actions:
            if action.verb in ('start', 'stop'):
                running = action.verb == 'start'
        return running

    def create(self, plan, desired, current, changes):
        self._plan_create(desired, plan, current.extra, self._running(plan, current))

    def update(self, plan, desired, current, changes):
        self._plan_update(desired, plan, current.extra, self._running(plan, current))

    def start(self, plan, desired, current, changes):
        self._plan_start(desired, plan, current.extra, self._running(plan, current))

    def stop(self, plan, desired, current, changes):
        self._plan_stop(desired, plan, current.extra, self._running(plan, current))

    def destroy(self, plan, desired, current, changes, purge=False):
        self._plan_destroy(desired, plan, current.extra, self._running(plan, current), purge)

    def recreate(self, plan, desired, current, changes):
        """The jail made again on its new root, between its stop and its start: its block rewritten and the
        new root made as for a new jail.  Nothing of the old one is removed: its root stays where it is
        (a recreate never purges) and its autostart entry and rctl rules are kept as they are."""
        self._plan_create(desired, plan, current.extra, self._running(plan, current))

    def complete(self, plan, desired, current):
        verbs = set(a.verb for a in plan.actions)
        _pending(desired).plan(plan, (current.extra['runtime'] or {}).get('jid'), current.extra['recorded'],
                               'stop' in verbs or 'start' in verbs)
        if plan.pending:
            plan.warn('Jail %s keeps running with its old settings until it is restarted: %s changed '
                      '(set restart_on_change to restart it)' % (desired.name, ', '.join(
                          plan.pending_names)))

    def check(self, view, plan, desired, current):
        # What the real run would fail on fails now, in check mode too, before the first change.
        ctx = current.extra
        verbs = set(a.verb for a in plan.actions)
        if 'start' in verbs and ctx.get('depend_missing'):
            raise MultiplicityError('Jail %s: it depends on %s, which no jail.conf file of this host nor this call '
                                    'configures: jail(8) would refuse to start it (depends on undefined jail)'
                                    % (desired.name, ctx['depend_missing']))
        if 'extract' in verbs:
            root = ctx['root']
            # Archives there now are checked against their MANIFEST (listed, and their SHA-256) before any
            # change; one another object of the call makes, and a URL, when it is fetched.
            local = [a for a in root['archives'] if os.path.isfile(a)]
            if local:
                release.check_local(self.runner, local, root.get('manifest') or release.default_manifest(
                    root['archives']))
        root = ctx.get('root')
        if 'start' in verbs and root and root['type'] == rootfs.IMAGE:
            user = disks.running_user(root['image'])
            if user:
                raise MultiplicityError('Jail %s: its root image %s is a disk of %s, which runs: both would '
                                        'write the file system; stop it first' % (desired.name, root['image'], user))
        if 'start' in verbs and ctx['path'] and os.path.isdir(ctx['path']) and not (root and root['type'] == rootfs.IMAGE):
            # A root this plan makes has its mount points once made; the symlink check waits for it too.
            # An image's are checked by its exec.prepare, once it is mounted.
            if not verbs & set(('create_dataset', 'extract', 'thin_root')):
                self._check_mount_points(desired, ctx)
            self._check_again_after_stop(plan, desired, ctx)

    def on_host(self, view, wanted):
        """Running jails and jails configured in the files rc.d/jail reads for them."""
        names = list(view.cached('jails', lambda: read_all_jails(self.runner)))
        for path in [config.SHARED_CONF] + sorted(glob.glob(os.path.join(config.CONF_D, '*.conf'))):
            try:
                conf = read_config(view, path)
            except MultiplicityError:
                continue        # reported by jail_info; a file that does not parse is not pruned from
            names.extend(conf.jails if conf else [])
        return list(dict.fromkeys(names))

    def batch(self, key, members):
        """Every new jail of the call started by one jail(8) run (see :mod:`_jail.startup`)."""
        return startup.batch_action(members)

    def batch_failures(self, key, members, error):
        """The jails that one run did not start, read back from jls, each with what jail(8) said of it."""
        return startup.failures(members, error, set(read_all_jails(self.runner)))

    # ------------------------------------------------------------ after the run
    def needs_reread(self, plan):
        """What jls reports changes only when the jail was started, stopped or changed in place."""
        return any(a.verb in ('start', 'stop', 'modify', 'address') for a in plan.actions)

    def reread(self, view, outcomes):
        """One jls (of the jail, or of every jail of a call of many): their state and jid now."""
        found = {}
        for outcome in outcomes:
            d, ctx = outcome.desired, outcome.current.extra
            runtime = self._read_runtime(view, d)
            state = 'running' if runtime else ('stopped' if ctx['new_text'] and d.state != 'absent' else 'absent')
            found[d.name] = outcome.current.but(state=state, runtime=runtime)
        return found

    def expected(self, outcome):
        """Where not read again (check mode; no start, stop or live change): in its expected state, with
        its jid when it keeps running."""
        state = expected_state(outcome)
        runtime = outcome.before.extra['runtime'] if state == 'running' else None
        return outcome.before.but(state=state, runtime=runtime)

    def facts(self, outcome):
        d, ctx, current = outcome.desired, outcome.current.extra, outcome.current
        return self._facts(d, ctx, ctx['runtime'], current.state == 'running', outcome.plan.pending_names)

    def report(self, outcome, diff_mode):
        found = {self.facts_key: self.facts(outcome)}
        if diff_mode:
            d, ctx = outcome.desired, outcome.before.extra
            found['diff'] = self._diff(d, ctx, outcome.plan.changes, ctx['runtime'],
                                       self._running(outcome.plan, outcome.before))
        return found

    # ------------------------------------------------------------ comparison
    @staticmethod
    def _rctl_changes(state):
        return bool(state and (state['remove'] or state['add'] or state['text'] != state['new_text']))

    def _changes(self, d, before, after, runtime, text_changed, rc_changed, rc_vars, rc_new_vars, root, dataset,
                 rc_settings, rctl_state, live_addresses, warnings):
        """The changes of the jail's declared options (:data:`OPTIONS`), from what was read."""
        if d.state == 'absent':
            return []
        options = VNET_OPTIONS if after.get('vnet') else OPTIONS
        changes = [options.change(param, before.get(param), after.get(param))
                   for param in sorted(set(before) | set(after)) if param != 'name']
        changes = [c for c in changes if c is not None]
        changes = _network_named(_bridge_named(changes))
        if text_changed and not changes:
            changes.append(OPTIONS.changed('jail.conf', 'formatting', 'canonical'))
        if runtime:
            named = set(c.name for c in changes)
            for param, value in after.items():
                if not config.is_live(param) or param in named or param not in runtime:
                    continue
                if _kernel_value(param, value) != runtime[param]:
                    changes.append(OPTIONS.changed(param, runtime[param], value))   # the kernel is behind
        old = new = None
        if rc_changed:
            old = config.rc_addresses(rc_vars, d.jail_if)
            new = config.rc_addresses(rc_new_vars, d.jail_if)
        if live_addresses is not None:
            # The running jail is the truth: an address that a failed run never added is still missing.
            wanted = config.declared_addresses(d.p['vnet'])
            if not _same_addresses(live_addresses, wanted):
                old, new = live_addresses, wanted
        if old is not None:
            # What the running jail has, rather than what its block said (the same option, once).
            changes = [c for c in changes if c is None or c.name != 'vnet.addresses']
            changes.append(OPTIONS.change('vnet.addresses', old['inet'] + old['inet6'], new['inet'] + new['inet6']))
        if rc_changed:
            # The default routes apply when the jail's rc runs (at its next start), not in place.
            for key, option in (('defaultrouter', 'vnet.gateway'), ('ipv6_defaultrouter', 'vnet.gateway6')):
                changes.append(OPTIONS.change(option, rc_vars.get(key), rc_new_vars.get(key)))
            if not any(c is not None and c.name.startswith('vnet.') for c in changes):
                changes.append(OPTIONS.changed('rc.conf', 'as found', 'rewritten'))
        if root and dataset is not None:
            props = rootfs.property_changes(root, dataset)
            if props:
                changes.append(OPTIONS.changed('root.properties', dict((k, dataset.get(k)) for k in props), props))
            if root['type'] == rootfs.ZFS_CLONE and dataset.get('origin') not in (root['template'], None):
                warnings.append('Dataset %s is a clone of %s, not of %s; it is kept as it is (data is never '
                                'replaced).' % (root['dataset'], dataset.get('origin'), root['template']))
        if rc_settings:
            changes.append(OPTIONS.changed('autostart', rc_settings['before'], rc_settings['after']))
        if rctl_state and rctl_state['disabled'] and rctl_state['desired']:
            warnings.append('Jail %s: kern.racct.enable is 0, so its rctl rules (%s) wait in %s for a boot with '
                            'kern.racct.enable=1 in /boot/loader.conf (the jail_host role sets it with '
                            'jail_host_racct).' % (d.name, ', '.join(rctl_state['desired']), rctl.RCTL_CONF))
        if rctl_state and (rctl_state['remove'] or rctl_state['add']):
            changes.append(OPTIONS.changed('rctl', sorted(rctl_state['live']), sorted(rctl_state['desired'])))
        elif self._rctl_changes(rctl_state):
            changes.append(OPTIONS.changed('rctl.conf', rctl_state['conf'], rctl_state['desired']))
        return [c for c in changes if c is not None]

    def _autostart_settings(self, d, rcvars, autostart, warnings):
        """The sysrc assignment for jail_enable/jail_list, or None when they are as wanted."""
        if rcvars is None:
            return None
        listed, enable = rcvars['listed'], rcvars['enable']
        unlisted = d.state == 'absent' or autostart is False
        if rcvars['enabled'] and listed and (d.name in rcvars['names']) != unlisted:
            return None     # as wanted: without copying a list of every jail for each jail
        new_list, new_enable = list(listed), enable
        if unlisted:
            new_list = [n for n in listed if n != d.name]
            if autostart is False and not listed and d.state != 'absent':
                warnings.append('jail_list is empty, so rc.d/jail starts every jail in /etc/jail.conf; '
                                'autostart=false cannot exclude %s there.' % d.name)
        else:
            if d.name not in listed:
                if not listed:
                    # An empty jail_list means "all of /etc/jail.conf": keep those starting at boot.
                    # jail(8) follows .include there (jail.conf.d files, usually), and so does this list.
                    shared = read_text(config.SHARED_CONF)
                    try:
                        others = parse(shared, config.SHARED_CONF, reader=_include_reader).jails if shared else []
                    except JailConfError as exc:
                        raise MultiplicityError('Jail %s: jail_list is empty, so rc.d/jail starts every jail of %s, '
                                                'which does not parse: %s' % (d.name, config.SHARED_CONF, exc))
                    new_list = [n for n in others if n != d.name]
                    if new_list:
                        warnings.append('jail_list was empty (all jails of /etc/jail.conf); it now names '
                                        'them explicitly, followed by %s.' % d.name)
                new_list.append(d.name)
            if not rcvars['enabled']:
                new_enable = 'YES'
        if new_list == listed and new_enable == enable:
            return None
        # jail_list changes with += and -=: sysrc edits it from its current value, so a run that adds
        # another jail at the same time is not undone by this one.
        kept = frozenset(new_list)
        added = [n for n in new_list if n not in rcvars['names']]
        removed = [n for n in listed if n not in kept]
        return dict(before=dict(jail_enable=enable, jail_list=listed),
                    after=dict(jail_enable=new_enable, jail_list=new_list),
                    argv=['sysrc'] + (['jail_enable=%s' % new_enable] if new_enable != enable else [])
                    + (['jail_list+=%s' % ' '.join(added)] if added else [])
                    + (['jail_list-=%s' % ' '.join(removed)] if removed else []))

    # ------------------------------------------------------------ root filesystem
    @staticmethod
    def _purge_target(root, dataset, path):
        return (root and root.get('dataset') and dataset is not None) or (path and os.path.lexists(path))

    @staticmethod
    def _root_ready(root, dataset, path, unfinished=False):
        if root.get('dataset') and dataset is None:
            return False
        if root['type'] == rootfs.RELEASE:
            return rootfs.populated(path) and not unfinished
        if root['type'] == rootfs.THIN:
            return rootfs.thin_ready(path)
        return True

    def _plan_root(self, d, plan, ctx):
        root, path = ctx['root'], ctx['path']
        if root is None:
            return
        if root.get('dataset') and ctx['dataset'] is None:
            what = ('clone %s from %s' % (root['dataset'], root['template']) if root['type'] == rootfs.ZFS_CLONE
                    else 'create dataset %s' % root['dataset'])
            plan.add('create_dataset', '%s mounted at %s' % (what, path), argv=rootfs.dataset_argv(root, path))
            if root['type'] == rootfs.ZFS_CLONE:
                plan.require(Snapshot(root['template'], 'root.template'))
        elif root.get('dataset'):
            props = rootfs.property_changes(root, ctx['dataset'])
            if props:
                plan.add('set_properties', 'set %s on %s' % (', '.join(sorted(props)), root['dataset']),
                         argv=zfs.set_argv(root['dataset'], sorted(props.items())))
        if root['type'] == rootfs.DIRECTORY:
            plan.require(Directory(path, 'path', hint=' (root.type=directory uses an existing directory)'))
        if root['type'] == rootfs.IMAGE:
            # The mount point; what is under it is the image's, mounted when the jail starts.
            plan.require(File(root['image'], 'root.image') if not root['image'].startswith('/dev/')
                         else Path(root['image'], 'root.image'))
            if not os.path.isdir(path):
                plan.add('mkdir', 'create mount point %s for %s' % (path, root['image']),
                         func=lambda: os.makedirs(path, 0o755, exist_ok=True))
        populate = None
        if root['type'] == rootfs.THIN and not rootfs.thin_ready(path):
            plan.require(Directory(root['base'], 'root.base'))
            populate = ('thin_root', 'lay out a thin root in %s on the read-only base %s' % (path, root['base']),
                        lambda: rootfs.make_thin(self.runner, root['base'], path))
        elif root['type'] == rootfs.RELEASE and (ctx['unfinished'] or not rootfs.populated(path)):
            for archive in root['archives']:
                if archive.startswith('/'):
                    plan.require(File(archive, 'root.archives'))
            names = ', '.join(os.path.basename(a) for a in root['archives'])
            populate = ('extract', 'extract %s into %s' % (names, path), lambda: self._extract(d, root, path, plan))
        if populate:
            if not root.get('dataset') and not os.path.isdir(path):
                plan.add('mkdir', 'create directory %s' % path, func=lambda: os.makedirs(path, 0o755, exist_ok=True))
            if ctx['unfinished']:
                plan.add('clean', 'empty %s: an earlier extraction into it stopped half way' % path,
                         func=lambda: remove_tree(path, keep_top=True))
            plan.add(populate[0], populate[1], func=populate[2])

    def _extract(self, d, root, path, plan):
        """The archives into the root, recorded on the host while it runs (a cut run is seen by the next)."""
        record = Unfinished('jail', d.name, path)
        record.begin('extract %s' % ', '.join(root['archives']))
        plan.warnings.extend(release.extract(self.runner, root['archives'], path, manifest=root.get('manifest')))
        record.finish()

    # ------------------------------------------------------------ plan verbs
    def _plan_stop(self, d, plan, ctx, running):
        argv = ['jail', '-f', ctx['conf_path'], '-r', d.name] if ctx['configured'] else ['jail', '-r', d.name]
        plan.add('stop', 'stop jail %s' % d.name, argv=argv)
        return False

    def _plan_start(self, d, plan, ctx, running):
        how = ctx['start']
        plan.add('start', 'start jail %s' % d.name, argv=how['argv'], data=how['data'], batch=how['batch'])
        self._require_bridge(d, plan)
        return True

    @staticmethod
    def _require_bridge(d, plan):
        """The bridge a VNET jail's start adds it to must exist (checked before any change)."""
        bridge = (d.p.get('vnet') or {}).get('bridge')
        if bridge:
            plan.require(Bridge(bridge, 'vnet.bridge', hint='; create it first (the jail_host role does)'))

    def _plan_create(self, d, plan, ctx, running):
        self._plan_root(d, plan, ctx)
        self._plan_files(d, plan, ctx)
        return running

    def _plan_update(self, d, plan, ctx, running):
        self._plan_root(d, plan, ctx)
        self._plan_files(d, plan, ctx)
        if running:
            self._plan_live(d, plan, ctx)
        return running

    def _plan_destroy(self, d, plan, ctx, running, purge):
        if ctx['old_text'] != ctx['new_text']:
            self._plan_conf_write(d, plan, ctx)
        if ctx['rc_settings']:
            self._plan_autostart(d, plan, ctx)
        self._plan_rctl(d, plan, ctx)
        if purge:
            root, dataset = ctx['root'], ctx['dataset']
            if root and root.get('dataset') and dataset is not None:
                plan.add('purge', 'destroy dataset %s and its snapshots' % root['dataset'],
                         argv=zfs.destroy_argv(root['dataset'], recursive=True))
            elif ctx['path'] and os.path.lexists(ctx['path']):
                plan.add('purge', 'remove directory %s' % ctx['path'], func=lambda: rootfs.purge(ctx['path']))
        return running

    def _plan_conf_write(self, d, plan, ctx):
        conf_path = ctx['conf_path']
        own_file = os.path.dirname(conf_path) == config.CONF_D

        def edit(text):
            # From the file as it is now, under the lock: another run may have edited another jail's block.
            new = self._new_conf_text(d, parse(text or '', conf_path))
            return None if (new == '' and own_file and text is not None) else new
        if ctx['new_text'] == '' and ctx['old_text'] is not None and own_file:
            description = 'remove %s' % conf_path
        else:
            description = 'write jail %s to %s' % (d.name, conf_path)
        # Its block of the file: jails of the call sharing the file are written in one rewrite.
        plan.write(FileEdit(conf_path, edit, description, verb='config', parent=True))

    def _plan_files(self, d, plan, ctx):
        if ctx['old_text'] != ctx['new_text']:
            self._plan_conf_write(d, plan, ctx)
        if any(c.name == 'vnet.bridge' for c in plan.changes):
            self._require_bridge(d, plan)       # a pending change: the next start would fail without it
        if ctx['rc_text'] != ctx['rc_new']:
            rc_path, wanted = ctx['rc_path'], ctx['rc_wanted']

            def write_rc():
                # Read again now: the root filesystem may have been created by an earlier action.
                tree = self._guest(d, ctx['path'])
                tree.write('etc/rc.conf', set_vars(tree.read('etc/rc.conf') or '', wanted))
            plan.add('rc_conf', 'write network settings to %s' % rc_path, func=write_rc)
        if ctx['rc_settings']:
            self._plan_autostart(d, plan, ctx)
        self._plan_rctl(d, plan, ctx)

    @staticmethod
    def _plan_autostart(d, plan, ctx):
        """jail_enable and jail_list: edits of rc.conf merged with every other jail's of the call."""
        listed = ctx['rc_settings']['before']['jail_list']
        plan.edits.extend(SysrcEdit.parse(assignment, verb='autostart', in_call_order=True, listed=listed)
                          for assignment in ctx['rc_settings']['argv'][1:])

    def _plan_rctl(self, d, plan, ctx):
        """Live rules first (they apply at once, running or not), then rctl.conf for the next boot."""
        state = ctx['rctl']
        if not state:
            return
        if state['remove']:
            plan.add('rctl', 'remove rctl rules %s' % ', '.join(state['remove']), argv=['rctl', '-r'] + state['remove'])
        if state['add']:
            plan.add('rctl', 'add rctl rules %s' % ', '.join(state['add']), argv=['rctl', '-a'] + state['add'])
        if state['text'] != state['new_text']:
            def edit(text):
                return rctl.update_conf(text, d.name, state['desired'])
            # rctl.conf is rewritten once at the end of the call, with every jail's rules.
            plan.edits.append(FileEdit(rctl.RCTL_CONF, edit, 'write the rules of jail %s to %s'
                                       % (d.name, rctl.RCTL_CONF), verb='rctl_conf'))

    def _plan_live(self, d, plan, ctx):
        """Apply to the running jail what jail(8) and ifconfig can change in place."""
        runtime, after = ctx['runtime'] or {}, ctx['after']
        live = [c for c in plan.changes if c.apply == LIVE and c.name in after and config.is_live(c.name)]
        if live:
            argv = ['jail', '-m', 'name=%s' % d.name]
            argv += [_jail_m_value(c.name, after[c.name]) for c in live]
            plan.add('modify', 'change %s of running jail %s' % (', '.join(c.name for c in live), d.name),
                     argv=argv)
        live_addresses = ctx['live_addresses']
        if runtime and (ctx['rc_text'] != ctx['rc_new'] or live_addresses is not None):
            if live_addresses is not None:
                old, new = live_addresses, config.declared_addresses(d.p['vnet'])
            else:
                old = config.rc_addresses(ctx['rc_vars'], d.jail_if)
                new = config.rc_addresses(ctx['rc_new_vars'], d.jail_if)
            for family in ('inet', 'inet6'):
                for address in old[family]:
                    if address not in new[family]:
                        plan.add('address', 'remove %s from %s in jail %s' % (address, d.jail_if, d.name),
                                 argv=['ifconfig', '-j', d.name, d.jail_if, family, address.split('/')[0],
                                       '-alias'])
                for address in new[family]:
                    if address not in old[family]:
                        plan.add('address', 'add %s to %s in jail %s' % (address, d.jail_if, d.name),
                                 argv=['ifconfig', '-j', d.name, d.jail_if, family, address, 'alias'])

    # ------------------------------------------------------------ results
    def _facts(self, d, ctx, runtime, running, pending):
        state = 'running' if runtime or running else (
            'absent' if d.state == 'absent' else ('stopped' if ctx['new_text'] else 'absent'))
        params = ctx['after'] if d.state != 'absent' else {}
        path = ctx['path']
        facts = dict(name=d.name, state=state, jid=(runtime or {}).get('jid'), path=path,
                     config_file=ctx['conf_path'] if d.state != 'absent' else None,
                     parameters=params,
                     ip4=(runtime or {}).get('ip4.addr', []), ip6=(runtime or {}).get('ip6.addr', []),
                     userland_version=self._userland_version(ctx['root'], path),
                     pending_restart=pending,
                     rctl=ctx['rctl']['desired'] if ctx['rctl'] and d.state != 'absent' else None)
        if ctx['root'] and ctx['root'].get('dataset'):
            facts['dataset'] = ctx['root']['dataset']
        if d.jail_if and d.state != 'absent':
            facts['vnet_interface'] = d.jail_if
            facts['vnet_addresses'] = (config.declared_addresses(d.p['vnet'])
                                       if config.host_configured(d.p['vnet'])
                                       else config.rc_addresses(ctx['rc_new_vars'], d.jail_if))
        return facts

    @staticmethod
    def _userland_version(root, path):
        """From the jail's own tree; a thin jail's /bin is its base's (unreadable while not mounted)."""
        version = rootfs.userland_version(path) if path else None
        if version is None and root and root['type'] == rootfs.THIN:
            version = rootfs.userland_version(root['base'])
        return version

    def _diff(self, d, ctx, changes, runtime, running):
        diffs = []
        if ctx['old_text'] != ctx['new_text']:
            diffs.append(dict(before_header=ctx['conf_path'], after_header=ctx['conf_path'],
                              before=ctx['old_text'], after=ctx['new_text']))
        if ctx['rc_text'] != ctx['rc_new']:
            diffs.append(dict(before_header=ctx['rc_path'], after_header=ctx['rc_path'],
                              before=ctx['rc_text'] or '', after=ctx['rc_new']))
        if ctx['rctl'] and ctx['rctl']['text'] != ctx['rctl']['new_text']:
            diffs.append(dict(before_header=rctl.RCTL_CONF, after_header=rctl.RCTL_CONF,
                              before=ctx['rctl']['text'], after=ctx['rctl']['new_text']))
        before = dict(state='running' if runtime else ('stopped' if ctx['configured'] else 'absent'))
        after = dict(state='running' if running else ('absent' if d.state == 'absent' else 'stopped'))
        for change in changes:
            # A new jail's parameters are all in the config file diff above.
            if change.name == 'jail.conf' or (not ctx['configured'] and change.name in ctx['after']):
                continue
            before[change.name] = change.before
            after[change.name] = change.after
        diffs.append(dict(before_header='jail %s' % d.name, after_header='jail %s' % d.name,
                          before=before, after=after))
        return diffs


class JailManager(KindModule):
    """The jail module: one engine call, its result in the module's shape."""

    kind_class = JailKind
