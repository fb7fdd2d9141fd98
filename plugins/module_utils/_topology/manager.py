# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The topology module: a host's guests of every kind declared to one engine call, and its result."""

from __future__ import annotations

from ansible_collections.bsd.multiplicity.plugins.module_utils._bhyve.manager import BhyveVmKind
from ansible_collections.bsd.multiplicity.plugins.module_utils._core import engine, topology
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError
from ansible_collections.bsd.multiplicity.plugins.module_utils._chroot.manager import ChrootEnvKind
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail.manager import JailKind
from ansible_collections.bsd.multiplicity.plugins.module_utils._kld.manager import KldKind
from ansible_collections.bsd.multiplicity.plugins.module_utils._linux.manager import CompatLinuxKind
from ansible_collections.bsd.multiplicity.plugins.module_utils._xen.manager import XenDomuKind

# The kinds a topology converges, each under its key (kernel_modules, jails, chroots, xen_domus, bhyve_vms,
# linux_compat).
KINDS = (KldKind, JailKind, ChrootEnvKind, XenDomuKind, BhyveVmKind, CompatLinuxKind)


def _group(results):
    """Guest names by what happened to them (would happen, in check mode)."""
    plan = dict(create=[], change=[], restart=[], remove=[], unchanged=[], failed=[])
    for name, result in results.items():
        verbs = set(a['verb'] for a in result.get('actions') or [])
        if result.get('failed'):
            plan['failed'].append(name)
        elif not result.get('changed'):
            plan['unchanged'].append(name)
        elif result.get('after') == 'absent' and result.get('before') != 'absent':
            plan['remove'].append(name)
        elif result.get('before') == 'absent':
            plan['create'].append(name)
        elif 'stop' in verbs and 'start' in verbs:
            plan['restart'].append(name)
        else:
            plan['change'].append(name)
    return plan


def guest_result(outcome, with_facts, diff_mode):
    """One guest as RV(guests) shows it: kind, name, what happened, its states, and (``with_facts``) the
    keys its own module returns, from its kind's report."""
    kind = outcome.kind
    found = engine.result(outcome, facts=False)
    result = dict(kind=kind.key, name=outcome.name, changed=found['changed'],
                  before=kind.shown_state(outcome.before.state) if outcome.before else None)
    if outcome.pruned:
        result['pruned'] = True
    if outcome.error is not None:
        result.update(failed=True, msg=found['msg'], done=found['done'])
        if outcome.skipped:
            result.update(skipped=True, before=None)
        return result
    result.update(after=kind.shown_state(outcome.current.state), actions=found['actions'])
    if found.get('pending'):
        result['pending'] = found['pending']
    if with_facts or result['changed']:
        result.update(kind.report(outcome, diff_mode))
    return result


class TopologyManager(object):
    def __init__(self, module, runner):
        self.module = module
        self.runner = runner
        self.kinds = [kind(runner) for kind in KINDS]
        self.call = engine.Call(runner, check_mode=module.check_mode, isolate=True, bulk=True)
        self.outcome = None

    @property
    def warnings(self):
        return ['%s: %s' % (o.name, w) for o in self.call.outcomes for w in o.warnings]

    def run(self):
        params = self.module.params
        declaration = dict((kind.key, params[kind.key]) for kind in self.kinds)
        secrets = set()
        try:
            topology.declare(self.call, self.kinds, declaration, params['defaults'], secrets=secrets)
        finally:
            # Masked in guests, diff, invocation and the commands shown, as each kind's module masks them.
            self.module.no_log_values.update(secrets)
            self.runner.hide(secrets)
        # A kind is managed when its key is given (an empty list too); only managed kinds read the host,
        # so a Linux dom0 is never asked for jls.
        managed = [kind for kind in self.kinds if declaration.get(kind.key) is not None]
        self.call.run(managed=managed, prune=params['prune'])
        results, diffs = {}, []
        for outcome in self.call.sequence:
            # An unchanged guest without its facts: at thousands of guests, every guest's facts would make
            # the result megabytes that the controller parses (jail_info reads them).
            result = guest_result(outcome, params['facts'] == 'all', self.module._diff)
            diffs.extend(result.pop('diff', None) or [])
            results[outcome.name] = result
        outcome = dict(changed=self.call.changed, guests=results, order=self.call.order,
                       undeclared=[name for unused, name in self.call.undeclared], plan=_group(results))
        if self.module._diff:
            outcome['diff'] = diffs
        failed = outcome['plan']['failed']
        if failed:
            self.outcome = outcome
            others = 'nothing was changed (check mode)' if self.module.check_mode else 'the others were converged'
            raise MultiplicityError('%d guest(s) failed: %s; %s' % (len(failed), '; '.join(
                '%s: %s' % (name, results[name]['msg']) for name in failed), others))
        outcome['warnings'] = self.warnings
        return outcome

    def partial_result(self):
        if self.outcome is None:
            return dict(changed=False)
        return dict((k, v) for k, v in self.outcome.items() if k != 'diff')
