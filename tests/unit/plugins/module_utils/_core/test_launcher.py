# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Supervised processes under daemon(8): argv, pidfiles, liveness."""
from __future__ import annotations

import fcntl

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParameterError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.launcher import Supervised


def test_the_program_runs_detached_with_both_pidfiles_and_its_output_kept(tmp_path):
    vm = Supervised('bhyve', 'db', ['/usr/sbin/bhyve', '-c', '2', '-m', '2G', 'db'], output='/var/log/vm-db.log',
                    restart_delay=2, run_dir=str(tmp_path))
    assert vm.start_argv() == [
        'daemon', '-c', '-t', 'bhyve db', '-p', str(tmp_path / 'bsd-multiplicity-bhyve.db.pid'),
        '-P', str(tmp_path / 'bsd-multiplicity-bhyve.db.daemon.pid'), '-r', '-R', '2', '-o', '/var/log/vm-db.log',
        '/usr/sbin/bhyve', '-c', '2', '-m', '2G', 'db']
    assert Supervised('bhyve', 'db', ['/bin/true']).start_argv()[-2:] == ['-f', '/bin/true']
    assert vm.stop_argv() == ['pkill', '-TERM', '-L', '-F', vm.supervisor_pidfile]


def test_alive_means_a_locked_pidfile_and_a_stale_one_is_not(tmp_path):
    vm = Supervised('bhyve', 'db', ['/usr/sbin/bhyve', 'db'], run_dir=str(tmp_path))
    assert not vm.alive()                                    # no pidfile
    pidfile = tmp_path / 'bsd-multiplicity-bhyve.db.daemon.pid'
    pidfile.write_text('4242\n')
    assert not vm.alive()                                    # left by a crashed run: not locked
    with open(str(pidfile)) as held:
        fcntl.flock(held, fcntl.LOCK_EX)                     # as pidfile(3) holds it while daemon(8) lives
        assert vm.alive()
    assert not vm.alive()
    (tmp_path / 'bsd-multiplicity-bhyve.db.pid').write_text('4243\n')
    assert vm.pid() == 4243


@pytest.mark.parametrize('kind, name, argv, extra, parameter', [
    ('bhyve', '../etc', ['/usr/sbin/bhyve'], {}, 'name'),
    ('bhyve', 'db', ['bhyve'], {}, 'argv'),
    ('bhyve', 'db', [], {}, 'argv'),
    ('bhyve', 'db', ['/usr/sbin/bhyve', 'a\x00b'], {}, 'argv'),
    ('bhyve', 'db', ['/usr/sbin/bhyve'], {'output': 'log'}, 'output'),
    ('bhyve', 'db', ['/usr/sbin/bhyve'], {'restart_delay': 0}, 'restart_delay'),
])
def test_bad_input_is_refused_naming_it(kind, name, argv, extra, parameter):
    with pytest.raises(ParameterError) as refused:
        Supervised(kind, name, argv, **extra)
    assert refused.value.parameter == parameter
