# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The jail module: configuration in jail.conf, root filesystem, run state, rc.conf autostart.

A run that changes nothing reads the jail's config file and rc.conf directly
and runs at most four commands: ``jls`` (run state), ``zfs get`` (only with
a root dataset), ``sysrc -e`` (only when autostart is managed) and ``rctl``
(only when rctl rules are managed).
"""

from __future__ import annotations

import json
import os
import stat

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import zfs
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import (
    CommandError, MultiplicityError, ParameterError,
)
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.hostview import HostView
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import (
    GuestTree, atomic_write, edit_locked, read_text,
)
from ansible_collections.bsd.multiplicity.plugins.module_utils._core import release
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.engine import Call, Current, Desired, Kind
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import (
    LIVE, RESTART, Change, Option, progress,
)
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.sysrc import RC_CONF
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.shvars import read_vars, set_vars
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail import config, rctl, rootfs
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail.runtime import (
    jls_not_found, parse_ifconfig_addresses, parse_jls_json, parse_sysrc_e, read_all_jails,
)
from ansible_collections.bsd.multiplicity.plugins.module_utils.jail_conf import JailConfError, parse

PENDING_DIR = '/var/run'
# The line written above a block this module created.  It names its jail, so it goes away with
# that block and never makes a neighbouring hand-written block look like the module's.
MARKER = '# Managed by bsd.multiplicity.jail: %s'
LEGACY_MARKER = '# Managed by bsd.multiplicity.jail: this block is rewritten on every run.'


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
                          choices=[rootfs.DIRECTORY, rootfs.ZFS_CLONE, rootfs.RELEASE, rootfs.THIN]),
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
        text = read_text(path)
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


def _include_reader(path):
    """Files named by .include, read as jail(8) would (a missing one is an error there too)."""
    text = read_text(path)
    if text is None:
        raise JailConfError('%s: cannot open included file' % path)
    return text


def _same_addresses(live, wanted):
    return all(sorted(live[f]) == sorted(wanted[f]) for f in ('inet', 'inet6'))


def _autostart_vars(text):
    """jail_enable and jail_list as ``sysrc -e`` printed them, with the list's names as a set."""
    rcvars = parse_sysrc_e(text)
    listed = rcvars.get('jail_list', '').split()
    enable = rcvars.get('jail_enable', 'NO')
    return dict(enable=enable, enabled=enable.upper() in ('YES', 'TRUE', 'ON', '1'), listed=listed,
                names=frozenset(listed))


