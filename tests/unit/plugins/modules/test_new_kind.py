# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A kind written from the engine's contract alone (not shipped): converged by a one-object module of
its own and by topology beside jails, with exact host commands."""
from __future__ import annotations

import os

import pytest

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import engine
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.module import KindModule, run_manager
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.planner import LIVE, RECREATE, Option
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.sysrc import SysrcEdit
from ansible_collections.bsd.multiplicity.plugins.module_utils._topology import manager as topology_manager
from ansible_collections.bsd.multiplicity.plugins.modules import topology
from ansible_collections.bsd.multiplicity.tests.unit.plugins.modules.module_harness import jail_files_in, run_module


class ShelfKind(engine.Kind):
    """Shelves, as `shelf list` prints them (name, open or closed, colour, size): a colour is repainted
    live, a size needs a new shelf; open shelves are listed in rc.conf's shelf_list."""

    name = 'shelf'
    key = 'shelves'
    facts_key = 'shelf'
    argument_spec = dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='started', choices=['started', 'stopped', 'absent']),
        colour=dict(type='str'), size=dict(type='str'),
        restart_on_change=dict(type='bool', default=False), purge=dict(type='bool', default=False))
    OPTIONS = (Option('colour', LIVE), Option('size', RECREATE))

    def desired(self, params):
        return engine.Desired(params['name'], params['state'], dict(colour=params['colour'], size=params['size']),
                              restart_allowed=params['restart_on_change'], purge=params['purge'])

    def _listed(self, view):
        shelves = {}
        for line in view.run(['shelf', 'list'], action='list the shelves').stdout.splitlines():
            name, state, colour, size = line.split()
            shelves[name] = engine.Current('running' if state == 'open' else 'stopped', dict(colour=colour, size=size))
        return shelves

    def observe(self, view, wanted):
        return self._listed(view)

    def on_host(self, view, wanted):
        return sorted(self._listed(view))

    def check(self, view, plan, desired, current):
        if desired.settings['colour'] == 'black' and any(a.verb in ('create', 'update') for a in plan.actions):
            raise MultiplicityError('Shelf %s: there is no black paint; nothing was changed' % desired.name)

    def create(self, plan, desired, current, changes):
        plan.add('create', 'make shelf %s' % desired.name,
                 argv=['shelf', 'make', desired.name, desired.settings['size'] or 'small'])
        plan.edits.append(SysrcEdit('shelf_list', '+=', desired.name))
        if desired.settings['colour'] == 'red':
            plan.warn('red fades in the sun')

    def update(self, plan, desired, current, changes):
        for change in changes:
            if change.name == 'colour':
                plan.add('update', 'paint shelf %s' % desired.name, argv=['shelf', 'paint', desired.name, change.after])
                if change.after == 'red':
                    plan.warn('red fades in the sun')

    def start(self, plan, desired, current, changes):
        plan.add('start', 'open shelf %s' % desired.name, argv=['shelf', 'open', desired.name])

    def stop(self, plan, desired, current, changes):
        plan.add('stop', 'close shelf %s' % desired.name, argv=['shelf', 'close', desired.name])

    def destroy(self, plan, desired, current, changes, purge=False):
        if purge:
            plan.add('purge', 'throw away what is on shelf %s' % desired.name, argv=['shelf', 'empty', desired.name])
        plan.add('destroy', 'take shelf %s down' % desired.name, argv=['shelf', 'remove', desired.name])
        plan.edits.append(SysrcEdit('shelf_list', '-=', desired.name))

    def facts(self, outcome):
        return dict(name=outcome.name, state=outcome.current.state, **outcome.current.settings)


class ShelfModule(KindModule):
    kind_class = ShelfKind


def shelf_main():
    module = AnsibleModule(argument_spec=ShelfKind.argument_spec, supports_check_mode=True)
    run_manager(module, ShelfModule)


LIST = ['/sbin/shelf', 'list']


def listed(*rows):
    return (LIST, 0, ''.join('%s %s %s %s\n' % row for row in rows), '')


