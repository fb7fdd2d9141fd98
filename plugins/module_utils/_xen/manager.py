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
from ansible_collections.bsd.multiplicity.plugins.module_utils._core import zfs
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import (
    MultiplicityError, ParameterError, WaitTimeout,
)
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import edit_locked, read_text
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.hostview import HostView
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import (
    LIVE, RESTART, Change, Option, Plan, execute, plan_lifecycle, progress,
)
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.shvars import read_vars, set_vars
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.wait import wait_for
from ansible_collections.bsd.multiplicity.plugins.module_utils._xen import config, runtime

RC_CONF = '/etc/rc.conf'
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


class XenDomuManager(object):
    def __init__(self, module, runner, view=None):
        self.module = module
        self.runner = runner
        # Reads go through the host view: one xl list for every domain of a topology call.
        self.view = view or HostView(runner)
        self.current_state = None
        self.p = module.params
        self.name = config.check_domain_name(self.p['name'])
        self.state = self.p['state']
        self.plan = None
        self.warnings = []
        system, defaults = config.dom0_platform()
        self.netbsd = system == 'NetBSD'
        self.config_dir = self.p['config_dir'] or defaults['config_dir']
        self.config_file = self.p['config_file'] or os.path.join(self.config_dir, self.name + '.cfg')
        self.auto_dir = self.p['auto_dir'] or defaults['auto_dir']
        if self.p['stop_timeout'] < 0:
            raise ParameterError('stop_timeout', 'must be 0 or more seconds')
        self.wanted = config.settings(self.p) if self.state != 'absent' else None

    # -- reading ---------------------------------------------------------------

    def _list(self):
        """``xl list NAME``, or None when xl does not know the domain."""
        return self.runner.run_lookup(['xl', 'list', self.name], runtime.not_found,
                                      action='read the state of domain %s' % self.name)

    def _read_domain(self):
        if self.view.bulk:
            domain = self.view.cached('xl', lambda: runtime.read_all_domains(self.runner)).get(self.name)
            return dict(domain) if domain else None
        listed = self._list()
        if listed is None:
            return None
        domain = runtime.parse_list(listed.stdout).get(self.name)
        if domain is None:
            return None
        domain['live'] = {}
        if domain['state'] not in runtime.DOWN:
            details = runtime.parse_long(self.runner.run(
                ['xl', 'list', '-l', self.name], action='read the configuration of domain %s' % self.name).stdout)
            if self.name in details:
                domain['live'] = runtime.live_settings(details[self.name]['config'])
        return domain

    def _read_file(self):
        try:
            text = read_text(self.config_file, strict=True)
        except MultiplicityError as exc:
            raise MultiplicityError('%s; nothing was changed' % exc)
        if text is None:
            return None, {}
        try:
            return text, xl_cfg.parse(text)
        except xl_cfg.XlCfgError as exc:
            if self.state == 'absent' and not self.p['purge']:
                return text, {}
            raise MultiplicityError('%s: %s (fix the file by hand; nothing was changed)' % (self.config_file, exc))

    def _autostart_now(self):
        if self.netbsd:
            values = read_vars(read_text(RC_CONF) or '')
            return self.name in (values.get('xendomains') or '').split()
        link = os.path.join(self.auto_dir, os.path.basename(self.config_file))
        return os.path.islink(link) and os.path.realpath(link) == os.path.realpath(self.config_file)

    # -- planning --------------------------------------------------------------

    def run(self):
        old_text, old_settings = self._read_file()
        new_text = config.render_file(old_text or '', self.wanted) if self.wanted is not None else None
        new_settings = xl_cfg.parse(new_text) if new_text is not None else {}
        domain = self._read_domain()
        current_state = self.current_state = 'running' if domain else ('stopped' if old_text is not None else 'absent')

        changes = []
        if new_text is not None and new_text != old_text:
            # Only a change of what xl reads needs a restart; the marker or layout alone does not.
            kind = RESTART if dict(old_settings) != dict(new_settings) else LIVE
            changes.append(Change(Option('config_file', kind), old_text, new_text))
        drifted = drift(domain['live'], new_settings) if domain and domain['live'] and new_text else []
        named = set(c.name for c in changes)
        changes.extend(Change(Option(key, RESTART), 'running', 'configured') for key in drifted if key not in named)
        disks_missing = self._disks_to_create() if self.state != 'absent' else []
        autostart_now = self._autostart_now()
        autostart = self.p['autostart']
        autostart_change = autostart is not None and autostart != autostart_now and self.state != 'absent'

        if self.state == 'absent':
            verbs = plan_lifecycle(current_state, 'absent', [])[0]
            if current_state == 'absent' and autostart_now:
                verbs = ['destroy']
        else:
            verbs = plan_lifecycle(current_state, self.state, changes, self.p['restart_on_change'])[0]
            if (disks_missing or autostart_change) and 'update' not in verbs and 'create' not in verbs:
                verbs = ['update'] + verbs
        pending_keys = []
        if current_state == 'running' and 'stop' not in verbs and self.state != 'absent':
            pending_keys = sorted(set(drifted) | set(self._changed_keys(old_settings, new_settings)
                                                     if new_text != old_text else ()))

        plan = self.plan = Plan(changes)
        ctx = dict(old_text=old_text, new_text=new_text, old_settings=old_settings, domain=domain,
                   disks_missing=disks_missing, autostart_now=autostart_now, autostart=autostart)
        for verb in verbs:
            getattr(self, '_plan_' + verb)(plan, ctx)
        if pending_keys:
            self.warnings.append('Domain %s keeps running with its old configuration until it is restarted: %s '
                                 'changed (set restart_on_change to restart it)' % (self.name, ', '.join(pending_keys)))
        execute(plan, self.runner, self.module.check_mode)

        final = domain
        if not self.module.check_mode and ('start' in verbs or 'stop' in verbs) and not self.view.bulk:
            final = self._read_domain()     # the new domid and state (many domains: read once at the end)
        elif self.view.bulk and 'stop' in verbs:
            final = None
        result = dict(changed=plan.changed, plan=plan, pending_restart=bool(pending_keys),
                      domain=self._facts(new_settings, final, verbs, pending_keys, ctx))
        if self.module._diff:
            result['diff'] = self._diff(old_text, new_text, current_state, verbs)
        if self.warnings:
            result['warnings'] = self.warnings
        return result

    @staticmethod
    def _changed_keys(before, after):
        return [k for k in set(before) | set(after) if before.get(k) != after.get(k)]

    def _disks_to_create(self):
        missing = []
        for index, disk in enumerate(self.p.get('disks') or []):
            if disk.get('size') is None:
                continue
            target = disk['target']
            if target.startswith(config.ZVOL_PREFIX):
                exists = os.path.exists(target) or self._zvol_exists(target[len(config.ZVOL_PREFIX):])
            else:
                exists = os.path.exists(target)
            if not exists:
                if not target.startswith(config.ZVOL_PREFIX) and not os.path.isdir(os.path.dirname(target)):
                    raise ParameterError('disks[%d].target' % index, 'directory %s does not exist'
                                         % os.path.dirname(target))
                missing.append(disk)
        return missing

    def _zvol_exists(self, dataset):
        return zfs.exists(self.view, dataset)

    # -- plan steps --------------------------------------------------------------

    def _plan_create(self, plan, ctx):
        self._plan_update(plan, ctx)

    def _plan_update(self, plan, ctx):
        if ctx['new_text'] != ctx['old_text']:
            def write():
                if not os.path.isdir(self.config_dir) and not self.p['config_file']:
                    os.makedirs(self.config_dir, 0o755)
                # From the file as it is now (a person may have edited it since it was read), under the lock.
                edit_locked(self.config_file, lambda text: config.render_file(text or '', self.wanted), mode=0o644)
            plan.add('write', 'write %s' % self.config_file, func=write)
        for disk in ctx['disks_missing']:
            self._plan_disk(plan, disk)
        if ctx['autostart'] is not None and ctx['autostart'] != ctx['autostart_now']:
            self._plan_autostart(plan, ctx['autostart'])

    def _plan_disk(self, plan, disk):
        target, size = disk['target'], require_size(disk['size'], 'disks.size')
        if target.startswith(config.ZVOL_PREFIX):
            plan.add('create', 'create sparse zvol for %s' % target,
                     argv=zfs.create_argv(target[len(config.ZVOL_PREFIX):], volume_size=size, sparse=True))
            return

        def create_file():
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.ftruncate(fd, size)      # sparse: no blocks are written
            finally:
                os.close(fd)
        plan.add('create', 'create sparse disk image %s (%d bytes)' % (target, size), func=create_file)

    def _plan_autostart(self, plan, enable):
        if self.netbsd:
            def edit(text):
                names = (read_vars(text or '').get('xendomains') or '').split()
                names = [n for n in names if n != self.name] + ([self.name] if enable else [])
                return set_vars(text or '', {'xendomains': ' '.join(names)})
            # Under the lock, from rc.conf as it is then: another run may be adding its own domain.
            plan.add('autostart', '%s %s in xendomains of %s' % ('add' if enable else 'remove', self.name, RC_CONF),
                     func=lambda: edit_locked(RC_CONF, edit))
            return
        link = os.path.join(self.auto_dir, os.path.basename(self.config_file))
        if enable:
            def make_link():
                if not os.path.isdir(self.auto_dir):
                    os.makedirs(self.auto_dir, 0o755)
                if os.path.islink(link):
                    os.unlink(link)
                os.symlink(self.config_file, link)
            plan.add('autostart', 'link %s -> %s' % (link, self.config_file), func=make_link)
        elif os.path.islink(link):
            plan.add('autostart', 'remove %s' % link, func=lambda: os.unlink(link))

    def _plan_start(self, plan, ctx):
        plan.add('start', 'start domain %s' % self.name, argv=['xl', 'create', self.config_file])

    def _plan_stop(self, plan, ctx):
        domain = ctx['domain']
        if domain and domain['state'] in runtime.DOWN:
            plan.add('stop', 'clear the %s domain %s' % (domain['state'], self.name),
                     argv=['xl', 'destroy', self.name])
            return
        hvm = (ctx['old_settings'].get('type') or ctx['old_settings'].get('builder')) == 'hvm'
        argv = ['xl', 'shutdown'] + (['-F'] if hvm else []) + [self.name]
        plan.add('stop', 'shut down domain %s (up to %d s)' % (self.name, self.p['stop_timeout']),
                 func=lambda: self._shutdown(argv))

    def _shutdown(self, argv):
        self.runner.run(argv, action='shut down domain %s' % self.name)
        try:
            wait_for(self._list, lambda listed: listed is None, self.p['stop_timeout'],
                     'domain %s to shut down' % self.name)
        except WaitTimeout:
            if not self.p['force_stop']:
                raise MultiplicityError('domain %s did not shut down within %d s (stop_timeout); set force_stop '
                                        'to destroy it' % (self.name, self.p['stop_timeout']))
            self.runner.run(['xl', 'destroy', self.name], action='destroy domain %s' % self.name)

    def _plan_destroy(self, plan, ctx):
        if ctx['autostart_now']:
            self._plan_autostart(plan, False)
        if ctx['old_text'] is not None:
            plan.add('remove', 'remove %s' % self.config_file, func=lambda: os.unlink(self.config_file))
        if self.p['purge']:
            for vdev, target, fields in config.disks_of(ctx['old_settings']):
                if not target or fields.get('devtype') == 'cdrom' or fields.get('access') in ('ro', 'r'):
                    continue
                if target.startswith(config.ZVOL_PREFIX) and os.path.exists(target):
                    plan.add('purge', 'destroy zvol of %s' % vdev,
                             argv=zfs.destroy_argv(target[len(config.ZVOL_PREFIX):]))
                elif os.path.isfile(target):
                    plan.add('purge', 'remove disk image %s' % target, func=lambda t=target: os.unlink(t))

    # -- results ---------------------------------------------------------------

    def _facts(self, settings_, domain, verbs, pending_keys, ctx):
        if self.module.check_mode:
            predicted = {'absent': 'absent', 'stopped': 'stopped', 'started': 'running', 'restarted': 'running'}
            state = predicted.get(self.state, 'running' if domain else 'stopped')
            domid = domain['domid'] if domain and 'stop' not in verbs else None
        else:
            state = domain['state'] if domain else ('absent' if self.state == 'absent' else 'stopped')
            domid = domain['domid'] if domain else None
        facts = dict(name=self.name, domid=domid, state=state, config_file=self.config_file,
                     config=dict(settings_) if self.state != 'absent' else {},
                     autostart=bool(ctx['autostart'] if ctx['autostart'] is not None else ctx['autostart_now'])
                     if self.state != 'absent' else False,
                     pending_changes=pending_keys,
                     console=dict(command=['xl', 'console', self.name]))
        if str(settings_.get('vnc', '0')) not in ('0', '') and settings_.get('type', settings_.get('builder')) == 'hvm':
            display = settings_.get('vncdisplay')
            facts['console']['vnc'] = '%s:%s' % (settings_.get('vnclisten', '127.0.0.1'),
                                                 5900 + int(display) if display is not None else 'auto')
        return facts

    def _diff(self, old_text, new_text, current_state, verbs):
        after_state = current_state
        if 'destroy' in verbs:
            after_state = 'absent'
        elif 'start' in verbs:
            after_state = 'running'
        elif 'stop' in verbs:
            after_state = 'stopped'
        elif 'create' in verbs:
            after_state = 'stopped'
        return [
            dict(before=old_text or '', after=new_text or '', before_header=self.config_file,
                 after_header=self.config_file),
            dict(before=dict(state=current_state), after=dict(state=after_state)),
        ]

    def partial_result(self):
        return dict(progress(self.plan), domain=dict(name=self.name))
