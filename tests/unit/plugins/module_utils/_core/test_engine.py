# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The converge engine with a kind written from its contract alone: lifecycle, merged host-wide
edits, check mode, failure isolation, recreate."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import edits, engine, topology
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.sysrc import SysrcEdit, merged_sysrc, place_in_order, placed
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import CommandError, MultiplicityError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import LIVE, RECREATE, Action, Option
from ansible_collections.bsd.multiplicity.plugins.module_utils._topology.manager import guest_result


class Result(object):
    def __init__(self, stdout=''):
        self.stdout = stdout
        self.rc = 0
        self.stderr = ''


class Runner(object):
    """Answers `list` with the boxes it holds; records every command; fails those named in ``fail``."""

    def __init__(self, boxes, fail=()):
        self.boxes = dict(boxes)
        self.fail = set(fail)
        self.ran = []

    def run(self, argv, action=None):
        self.ran.append(list(argv))
        if argv[0] in self.fail or (len(argv) > 1 and argv[1] in self.fail):
            raise CommandError(argv, 1, '', 'boom', action=action)
        if argv == ['list']:
            return Result('\n'.join('%s %s %s' % (n, s, c) for n, (s, c) in sorted(self.boxes.items())))
        verb, name = argv[0], argv[1] if len(argv) > 1 else None
        if verb == 'mkbox':
            self.boxes[name] = ('stopped', 'none')
        elif verb == 'rmbox':
            self.boxes.pop(name, None)
        elif verb in ('startbox', 'stopbox'):
            self.boxes[name] = ('running' if verb == 'startbox' else 'stopped', self.boxes[name][1])
        elif verb == 'paint':
            self.boxes[name] = (self.boxes[name][0], argv[2])
        return Result()


class BoxKind(engine.Kind):
    """A made-up kind: a box has a colour (changed live) and a size (changed by recreating it), and
    is listed in rc.conf's box_list while it exists."""

    name = 'box'
    key = 'boxes'
    argument_spec = dict(name=dict(type='str', required=True), colour=dict(type='str'), size=dict(type='str'),
                         restart=dict(type='bool', default=False), purge=dict(type='bool', default=False),
                         state=dict(type='str', default='started', choices=['started', 'stopped', 'absent']))
    OPTIONS = (Option('colour', LIVE), Option('size', RECREATE))

    def desired(self, params):
        return engine.Desired(params['name'], params.get('state', 'started'),
                              dict(colour=params.get('colour'), size=params.get('size')),
                              restart_allowed=params.get('restart', False), purge=params.get('purge', False))

    def observe(self, view, wanted):
        found = {}
        for line in view.run(['list']).stdout.splitlines():
            name, state, colour = line.split()
            size = 'big' if name.startswith('big') else 'small'
            found[name] = engine.Current(state, dict(colour=colour, size=size))
        return found

    def on_host(self, view, wanted):
        return [line.split()[0] for line in view.run(['list']).stdout.splitlines()]

    def create(self, plan, desired, current, changes):
        plan.add('create', 'create box %s' % desired.name, argv=['mkbox', desired.name])
        plan.edits.append(SysrcEdit('box_list', '+=', desired.name))

    def update(self, plan, desired, current, changes):
        for change in changes:
            plan.add('update', 'paint %s' % desired.name, argv=['paint', desired.name, change.after])

    def start(self, plan, desired, current, changes):
        plan.add('start', 'start %s' % desired.name, argv=['startbox', desired.name])

    def stop(self, plan, desired, current, changes):
        plan.add('stop', 'stop %s' % desired.name, argv=['stopbox', desired.name])

    def destroy(self, plan, desired, current, changes, purge=False):
        plan.add('destroy', 'destroy %s' % desired.name, argv=['rmbox', desired.name])
        if purge:
            plan.add('purge', 'shred the contents of %s' % desired.name, argv=['shred', desired.name])
        plan.edits.append(SysrcEdit('box_list', '-=', desired.name))

    def facts(self, outcome):
        return dict(name=outcome.name, state=outcome.current.state)


def call_of(runner, requests, **kwargs):
    call = engine.Call(runner, **kwargs)
    kind = BoxKind(runner)
    for params in requests:
        call.declare(kind, params)
    return call


def converge(runner, requests, **kwargs):
    return call_of(runner, requests, **kwargs).run()