def ok(*argv):
    return (['/sbin/' + argv[0]] + list(argv[1:]), 0, '', '')


def test_one_object_module_plans_checks_applies_and_is_idempotent(monkeypatch):
    params = dict(name='pantry', colour='red')
    kind, result, ran = run_module(shelf_main, params, [listed()], monkeypatch, check_mode=True, diff=True)
    assert kind == 'exit' and result['changed'] and ran == [LIST]
    assert [a['verb'] for a in result['actions']] == ['create', 'start', 'persist']
    assert result['shelf'] == dict(name='pantry', state='running')
    assert result['diff'][-1]['after'] == {'colour': 'red'} and result['diff'][-1]['before'] == {'colour': None}
    kind, result, ran = run_module(shelf_main, params, [
        listed(), ok('shelf', 'make', 'pantry', 'small'), ok('shelf', 'open', 'pantry'),
        ok('sysrc', 'shelf_list+=pantry'), listed(('pantry', 'open', 'red', 'small'))], monkeypatch)
    assert kind == 'exit' and result['shelf'] == dict(name='pantry', state='running', colour='red', size='small')
    kind, result, ran = run_module(shelf_main, params, [listed(('pantry', 'open', 'red', 'small'))], monkeypatch)
    assert kind == 'exit' and not result['changed']
    kind, result, ran = run_module(shelf_main, dict(params, colour='black'), [
        listed(('pantry', 'open', 'red', 'small'))], monkeypatch, check_mode=True)
    assert kind == 'fail' and 'no black paint' in result['msg'] and ran == [LIST]


def test_warnings_go_through_module_warn(monkeypatch):
    kind, result, ran = run_module(shelf_main, dict(name='pantry', colour='red'), [
        listed(('pantry', 'open', 'blue', 'small')), ok('shelf', 'paint', 'pantry', 'red'),
        listed(('pantry', 'open', 'red', 'small'))], monkeypatch)
    assert kind == 'exit' and result['warnings'] == ['red fades in the sun']


def test_a_recreate_with_purge_declared_keeps_the_data(monkeypatch):
    """size is RECREATE: the shelf is taken down and made again, and never emptied, purge or not."""
    params = dict(name='pantry', colour='blue', size='big', purge=True)
    kind, result, ran = run_module(shelf_main, params, [listed(('pantry', 'open', 'blue', 'small'))], monkeypatch,
                                   check_mode=True)
    assert not result['changed'] and result['actions'] == []     # pending: no restart allowed
    kind, result, ran = run_module(shelf_main, dict(params, restart_on_change=True), [
        listed(('pantry', 'open', 'blue', 'small')),
        ok('shelf', 'close', 'pantry'), ok('shelf', 'remove', 'pantry'), ok('shelf', 'make', 'pantry', 'big'),
        ok('shelf', 'open', 'pantry'), ok('sysrc', 'shelf_list-=pantry', 'shelf_list+=pantry'),
        listed(('pantry', 'open', 'blue', 'big'))], monkeypatch)
    assert kind == 'exit' and ['/sbin/shelf', 'empty', 'pantry'] not in ran
    # absent with purge does empty it: destroy is told to purge, recreate never is.
    kind, result, ran = run_module(shelf_main, dict(params, state='absent'), [
        listed(('pantry', 'open', 'blue', 'big')), ok('shelf', 'close', 'pantry'), ok('shelf', 'empty', 'pantry'),
        ok('shelf', 'remove', 'pantry'), ok('sysrc', 'shelf_list-=pantry'), listed()], monkeypatch)
    assert kind == 'exit' and result['shelf']['state'] == 'absent'


@pytest.fixture
def with_shelves(tmp_path, monkeypatch):
    """topology with shelves as one more kind: its key is an option, its guests are declared beside jails."""
    etc = jail_files_in(tmp_path, monkeypatch)
    (tmp_path / 'jails' / 'web' / 'dev').mkdir(parents=True)
    (tmp_path / 'jails' / 'db' / 'dev').mkdir(parents=True)
    monkeypatch.setattr(topology_manager, 'KINDS', topology_manager.KINDS + (ShelfKind,))
    return dict(root=str(tmp_path / 'jails'), conf_d=str(etc / 'jail.conf.d'))


