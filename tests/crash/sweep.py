"""Crash consistency: cut the demo's first converge after every command, run again, compare.

For each cut point k (1..N, N the commands of an uninterrupted first converge) and each mode:
  crash  the host loses power right after command k (sandbox fault --crash), is powered on
         (sandbox boot: loader and rc run), and the converge runs again;
  fail   command k fails (sandbox fault --fail); the converge runs again.
Every cut run must then end where the uninterrupted converge ended: the same jails with the same
parameters, interfaces, bridge members, mounts, memory disks, datasets, rctl rules and modules,
and the same files on disk (the instance's overlay upper directory, hashed); nothing lost (the
user's own dataset, files and rc.conf lines are still there); nothing leaked; and a further run
changes nothing. A run cut by `fail` must fail with the command's error in its message, never a
traceback.

    python tests/crash/sweep.py                    the demo topology call (make test, stage crash)
    python tests/crash/sweep.py --scope site       the whole playbooks/site.yml, roles included (make crash)
    python tests/crash/sweep.py --cuts 5,9 --modes crash --keep

Scope `topology` prepares the host once with the demo's roles and cuts the one topology call
(run as Ansible runs it: the module's AnsiballZ payload, kept from a real ansible-playbook run);
scope `site` cuts the whole playbook, run by ansible-playbook each time.
"""

import argparse
import concurrent.futures
import difflib
import glob
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SANDBOX = os.path.join(ROOT, 'sandbox', 'sandbox')
SNAPSHOT = os.path.join(ROOT, 'tests', 'crash', 'snapshot.py')
PATH = '/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin'
# Parts of the disk that are not the host's configuration or data: logs, the simulator's own
# state (compared through FreeBSD's commands instead), Ansible's and this sweep's temporary files,
# and the run-time files rc scripts write at boot (rc.d/jail's /var/run/jail_NAME.id; rc.d/cleanvar
# empties /var/run at every boot, and the host that crashed booted once more than the other).
NOT_COMPARED = ('var/log/', 'var/db/fbsdsim/', 'tmp/', 'root/.ansible/', 'var/cache/', 'var/tmp/', 'run/',
                'var/run/')
USER_FILES = {
    'root/notes.txt': 'the operator\'s notes: not the collection\'s to touch\n',
    'srv/userdata/keep.txt': 'user data on a dataset of its own\n',
}
USER_RC_LINE = 'sshd_enable="YES"'


class SweepError(Exception):
    pass


def sandbox(*argv, check=True):
    result = subprocess.run([SANDBOX] + list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, check=False)
    if check and result.returncode != 0:
        raise SweepError('sandbox %s: exit %d: %s' % (' '.join(argv), result.returncode, result.stderr.strip()))
    return result


def root_of(name):
    return sandbox('path', name).stdout.strip()


def upper_of(name):
    return os.path.join(os.path.dirname(root_of(name)), 'upper')


def in_host(name, *argv, stdin=None, timeout=900):
    return subprocess.run(['chroot', root_of(name), 'env', '-i', 'PATH=' + PATH, 'HOME=/root', 'LANG=C.UTF-8']
                          + list(argv), input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False, timeout=timeout)


def commands_run(name):
    with open(os.path.join(root_of(name), 'var/log/fbsdsim/commands.log')) as handle:
        return [json.loads(line) for line in handle]


def ansible_env(name, extra=None):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), BSDM_SANDBOX_INSTANCE=name,
               ANSIBLE_COLLECTIONS_PATH='%s/.cache/stage:%s/.cache/collections' % (ROOT, ROOT),
               PATH=os.path.join(ROOT, '.venv', 'bin') + os.pathsep + os.environ.get('PATH', ''))
    env.update(extra or {})
    return env


def playbook(name, path, extra_vars=None, env=None):
    argv = ['ansible-playbook', '-i', os.path.join(ROOT, 'inventories', 'sandbox'), os.path.join(ROOT, path)]
    if extra_vars is not None:
        argv += ['-e', json.dumps(extra_vars)]
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                            env=ansible_env(name, env), cwd=ROOT, check=False, timeout=1800)
    recap = re.search(r'^sandbox\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', result.stdout, re.M)
    ok = result.returncode == 0 and recap is not None and recap.group(2) == '0' and recap.group(3) == '0'
    return {'ok': ok, 'changed': int(recap.group(1)) if recap else None, 'rc': result.returncode,
            'output': result.stdout}