def test_new_objects_are_created_and_their_list_edits_merged_into_one_sysrc():
    runner = Runner({})
    call = converge(runner, [dict(name='a', colour='red'), dict(name='b', colour='blue')])
    assert runner.ran == [['list'], ['mkbox', 'a'], ['startbox', 'a'], ['mkbox', 'b'], ['startbox', 'b'],
                          ['sysrc', 'box_list+=a b'], ['list']]
    assert call.changed and [o.error for o in call.outcomes] == [None, None]


def test_no_change_is_one_read_and_nothing_else():
    runner = Runner({'a': ('running', 'red')})
    call = converge(runner, [dict(name='a', colour='red')])
    assert runner.ran == [['list']] and not call.changed


def test_check_mode_plans_everything_and_runs_only_reads():
    runner = Runner({'a': ('running', 'red')})
    call = converge(runner, [dict(name='a', colour='green'), dict(name='b')], check_mode=True)
    assert runner.ran == [['list']]
    assert [a['argv'] for a in call.plan().describe()] == [
        ['paint', 'a', 'green'], ['mkbox', 'b'], ['startbox', 'b'], ['sysrc', 'box_list+=b']]
    assert [c.name for c in call.outcomes[0].plan.changes] == ['colour']


def test_a_change_that_needs_recreating_stops_destroys_creates_and_starts():
    runner = Runner({'big1': ('running', 'red')})
    kept = converge(runner, [dict(name='big1', colour='red', size='small')], check_mode=True)
    assert [c.name for c in kept.outcomes[0].plan.pending] == ['size']     # not without a restart
    call = converge(runner, [dict(name='big1', colour='red', size='small', restart=True)])
    assert runner.ran[1:] == [['list'], ['stopbox', 'big1'], ['rmbox', 'big1'], ['mkbox', 'big1'],
                              ['startbox', 'big1'], ['sysrc', 'box_list-=big1', 'box_list+=big1'], ['list']]
    assert call.outcomes[0].plan.changes[0].apply == RECREATE


def test_isolated_failure_is_reported_by_name_and_the_others_go_on():
    runner = Runner({}, fail={'a'})
    call = converge(runner, [dict(name='a'), dict(name='b')])
    first, second = call.outcomes
    assert isinstance(first.error, CommandError) and second.error is None
    assert runner.ran == [['list'], ['mkbox', 'a'], ['mkbox', 'b'], ['startbox', 'b'], ['sysrc', 'box_list+=b'],
                          ['list']]
    result = engine.result(first)
    assert result['failed'] and result['done'] == [] and 'boom' in result['msg']


def test_without_isolation_the_first_failure_is_raised_and_the_call_keeps_what_was_done():
    runner = Runner({}, fail={'b'})
    call = call_of(runner, [dict(name='a'), dict(name='b')], isolate=False)
    with pytest.raises(MultiplicityError):
        call.run()
    assert [a['argv'] for a in call.plan().describe()][:2] == [['mkbox', 'a'], ['startbox', 'a']]
    assert call.plan().done == 2


def test_a_failed_host_wide_edit_is_reported_on_every_object_that_planned_one():
    runner = Runner({'a': ('running', 'red')}, fail={'sysrc'})
    call = converge(runner, [dict(name='a', colour='red'), dict(name='b'), dict(name='c')])
    assert [o.error is not None for o in call.outcomes] == [False, True, True]


def test_absent_with_leftovers_is_destroyed_and_a_stopped_box_is_started():
    class Leftover(BoxKind):
        def observe(self, view, wanted):
            found = super().observe(view, wanted)
            found.setdefault('gone', engine.Current('absent', leftovers=True))
            return found
    runner = Runner({'s': ('stopped', 'red')})
    call, kind = engine.Call(runner), Leftover(runner)
    for params in (dict(name='gone', state='absent'), dict(name='s', colour='red')):
        call.declare(kind, params)
    call.run()
    assert runner.ran[1:] == [['rmbox', 'gone'], ['startbox', 's'], ['sysrc', 'box_list-=gone'], ['list']]


@pytest.mark.parametrize('edits, commands', [
    ([SysrcEdit('l', '+=', 'a b'), SysrcEdit('l', '+=', 'b c')], [['sysrc', 'l+=a b c']]),
    ([SysrcEdit('x', '=', '1'), SysrcEdit('x', '=', '2')], [['sysrc', 'x=2']]),
    ([SysrcEdit('v', 'remove', path='/boot/loader.conf'), SysrcEdit('w', '=', 'YES', path='/boot/loader.conf'),
      SysrcEdit('l', '-=', 'a')],
     [['sysrc', '-f', '/boot/loader.conf', 'w=YES'], ['sysrc', '-f', '/boot/loader.conf', '-x', 'v'], ['sysrc', 'l-=a']]),
])
def test_sysrc_edits_merge_per_file(edits, commands):
    assert [argv for path, argv, ordered in merged_sysrc(edits)] == commands


