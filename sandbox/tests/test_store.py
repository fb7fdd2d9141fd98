"""The state store: what one command reads and writes, and that nothing is lost between commands."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from fbsd import store  # noqa: E402  (after the path above)


def files(directory):
    found = {}
    for base, unused, names in os.walk(directory):
        for name in names:
            path = os.path.join(base, name)
            found[os.path.relpath(path, directory)] = os.stat(path).st_mtime_ns
    return found


def fresh_state(tmp_path):
    state = store.State(str(tmp_path))
    state.update({'sysctl': {'kern.hostname': 'h'}, 'jails': {},
                  'net': {'ifaces': {'lo0': {'kind': 'loop', 'index': 2, 'vnet': None}}, 'next_index': 3}})
    state.save()
    return state


def test_round_trip_with_collections_one_file_per_record(tmp_path):
    fresh_state(tmp_path)
    state = store.State(str(tmp_path))
    state['jails']['1'] = {'jid': 1, 'name': 'web'}
    state['jails'][2] = {'jid': 2, 'name': 'db'}
    state['net']['ifaces']['bridge0'] = {'kind': 'bridge', 'index': 3, 'vnet': None, 'members': []}
    state.save()
    again = store.State(str(tmp_path))
    assert dict(again['jails']) == {'1': {'jid': 1, 'name': 'web'}, '2': {'jid': 2, 'name': 'db'}}
    assert list(again['net']['ifaces']) == ['lo0', 'bridge0']       # creation order kept
    assert again['net']['next_index'] == 3 and again['sysctl'] == {'kern.hostname': 'h'}
    assert sorted(os.listdir(tmp_path / 'jails')) == ['.counts', '.index', 'by-name', 'r-1', 'r-2']


def test_a_command_writes_only_what_it_changed(tmp_path):
    state = fresh_state(tmp_path)
    for number in range(50):
        state['jails'][str(number)] = {'jid': number, 'name': 'j%d' % number}
    state.save()
    before = files(tmp_path)
    state = store.State(str(tmp_path))
    state['jails']['7']['name'] = 'renamed'
    assert state['sysctl']['kern.hostname'] == 'h'       # read, not changed
    state.save()
    after = files(tmp_path)
    rewritten = sorted(k for k in after if after[k] != before.get(k))
    assert rewritten == [os.path.join('jails', name) for name in ('.counts', '.index', 'by-name/renamed', 'r-7')]


def test_where_reads_only_the_matching_records(tmp_path):
    state = fresh_state(tmp_path)
    for number in range(20):
        state['jails'][str(number)] = {'jid': number, 'name': 'j%d' % number}
    state.save()
    state = store.State(str(tmp_path))
    jails = state['jails']
    assert [key for key, record in jails.where('name', 'j13')] == ['13']
    assert list(jails._values) == ['13']
    # A change not yet saved is seen by the next search.
    jails['13']['name'] = 'other'
    assert jails.where('name', 'j13') == [] and store.where(jails, 'name', 'other')[0][0] == '13'
    assert store.where({'a': {'name': 'x'}}, 'name', 'x') == [('a', {'name': 'x'})]


def test_removal_and_a_fresh_plain_dict_replace_the_records(tmp_path):
    state = fresh_state(tmp_path)
    state['jails']['1'] = {'jid': 1, 'name': 'a'}
    state['jails']['2'] = {'jid': 2, 'name': 'b'}
    state.save()
    state = store.State(str(tmp_path))
    del state['jails']['1']
    state.save()
    assert list(store.State(str(tmp_path))['jails']) == ['2']
    # What a reboot does: the whole state replaced by plain dicts; no record of the old survives.
    state = store.State(str(tmp_path))
    state.clear()
    state.update({'sysctl': {}, 'jails': {}})
    state.save()
    again = store.State(str(tmp_path))
    assert sorted(again) == ['jails', 'sysctl'] and dict(again['jails']) == {}
    assert not os.path.exists(tmp_path / 'net.json')
    assert sorted(os.listdir(tmp_path / 'net.ifaces')) == ['.counts', '.index', 'by-kind', 'by-pair', 'by-vnet']
    assert os.listdir(tmp_path / 'net.ifaces' / 'by-kind') == []
    assert sorted(os.listdir(tmp_path / 'jails')) == ['.counts', '.index', 'by-name']


def test_reload_forgets_what_was_read(tmp_path):
    state = fresh_state(tmp_path)
    assert state['sysctl']['kern.hostname'] == 'h'
    other = store.State(str(tmp_path))
    other['sysctl']['kern.hostname'] = 'changed'
    other.save()
    assert state['sysctl']['kern.hostname'] == 'h'
    state.reload()
    assert state['sysctl']['kern.hostname'] == 'changed'


def test_the_index_is_a_log_appended_to_and_compacted(tmp_path):
    state = fresh_state(tmp_path)
    for number in range(100):
        state['jails'][str(number)] = {'jid': number, 'name': 'j%d' % number}
    state.save()
    index = tmp_path / 'jails' / '.index'
    size = os.path.getsize(index)
    state = store.State(str(tmp_path))
    state['jails']['5']['name'] = 'renamed'     # an indexed field: one entry appended
    del state['jails']['7']                     # a removal: one entry appended
    state['jails']['7'] = {'jid': 7, 'name': 'back'}    # re-added after it: moves to the end
    state.save()
    grown = index.read_text()
    assert len(grown.splitlines()) == 103 and grown.startswith(index.read_text()[:size])
    jails = store.State(str(tmp_path))['jails']
    assert list(jails)[5] == '5' and list(jails)[-1] == '7' and len(jails) == 100
    assert [key for key, unused in jails.where('name', 'renamed')] == ['5'] and jails.where('name', 'j7') == []
    # Many changes later the log is rewritten with the live entries only.
    for round_number in range(3):
        state = store.State(str(tmp_path))
        for number in range(100):
            state['jails'][str(number)]['name'] = 'r%d-%d' % (round_number, number)
        state.save()
    assert len(index.read_text().splitlines()) <= 2 * 100 + 64
    assert store.State(str(tmp_path))['jails'].indexed('99', 'name') == 'r2-99'


def test_a_record_by_its_key_or_by_a_looked_up_value_reads_no_index(tmp_path):
    state = fresh_state(tmp_path)
    for number in range(30):
        state['jails'][str(number)] = {'jid': number, 'name': 'j%d' % number}
    state.save()
    jails = store.State(str(tmp_path))['jails']
    assert jails['12']['name'] == 'j12' and '29' in jails and '30' not in jails
    assert [key for key, unused in jails.where('name', 'j7')] == ['7']
    assert jails._index is None and sorted(jails._values) == ['12', '7']
    # Renamed, removed and added by one command: the next one finds each by its new value only.
    state = store.State(str(tmp_path))
    state['jails']['7']['name'] = 'seven'
    del state['jails']['8']
    state['jails']['30'] = {'jid': 30, 'name': 'j8'}
    state.save()
    jails = store.State(str(tmp_path))['jails']
    assert [k for k, unused in jails.where('name', 'seven')] == ['7'] and jails.where('name', 'j7') == []
    assert [k for k, unused in jails.where('name', 'j8')] == ['30'] and '8' not in jails
    assert jails._index is None
    assert len(jails) == 30 and list(jails)[-1] == '30'


def test_lookup_files_are_made_for_a_state_saved_without_them(tmp_path):
    state = fresh_state(tmp_path)
    for number in range(5):
        state['jails'][str(number)] = {'jid': number, 'name': 'j%d' % number}
    state.save()
    for name in os.listdir(tmp_path / 'jails' / 'by-name'):
        os.unlink(tmp_path / 'jails' / 'by-name' / name)
    os.rmdir(tmp_path / 'jails' / 'by-name')
    jails = store.State(str(tmp_path))['jails']
    assert [k for k, unused in jails.where('name', 'j3')] == ['3']
    assert sorted(os.listdir(tmp_path / 'jails' / 'by-name')) == ['j%d' % n for n in range(5)]
