# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Glue between AnsibleModule and a manager: one place that shapes results and failures."""

from __future__ import annotations

import traceback

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import engine
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import Plan, progress
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.runner import CommandRunner


def describe_unexpected(exc):
    """A message for a failure no code path expected: the file and reason of an OSError (never a
    bare [Errno N]), else the exception's type and text."""
    if isinstance(exc, OSError):
        where = ': '.join(str(f) for f in (exc.filename, exc.filename2) if f)
        return 'Operating system error%s: %s' % ((' on ' + where) if where else '', exc.strerror or exc)
    return 'Unexpected %s: %s (please report this as a bug)' % (type(exc).__name__, exc)


def wants_details(module):
    """Commands and actions are returned in check mode and at -vvv or with ANSIBLE_DEBUG."""
    return module.check_mode or getattr(module, '_verbosity', 0) >= 3 or getattr(module, '_debug', False)


def run_manager(module, manager_class, executables=None, secrets=None):
    """Build the runner and the manager, run it, and exit or fail the module.

    ``manager_class(module, runner)`` must provide ``run()`` returning a
    result dict with at least ``changed`` and, optionally, ``plan`` (a
    :class:`Plan`); on failure it may provide ``partial_result()``.
    """
    runner = CommandRunner(module, executables=executables, secrets=secrets)
    manager = None
    try:
        manager = manager_class(module, runner)
        result = manager.run()
    except Exception as exc:  # pylint: disable=broad-exception-caught
        # Anything but a MultiplicityError is a bug's symptom (every expected failure names its
        # object), but the user still gets a message, what was done and no traceback; the
        # traceback is in 'exception', which Ansible shows at -vvv.
        if isinstance(exc, MultiplicityError):
            failure = exc.to_fail_kwargs()
        else:
            failure = dict(msg=describe_unexpected(exc), exception=traceback.format_exc())
        if manager is not None and hasattr(manager, 'partial_result'):
            for key, value in manager.partial_result().items():
                failure.setdefault(key, value)
        failure['commands'] = runner.commands
        for warning in getattr(manager, 'warnings', None) or []:
            module.warn(warning)
        module.fail_json(**failure)
    for warning in result.pop('warnings', None) or []:
        module.warn(warning)
    # A manager's Plan becomes the 'actions' list; a 'plan' that is already data (topology's) is returned.
    plan = result.pop('plan') if isinstance(result.get('plan'), Plan) else None
    if wants_details(module):
        result['commands'] = runner.commands
        if plan is not None:
            result['actions'] = plan.describe()
    module.exit_json(**result)


class KindModule(object):
    """A module of one kind: its objects declared, one engine call, the outcome mapped to the
    module's documented return keys (``shape``).  ``kind_class`` is the kind; ``requests(params)``
    the objects' parameters (one object by default)."""

    kind_class = None

    def __init__(self, module, runner):
        self.module = module
        self.kind = self.kind_class(runner)
        self.call = engine.Call(runner, check_mode=module.check_mode, isolate=False)
        # Bad input fails here, before anything is read.
        for params in self.requests(module.params):
            self.call.declare(self.kind, params)

    @staticmethod
    def requests(params):
        return [params]

    @property
    def outcome(self):
        return self.call.outcomes[0]

    @property
    def warnings(self):
        return [w for o in self.call.outcomes for w in o.warnings]

    def run(self):
        self.call.run()
        result = dict(changed=self.call.changed, plan=self.call.plan())
        result.update(self.shape(self.call.outcomes))
        result['warnings'] = self.warnings
        return result

    def shape(self, outcomes):
        """The module's own keys from its objects' outcomes: by default the one object's (its kind's report)."""
        return self.kind.report(outcomes[0], self.module._diff)

    def partial_result(self):
        named = {self.kind.name_option: self.outcome.name} if self.call.outcomes else {}
        return dict(progress(self.call.plan()), **({self.kind.facts_key: named} if named else {}))