# A kind joins topology by its contract alone (its key and argument spec are part of it).
def topology_run(runner, declaration, check_mode=False, diff=False, prune=False, kinds=None):
    kinds = kinds or [BoxKind(runner)]
    call = engine.Call(runner, check_mode=check_mode, bulk=True)
    order = topology.declare(call, kinds, declaration)
    call.run(managed=[k for k in kinds if declaration.get(k.key) is not None], prune=prune)
    results = dict((o.name, guest_result(o, True, diff)) for o in call.sequence)
    return results, order, [name for unused, name in call.undeclared]


def test_a_contract_kind_in_a_topology_dependency_order_one_merged_edit_one_reread():
    runner = Runner({'old': ('running', 'red')})
    results, order, undeclared = topology_run(runner, dict(boxes=[
        dict(name='web', colour='red', depend=['db']), dict(name='db', colour='blue')]), diff=True)
    assert order == ['db', 'web'] and undeclared == ['old']
    assert runner.ran == [['list'], ['mkbox', 'db'], ['startbox', 'db'], ['mkbox', 'web'],
                          ['startbox', 'web'], ['sysrc', 'box_list+=db web'], ['list']]
    assert results['web']['before'] == 'absent' and results['web']['after'] == 'running'
    assert results['web']['facts']['state'] == 'running'
    assert results['db']['diff'][-1]['after'] == {'colour': 'blue'}


def test_a_contract_kind_in_a_topology_check_mode_failure_isolation_and_prune():
    runner = Runner({'old': ('running', 'red'), 'db': ('running', 'blue')})
    results, order, undeclared = topology_run(runner, dict(boxes=[dict(name='db', colour='green')]),
                                              check_mode=True, prune=True)
    assert runner.ran == [['list']] and results['old']['pruned'] and results['old']['after'] == 'absent'
    assert results['db']['actions'][0]['argv'] == ['paint', 'db', 'green']
    runner = Runner({}, fail={'db'})
    results, order, undeclared = topology_run(runner, dict(boxes=[
        dict(name='web', depend=['db']), dict(name='db'), dict(name='other')]))
    assert results['db']['failed'] and results['web']['skipped'] and not results['other'].get('failed')
    assert ['sysrc', 'box_list+=other'] in runner.ran


def test_a_dependant_that_fails_to_go_down_keeps_what_it_depends_on_up_and_configured():
    runner = Runner({'db': ('running', 'blue'), 'web': ('running', 'red'), 'other': ('running', 'red')},
                    fail={'stopbox'})
    results, order, undeclared = topology_run(runner, dict(boxes=[
        dict(name='web', state='absent', depend=['db']), dict(name='db', state='absent'),
        dict(name='other', state='absent')]))
    assert results['web']['failed'] and not results['web'].get('skipped')
    assert results['db']['skipped'] and 'web, which depends on it, failed to go down' in results['db']['msg']
    assert ['stopbox', 'db'] not in runner.ran and ['rmbox', 'db'] not in runner.ran
    assert runner.boxes['db'] == ('running', 'blue')
    # What does not depend on the failure goes on; only its own rc.conf entry goes.
    assert results['other']['failed']       # its stop fails too (every stopbox does here)
    runner = Runner({'db': ('running', 'blue'), 'web': ('running', 'red')})
    results, order, undeclared = topology_run(runner, dict(boxes=[
        dict(name='web', state='absent', depend=['db']), dict(name='db', state='absent')]))
    assert runner.ran[1:5] == [['stopbox', 'web'], ['rmbox', 'web'], ['stopbox', 'db'], ['rmbox', 'db']]
    assert not results['db'].get('failed') and runner.boxes == {}


def test_a_bad_option_of_a_contract_kind_fails_before_anything_runs():
    runner = Runner({})
    with pytest.raises(topology.TopologyError) as failure:
        topology_run(runner, dict(boxes=[dict(name='a', state='exploded')]))
    assert 'boxes[a]' in str(failure.value) and runner.ran == []


