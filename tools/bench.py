"""Measure bsd.multiplicity.topology against a loop of bsd.multiplicity.jail on sandbox hosts, and topology's bhyve VMs.

For each N: a fresh sandbox host is prepared (VNET modules, bridge0, a ZFS template), then N VNET
jails cloned from the template are converged (first run), converged again with nothing to change,
and converged in check mode.  Wall seconds come from the clock around ansible-playbook; host
commands and their cost from the sandbox's command log.  The loop runs up to --loop-max jails;
above that its figures are extrapolated linearly from the largest N measured, and marked so.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SANDBOX = os.path.join(ROOT, 'sandbox', 'sandbox')
PLAYS = os.path.join(ROOT, 'tools', 'bench.d')


# What every bench jail shares (topology's `defaults`; ${name} is each jail's name, as in jail.conf).
DEFAULTS = dict(path='/usr/local/jails/${name}', hostname='${name}.example.org',
                root=dict(type='zfs_clone', template='zroot/jails/templates/14.3-RELEASE@base',
                          dataset='zroot/jails/${name}'),
                vnet=dict(bridge='bridge0', gateway='10.255.255.254'), devfs_ruleset=10, autostart=True)


def declared(count):
    """N jails as topology declares them: a name and an address each, the rest from DEFAULTS."""
    return [dict(name='j%05d' % index, vnet=dict(addresses=['10.%d.%d.%d/8' % (
        index // 62500, index // 250 % 250, index % 250 + 2)])) for index in range(count)]


# What every bench VM shares: UEFI (its firmware starts with nothing installed on the disk, where bhyveload
# would need a FreeBSD on each), a tap on bridge0, the serial console.
VM_DEFAULTS = dict(cpus=1, memory='256M', boot=dict(loader='uefi'), nics=[dict(bridge='bridge0')])


def declared_vms(count, state):
    """N VMs as topology declares them: a name and a sparse disk each, the rest from VM_DEFAULTS."""
    return [dict(name='vm%05d' % index, state=state, disks=[dict(path='/vm/vm%05d.img' % index, size='64M')])
            for index in range(count)]


def jails(count):
    """The same jails with every option spelled out, as the per-jail loop passes them to the jail module:
    the demo's options, a ZFS clone of the template, VNET on bridge0, an address, autostart. Merged by
    the module's own code, so both sides converge exactly the same jails."""
    sys.path.insert(0, os.path.join(ROOT, '.cache', 'stage'))      # the collection tools/bench staged
    from ansible_collections.bsd.multiplicity.plugins.module_utils._core.topology import with_defaults
    return [with_defaults(DEFAULTS, jail, jail['name']) for jail in declared(count)]


def top_level(records):
    """The commands the collection ran: those not run inside another command's time span (jail(8)
    runs a VNET jail's exec hooks, ifconfig among them, while it creates the jail)."""
    found, open_until = [], None
    for record in sorted(records, key=lambda r: r['time']):
        if open_until is None or record['time'] >= open_until:
            found.append(record)
            open_until = record['time'] + record.get('duration', 0)
    return found


class Host(object):
    def __init__(self, name, reuse=False):
        self.name = name
        if not reuse:
            subprocess.run([SANDBOX, 'create', name], check=True, stdout=subprocess.DEVNULL)
        self.root = subprocess.check_output([SANDBOX, 'path', name], universal_newlines=True).strip()
        self.inventory = tempfile.NamedTemporaryFile('w', suffix='.yml', delete=False)
        self.inventory.write('bench:\n  hosts:\n    %s:\n      ansible_connection: community.general.chroot\n'
                             '      ansible_host: %s\n      ansible_python_interpreter: /usr/bin/python3\n'
                             % (name, self.root))
        self.inventory.close()

    def log(self):
        with open(os.path.join(self.root, 'var/log/fbsdsim/commands.log')) as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def play(self, playbook, extra, check=False):
        """(wall seconds, commands run, seconds spent inside simulated commands)."""
        before = len(self.log())
        with tempfile.NamedTemporaryFile('w', suffix='.json') as variables:
            json.dump(extra, variables)
            variables.flush()
            argv = ['ansible-playbook', '-i', self.inventory.name, os.path.join(PLAYS, playbook),
                    '-e', '@' + variables.name] + (['--check'] if check else [])
            started = time.time()
            result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                                    check=False)
            wall = time.time() - started
        if result.returncode != 0:
            sys.stderr.write(result.stdout[-4000:])
            raise SystemExit('bench: %s failed on %s' % (playbook, self.name))
        records = self.log()[before:]
        outer = top_level(records)
        # Nested commands (hooks) ran inside their parent's duration: only the outer ones are summed.
        return wall, len(outer), len(records), sum(r.get('duration', 0) for r in outer)

    def startup(self):
        """Seconds a simulated command costs beyond its logged duration (Python start, imports)."""
        script = 'i=0; while [ $i -lt 20 ]; do sysctl -n kern.ostype >/dev/null; i=$((i+1)); done'
        before = len(self.log())
        started = time.time()
        subprocess.run([SANDBOX, 'run', self.name, '--', '/bin/sh', '-c', script], check=True)
        wall = time.time() - started
        records = self.log()[before:]
        return max(0.0, (wall - sum(r['duration'] for r in records)) / max(1, len(records)))

    def destroy(self):
        subprocess.run([SANDBOX, 'destroy', self.name], check=True)
        os.unlink(self.inventory.name)


