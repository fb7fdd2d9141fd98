# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The topology module: every kind's guests through one engine call, one bulk host view."""

from __future__ import annotations

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import topology
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.hostview import HostView
from ansible_collections.bsd.multiplicity.plugins.module_utils._chroot.kind import ChrootKind
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail.kind import JailKind
from ansible_collections.bsd.multiplicity.plugins.module_utils._xen.kind import XenKind

# The kinds a topology converges; each is one module's options under its key (jails, chroots, xen_domus).
KINDS = (JailKind, ChrootKind, XenKind)


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


class TopologyManager(object):
    def __init__(self, module, runner):
        self.module = module
        self.runner = runner
        self.view = HostView(runner, bulk=True)
        self.kinds = [kind(module, runner, self.view) for kind in KINDS]
        self.warnings = []
        self.results = {}

    def run(self):
        declaration = dict((kind.key, self.module.params[kind.key]) for kind in self.kinds)
        results, order, undeclared = topology.converge(self.kinds, declaration, prune=self.module.params['prune'],
                                                       defaults=self.module.params['defaults'])
        self.results = results
        facts_keys = set(kind.facts_key for kind in self.kinds)
        diffs = []
        for name, result in results.items():
            for warning in result.pop('warnings', None) or []:
                self.warnings.append('%s: %s' % (name, warning))
            diffs.extend(result.pop('diff', None) or [])
            if self.module.params['facts'] == 'changed' and not result.get('changed') and not result.get('failed'):
                # An unchanged guest is its name, kind and state: at thousands of guests, every guest's
                # facts would make the result megabytes that the controller parses (jail_info reads them).
                for key in facts_keys & set(result):
                    del result[key]
        outcome = dict(changed=any(r.get('changed') for r in results.values()), guests=results, order=order,
                       undeclared=undeclared, plan=_group(results))
        if self.module._diff:
            outcome['diff'] = diffs
        failed = outcome['plan']['failed']
        if failed:
            error = MultiplicityError('%d guest(s) failed: %s; the others were converged' % (len(failed), '; '.join(
                '%s: %s' % (name, results[name]['msg']) for name in failed)))
            self.outcome = outcome
            raise error
        if self.warnings:
            outcome['warnings'] = self.warnings
        return outcome

    def partial_result(self):
        outcome = getattr(self, 'outcome', None)
        if outcome is None:
            return dict(changed=False)
        return dict((k, v) for k, v in outcome.items() if k != 'diff')