class BatchRunner(Runner):
    """``startboxes A B ...`` starts every box it names but those in ``refuse`` (and fails then)."""

    def __init__(self, boxes, refuse=()):
        super().__init__(boxes)
        self.refuse = set(refuse)

    def run(self, argv, action=None):
        if argv[0] != 'startboxes':
            return super().run(argv, action)
        self.ran.append(list(argv))
        for name in argv[1:]:
            if name not in self.refuse:
                self.boxes[name] = ('running', self.boxes[name][1])
        if self.refuse & set(argv[1:]):
            raise CommandError(argv, 1, '', ''.join('%s: no room\n' % n for n in sorted(self.refuse)), action=action)
        return Result()


class BatchedBoxKind(BoxKind):
    """Boxes whose starts one ``startboxes`` does for many (as jail(8) does for the jails of a file)."""

    def start(self, plan, desired, current, changes):
        plan.add('start', 'start %s' % desired.name, argv=['startbox', desired.name], batch=('box', 'start'))

    def batch(self, key, members):
        return Action('start', 'start boxes', argv=['startboxes'] + [o.name for o, unused in members])

    def batch_failures(self, key, members, error):
        found = dict(view_lines(self.runner))
        return dict((o.name, MultiplicityError('%s did not start: %s' % (o.name, error.stderr.strip())))
                    for o, unused in members if found.get(o.name) != 'running')


def view_lines(runner):
    return [(line.split()[0], line.split()[1]) for line in runner.run(['list']).stdout.splitlines()]


def batched_call(runner, requests, check_mode=False):
    call = engine.Call(runner, check_mode=check_mode)
    kind = BatchedBoxKind(runner)
    for params in requests:
        depends = params.pop('depends', None)
        call.declare(kind, params, depends=depends)
    return call.run()


def test_batched_actions_of_several_objects_are_one_command_dependants_in_the_next():
    requests = [dict(name='a'), dict(name='b'), dict(name='c', depends=['a']), dict(name='d')]
    runner = BatchRunner({})
    call = batched_call(runner, [dict(r) for r in requests], check_mode=True)
    # Check mode: the same batches, shown in each object's actions.
    assert runner.ran == [['list']]
    assert [o.plan.actions[-1].argv for o in call.outcomes] == [['startboxes', 'a', 'b', 'd']] * 2 + [
        ['startbox', 'c']] + [['startboxes', 'a', 'b', 'd']]
    runner = BatchRunner({})
    call = batched_call(runner, [dict(r) for r in requests])
    # a, b and d are made, then started together; c (depends on a) is made and started after them.
    assert runner.ran == [['list'], ['mkbox', 'a'], ['mkbox', 'b'], ['mkbox', 'd'], ['startboxes', 'a', 'b', 'd'],
                          ['mkbox', 'c'], ['startbox', 'c'], ['sysrc', 'box_list+=a b c d'], ['list']]
    assert all(o.error is None and o.plan.done == 2 for o in call.outcomes)


def test_a_failed_batch_fails_only_the_members_it_did_not_do_and_their_dependants():
    runner = BatchRunner({}, refuse=['b'])
    call = batched_call(runner, [dict(name='a'), dict(name='b'), dict(name='c', depends=['b']), dict(name='d')])
    by_name = dict((o.name, o) for o in call.outcomes)
    assert str(by_name['b'].error) == 'b did not start: b: no room'
    assert by_name['b'].plan.done == 1          # made, not started
    assert by_name['c'].skipped and by_name['c'].plan.done == 0
    assert by_name['a'].error is None and by_name['d'].error is None and by_name['a'].plan.done == 2
    assert ['mkbox', 'c'] not in runner.ran
    assert runner.boxes['a'][0] == runner.boxes['d'][0] == 'running'


def test_a_batched_action_alone_runs_as_planned_in_its_turn():
    runner = BatchRunner({'b': ('running', 'none')})
    batched_call(runner, [dict(name='a'), dict(name='b')])
    assert runner.ran == [['list'], ['mkbox', 'a'], ['startbox', 'a'], ['sysrc', 'box_list+=a'], ['list']]


class WritingBoxKind(BoxKind):
    """Boxes that write their line of one shared file before they start."""

    path = None

    def start(self, plan, desired, current, changes):
        plan.write(edits.FileEdit(self.path, lambda text, name=desired.name: (text or '') + name + '\n',
                                  'list %s' % desired.name, verb='list'))
        super().start(plan, desired, current, changes)


