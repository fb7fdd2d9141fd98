# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""topology with Xen domUs: one xl list for every domain, files written in dependency order."""
from __future__ import annotations

import json
import os

from ansible_collections.bsd.multiplicity.plugins.modules import topology
from ansible_collections.bsd.multiplicity.tests.unit.plugins.modules.module_harness import run_module

HEADER = 'Name                                        ID   Mem VCPUs\tState\tTime(s)\n'
DOM0 = 'Domain-0                                     0  1200     2     r-----      19.3\n'


def row(name, domid, letters='-b----'):
    return '%-40s %5d %5d %5d     %s      4.6\n' % (name, domid, 160, 1, letters)


def xl_list(*rows):
    return (['/sbin/xl', 'list'], 0, HEADER + DOM0 + ''.join(rows), '')


def domu(tmp_path, name, **extra):
    return dict(dict(name=name, type='pv', memory=160, vcpus=1, kernel='/guest/vmlinuz', config_dir=str(tmp_path),
                     auto_dir=str(tmp_path / 'auto'), state='present'), **extra)


def test_domus_in_one_call_read_once_and_report_the_undeclared(tmp_path, monkeypatch):
    (tmp_path / 'old.cfg').write_text('name = "old"\nmemory = 64\n')
    declared = dict(xen_domus=[domu(tmp_path, 'web', depend=['db']), domu(tmp_path, 'db')])
    kind, result, ran = run_module(topology.main, declared, [xl_list()], monkeypatch)
    assert kind == 'exit', result
    assert result['order'] == ['db', 'web'] and result['plan']['create'] == ['db', 'web']
    assert result['undeclared'] == ['old'] and ran == [['/sbin/xl', 'list']]
    assert 'memory = 160' in (tmp_path / 'web.cfg').read_text()
    long = json.dumps([dict(domid=5, config=dict(c_info=dict(type='pv', name='db'), b_info=dict(
        max_vcpus=1, avail_vcpus=[0], max_memkb=163840, target_memkb=163840, kernel='/guest/vmlinuz')))])
    kind, result, ran = run_module(topology.main, dict(declared, facts='all'), [
        xl_list(row('db', 5)), (['/sbin/xl', 'list', '-l'], 0, long, '')], monkeypatch)
    assert kind == 'exit' and not result['changed'], result
    assert result['guests']['db']['domain']['domid'] == 5 and ran == [['/sbin/xl', 'list'], ['/sbin/xl', 'list', '-l']]
    kind, result, ran = run_module(topology.main, declared, [
        xl_list(row('db', 5)), (['/sbin/xl', 'list', '-l'], 0, long, '')], monkeypatch)
    assert 'domain' not in result['guests']['db'] and result['guests']['db']['after'] == 'running', result
    assert os.path.exists(str(tmp_path / 'old.cfg'))


def test_a_guests_options_are_checked_with_its_modules_rules_between_them(tmp_path, monkeypatch):
    declared = dict(xen_domus=[domu(tmp_path, 'web', bootloader='pygrub')])     # kernel and bootloader
    kind, result, ran = run_module(topology.main, declared, [], monkeypatch)
    assert kind == 'fail' and 'xen_domus[web]' in result['msg'] and 'mutually exclusive' in result['msg']
    assert ran == []


def test_a_vnc_password_is_masked_everywhere_topology_returns_and_its_file_is_private(tmp_path, monkeypatch):
    (tmp_path / 'web.cfg').write_text('name = "web"\nmemory = 64\n')
    os.chmod(str(tmp_path / 'web.cfg'), 0o644)
    secret = 'sEcr3t-vnc'
    declared = dict(xen_domus=[domu(tmp_path, 'web', type='hvm', kernel=None, vnc=dict(password=secret))])
    kind, result, ran = run_module(topology.main, declared, [xl_list()], monkeypatch, diff=True)
    assert kind == 'exit', result
    assert secret in (tmp_path / 'web.cfg').read_text()
    assert os.stat(str(tmp_path / 'web.cfg')).st_mode & 0o777 == 0o600       # private, though it was 0644
    assert secret not in json.dumps(result) and 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER' in json.dumps(result)
    # A failing declaration masks it too.
    bad = dict(xen_domus=[domu(tmp_path, 'web', type='hvm', kernel=None, vnc=dict(password=secret)),
                          domu(tmp_path, 'web', type='hvm', kernel=None)])
    kind, result, ran = run_module(topology.main, bad, [], monkeypatch)
    assert kind == 'fail' and secret not in json.dumps(result)


def test_prune_removes_a_domain_from_the_custom_directory_and_file_it_was_found_in(tmp_path, monkeypatch):
    (tmp_path / 'auto').mkdir()
    (tmp_path / 'legacy-guest.cfg').write_text('name = "old"\nmemory = 64\n')      # not named after it
    os.symlink(str(tmp_path / 'legacy-guest.cfg'), str(tmp_path / 'auto' / 'legacy-guest.cfg'))
    (tmp_path / 'db.cfg').write_text('name = "db"\ntype = "pv"\nmemory = 160\nvcpus = 1\nkernel = "/guest/vmlinuz"\n')
    declared = dict(xen_domus=[domu(tmp_path, 'db')], prune=True)
    kind, result, ran = run_module(topology.main, declared, [xl_list()], monkeypatch, check_mode=True)
    assert result['undeclared'] == ['old'], result
    assert str(tmp_path / 'legacy-guest.cfg') in json.dumps(result['guests']['old']['actions'])
    kind, result, ran = run_module(topology.main, declared, [xl_list()], monkeypatch)
    assert kind == 'exit' and result['plan']['remove'] == ['old'], result
    assert not (tmp_path / 'legacy-guest.cfg').exists() and not os.path.lexists(str(tmp_path / 'auto' / 'legacy-guest.cfg'))
    kind, result, ran = run_module(topology.main, declared, [xl_list()], monkeypatch)
    assert result['undeclared'] == [] and not result['changed'], result