class Scope(object):
    """How the converge under test is run on a host: the topology payload or the whole playbook."""

    def __init__(self, kind, workdir):
        self.kind = kind
        self.payload = os.path.join(workdir, 'AnsiballZ_topology.py')

    def prepare(self, name):
        if self.kind == 'topology':
            # The demo's roles, and a topology call with no jails: the host the topology call starts from.
            result = playbook(name, 'playbooks/site.yml', {'multiplicity_jails': []})
            if not result['ok']:
                raise SweepError('preparing the host failed:\n' + result['output'][-3000:])

    def reference(self, name):
        """The uninterrupted first converge (which also yields the topology call's payload)."""
        if self.kind == 'site':
            return playbook(name, 'playbooks/site.yml')
        result = playbook(name, 'playbooks/jails.yml', env={'ANSIBLE_KEEP_REMOTE_FILES': '1'})
        kept = glob.glob(os.path.join(root_of(name), 'root/.ansible/tmp/ansible-tmp-*/AnsiballZ_topology.py'))
        if len(kept) != 1:
            raise SweepError('expected one kept AnsiballZ_topology.py, found %d' % len(kept))
        shutil.copy(kept[0], self.payload)
        return result

    def converge(self, name):
        if self.kind == 'site':
            return playbook(name, 'playbooks/site.yml')
        target = os.path.join(root_of(name), 'tmp', 'crash')
        os.makedirs(target, exist_ok=True)
        shutil.copy(self.payload, target)
        run = in_host(name, '/usr/bin/python3', '/tmp/crash/AnsiballZ_topology.py')
        try:
            result = json.loads(run.stdout.strip().splitlines()[-1]) if run.stdout.strip() else {}
        except ValueError:
            result = {}
        ok = run.returncode == 0 and bool(result) and not result.get('failed')
        return {'ok': ok, 'changed': result.get('changed'), 'rc': run.returncode,
                'output': result.get('msg') or (run.stdout[-2000:] + run.stderr[-2000:])}


def add_user_data(name):
    """What the operator keeps on the host beside the collection's guests; a cut run must lose none of it."""
    for argv in (['zfs', 'create', '-o', 'mountpoint=/srv/userdata', 'zroot/userdata'],
                 ['sysrc', USER_RC_LINE.replace('"', '')]):
        result = in_host(name, *argv)
        if result.returncode != 0:
            raise SweepError('%s: %s' % (' '.join(argv), result.stderr.strip()))
    root = root_of(name)
    for path, text in USER_FILES.items():
        os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
        with open(os.path.join(root, path), 'w') as handle:
            handle.write(text)


def user_data_lost(name):
    lost = []
    root = root_of(name)
    for path, text in USER_FILES.items():
        try:
            with open(os.path.join(root, path)) as handle:
                if handle.read() != text:
                    lost.append('/%s changed' % path)
        except OSError:
            lost.append('/%s is gone' % path)
    with open(os.path.join(root, 'etc/rc.conf')) as handle:
        if USER_RC_LINE not in handle.read().splitlines():
            lost.append('rc.conf lost %s' % USER_RC_LINE)
    if in_host(name, 'zfs', 'list', '-H', 'zroot/userdata').returncode != 0:
        lost.append('dataset zroot/userdata is gone')
    return lost


def host_state(name):
    with open(SNAPSHOT) as handle:
        result = in_host(name, '/usr/bin/python3', '-', stdin=handle.read())
    if result.returncode != 0:
        raise SweepError('snapshot of %s failed: %s' % (name, result.stderr.strip()))
    return {'kernel': json.loads(result.stdout), 'disk': disk_of(name)}


def disk_of(name):
    """Every file the host's runs wrote (the overlay's upper directory): type, mode and content hash."""
    upper = upper_of(name)
    found = {}
    for directory, subdirectories, files in os.walk(upper):
        for entry in subdirectories + files:
            path = os.path.join(directory, entry)
            relative = os.path.relpath(path, upper)
            if relative.startswith(NOT_COMPARED) or relative + '/' in NOT_COMPARED or '__pycache__' in relative:
                continue
            info = os.lstat(path)
            if stat.S_ISDIR(info.st_mode):
                found[relative] = 'dir %o' % stat.S_IMODE(info.st_mode)
            elif stat.S_ISLNK(info.st_mode):
                found[relative] = 'link -> ' + os.readlink(path)
            elif stat.S_ISCHR(info.st_mode) and info.st_rdev == 0:
                found[relative] = 'removed'      # an overlayfs whiteout
            elif stat.S_ISREG(info.st_mode):
                with open(path, 'rb') as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()[:16]
                found[relative] = 'file %o %s' % (stat.S_IMODE(info.st_mode), digest)
            else:
                found[relative] = 'special %o' % info.st_mode
    return found


def difference(expected, got):
    want = json.dumps(expected, indent=1, sort_keys=True).splitlines()
    have = json.dumps(got, indent=1, sort_keys=True).splitlines()
    return '\n'.join(list(difflib.unified_diff(want, have, 'uninterrupted', 'cut', lineterm='', n=1))[:60])