class JailManager(Kind):
    def __init__(self, module, runner, view=None):
        self.module = module
        self.runner = runner
        # Reads go through the host view: per jail for the jail module, once for all jails in topology.
        self.view = view or HostView(runner)
        self.p = module.params
        self.name = config.validate_name(self.p['name'])
        self.state = self.p['state']
        self.warnings = []
        self.root = None
        if self.p.get('root') is not None or (self.p.get('path') and self.state != 'absent'):
            self.root = rootfs.validate(self.p.get('root'), self.p.get('path'), require_path=self.state != 'absent')
        if self.p.get('vnet') and self.p['vnet'].get('addresses') is not None and not self.p.get('path'):
            raise ParameterError('path', 'required with vnet.addresses (the jail\'s rc.conf is under it)')
        # Checked now so that bad input fails before anything is read or changed.
        self.desired_params = config.desired_params(self._params())
        # What an existing block gets: only the options this task sets (an omitted option keeps its value).
        self.explicit = config.desired_params(dict(self._params(), exec=self.p.get('exec') or None), defaults=False)
        self.current_state = None
        self.jail_if = config.epair_names(dict(self.p, name=self.name))[1] if self.p.get('vnet') else None
        self.rctl = rctl.normalize(self.name, self.p['rctl']) if self.p.get('rctl') is not None else None

    def _params(self):
        """The module's options as jail parameters see them: a thin root adds its base mount."""
        params = dict(self.p, name=self.name)
        if self.root and self.root['type'] == rootfs.THIN:
            params['mounts'] = [rootfs.thin_mount(self.root)] + list(self.p.get('mounts') or [])
        return params

    # ------------------------------------------------------------ reading
    def _locate_config(self):
        """(path, parsed text) of the file that configures this jail, adopted if written by hand."""
        if self.p.get('config_file'):
            candidates = [self.p['config_file']]
        else:
            candidates = config.config_candidates(self.name)
        for path in candidates:
            conf = read_config(self.view, path)
            if conf is None:
                continue
            if conf.block_span(self.name) or self.p.get('config_file'):
                return path, conf
        default = self.p.get('config_file') or os.path.join(config.CONF_D, '%s.conf' % self.name)
        return default, parse('', default)

    def _read_runtime(self):
        if self.view.bulk:
            return self.view.cached('jails', lambda: read_all_jails(self.runner)).get(self.name)
        argv = ['jls', '-n', '-j', self.name, '--libxo', 'json', 'all']
        result = self.runner.run_lookup(argv, missing=jls_not_found, action='read jail %s' % self.name)
        if result is None:
            return None
        jails = [j for j in parse_jls_json(result.stdout) if j.get('name') == self.name]
        return jails[0] if jails else None

    def _read_rctl(self):
        """Live and configured rctl rules of this jail, with what must change; None when unmanaged.

        ``state: absent`` also removes rules that rctl.conf holds for the jail.
        """
        if self.rctl is None and self.state != 'absent':
            return None
        text = self.view.cached(('file', rctl.RCTL_CONF), lambda: read_text(rctl.RCTL_CONF))
        in_conf = rctl.conf_rules(text, self.name)
        if self.rctl is None and not in_conf:
            return None
        desired = [] if self.state == 'absent' else self.rctl
        # All rules at once for many jails; parse_rules keeps this jail's.
        argv = ['rctl'] if self.view.bulk else ['rctl', 'jail:%s:' % self.name]
        try:
            live = rctl.parse_rules(self.view.run(argv, action='read rctl rules of jail %s' % self.name).stdout,
                                    self.name)
        except CommandError as exc:
            if 'disabled' in (exc.stderr or ''):
                raise MultiplicityError('Jail %s: rctl rules need kern.racct.enable=1 in /boot/loader.conf and a '
                                        'reboot (%s)' % (self.name, exc))
            raise
        try:
            conf_matches = rctl.normalize(self.name, in_conf) == desired
        except ParameterError:
            conf_matches = False    # a hand-written line rctl would refuse: rewrite it
        new_text = (text or '') if conf_matches else rctl.update_conf(text, self.name, desired)
        remove, add = rctl.live_actions(live, desired)
        return dict(live=live, desired=desired, conf=in_conf, text=text or '', new_text=new_text,
                    remove=remove, add=add)

    def _read_live_addresses(self, runtime):
        """Addresses on the jail's side of the epair, read from the running jail; None when not managed."""
        vnet = self.p.get('vnet') or {}
        if not runtime or not self.jail_if or vnet.get('addresses') is None or self.state == 'absent':
            return None
        if self.view.bulk:
            return None     # one command per jail: the topology module compares rc.conf only (documented)
        result = self.runner.run_lookup(['ifconfig', '-j', self.name, self.jail_if],
                                        missing=lambda failed: 'does not exist' in failed.stderr,
                                        action='read the addresses of %s in jail %s' % (self.jail_if, self.name))
        return parse_ifconfig_addresses(result.stdout if result else '')

    def _check_prerequisites(self, plan, ctx):
        """Fail, naming what is missing, when an action would need something this module does not make."""
        verbs = set(a.verb for a in plan.actions)
        vnet = self.p.get('vnet') or {}
        if 'start' in verbs and vnet.get('bridge'):
            bridge = vnet['bridge']
            found = self.view.lookup(['ifconfig', bridge], missing=lambda failed: 'does not exist' in failed.stderr,
                                     action='look for bridge %s' % bridge)
            if found is None:
                raise MultiplicityError('Jail %s: vnet.bridge %s does not exist; create it first (the jail_host '
                                        'role does); nothing was changed' % (self.name, bridge))
        root = ctx['root']
        if 'create_dataset' in verbs and root['type'] == rootfs.ZFS_CLONE:
            template = root['template']
            if not zfs.exists(self.view, template, snapshot=True):
                raise MultiplicityError('Jail %s: root.template snapshot %s does not exist; nothing was changed'
                                        % (self.name, template))
        if 'start' in verbs and ctx['path'] and os.path.isdir(ctx['path']):
            self._check_mount_points(ctx)
        if 'extract' in verbs:
            for archive in root['archives']:
                if archive.startswith('/') and not os.path.isfile(archive):
                    raise MultiplicityError('Jail %s: root.archives: %s does not exist; nothing was changed'
                                            % (self.name, archive))

    def _check_mount_points(self, ctx):
        """jail(8) mounts devfs and the fstab lines at paths inside the jail's root, following symlinks
        there: a guest that turned /mnt into a link to /etc would get host data mounted over.  Refuse
        a mount point that is a symlink, or lies below one, before starting."""
        after, path = ctx['after'], ctx['path'].rstrip('/')
        nodes = [line.split()[1] for line in after.get('mount') or [] if len(line.split()) > 1]
        relative = [n[len(path) + 1:] for n in nodes if n.startswith(path + '/')]
        if after.get('mount.devfs'):
            relative.append('dev')
        tree = self._guest(ctx['path'])
        for rel in relative:
            info = tree.lstat(rel)
            if info is not None and stat.S_ISLNK(info.st_mode):
                raise MultiplicityError('Jail %s: mount point %s/%s is a symlink; jail(8) would mount through it, '
                                        'so the jail is not started' % (self.name, path, rel))

    def _guest(self, path):
        """The jail's root as the guest's root user may have shaped it: no symlink is followed."""
        return GuestTree(path, 'Jail %s root' % self.name)

    # ------------------------------------------------------------ desired config
    def _new_conf_text(self, conf):
        """The config file's text after this task: a new block gets the defaults and this jail's
        marker; an existing block (written by this module or by hand) only the options given."""
        if self.state == 'absent':
            if not conf.block_span(self.name):
                return conf.text
            text = self._without_marker(conf)
            edited = parse(text, conf.path).remove_jail(self.name).render()
            return '' if not edited.strip() else edited
        if conf.block_span(self.name) is not None:
            # The parsed file is shared by the call (cached): the new text is computed, not edited in.
            return conf.updated_text(self.name, self.explicit)
        if not self.p.get('path'):
            raise ParameterError('path', 'required to configure jail %s' % self.name)
        params = dict((k, v) for k, v in self.desired_params.items() if v is not None)
        return parse(conf.text, conf.path).set_jail(self.name, params, comment=(MARKER % self.name)[2:]).render()

    def _without_marker(self, conf):
        """The text with this jail's marker line (directly above its block) removed."""
        text = conf.text
        start = conf.block_span(self.name)[0]
        line_start = text.rfind('\n', 0, start) + 1
        if text[line_start:start].strip() or line_start == 0:
            return text
        previous = text.rfind('\n', 0, line_start - 1) + 1
        if text[previous:line_start - 1].strip() in (MARKER % self.name, LEGACY_MARKER):
            return text[:previous] + text[line_start:]
        return text

    # ------------------------------------------------------------ the engine's contract
    # One instance per jail: the engine's Kind for this one guest (its options were checked when it
    # was made), so that the planning steps below share what was read about it.
    def desired(self, params):
        return Desired(self.name, self.state, {}, restart_allowed=bool(self.p.get('restart_on_change')))

    def observe(self, view, wanted):
        conf_path, conf = self._locate_config()
        new_text = self._new_conf_text(conf)
        configured = conf.block_span(self.name) is not None
        new_conf = conf if new_text == conf.text else parse(new_text, conf_path)
        try:
            before = _positive(conf.resolve(self.name)) if configured else {}
            if self.state == 'absent':
                after = {}
            elif new_conf is conf and configured:
                after = dict(before)        # the file stays as it is: resolved once
            else:
                after = _positive(new_conf.resolve(self.name))
        except JailConfError as exc:
            raise ParameterError('parameters', 'the resulting configuration of %s does not resolve: %s'
                                 % (self.name, exc))
        runtime = self._read_runtime()
        current_state = self.current_state = 'running' if runtime else ('stopped' if configured else 'absent')
        path = after.get('path') or before.get('path') or (runtime or {}).get('path') or self.p.get('path')

        dataset = None
        root = self.root
        if root and root.get('dataset'):
            if self.view.bulk:
                dataset = self.view.cached('datasets', lambda: rootfs.read_datasets(
                    self.runner, self.view.dataset_properties)).get(root['dataset'])
            else:
                dataset = rootfs.read_dataset(self.runner, root['dataset'], (root.get('properties') or {}).keys())

        rc_path = os.path.join(path, 'etc', 'rc.conf') if path else None
        rc_text = self._guest(path).read('etc/rc.conf') if (rc_path and self.jail_if) else None
        rc_new = rc_text
        rc_wanted = None
        rc_vars = rc_new_vars = read_vars(rc_text or '')
        if self.jail_if and self.state != 'absent':
            rc_wanted = config.jail_rc_vars(self.p, self.jail_if, rc_vars)
            rc_new = set_vars(rc_text or '', rc_wanted)
            rc_new_vars = read_vars(rc_new)

        autostart = self.p.get('autostart')
        rcvars = None
        if autostart is not None or self.state == 'absent':
            # Parsed once per call: with many jails, jail_list is long and every jail asks.
            rcvars = self.view.cached('jail_rcvars', lambda: _autostart_vars(self.view.run(
                ['sysrc', '-e', 'jail_enable', 'jail_list'], action='read jail_enable and jail_list').stdout))
        rc_settings = self._autostart_settings(rcvars, autostart)
        rctl_state = self._read_rctl()
        live_addresses = self._read_live_addresses(runtime)
        leftovers = bool(rc_settings or (self.p['purge'] and self._purge_target(root, dataset, path))
                         or self._rctl_changes(rctl_state))
        incomplete = bool(current_state != 'absent' and root and not self._root_ready(root, dataset, path))
        return {self.name: Current(
            current_state, leftovers=leftovers, incomplete=incomplete,
            conf_path=conf_path, old_text=conf.text, new_text=new_text, configured=configured, root=root,
            dataset=dataset, path=path, rc_path=rc_path, rc_text=rc_text, rc_new=rc_new, rc_wanted=rc_wanted,
            rc_vars=rc_vars, rc_new_vars=rc_new_vars, rc_settings=rc_settings, rctl=rctl_state, runtime=runtime,
            before=before, after=after, live_addresses=live_addresses,
            recorded=self._recorded_pending(runtime))}

    def compare(self, desired, current):
        ctx = current.extra
        changes = self._changes(ctx['before'], ctx['after'], ctx['runtime'], ctx['old_text'] != ctx['new_text'],
                                ctx['rc_text'] != ctx['rc_new'], ctx['rc_vars'], ctx['rc_new_vars'], ctx['root'],
                                ctx['dataset'], ctx['rc_settings'], ctx['rctl'], ctx['live_addresses'])
        named = set(c.name for c in changes)
        changes.extend(Change(Option(param, RESTART), 'running', 'configured') for param in ctx['recorded']
                       if param not in named and self.state != 'absent')
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
        self._plan_create(plan, current.extra, self._running(plan, current))

    def update(self, plan, desired, current, changes):
        self._plan_update(plan, current.extra, self._running(plan, current))

    def start(self, plan, desired, current, changes):
        self._plan_start(plan, current.extra, self._running(plan, current))

    def stop(self, plan, desired, current, changes):
        self._plan_stop(plan, current.extra, self._running(plan, current))

    def destroy(self, plan, desired, current, changes):
        self._plan_destroy(plan, current.extra, self._running(plan, current))

    def complete(self, plan, desired, current):
        verbs = set(a.verb for a in plan.actions)
        self._plan_pending_record(plan, current.extra['runtime'], current.extra['recorded'],
                                  'stop' in verbs or 'start' in verbs)

    def check(self, view, plan, desired, current):
        # What the real run would fail on fails now, in check mode too, before the first change.
        self._check_prerequisites(plan, current.extra)

    @property
    def plan(self):
        call = getattr(self, 'call', None)
        return call.outcomes[0].plan if call is not None and call.outcomes else None

    # ------------------------------------------------------------ main
    def run(self):
        self.call = Call(self, self.runner, check_mode=self.module.check_mode, view=self.view, isolate=False,
                         reread=False)
        self.call.run([self.p])
        outcome = self.call.outcomes[0]
        plan, context, runtime = outcome.plan, outcome.current.extra, outcome.current.extra['runtime']
        pending = plan.pending
        running = self._running(plan, outcome.current)
        if pending:
            self.warnings.append('Jail %s keeps running with its old settings until it is restarted: %s changed '
                                 '(set restart_on_change to restart it)' % (self.name, ', '.join(
                                     sorted(set(c.name for c in pending)))))
        result = dict(changed=plan.changed, plan=plan)
        final_runtime = runtime
        if plan.changed and not self.module.check_mode and not self.view.bulk:
            final_runtime = self._read_runtime()
        elif self.view.bulk and not running:
            final_runtime = None    # many jails: the caller reads them all once at the end
        if plan.changed or getattr(self.module, 'unchanged_facts', True):
            result['jail'] = self._facts(context, final_runtime if not self.module.check_mode else None, running,
                                         pending)
        if self.module._diff:
            result['diff'] = self._diff(context, plan.changes, runtime, running)
        if self.warnings:
            result['warnings'] = self.warnings
        return result

    # ------------------------------------------------------------ comparison
    @staticmethod
    def _rctl_changes(state):
        return bool(state and (state['remove'] or state['add'] or state['text'] != state['new_text']))

    def _changes(self, before, after, runtime, text_changed, rc_changed, rc_vars, rc_new_vars, root, dataset,
                 rc_settings, rctl_state, live_addresses):
        changes = []
        if self.state == 'absent':
            return changes
        for param in sorted(set(before) | set(after)):
            if param == 'name' or before.get(param) == after.get(param):
                continue
            kind = LIVE if config.is_live(param) and not (param.startswith('ip') and after.get('vnet')) else RESTART
            changes.append(Change(Option(param, kind), before.get(param), after.get(param)))
        if text_changed and not changes:
            changes.append(Change(Option('jail.conf', LIVE), 'formatting', 'canonical'))
        if runtime:
            named = set(c.name for c in changes)
            for param, value in after.items():
                if not config.is_live(param) or param in named or param not in runtime:
                    continue
                if _kernel_value(param, value) != runtime[param]:
                    changes.append(Change(Option(param, LIVE), runtime[param], value))
        old = new = None
        if rc_changed:
            old = config.rc_addresses(rc_vars, self.jail_if)
            new = config.rc_addresses(rc_new_vars, self.jail_if)
        if live_addresses is not None:
            # The running jail is the truth: an address that a failed run never added is still missing.
            wanted = config.declared_addresses(self.p['vnet'])
            if not _same_addresses(live_addresses, wanted):
                old, new = live_addresses, wanted
        if old is not None and (old['inet'] + old['inet6']) != (new['inet'] + new['inet6']):
            changes.append(Change(Option('vnet.addresses', LIVE), old['inet'] + old['inet6'],
                                  new['inet'] + new['inet6']))
        if rc_changed:
            # The default routes apply when the jail's rc runs (at its next start), not in place.
            for key, option in (('defaultrouter', 'vnet.gateway'), ('ipv6_defaultrouter', 'vnet.gateway6')):
                if rc_vars.get(key) != rc_new_vars.get(key):
                    changes.append(Change(Option(option, RESTART), rc_vars.get(key), rc_new_vars.get(key)))
            if not any(c.name.startswith('vnet.') for c in changes):
                changes.append(Change(Option('rc.conf', LIVE), 'as found', 'rewritten'))
        if root and dataset is not None:
            props = rootfs.property_changes(root, dataset)
            if props:
                changes.append(Change(Option('root.properties', LIVE),
                                      dict((k, dataset.get(k)) for k in props), props))
            if root['type'] == rootfs.ZFS_CLONE and dataset.get('origin') not in (root['template'], None):
                self.warnings.append('Dataset %s is a clone of %s, not of %s; it is kept as it is (data is never '
                                     'replaced).' % (root['dataset'], dataset.get('origin'), root['template']))
        if rc_settings:
            changes.append(Change(Option('autostart', LIVE), rc_settings['before'], rc_settings['after']))
        if rctl_state and (rctl_state['remove'] or rctl_state['add']):
            changes.append(Change(Option('rctl', LIVE), sorted(rctl_state['live']), sorted(rctl_state['desired'])))
        elif self._rctl_changes(rctl_state):
            changes.append(Change(Option('rctl.conf', LIVE), rctl_state['conf'], rctl_state['desired']))
        return changes

    def _autostart_settings(self, rcvars, autostart):
        """The sysrc assignment for jail_enable/jail_list, or None when they are as wanted."""
        if rcvars is None:
            return None
        listed, enable = rcvars['listed'], rcvars['enable']
        unlisted = self.state == 'absent' or autostart is False
        if rcvars['enabled'] and listed and (self.name in rcvars['names']) != unlisted:
            return None     # as wanted: without copying a list of every jail for each jail
        new_list, new_enable = list(listed), enable
        if unlisted:
            new_list = [n for n in listed if n != self.name]
            if autostart is False and not listed and self.state != 'absent':
                self.warnings.append('jail_list is empty, so rc.d/jail starts every jail in /etc/jail.conf; '
                                     'autostart=false cannot exclude %s there.' % self.name)
        else:
            if self.name not in listed:
                if not listed:
                    # An empty jail_list means "all of /etc/jail.conf": keep those starting at boot.
                    # jail(8) follows .include there (jail.conf.d files, usually), and so does this list.
                    shared = read_text(config.SHARED_CONF)
                    try:
                        others = parse(shared, config.SHARED_CONF, reader=_include_reader).jails if shared else []
                    except JailConfError as exc:
                        raise MultiplicityError('Jail %s: jail_list is empty, so rc.d/jail starts every jail of %s, '
                                                'which does not parse: %s' % (self.name, config.SHARED_CONF, exc))
                    new_list = [n for n in others if n != self.name]
                    if new_list:
                        self.warnings.append('jail_list was empty (all jails of /etc/jail.conf); it now names '
                                             'them explicitly, followed by %s.' % self.name)
                new_list.append(self.name)
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
    def _root_ready(root, dataset, path):
        if root.get('dataset') and dataset is None:
            return False
        if root['type'] == rootfs.RELEASE:
            return rootfs.populated(path)
        if root['type'] == rootfs.THIN:
            return rootfs.thin_ready(path)
        return True

    def _plan_root(self, plan, ctx):
        root, path = ctx['root'], ctx['path']
        if root is None:
            return
        if root.get('dataset') and ctx['dataset'] is None:
            what = ('clone %s from %s' % (root['dataset'], root['template']) if root['type'] == rootfs.ZFS_CLONE
                    else 'create dataset %s' % root['dataset'])
            plan.add('create_dataset', '%s mounted at %s' % (what, path), argv=rootfs.dataset_argv(root, path))
        elif root.get('dataset'):
            props = rootfs.property_changes(root, ctx['dataset'])
            if props:
                plan.add('set_properties', 'set %s on %s' % (', '.join(sorted(props)), root['dataset']),
                         argv=zfs.set_argv(root['dataset'], sorted(props.items())))
        if root['type'] == rootfs.DIRECTORY and not os.path.isdir(path):
            # Check mode fails too: it predicts the real run, which cannot make this directory.
            raise MultiplicityError('Jail %s: path %s does not exist (root.type=directory uses an existing '
                                    'directory); nothing was changed' % (self.name, path))
        populate = None
        if root['type'] == rootfs.THIN and not rootfs.thin_ready(path):
            if not os.path.isdir(root['base']):
                raise MultiplicityError('Jail %s: root.base %s does not exist; nothing was changed'
                                        % (self.name, root['base']))
            populate = ('thin_root', 'lay out a thin root in %s on the read-only base %s' % (path, root['base']),
                        lambda: rootfs.make_thin(self.runner, root['base'], path))
        elif root['type'] == rootfs.RELEASE and not rootfs.populated(path):
            populate = ('extract', 'extract %s into %s' % (', '.join(os.path.basename(a) for a in root['archives']),
                                                           path), lambda: self._extract(root, path))
        if populate:
            if not root.get('dataset'):
                plan.add('mkdir', 'create directory %s' % path, func=lambda: os.makedirs(path, 0o755, exist_ok=True))
            plan.add(populate[0], populate[1], func=populate[2])

    def _extract(self, root, path):
        self.warnings.extend(release.extract(self.module, self.runner, root['archives'], path,
                                             manifest=root.get('manifest')))

    # ------------------------------------------------------------ plan verbs
    def _conf_argv(self, ctx, flag):
        return ['jail', '-f', ctx['conf_path'], flag, self.name]

    def _plan_stop(self, plan, ctx, running):
        argv = self._conf_argv(ctx, '-r') if ctx['configured'] else ['jail', '-r', self.name]
        plan.add('stop', 'stop jail %s' % self.name, argv=argv)
        return False

    def _plan_start(self, plan, ctx, running):
        plan.add('start', 'start jail %s' % self.name, argv=self._conf_argv(ctx, '-c'))
        return True

    def _plan_create(self, plan, ctx, running):
        self._plan_root(plan, ctx)
        self._plan_files(plan, ctx)
        return running

    def _plan_update(self, plan, ctx, running):
        self._plan_root(plan, ctx)
        self._plan_files(plan, ctx)
        if running:
            self._plan_live(plan, ctx)
        return running

    def _plan_destroy(self, plan, ctx, running):
        if ctx['old_text'] != ctx['new_text']:
            self._plan_conf_write(plan, ctx)
        if ctx['rc_settings']:
            self._plan_autostart(plan, ctx, 'remove %s from jail_list' % self.name)
        self._plan_rctl(plan, ctx)
        if self.p['purge']:
            root, dataset = ctx['root'], ctx['dataset']
            if root and root.get('dataset') and dataset is not None:
                plan.add('purge', 'destroy dataset %s and its snapshots' % root['dataset'],
                         argv=zfs.destroy_argv(root['dataset'], recursive=True))
            elif ctx['path'] and os.path.lexists(ctx['path']):
                plan.add('purge', 'remove directory %s' % ctx['path'], func=lambda: rootfs.purge(ctx['path']))
        return running

    def _plan_conf_write(self, plan, ctx):
        conf_path = ctx['conf_path']
        own_file = os.path.dirname(conf_path) == config.CONF_D

        def edit(text):
            # From the file as it is now, under the lock: another run may have edited another jail's block.
            new = self._new_conf_text(parse(text or '', conf_path))
            return None if (new == '' and own_file and text is not None) else new

        def write():
            directory = os.path.dirname(conf_path)
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o755)
            edit_locked(conf_path, edit)
        if ctx['new_text'] == '' and ctx['old_text'] is not None and own_file:
            plan.add('config', 'remove %s' % conf_path, func=write)
        else:
            plan.add('config', 'write jail %s to %s' % (self.name, conf_path), func=write)

    def _plan_files(self, plan, ctx):
        if ctx['old_text'] != ctx['new_text']:
            self._plan_conf_write(plan, ctx)
        if ctx['rc_text'] != ctx['rc_new']:
            rc_path, wanted = ctx['rc_path'], ctx['rc_wanted']

            def write_rc():
                # Read again now: the root filesystem may have been created by an earlier action.
                tree = self._guest(ctx['path'])
                tree.write('etc/rc.conf', set_vars(tree.read('etc/rc.conf') or '', wanted))
            plan.add('rc_conf', 'write network settings to %s' % rc_path, func=write_rc)
        if ctx['rc_settings']:
            self._plan_autostart(plan, ctx, 'set %s' % ' '.join(ctx['rc_settings']['argv'][1:]))
        self._plan_rctl(plan, ctx)

    def _plan_autostart(self, plan, ctx, description):
        argv = ctx['rc_settings']['argv']
        if self.view.bulk:
            # Many jails: their jail_list edits are merged into one sysrc at the end of the call.
            plan.add('autostart', description + ' (one sysrc for every jail of this call)',
                     func=lambda: self.view.defer_sysrc(argv[1:]))
        else:
            plan.add('autostart', description, argv=argv, lock=RC_CONF)

    def _plan_rctl(self, plan, ctx):
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
                return rctl.update_conf(text, self.name, state['desired'])
            if self.view.bulk:
                # Many jails: rctl.conf is rewritten once at the end of the call, with every jail's rules.
                plan.add('rctl_conf', 'write the rules of jail %s to %s (one rewrite for every jail of this call)'
                         % (self.name, rctl.RCTL_CONF), func=lambda: self.view.defer_edit(rctl.RCTL_CONF, edit))
            else:
                plan.add('rctl_conf', 'write the rules of jail %s to %s' % (self.name, rctl.RCTL_CONF),
                         func=lambda: edit_locked(rctl.RCTL_CONF, edit))

    def _plan_live(self, plan, ctx):
        """Apply to the running jail what jail(8) and ifconfig can change in place."""
        runtime, after = ctx['runtime'] or {}, ctx['after']
        live = [c for c in plan.changes if c.apply == LIVE and c.name in after and config.is_live(c.name)]
        if live:
            argv = ['jail', '-m', 'name=%s' % self.name]
            argv += [_jail_m_value(c.name, after[c.name]) for c in live]
            plan.add('modify', 'change %s of running jail %s' % (', '.join(c.name for c in live), self.name),
                     argv=argv)
        live_addresses = ctx['live_addresses']
        if runtime and (ctx['rc_text'] != ctx['rc_new'] or live_addresses is not None):
            if live_addresses is not None:
                old, new = live_addresses, config.declared_addresses(self.p['vnet'])
            else:
                old = config.rc_addresses(ctx['rc_vars'], self.jail_if)
                new = config.rc_addresses(ctx['rc_new_vars'], self.jail_if)
            for family in ('inet', 'inet6'):
                for address in old[family]:
                    if address not in new[family]:
                        plan.add('address', 'remove %s from %s in jail %s' % (address, self.jail_if, self.name),
                                 argv=['ifconfig', '-j', self.name, self.jail_if, family, address.split('/')[0],
                                       '-alias'])
                for address in new[family]:
                    if address not in old[family]:
                        plan.add('address', 'add %s to %s in jail %s' % (address, self.jail_if, self.name),
                                 argv=['ifconfig', '-j', self.name, self.jail_if, family, address, 'alias'])

    # ------------------------------------------------------------ pending restarts
    def _pending_file(self):
        return os.path.join(PENDING_DIR, 'bsd-multiplicity-jail.%s.pending' % self.name)

    def _recorded_pending(self, runtime):
        """Parameters written earlier that this run of the jail (same jid) has not picked up yet."""
        if not runtime:
            return []
        try:
            data = json.loads(read_text(self._pending_file()) or '{}')
        except ValueError:
            return []
        return list(data.get('params') or []) if data.get('jid') == runtime.get('jid') else []

    def _plan_pending_record(self, plan, runtime, recorded, restarting):
        """Remember restart-only changes across runs, so a later restart_on_change still restarts.

        The record names the jid it applies to: a jail started again by anyone
        else has a new jid, and the record no longer counts.
        """
        target = self._pending_file()
        if restarting or not runtime:
            if restarting and os.path.exists(target):
                plan.add('pending', 'forget the restart pending for jail %s' % self.name,
                         func=lambda: os.path.exists(target) and os.unlink(target))
            return
        params = sorted(set(c.name for c in plan.pending))
        if params and params != sorted(recorded):
            text = json.dumps(dict(jid=runtime['jid'], params=params)) + '\n'
            plan.add('pending', 'record that jail %s must be restarted for %s' % (self.name, ', '.join(params)),
                     func=lambda: atomic_write(target, text, mode=0o600))

    # ------------------------------------------------------------ results
    def _facts(self, ctx, runtime, running, pending):
        if self.module.check_mode:
            runtime = ctx['runtime'] if running else None
        state = 'running' if runtime or (self.module.check_mode and running) else (
            'absent' if self.state == 'absent' else ('stopped' if ctx['new_text'] else 'absent'))
        params = ctx['after'] if self.state != 'absent' else {}
        path = ctx['path']
        facts = dict(name=self.name, state=state, jid=(runtime or {}).get('jid'), path=path,
                     config_file=ctx['conf_path'] if self.state != 'absent' else None,
                     parameters=params,
                     ip4=(runtime or {}).get('ip4.addr', []), ip6=(runtime or {}).get('ip6.addr', []),
                     userland_version=self._userland_version(ctx['root'], path),
                     pending_restart=sorted(set(c.name for c in pending)),
                     rctl=ctx['rctl']['desired'] if ctx['rctl'] and self.state != 'absent' else None)
        if ctx['root'] and ctx['root'].get('dataset'):
            facts['dataset'] = ctx['root']['dataset']
        if self.jail_if and self.state != 'absent':
            facts['vnet_interface'] = self.jail_if
            facts['vnet_addresses'] = config.rc_addresses(ctx['rc_new_vars'], self.jail_if)
        return facts

    @staticmethod
    def _userland_version(root, path):
        """From the jail's own tree; a thin jail's /bin is its base's (unreadable while not mounted)."""
        version = rootfs.userland_version(path) if path else None
        if version is None and root and root['type'] == rootfs.THIN:
            version = rootfs.userland_version(root['base'])
        return version

    def _diff(self, ctx, changes, runtime, running):
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
        after = dict(state='running' if running else ('absent' if self.state == 'absent' else 'stopped'))
        for change in changes:
            # A new jail's parameters are all in the config file diff above.
            if change.name == 'jail.conf' or (not ctx['configured'] and change.name in ctx['after']):
                continue
            before[change.name] = change.before
            after[change.name] = change.after
        diffs.append(dict(before_header='jail %s' % self.name, after_header='jail %s' % self.name,
                          before=before, after=after))
        return diffs

    def partial_result(self):
        return dict(progress(self.plan), jail=dict(name=self.name))
