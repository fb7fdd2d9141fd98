"""Run inside a sandbox host: what the host holds, as FreeBSD's commands report it, as JSON.

The crash sweep compares this between a host converged without interruption and one whose
converge was cut, so it holds what must be equal (jails and their parameters, interfaces and
bridge members, mounts, memory disks, datasets, rctl rules, loaded modules) and leaves out what
legitimately differs between two boots (jail ids, cpuset ids, boot time).
"""

import json
import subprocess
import sys

VOLATILE_JAIL_PARAMETERS = ('jid', 'cpuset.id', 'dying')


def run(*argv):
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                            check=False)
    return result.returncode, result.stdout


def lines(*argv):
    status, text = run(*argv)
    return sorted(text.splitlines()) if status == 0 else ['exit %d' % status]


def jails():
    status, text = run('jls', '-n', '--libxo', 'json', 'all')
    found = {}
    for jail in json.loads(text)['jail-information']['jail'] if status == 0 else []:
        found[jail['name']] = dict((k, v) for k, v in jail.items() if k not in VOLATILE_JAIL_PARAMETERS)
        status, names = run('ifconfig', '-j', jail['name'], '-l')
        found[jail['name']]['interfaces'] = sorted(names.split())
    return found


def bridge_members():
    """{bridge: [members]} from one ``ifconfig -a`` (a member line follows its bridge's header)."""
    members = {}
    status, text = run('ifconfig', '-a')
    current = None
    for line in text.splitlines():
        if line and not line[0].isspace():
            current = line.split(':', 1)[0]
        elif line.strip().startswith('member:'):
            members.setdefault(current, []).append(line.split()[1])
    return dict((name, sorted(listed)) for name, listed in members.items())


def main():
    status, interfaces = run('ifconfig', '-l')
    state = {
        'jails': jails(),
        'interfaces': sorted(interfaces.split()),
        'bridge_members': bridge_members(),
        'mounts': lines('mount', '-p'),
        'md': lines('mdconfig', '-l'),
        'datasets': lines('zfs', 'list', '-H', '-t', 'all', '-o', 'name,origin,mountpoint,quota'),
        'rctl': lines('rctl'),
        'modules': sorted(line.split()[-1] for line in lines('kldstat') if not line.lstrip().startswith('Id')),
    }
    json.dump(state, sys.stdout, indent=1, sort_keys=True)


if __name__ == '__main__':
    main()