def written_call(runner, path, names):
    call = engine.Call(runner)
    kind = WritingBoxKind(runner)
    kind.path = path
    for name in names:
        call.declare(kind, dict(name=name))
    return call.run()


def test_writes_of_one_file_by_several_objects_are_one_rewrite_and_fail_together(tmp_path):
    path = str(tmp_path / 'boxes.list')
    runner = Runner({})
    call = written_call(runner, path, ['a', 'b'])
    assert open(path).read() == 'a\nb\n' and all(o.error is None for o in call.outcomes)
    assert [argv for argv in runner.ran if argv[0] == 'startbox'] == [['startbox', 'a'], ['startbox', 'b']]
    # The one rewrite fails (its directory is gone): each writer is failed with it, and starts nothing.
    runner = Runner({})
    call = written_call(runner, str(tmp_path / 'gone' / 'boxes.list'), ['c', 'd'])
    assert all('directory' in str(o.error) for o in call.outcomes)
    assert not any(argv[0] == 'startbox' for argv in runner.ran)


@pytest.mark.parametrize('current, added, expected', [
    ([], ['db', 'web1', 'web2'], ['db', 'web1', 'web2']),
    (['db', 'web2'], ['web1'], ['db', 'web1', 'web2']),         # finished after web1 failed
    (['web2'], ['db', 'web1'], ['db', 'web1', 'web2']),
    (['mine', 'db', 'other', 'web2'], ['web1'], ['mine', 'db', 'web1', 'other', 'web2']),
    (['mine'], ['theirs', 'web1'], ['mine', 'theirs', 'web1']),  # names of no object of the call: appended
])
def test_list_items_are_placed_in_the_calls_order(current, added, expected):
    assert placed(current, added, ['db', 'web1', 'web2']) == expected


def test_an_object_list_runs_plain_appends_unless_an_item_goes_between():
    def edit(value, listed):
        return SysrcEdit('jail_list', '+=', value, in_call_order=True, listed=listed)
    order = ['db', 'web1', 'web2']
    assert merged_sysrc([edit('db web1', ['x'])], order) == [('/etc/rc.conf', ['sysrc', 'jail_list+=db web1'], [])]
    assert merged_sysrc([edit('web1', ['db', 'web2'])], order) == [
        ('/etc/rc.conf', ['sysrc', 'jail_list+=web1'], ['jail_list'])]


class ListRunner(object):
    def __init__(self, value):
        self.value, self.ran = value, []

    def run(self, argv, action=None, **kwargs):
        self.ran.append(argv)
        return SimpleNamespace(stdout=self.value + '\n')


def test_an_ordered_list_is_written_from_the_file_as_it_is_when_applied():
    # Another run added "late" after this call planned: it is kept, and web1 goes between db and web2.
    runner = ListRunner('db late web2')
    argv = place_in_order(runner, ['sysrc', 'jail_enable=YES', 'jail_list+=web1', 'jail_list-=gone'],
                          ['jail_list'], ['db', 'web1', 'web2'])
    assert runner.ran == [['sysrc', '-n', '-i', 'jail_list']]
    assert argv == ['sysrc', 'jail_enable=YES', 'jail_list=db web1 late web2']


def test_the_linear_append_check_agrees_with_placing_every_small_case():
    """_appends_in_order (linear, run for every call) says exactly when placed() would only append."""
    import itertools
    from ansible_collections.bsd.multiplicity.plugins.module_utils._core import sysrc
    order = ['a', 'b', 'c', 'd']
    rank = dict((name, index) for index, name in enumerate(order))
    names = order + ['x']       # x: not an object of the call
    for size in range(4):
        for listed in itertools.permutations(names, size):
            for count in range(1, 4):
                for items in itertools.permutations(names, count):
                    appended = list(listed) + [i for i in items if i not in listed]
                    expected = placed(list(listed), list(items), order) == appended
                    assert sysrc._appends_in_order(list(listed), list(items), rank) == expected, (listed, items)


