# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The xen_domu module: an xl.cfg file, its disks, autostart, and the domain's run state.

A run that changes nothing reads the config file directly and runs at most two
commands: ``xl list NAME`` (run state) and, for a running domain, ``xl list -l NAME``
(its live configuration, compared with the file to report pending changes).
"""

from __future__ import annotations

import os

from ansible_collections.bsd.multiplicity.plugins.module_utils import xl_cfg
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.sizes import require_size
from ansible_collections.bsd.multiplicity.plugins.module_utils._core import disks
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.records import Made
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import (
    MultiplicityError, ParameterError, WaitTimeout,
)
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import read_text
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.edits import FileEdit, OwnedFile
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.engine import Current, Desired, Kind, expected_state
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.module import KindModule
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import LIVE, RESTART, Option, Options
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.sysrc import RC_CONF
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.shvars import read_vars, set_vars
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.wait import wait_for
from ansible_collections.bsd.multiplicity.plugins.module_utils._xen import config, runtime
from ansible_collections.bsd.multiplicity.plugins.module_utils._xen.info import read_config_dir

COMPARED = ('type', 'memory', 'maxmem', 'vcpus', 'maxvcpus', 'kernel', 'ramdisk', 'cmdline', 'bootloader')


def xen_domu_argument_spec():
    disk = dict(
        target=dict(type='str', required=True),
        vdev=dict(type='str', required=True),
        format=dict(type='str', default='raw', choices=['raw', 'qcow', 'qcow2', 'vhd', 'qed']),
        access=dict(type='str', default='rw', choices=['rw', 'ro']),
        devtype=dict(type='str', choices=['disk', 'cdrom']),
        backendtype=dict(type='str'),
        script=dict(type='str'),
        size=dict(type='str'),
    )
    vif = dict((key, dict(type='str')) for key in config.VIF_KEYS)
    options = dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='started', choices=['present', 'started', 'stopped', 'restarted', 'absent']),
        type=dict(type='str', choices=['pv', 'pvh', 'hvm']),
        memory=dict(type='int'),
        maxmem=dict(type='int'),
        vcpus=dict(type='int'),
        maxvcpus=dict(type='int'),
        kernel=dict(type='str'),
        ramdisk=dict(type='str'),
        cmdline=dict(type='str', aliases=['extra']),
        bootloader=dict(type='str'),
        bootloader_args=dict(type='list', elements='str'),
        disks=dict(type='list', elements='dict', options=disk),
        vifs=dict(type='list', elements='dict', options=vif),
        serial=dict(type='str'),
        vnc=dict(type='dict', options=dict(
            enabled=dict(type='bool', default=True),
            listen=dict(type='str', default='127.0.0.1'),
            display=dict(type='int'),
            password=dict(type='str', no_log=True),
        )),
        on_poweroff=dict(type='str', choices=list(config.ACTIONS)),
        on_reboot=dict(type='str', choices=list(config.ACTIONS)),
        on_crash=dict(type='str', choices=list(config.ACTIONS)),
        config=dict(type='dict'),
        config_dir=dict(type='path'),
        config_file=dict(type='path'),
        autostart=dict(type='bool'),
        auto_dir=dict(type='path'),
        restart_on_change=dict(type='bool', default=False),
        stop_timeout=dict(type='int', default=120),
        force_stop=dict(type='bool', default=False),
        purge=dict(type='bool', default=False),
    )
    return dict(argument_spec=options, supports_check_mode=True,
                mutually_exclusive=[('kernel', 'bootloader')])


def drift(live, wanted):
    """Settings (by xl.cfg name) whose value in the file differs from the running domain."""
    changed = []
    for key in COMPARED:
        want = wanted.get(key)
        if key == 'maxmem' and want is None:
            want = wanted.get('memory')
        if key == 'maxvcpus' and want is None:
            want = wanted.get('vcpus')
        if want is None or not isinstance(want, str) or key not in live:
            continue
        have = live[key]
        if isinstance(have, int):
            try:
                want = int(want, 0)
            except ValueError:
                pass
        if have != want:
            changed.append(key)
    if 'disk' in wanted:
        disks = sorted((vdev, target) for vdev, target, dummy in config.disks_of(wanted))
        if disks != live.get('disk', []):
            changed.append('disk')
    if 'vif' in wanted:
        declared = config.vifs_of(wanted)
        nics = live.get('vif', [])
        if len(declared) != len(nics) or any(
                any(v.get(k) and str(v[k]).lower() != str(nic.get(k, '')).lower() for k in ('bridge', 'mac'))
                for v, nic in zip(declared, nics)):
            changed.append('vif')
    return changed


# Every option of a domain, declared once: each xl.cfg setting (applied when xl next creates the
# domain) and what the module manages beside the file.
OPTIONS = Options(
    Option('config_file', LIVE),    # the guest file's marker or layout alone (what xl reads unchanged)
    Option('disks', LIVE),          # disk images and zvols created
    Option('autostart', LIVE),      # the xendomains link (or rc.conf list on NetBSD)
    family=lambda setting: Option(setting, RESTART))


class XenDomuKind(Kind):
    """One domU: its xl.cfg file (xl's own grammar), the disks it declares with a size, autostart,
    and the domain's run state as xl reports it."""

    name = 'domain'
    key = 'xen_domus'
    facts_key = 'domain'
    argument_spec = xen_domu_argument_spec()['argument_spec']
    module_kwargs = dict(mutually_exclusive=[('kernel', 'bootloader')])
    OPTIONS = OPTIONS

    def __init__(self, runner):
        super().__init__(runner)
        self.files_found = {}       # {name: where on_host found its guest file}, for its removal

    # -- desired (no I/O) -------------------------------------------------------------
    def desired(self, params):
        name = config.check_domain_name(params['name'])
        if params['stop_timeout'] < 0:
            raise ParameterError('stop_timeout', 'must be 0 or more seconds')
        system, defaults = config.dom0_platform()
        config_dir = params['config_dir'] or defaults['config_dir']
        wanted = config.settings(params) if params['state'] != 'absent' else None
        return Desired(name, params['state'], {}, restart_allowed=params['restart_on_change'], purge=params['purge'],
                       params=params,
                       netbsd=system == 'NetBSD', config_dir=config_dir,
                       config_file=params['config_file'] or os.path.join(config_dir, name + '.cfg'),
                       auto_dir=params['auto_dir'] or defaults['auto_dir'], wanted=wanted)

    # -- observe -----------------------------------------------------------------------
    def observe(self, view, wanted):
        found = {}
        for desired in wanted:
            try:
                old_text, old_settings = self._read_file(desired)
                domain = self._read_domain(view, desired)
                missing = self._disks_to_create(view, desired) if desired.state != 'absent' else []
            except MultiplicityError as exc:
                found[desired.name] = exc
                continue
            other = (old_settings or {}).get('name')
            if old_text is not None and other not in (None, desired.name):
                # Another domain's file (its own name in it): writing, removing or purging it would
                # take that domain's configuration, or its disks.
                found[desired.name] = MultiplicityError(
                    'Domain %s: %s defines domain %r (name = "%s"); it is left as it is (give this domain its own '
                    'config_file)' % (desired.name, desired.extra['config_file'], other, other))
                continue
            autostart_now = self._autostart_now(desired)
            state = 'running' if domain else ('stopped' if old_text is not None else 'absent')
            found[desired.name] = Current(state, leftovers=autostart_now, old_text=old_text,
                                          old_settings=old_settings, domain=domain, disks_missing=missing,
                                          autostart_now=autostart_now)
        return found

    def _list(self, name):
        """``xl list NAME``, or None when xl does not know the domain."""
        return self.runner.run_lookup(['xl', 'list', name], runtime.not_found,
                                      action='read the state of domain %s' % name)

    def _read_domain(self, view, desired):
        """The domain as xl reports it (with its live configuration), None when xl does not know it."""
        domain = view.per_object('xl', desired.name, lambda: self._read_one_domain(desired.name),
                                 lambda: runtime.read_all_domains(self.runner))
        return dict(domain) if domain else None

    def _read_one_domain(self, name):
        listed = self._list(name)
        if listed is None:
            return None
        domain = runtime.parse_list(listed.stdout).get(name)
        if domain is None:
            return None
        domain['live'] = {}
        if domain['state'] not in runtime.DOWN:
            details = runtime.parse_long(self.runner.run(
                ['xl', 'list', '-l', name], action='read the configuration of domain %s' % name).stdout)
            if name in details:
                domain['live'] = runtime.live_settings(details[name]['config'])
        return domain

    @staticmethod
    def _read_file(desired):
        path = desired.extra['config_file']
        try:
            text = read_text(path, strict=True)
        except MultiplicityError as exc:
            raise MultiplicityError('%s; nothing was changed' % exc)
        if text is None:
            return None, {}
        try:
            return text, xl_cfg.parse(text)
        except xl_cfg.XlCfgError as exc:
            if desired.state == 'absent' and not desired.extra['params']['purge']:
                return text, {}
            raise MultiplicityError('%s: %s (fix the file by hand; nothing was changed)' % (path, exc))

    @staticmethod
    def _autostart_now(desired):
        if desired.extra['netbsd']:
            values = read_vars(read_text(RC_CONF) or '')
            return desired.name in (values.get('xendomains') or '').split()
        config_file = desired.extra['config_file']
        link = os.path.join(desired.extra['auto_dir'], os.path.basename(config_file))
        return os.path.islink(link) and os.path.realpath(link) == os.path.realpath(config_file)

    @staticmethod
    def _disks_to_create(view, desired):
        """The declared disks with a size that are not there yet (a file's directory must exist)."""
        missing = []
        for index, disk in enumerate(desired.extra['params'].get('disks') or []):
            if disk.get('size') is not None and not disks.exists(view, disk['target']):
                disks.check_makeable(disk['target'], 'disks[%d].target' % index)
                missing.append(disk)
        return missing

    def on_host(self, view, wanted):
        """Domains xl knows and guest files in the declared guests' config directories."""
        names = set(view.cached('xl', lambda: runtime.read_all_domains(self.runner)))
        self.files_found = {}
        auto_dirs = dict((d.extra['config_dir'], d.extra['auto_dir']) for d in reversed(wanted))
        for directory in sorted(auto_dirs):
            for name, info in read_config_dir(directory)[0].items():
                self.files_found.setdefault(name, dict(config_dir=directory, config_file=info['config_file'],
                                                       auto_dir=auto_dirs[directory]))
        names.update(self.files_found)
        return sorted(names)

    def removal(self, name):
        """As any kind's, with the directory and file the domain was found in (a custom config_dir, a file
        not named after the domain): the removal edits what was listed."""
        params = super().removal(name)
        params.update(self.files_found.get(name) or {})
        return params

    def needs_reread(self, plan):
        """The new domid and state after a start or stop; a file write changes nothing xl reports."""
        return any(a.verb in ('start', 'stop') for a in plan.actions)

    def reread(self, view, outcomes):
        found = {}
        for outcome in outcomes:
            domain = self._read_domain(view, outcome.desired)
            state = 'running' if domain else ('absent' if outcome.desired.state == 'absent' else 'stopped')
            found[outcome.name] = outcome.current.but(state=state, domain=domain)
        return found

    # -- compare -------------------------------------------------------------------------
    @staticmethod
    def rendered(desired, current):
        """(new text, its settings) of the guest file: the old text with the declared settings."""
        if desired.extra['wanted'] is None:
            return None, {}
        if 'rendered' not in current.extra:
            text = config.render_file(current.extra['old_text'] or '', desired.extra['wanted'])
            current.extra['rendered'] = (text, xl_cfg.parse(text))
        return current.extra['rendered']

    def compare(self, desired, current):
        old_text, old_settings = current.extra['old_text'], current.extra['old_settings']
        new_text, new_settings = self.rendered(desired, current)
        changes = []
        if new_text is not None and new_text != old_text:
            # A setting xl reads applies when the domain is next created; the marker or layout alone now.
            changes = [OPTIONS.change(key, old_settings.get(key), new_settings.get(key))
                       for key in sorted(set(old_settings) | set(new_settings))]
            changes = [c for c in changes if c is not None] or [OPTIONS.changed('config_file', old_text, new_text)]
        domain = current.extra['domain']
        drifted = drift(domain['live'], new_settings) if domain and domain.get('live') and new_text else []
        named = set(c.name for c in changes)
        changes.extend(OPTIONS.not_picked_up(key) for key in drifted if key not in named)
        if desired.state != 'absent':
            missing = current.extra['disks_missing']
            if missing:
                changes.append(OPTIONS.changed('disks', [], [d['target'] for d in missing]))
            autostart = desired.extra['params']['autostart']
            if autostart is not None and autostart != current.extra['autostart_now']:
                changes.append(OPTIONS.changed('autostart', current.extra['autostart_now'], autostart))
        return changes

    def complete(self, plan, desired, current):
        # The xl.cfg settings a running domain does not have yet (its restart was not allowed).
        keys = plan.pending_names
        if keys:
            plan.warn('Domain %s keeps running with its old configuration until it is restarted: %s changed '
                      '(set restart_on_change to restart it)' % (desired.name, ', '.join(keys)))

    # -- verbs -----------------------------------------------------------------------------
    def create(self, plan, desired, current, changes):
        self.update(plan, desired, current, changes)

    def update(self, plan, desired, current, changes):
        new_text = self.rendered(desired, current)[0]
        config_file = desired.extra['config_file']
        if new_text != current.extra['old_text']:
            wanted, given_file = desired.extra['wanted'], desired.extra['params']['config_file']
            # The guest file's part this module owns, rendered from the file as it is then (a person may
            # have edited it since it was read); the default directory is made, a given one must exist.
            # A VNC password makes the file private (0600), whatever its mode was.
            secret = 'vncpasswd' in wanted or 'vncpasswd' in (current.extra['old_settings'] or {})
            plan.write(FileEdit(config_file, lambda text: config.render_file(text or '', wanted),
                                'write %s' % config_file, verb='write', parent=not given_file, private=secret))
        for disk in current.extra['disks_missing']:
            self._plan_disk(plan, desired, disk)
        autostart = desired.extra['params']['autostart']
        if autostart is not None and autostart != current.extra['autostart_now']:
            self._plan_autostart(plan, desired, autostart)

    def _plan_disk(self, plan, desired, disk):
        disks.plan_create(plan, self.runner, disk['target'], require_size(disk['size'], 'disks.size'),
                          Made('xen_domu', desired.name))

    @staticmethod
    def _plan_autostart(plan, desired, enable):
        name, config_file, auto_dir = desired.name, desired.extra['config_file'], desired.extra['auto_dir']
        if desired.extra['netbsd']:
            def edit(text):
                names = (read_vars(text or '').get('xendomains') or '').split()
                names = [n for n in names if n != name] + ([name] if enable else [])
                return set_vars(text or '', {'xendomains': ' '.join(names)})
            # Under the lock, from rc.conf as it is then: another run may be adding its own domain.
            what = '%s %s in xendomains of %s' % ('add' if enable else 'remove', name, RC_CONF)
            plan.write(FileEdit(RC_CONF, edit, what, verb='autostart'))
            return
        link = os.path.join(auto_dir, os.path.basename(config_file))
        if enable:
            def make_link():
                if not os.path.isdir(auto_dir):
                    os.makedirs(auto_dir, 0o755)
                if os.path.islink(link):
                    os.unlink(link)
                os.symlink(config_file, link)
            plan.add('autostart', 'link %s -> %s' % (link, config_file), func=make_link)
        elif os.path.islink(link):
            plan.add('autostart', 'remove %s' % link, func=lambda: os.unlink(link))

    def start(self, plan, desired, current, changes):
        plan.add('start', 'start domain %s' % desired.name, argv=['xl', 'create', desired.extra['config_file']])

    def stop(self, plan, desired, current, changes):
        domain, name = current.extra['domain'], desired.name
        if domain and domain['state'] in runtime.DOWN:
            plan.add('stop', 'clear the %s domain %s' % (domain['state'], name), argv=['xl', 'destroy', name])
            return
        old = current.extra['old_settings']
        hvm = (old.get('type') or old.get('builder')) == 'hvm'
        argv = ['xl', 'shutdown'] + (['-F'] if hvm else []) + [name]
        params = desired.extra['params']
        plan.add('stop', 'shut down domain %s (up to %d s)' % (name, params['stop_timeout']),
                 func=lambda: self._shutdown(name, argv, params['stop_timeout'], params['force_stop']))

    def _shutdown(self, name, argv, timeout, force):
        self.runner.run(argv, action='shut down domain %s' % name)
        try:
            wait_for(lambda: self._list(name), lambda listed: listed is None, timeout,
                     'domain %s to shut down' % name)
        except WaitTimeout:
            if not force:
                raise MultiplicityError('domain %s did not shut down within %d s (stop_timeout); set force_stop '
                                        'to destroy it' % (name, timeout))
            self.runner.run(['xl', 'destroy', name], action='destroy domain %s' % name)

    def destroy(self, plan, desired, current, changes, purge=False):
        config_file = desired.extra['config_file']
        if current.extra['autostart_now']:
            self._plan_autostart(plan, desired, False)
        if current.extra['old_text'] is not None:
            plan.write(OwnedFile(config_file, None, 'remove %s' % config_file, verb='remove'))
        if purge:
            for vdev, target, fields in config.disks_of(current.extra['old_settings']):
                if not target or config.shared_medium(fields):
                    continue        # install media and read-only disks may serve other domains
                if not disks.plan_purge(plan, self.runner, target, vdev, Made('xen_domu', desired.name)):
                    plan.warn('Domain %s: disk %s was not made by this collection (the host has no record of '
                              'it), so purge keeps it' % (desired.name, target))

    # -- results -----------------------------------------------------------------------
    def expected(self, outcome):
        """Where not read again (check mode; no start or stop): in its expected state; a stop (or
        restart) leaves no domid."""
        state, before = expected_state(outcome), outcome.before
        stopping = any(a.verb == 'stop' for a in outcome.plan.actions)
        domain = before.extra['domain']
        domain = domain if state == 'running' and not stopping else None
        return before.but(state=state, domain=domain)

    def facts(self, outcome):
        desired, current, wanted_state = outcome.desired, outcome.current, outcome.desired.state
        settings_ = self.rendered(desired, outcome.before)[1]
        domain = current.extra['domain']
        if domain:
            state = domain['state']
        else:
            state = 'running' if current.state == 'running' else ('absent' if wanted_state == 'absent' else 'stopped')
        autostart, autostart_now = desired.extra['params']['autostart'], outcome.before.extra['autostart_now']
        facts = dict(name=desired.name, domid=domain['domid'] if domain else None, state=state,
                     config_file=desired.extra['config_file'],
                     config=dict(settings_) if wanted_state != 'absent' else {},
                     autostart=bool(autostart if autostart is not None else autostart_now)
                     if wanted_state != 'absent' else False,
                     pending_changes=outcome.plan.pending_names,
                     console=dict(command=['xl', 'console', desired.name]))
        if str(settings_.get('vnc', '0')) not in ('0', '') and settings_.get('type', settings_.get('builder')) == 'hvm':
            display = settings_.get('vncdisplay')
            facts['console']['vnc'] = '%s:%s' % (settings_.get('vnclisten', '127.0.0.1'),
                                                 5900 + int(display) if display is not None else 'auto')
        return facts

    def report(self, outcome, diff_mode):
        facts = self.facts(outcome)
        found = dict(pending_restart=bool(facts['pending_changes']), domain=facts)
        if diff_mode:
            found['diff'] = self._diff(outcome)
        return found

    def _diff(self, outcome):
        current_state, after_state = outcome.before.state, expected_state(outcome)
        config_file = outcome.desired.extra['config_file']
        before, after = dict(state=current_state), dict(state=after_state)
        if current_state != 'absent':
            # The settings that differ, by name (a new domain's are all in the file's diff above); a
            # running domain's drift from its file is in pending_changes.
            for change in outcome.plan.changes:
                if change.name != 'config_file' and (change.before, change.after) != ('running', 'configured'):
                    before[change.name], after[change.name] = change.before, change.after
        return [
            dict(before=outcome.before.extra['old_text'] or '',
                 after=self.rendered(outcome.desired, outcome.before)[0] or '',
                 before_header=config_file, after_header=config_file),
            dict(before=before, after=after),
        ]


class XenDomuManager(KindModule):
    """The xen_domu module: one engine call, its result in the module's shape."""

    kind_class = XenDomuKind