class Sweep(object):

    def __init__(self, args):
        self.args = args
        self.prefix = 'cs%d' % os.getpid()
        self.workdir = tempfile.mkdtemp(prefix='crash-sweep-')
        self.scope = Scope(args.scope, self.workdir)
        self.base = self.prefix + '-base'
        self.made = []

    def create(self, name, source=None):
        sandbox(*(['create', name] + (['--from', source] if source else [])))
        self.made.append(name)

    def destroy(self, name):
        if not self.args.keep:
            sandbox('destroy', name, check=False)

    def setup(self):
        self.create(self.base)
        self.scope.prepare(self.base)
        add_user_data(self.base)
        reference = self.prefix + '-ref'
        self.create(reference, self.base)
        start = len(commands_run(reference))
        first = self.scope.reference(reference)
        if not first['ok']:
            raise SweepError('the uninterrupted converge failed:\n' + first['output'][-3000:])
        self.commands = commands_run(reference)[start:]
        self.expected = host_state(reference)
        again = self.scope.converge(reference)
        if not again['ok'] or again['changed']:
            raise SweepError('the uninterrupted converge did not converge in one run (second run: %s)'
                             % again['output'][-2000:])
        self.destroy(reference)

    def cut(self, mode, k):
        """One cut point: the problems found (empty when the cut run recovered)."""
        name = '%s-%s%d' % (self.prefix, mode[0], k)
        command = ' '.join(self.commands[k - 1]['argv'])
        problems = []
        self.create(name, self.base)
        try:
            sandbox('fault', name, '--' + mode, str(k))
            first = self.scope.converge(name)
            if mode == 'crash':
                if not os.path.exists(os.path.join(root_of(name), 'var/db/fbsdsim/down')):
                    problems.append('the run was not cut (the host did not crash after command %d)' % k)
                else:
                    sandbox('boot', name)
            elif not first['ok']:
                if 'injected fault' not in first['output']:
                    problems.append('the failure does not carry the command\'s error:\n' + first['output'][-1500:])
                if 'Traceback' in first['output'] or 'MODULE FAILURE' in first['output']:
                    problems.append('a traceback reached the user:\n' + first['output'][-1500:])
            second = self.scope.converge(name)
            if not second['ok']:
                problems.append('the run after the cut failed:\n' + second['output'][-1500:])
            else:
                got = host_state(name)
                if got != self.expected:
                    problems.append('the host differs from an uninterrupted converge:\n'
                                    + difference(self.expected, got))
                problems += user_data_lost(name)
                third = self.scope.converge(name)
                if not third['ok'] or third['changed']:
                    problems.append('a further run changed something:\n' + third['output'][-1500:])
        except (SweepError, subprocess.TimeoutExpired) as exc:
            problems.append(str(exc))
        finally:
            self.destroy(name)
        return mode, k, command, problems

    def run(self):
        cuts = [int(k) for k in self.args.cuts.split(',')] if self.args.cuts else range(1, len(self.commands) + 1)
        modes = self.args.modes.split(',')
        print('crash sweep (%s): the uninterrupted first converge ran %d commands; cutting after %s of them, %s'
              % (self.args.scope, len(self.commands), 'each' if not self.args.cuts else self.args.cuts,
                 ' and '.join(modes)))
        sys.stdout.flush()
        results = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.args.jobs) as pool:
            futures = [pool.submit(self.cut, mode, k) for mode in modes for k in cuts]
            for future in concurrent.futures.as_completed(futures):
                mode, k, command, problems = future.result()
                results.append((mode, k, problems))
                print('%-5s after %3d  %-4s  %s' % (mode, k, 'ok' if not problems else 'FAIL', command[:90]))
                for problem in problems:
                    print('        ' + problem.replace('\n', '\n        '))
                sys.stdout.flush()
        for mode in modes:
            tried = [r for r in results if r[0] == mode]
            passed = [r for r in tried if not r[2]]
            summary = (self.args.scope, mode, len(tried), len(passed))
            print('crash sweep (%s): %s: %d cut points tried, %d passed' % summary)
        return all(not r[2] for r in results)

    def cleanup(self):
        shutil.rmtree(self.workdir, ignore_errors=True)
        if not self.args.keep:
            for name in self.made:
                sandbox('destroy', name, check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--scope', choices=('topology', 'site'), default='topology')
    parser.add_argument('--modes', default='crash,fail', help='comma-separated: crash, fail')
    parser.add_argument('--cuts', help='comma-separated command numbers (default: every one)')
    parser.add_argument('--jobs', type=int, default=os.cpu_count() or 1)
    parser.add_argument('--keep', action='store_true', help='keep the instances for a look')
    args = parser.parse_args()
    sweep = Sweep(args)
    try:
        sweep.setup()
        return 0 if sweep.run() else 1
    except SweepError as exc:
        print('crash sweep: %s' % exc)
        return 1
    finally:
        sweep.cleanup()


if __name__ == '__main__':
    sys.exit(main())