def measure(mode, count, keep=False, reuse=False):
    """Figures of the three phases; with ``reuse``, of 'again' and 'check' on a host kept earlier."""
    host = Host('bench-%s-%d' % (mode, count), reuse=reuse)
    try:
        vms = mode.startswith('vms_')
        if not reuse:
            host.play('vms-prepare.yml' if vms else 'prepare.yml', {})
        startup = host.startup()
        if vms:
            extra = {'bench_vms': declared_vms(count, mode[len('vms_'):]), 'bench_vm_defaults': VM_DEFAULTS}
        elif mode == 'topology':
            extra = {'bench_jails': declared(count), 'bench_defaults': DEFAULTS}
        else:
            extra = {'bench_jails': jails(count)}
        playbook = 'vms.yml' if vms else mode + '.yml'
        figures = {}
        phases = (('first', False), ('again', False), ('check', True))
        for phase, check in phases[1:] if reuse else phases:
            wall, commands, everything, inside = host.play(playbook, extra, check=check)
            figures[phase] = dict(wall=wall, commands=commands, everything=everything,
                                  sandbox=inside + commands * startup)
            print('bench: %-8s N=%-6d %-6s %8.1f s %7d commands, %d with hooks (sandbox %.1f s)'
                  % (mode, count, phase, wall, commands, everything, figures[phase]['sandbox']), flush=True)
        return figures
    finally:
        if keep or reuse:
            print('bench: kept sandbox host %s' % host.name, flush=True)
        else:
            host.destroy()


def cell(figure, phase, extrapolated=False):
    mark = '*' if extrapolated else ''
    entry = figure[phase]
    share = 100.0 * min(entry['sandbox'], entry['wall']) / max(entry['wall'], 1e-9)
    return '%.1f%s s / %d%s (%d%s) / %.0f%%' % (
        entry['wall'], mark, entry['commands'], mark, entry['everything'], mark, share)


def scaled(figure, factor):
    return dict((phase, dict((k, v * factor) for k, v in entry.items())) for phase, entry in figure.items())


LOG_LINE = re.compile(r'^bench: (\w+)\s+N=(\d+)\s+(\w+)\s+([\d.]+) s\s+(\d+) commands, (\d+) with hooks '
                      r'\(sandbox ([\d.]+) s\)')


def from_log(path):
    """{(mode, N): figures} from the lines a run printed (to write the table again without measuring)."""
    found = {}
    with open(path) as handle:
        for line in handle:
            match = LOG_LINE.match(line)
            if match:
                mode, count, phase = match.group(1), int(match.group(2)), match.group(3)
                found.setdefault((mode, count), {})[phase] = dict(
                    wall=float(match.group(4)), commands=int(match.group(5)), everything=int(match.group(6)),
                    sandbox=float(match.group(7)))
    return found


def targets(rows):
    """The issue's targets, each with the figure that meets it or not."""
    found = []
    for count, topology, loop, extrapolated in rows:
        if count == 1000:
            again = topology['again']
            ratio = loop['again']['wall'] / again['wall'] if loop else None
            found.append('no-change re-converge of 1,000 jails in one call with at most 5 read-only commands, '
                         'at least 100x the loop: %d commands, %.1f s, %s -> %s' % (
                             again['commands'], again['wall'], ('%.0fx' % ratio) if ratio else 'loop not run',
                             'met' if again['commands'] <= 5 and ratio and ratio >= 100 else 'NOT met'))
        if count == 10000:
            for phase in ('again', 'check'):
                wall = topology[phase]['wall']
                found.append('10,000 jails, %s: under 30 s: %.1f s -> %s' % (
                    'no-change re-converge' if phase == 'again' else 'check mode', wall,
                    'met' if wall < 30 else 'NOT met'))
        # One command of each new jail's own (its clone); the reads, the one jail(8) run that starts
        # them all and the merged rc.conf edit are the constant.
        first = topology['first']
        constant = first['commands'] - count
        verdict = 'met' if constant <= FIRST_CONSTANT else 'NOT met'
        found.append('N=%d first converge, at most 1 command per new jail beyond a constant of %d: %d commands '
                     '(N + %d) -> %s' % (count, FIRST_CONSTANT, first['commands'], constant, verdict))
    return found