class CrateKind(engine.Kind):
    """A made-up composite: a crate is two boxes (its parts, planned by the box kind) and a label of its own."""

    name = 'crate'
    key = 'crates'
    run_state = False
    OPTIONS = (Option('label', LIVE),)

    def __init__(self, runner):
        super().__init__(runner)
        self.boxes = BoxKind(runner)

    def desired(self, params):
        state = params.get('state', 'present')
        parts = [engine.part('box %s' % n, self.boxes, dict(name=n, colour=params.get('colour'),
                                                            state='absent' if state == 'absent' else 'started'))
                 for n in params['boxes']]
        return engine.Desired(params['name'], state, dict(label=params.get('label')), parts=parts)

    def observe(self, view, wanted):
        # After its parts: what they found is there to use.
        labels = dict(line.split(' ', 1) for line in view.run(['labels']).stdout.splitlines())
        return dict((d.name, engine.Current('stopped' if d.name in labels else 'absent', dict(label=labels.get(d.name)),
                                            parts_seen=[p.current.state for p in d.parts])) for d in wanted)

    def create(self, plan, desired, current, changes):
        self.update(plan, desired, current, changes)

    def update(self, plan, desired, current, changes):
        if desired.settings['label'] != current.settings['label']:
            plan.add('label', 'label %s' % desired.name, argv=['label', desired.name, desired.settings['label']])

    def destroy(self, plan, desired, current, changes, purge=False):
        plan.add('unlabel', 'unlabel %s' % desired.name, argv=['unlabel', desired.name])


class CrateRunner(Runner):
    def __init__(self, boxes, labels=None):
        super().__init__(boxes)
        self.labels = dict(labels or {})

    def run(self, argv, action=None):
        if argv[0] == 'labels':
            self.ran.append(list(argv))
            return Result('\n'.join('%s %s' % item for item in sorted(self.labels.items())))
        if argv[0] in ('label', 'unlabel'):
            self.ran.append(list(argv))
            if argv[0] == 'label':
                self.labels[argv[1]] = argv[2]
            else:
                self.labels.pop(argv[1], None)
            return Result()
        return super().run(argv, action)


def test_a_composite_plans_its_parts_by_their_kinds_up_in_order_down_in_reverse():
    runner = CrateRunner({})
    call = engine.Call(runner, isolate=False)
    crate = CrateKind(runner)
    outcome = call.declare(crate, dict(name='c', boxes=['a', 'b'], colour='none', label='fragile'))
    call.run()
    assert runner.ran == [['list'], ['labels'], ['mkbox', 'a'], ['startbox', 'a'], ['mkbox', 'b'], ['startbox', 'b'],
                          ['label', 'c', 'fragile'], ['sysrc', 'box_list+=a b'], ['list'], ['labels']]
    # The parts' changes are the composite's, named by part.
    assert sorted(c.name for c in outcome.plan.changes) == ['box a colour', 'box b colour', 'label']
    # Its parts were read again, before it, and it saw them.
    assert [p.current.state for p in outcome.desired.parts] == ['running', 'running']
    assert outcome.current.extra['parts_seen'] == ['running', 'running']

    runner.ran[:] = []
    again = engine.Call(runner, isolate=False)
    outcome = again.declare(crate, dict(name='c', boxes=['a', 'b'], colour='none', label='fragile'))
    again.run()
    assert not again.changed and runner.ran == [['list'], ['labels']]      # one read per kind, none per part

    down = engine.Call(runner, isolate=False)
    outcome = down.declare(crate, dict(name='c', boxes=['a', 'b'], state='absent'))
    outcome.desired.parts[0].kept = 'box a is kept: something else uses it'
    down.run()
    assert [a for a in runner.ran[2:] if a[0] not in ('list', 'labels')] == [
        ['unlabel', 'c'], ['stopbox', 'b'], ['rmbox', 'b'], ['sysrc', 'box_list-=b']]
    assert outcome.warnings == ['box a is kept: something else uses it']


class WrapperCrateKind(CrateKind):
    """A crate whose label is what its boxes are made in (as a package is a userland's): first up, last down."""

    LEADING = ('label', 'unlabel')


def test_a_composite_s_leading_verbs_come_first_up_and_last_down():
    runner = CrateRunner({})
    crate = WrapperCrateKind(runner)
    call = engine.Call(runner, isolate=False)
    call.declare(crate, dict(name='c', boxes=['a'], colour='none', label='fragile'))
    call.run()
    assert [a[0] for a in runner.ran if a[0] not in ('list', 'labels')] == ['label', 'mkbox', 'startbox', 'sysrc']
    runner.ran[:] = []
    down = engine.Call(runner, isolate=False)
    down.declare(crate, dict(name='c', boxes=['a'], state='absent'))
    down.run()
    assert [a[0] for a in runner.ran if a[0] not in ('list', 'labels')] == ['stopbox', 'rmbox', 'unlabel', 'sysrc']
