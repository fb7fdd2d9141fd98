"""sysctl(8), uname(1), freebsd-version(1), and the sandbox CLI itself."""

import json
import os
import subprocess

from conftest import SANDBOX, make_instance


def test_sysctl_read_formats(host):
    assert host.run('sysctl', 'kern.ostype') == (0, 'kern.ostype: FreeBSD\n', '')
    assert host.run('sysctl', '-n', 'kern.ostype') == (0, 'FreeBSD\n', '')
    assert host.run('sysctl', '-e', 'kern.ostype') == (0, 'kern.ostype=FreeBSD\n', '')
    assert host.run('sysctl', '-n', 'kern.module_path') == (0, '/boot/kernel;/boot/modules\n', '')


def test_sysctl_unknown_and_read_only(host):
    assert host.run('sysctl', 'no.such') == (1, '', "sysctl: unknown oid 'no.such'\n")
    assert host.run('sysctl', '-i', 'no.such') == (0, '', '')
    assert host.run('sysctl', '-q', 'no.such') == (1, '', '')
    assert host.run('sysctl', 'kern.ostype=Linux') == (1, '', "sysctl: oid 'kern.ostype' is read only\n")


def test_sysctl_set_writable(fresh):
    assert fresh.run('sysctl', 'kern.securelevel=1') == (0, 'kern.securelevel: -1 -> 1\n', '')
    assert fresh.run('sysctl', '-n', 'kern.securelevel') == (0, '1\n', '')


def test_uname(host):
    assert host.run('uname') == (0, 'FreeBSD\n', '')
    assert host.run('uname', '-s', '-r', '-m') == (0, 'FreeBSD 14.3-RELEASE amd64\n', '')
    assert host.run('uname', '-K')[1].strip().isdigit()
    code, out, err = host.run('uname', '-z')
    assert code == 1 and out == '' and err == 'uname: illegal option -- z\nusage: uname [-abiKmnoprsUv]\n'


def test_freebsd_version(host):
    assert host.run('freebsd-version') == (0, '14.3-RELEASE\n', '')
    assert host.run('freebsd-version', '-k', '-u') == (0, '14.3-RELEASE\n14.3-RELEASE\n', '')


def test_every_command_is_logged_with_argv_and_status(fresh):
    fresh.run('kldload', 'vmm')
    fresh.run('kldload', 'vmm')
    fresh.run('sysrc', '-n', 'hostname')
    assert fresh.log() == '0\tkldload vmm\n1\tkldload vmm\n0\tsysrc -n hostname\n'
    records = [json.loads(line) for line in open(os.path.join(fresh.root, 'var/log/fbsdsim/commands.log'))]
    assert [r['argv'] for r in records][0] == ['kldload', 'vmm']


def test_run_passes_status_and_streams_through(host):
    assert host.sh('echo out; echo err >&2; exit 7') == (7, 'out\n', 'err\n')


def test_instances_are_isolated_and_destroy_removes_everything():
    instance = make_instance('iso')
    base = os.path.dirname(instance.root)
    assert instance.sh('echo secret > /etc/only-here; sysrc hostname=inside')[0] == 0
    assert not os.path.exists('/etc/only-here')
    other = make_instance('iso2')
    try:
        assert other.run('sysrc', '-n', 'hostname') == (0, 'sandbox\n', '')
        assert other.run('cat', '/etc/only-here')[0] != 0
    finally:
        subprocess.run([SANDBOX, 'destroy', other.name], check=True)
    subprocess.run([SANDBOX, 'destroy', instance.name], check=True)
    assert not os.path.exists(base)
    with open('/proc/self/mountinfo') as handle:
        assert base not in handle.read()


def test_cli_rejects_bad_names_and_missing_instances():
    result = subprocess.run([SANDBOX, 'create', '../escape'], stderr=subprocess.PIPE, universal_newlines=True,
                            check=False)
    assert result.returncode == 1 and 'invalid instance name' in result.stderr
    result = subprocess.run([SANDBOX, 'run', 'nosuch-instance', '--', 'true'], stderr=subprocess.PIPE, check=False,
                            universal_newlines=True)
    assert result.returncode == 1 and 'does not exist' in result.stderr


def test_service_devfs_loads_rulesets_and_unknown_scripts_fail(fresh):
    fresh.sh('printf "[devfsrules_bsdm_vnet=10]\\nadd include \\$devfsrules_jail_vnet\\n" > /etc/devfs.rules')
    assert fresh.run('service', 'devfs', 'restart') == (0, '', '')
    with open(os.path.join(fresh.root, 'var/db/fbsdsim/state.d/devfs_rulesets.json')) as handle:
        assert json.load(handle)['devfsrules_bsdm_vnet'] == 10
    fresh.sh('echo "[broken" >> /etc/devfs.rules')
    assert fresh.run('service', 'devfs', 'restart')[0] == 1
    rc, out, err = fresh.run('service', 'nosuch', 'start')
    assert rc == 1 and 'nosuch does not exist in /etc/rc.d' in err


def test_concurrent_destroys_and_a_second_create_are_safe():
    """Two people on one machine: destroys racing on one instance both succeed and leave nothing;
    creating a name that exists is refused without touching the existing instance."""
    instance = make_instance('race')
    base = os.path.dirname(instance.root)
    instance.write('/etc/mine', 'kept\n')
    again = subprocess.run([SANDBOX, 'create', instance.name], stderr=subprocess.PIPE, universal_newlines=True,
                           check=False)
    assert again.returncode == 1 and 'already exists' in again.stderr
    assert instance.read('/etc/mine') == 'kept\n'
    racers = [subprocess.Popen([SANDBOX, 'destroy', instance.name], stderr=subprocess.PIPE,
                               universal_newlines=True) for unused in range(3)]
    results = [(p.wait(), p.stderr.read()) for p in racers]
    assert all(rc == 0 and 'Traceback' not in err for rc, err in results), results
    assert not os.path.exists(base)
    listed = subprocess.check_output([SANDBOX, 'list'], universal_newlines=True).split()
    assert instance.name not in listed and not any(name.startswith('.') for name in listed)