# The most commands a first converge may run beyond one per new jail.
FIRST_CONSTANT = 10


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--sizes', default='10,100,1000,10000', help='numbers of jails (comma-separated)')
    parser.add_argument('--loop-max', type=int, default=100, help='largest N the per-jail loop is run for')
    parser.add_argument('--extrapolate-max', type=int, default=1000,
                        help='largest N the loop is extrapolated to (above: topology alone)')
    parser.add_argument('--vm-sizes', default='10,100', help='numbers of bhyve VMs (comma-separated; empty: none)')
    parser.add_argument('--vm-started-max', type=int, default=10,
                        help='largest N of VMs also measured running (each a supervisor and a bhyve process)')
    parser.add_argument('--from-log', help='write the table from the lines an earlier run printed')
    parser.add_argument('--keep', action='store_true', help='keep the sandbox hosts (sandbox destroy NAME)')
    parser.add_argument('--reuse', action='store_true',
                        help="measure again only 'again' and 'check' on hosts kept by --keep; print the lines "
                             'without writing the table (merge them into the first log, then --from-log)')
    parser.add_argument('--out', default=os.path.join(ROOT, 'docs', 'benchmarks.md'))
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(',') if n]
    logged = from_log(args.from_log) if args.from_log else None

    if args.reuse:
        for count in sizes:
            measure('topology', count, reuse=True)
        return

    def figures(mode, count):
        return logged[(mode, count)] if logged is not None else measure(mode, count, keep=args.keep)
    rows = []
    loop_measured = {}
    for count in sizes:
        topology = figures('topology', count)
        if count <= args.loop_max:
            loop = loop_measured[count] = figures('loop', count)
            extrapolated = False
        elif count > args.extrapolate_max:
            loop, extrapolated = None, False
        else:
            base = max(loop_measured) if loop_measured else None
            loop = scaled(loop_measured[base], count / float(base)) if base else None
            extrapolated = True
        rows.append((count, topology, loop, extrapolated))
    lines = ['# Benchmarks: one topology call against a loop of jail calls', '',
             'Generated by `make bench` (tools/bench.py) on a sandbox host; %d CPU cores; %s.'
             % (os.cpu_count(), time.strftime('%Y-%m-%d')), '',
             'Each cell: wall seconds / host commands the collection ran (all commands in the sandbox log, with',
             "the jails' exec hooks that jail(8) runs) / share of the wall time spent inside simulated commands,",
             'their Python start-up included. `*`: extrapolated linearly from the largest N the loop ran for;',
             'above N=1000 the loop is not extrapolated. Jails: ZFS clones of one template, VNET on bridge0 with',
             'an address and a gateway, devfs ruleset, autostart. topology declares them with `defaults` (each jail',
             'a name and an address, the shared options once) and returns facts for changed guests only (its',
             'default); the loop passes every option to each jail call. "again": the same declaration converged',
             'a second time (nothing to change). The simulator keeps its state one file per jail, dataset and',
             'interface, so a simulated command reads only what it touches (and the indexes it searches).', '',
             '| N | phase | topology | per-jail loop | loop / topology |', '|---|---|---|---|---|']
    for count, topology, loop, extrapolated in rows:
        for phase in ('first', 'again', 'check'):
            ratio = (loop[phase]['wall'] / topology[phase]['wall']) if loop else None
            lines.append('| %d | %s | %s | %s | %s |' % (
                count, phase, cell(topology, phase), cell(loop, phase, extrapolated) if loop else 'not run',
                ('%.1fx' % ratio) if ratio else '-'))
    vm_sizes = [int(n) for n in args.vm_sizes.split(',') if n]
    if vm_sizes:
        lines += ['', '## bhyve VMs in one topology call', '',
                  'The same cells for N bhyve VMs (UEFI, 256M, one sparse disk, a tap on bridge0) declared',
                  "through topology's `bhyve_vms` with `defaults`: `present` defines them (their files, disks and",
                  'taps), `started` also runs each under its supervisor (up to N=%d).' % args.vm_started_max, '',
                  '| N | state | phase | topology |', '|---|---|---|---|']
        for count in vm_sizes:
            for state in ('present', 'started'):
                if state == 'started' and count > args.vm_started_max:
                    continue
                figure = figures('vms_' + state, count)
                for phase in ('first', 'again', 'check'):
                    lines.append('| %d | %s | %s | %s |' % (count, state, phase, cell(figure, phase)))
    lines += ['', '## Targets', ''] + ['- ' + line for line in targets(rows)]
    with open(args.out, 'w') as handle:
        handle.write('\n'.join(lines) + '\n')
    print('bench: wrote %s' % args.out)


if __name__ == '__main__':
    main()