JLS_ALL = ['/sbin/jls', '-n', '--libxo', 'json', 'all']
NO_JAILS = (JLS_ALL, 0, '{"__version": "2", "jail-information": {"jail": []}}\n', '')


def web_running(host):
    return (JLS_ALL, 0, '{"__version": "2", "jail-information": {"jail": [{"jid": "3", "name": "web", "path": "%s", '
            '"persist": false, "ip4.addr": [], "ip6.addr": []}]}}\n' % os.path.join(host['root'], 'web'), '')


def test_topology_beside_jails_order_isolation_prune_check_diff_warnings(with_shelves, monkeypatch):
    host = with_shelves
    declared = dict(
        jails=[dict(name='web', path=os.path.join(host['root'], 'web'), depend=['pantry']),
               dict(name='db', path=os.path.join(host['root'], 'db'), depend=['coal'])],
        shelves=[dict(name='pantry', colour='red'), dict(name='coal', colour='black'), dict(name='other')],
        prune=True)
    old = ('old', 'open', 'green', 'small')
    kind, result, ran = run_module(topology.main, declared, [NO_JAILS, listed(old)], monkeypatch,
                                   check_mode=True, diff=True)
    assert kind == 'fail' and ran == [JLS_ALL, LIST]         # check mode: reads only
    guests = result['guests']
    assert guests['coal']['failed'] and 'no black paint' in guests['coal']['msg']
    assert guests['db']['skipped'] and guests['old']['pruned'] and guests['old']['after'] == 'absent'
    assert [a['verb'] for a in guests['web']['actions']] == ['config', 'start']
    assert result['order'] == ['pantry', 'web', 'coal', 'db', 'other']
    assert result['plan']['create'] == ['pantry', 'web', 'other'] and result['plan']['remove'] == ['old']

    web_start = ['/sbin/jail', '-f', os.path.join(host['conf_d'], 'web.conf'), '-c', 'web']
    kind, result, ran = run_module(topology.main, declared, [
        NO_JAILS, listed(old),
        ok('shelf', 'close', 'old'), ok('shelf', 'remove', 'old'),                      # pruned first, never purged
        ok('shelf', 'make', 'pantry', 'small'), ok('shelf', 'open', 'pantry'),          # what web depends on
        (web_start, 0, '', ''),
        ok('shelf', 'make', 'other', 'small'), ok('shelf', 'open', 'other'),
        ok('sysrc', 'shelf_list-=old', 'shelf_list+=pantry other'),                     # one merged edit
        web_running(host), listed(('pantry', 'open', 'red', 'small'), ('other', 'open', 'none', 'small')),
    ], monkeypatch, diff=True)
    assert kind == 'fail' and '2 guest(s) failed' in result['msg']
    guests = result['guests']
    assert guests['web']['jail']['jid'] == 3 and guests['pantry']['shelf']['state'] == 'running'
    assert not guests['other'].get('failed') and guests['db']['skipped']
    assert result['warnings'] == ['pantry: red fades in the sun']

    settled = dict(jails=declared['jails'][:1],
                   shelves=[dict(name='pantry', colour='red'), dict(name='other', colour='red')])
    kind, result, ran = run_module(topology.main, settled, [
        web_running(host), listed(('pantry', 'open', 'red', 'small'), ('other', 'open', 'none', 'small'))],
        monkeypatch, check_mode=True, diff=True)
    assert kind == 'exit' and result['plan'] == dict(create=[], change=['other'], restart=[], remove=[],
                                                     unchanged=['pantry', 'web'], failed=[])
    assert result['diff'] == [dict(before_header='shelf other', after_header='shelf other',
                                   before={'colour': 'none'}, after={'colour': 'red'})]
    assert result['warnings'] == ['other: red fades in the sun']
