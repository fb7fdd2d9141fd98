"""debootstrap(8), installed by the ``debootstrap`` package (sysutils/debootstrap): a **real** Debian
userland, made without a network.

An instance has no network of its own.  Its debootstrap installs a userland that the test machine
made with mmdebstrap (``sandbox/sandbox userland SUITE [--variant V] [--include P,...]``, cached
once per suite, variant and package list) and that every instance sees read-only at
:data:`USERLANDS`: the files are Debian's own, as debootstrap would have fetched them.

What is kept from debootstrap: its command line (``[OPTION...] SUITE TARGET [MIRROR [SCRIPT]]``,
options as ``--opt=value`` or ``--opt value``), its ``I:``/``W:``/``E:`` messages, and what its
second stage needs on FreeBSD: it runs the userland's own programs in a chroot, so without the
Linux ABI (linux64.ko) it fails as ``in_target`` does, after the first stage unpacked the files
("W: Failure trying to run: chroot ...", its log in TARGET/debootstrap/debootstrap.log) [mem].  What
is not: downloading, signature checks, ``--foreign``/``--second-stage``, other architectures.
"""

import hashlib
import json
import os
import shutil
import subprocess

from fbsd.core import Command, locked_state
from fbsd.kld import find_module

USERLANDS = '/var/cache/fbsdsim/userlands'
VERSION = '1.0.128+nmu2'        # [mem] sysutils/debootstrap on FreeBSD 14
VARIANTS = ('debootstrap', 'minbase', 'buildd', 'fakechroot')
# Options that take a value, and flags, that are accepted; a few others are refused as not simulated.
VALUED = ('arch', 'include', 'exclude', 'variant', 'components', 'keyring', 'extractor', 'cache-dir')
FLAGS = ('no-check-gpg', 'check-gpg', 'force-check-gpg', 'merged-usr', 'no-merged-usr', 'verbose',
         'no-resolve-deps', 'keep-debootstrap-dir', 'no-check-certificate', 'log-extra-deps')
NOT_SIMULATED = ('foreign', 'second-stage', 'download-only', 'print-debs', 'make-tarball', 'unpack-tarball',
                 'second-stage-target', 'private-key', 'certificate')


def userland_name(suite, variant, include):
    """The cached userland's file name (both the test machine and the instance compute it)."""
    key = hashlib.sha256(json.dumps([suite, variant, sorted(include)]).encode()).hexdigest()[:12]
    return '%s-%s-%s.tar' % (suite, variant, key)


def _usage(cmd, message):
    cmd.err('I: usage: [OPTION]... <suite> <target> [<mirror> [<script>]]')
    cmd.err("I: Try `debootstrap --help' for more information.")
    cmd.err('E: %s' % message)
    return 1


def parse(cmd, args):
    """(options, operands) from debootstrap's command line; an int (its exit status) when it is refused."""
    options, operands, args = {}, [], list(args)
    while args:
        arg = args.pop(0)
        if not arg.startswith('--'):
            operands.append(arg)
            continue
        name, sep, value = arg[2:].partition('=')
        if name in VALUED:
            if not sep:
                if not args:
                    return _usage(cmd, 'option requires an argument %s' % arg)
                value = args.pop(0)
            options[name] = value
        elif name in FLAGS and not sep:
            options[name] = True
        elif name in NOT_SIMULATED:
            cmd.err('E: %s is not simulated in the sandbox' % arg)
            return 1
        elif name == 'version':
            cmd.out('debootstrap %s' % VERSION)
            return 0
        else:
            cmd.err('E: Unknown option: %s' % arg)
            return 1
    return options, operands


def main(prog, args):
    cmd = Command(prog, [])
    parsed = parse(cmd, args)
    if isinstance(parsed, int):
        return parsed
    options, operands = parsed
    if len(operands) < 2:
        return _usage(cmd, 'You must specify a suite and a target.')
    suite, target = operands[0], operands[1]
    variant = options.get('variant', 'debootstrap')
    if variant not in VARIANTS:
        cmd.err('E: Unknown variant: %s' % variant)
        return 1
    if options.get('arch', 'amd64') != 'amd64':
        cmd.err('E: only amd64 userlands are simulated (not %s)' % options['arch'])
        return 1
    include = [p for p in options.get('include', '').replace(' ', ',').split(',') if p]
    name = userland_name(suite, variant, include)
    archive = os.path.join(USERLANDS, name)
    if not os.path.isfile(archive):
        cmd.err('E: this sandbox has no network: its debootstrap installs the userlands the test machine made, and '
                'none is cached for %s (variant %s, include %s); make it there with: sandbox/sandbox userland %s '
                '--variant %s%s' % (suite, variant, ','.join(include) or 'nothing', suite, variant,
                                    ' --include ' + ','.join(include) if include else ''))
        return 1
    os.makedirs(target, exist_ok=True)
    cmd.out('I: Extracting the %s userland (%s; made on the test machine, as the sandbox has no network)'
            % (suite, name))
    # Existing directories (a mount point, proc with linprocfs on it) keep their own metadata.
    result = subprocess.run(['tar', '-xpf', archive, '-C', target, '--numeric-owner', '--no-overwrite-dir'],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    if result.returncode != 0:
        cmd.err('E: Tried to extract %s: %s' % (name, result.stdout.strip()))
        return 1
    with locked_state() as state:
        abi = find_module(state['kld']['files'], 'linux64elf')[0] is not None
    if not abi:
        logdir = os.path.join(target, 'debootstrap')
        os.makedirs(logdir, exist_ok=True)
        with open(os.path.join(logdir, 'debootstrap.log'), 'a') as handle:
            handle.write("chroot: failed to run command '/bin/true': Exec format error\n")
        cmd.err('W: Failure trying to run: chroot "%s" /bin/true' % target)
        cmd.err('W: See %s/debootstrap/debootstrap.log for details' % target.rstrip('/'))
        return 1
    # A run that failed left its log directory; one that succeeds removes it, as debootstrap does.
    shutil.rmtree(os.path.join(target, 'debootstrap'), ignore_errors=True)
    cmd.out('I: Installing core packages...')
    cmd.out('I: Configuring required packages...')
    cmd.out('I: Base system installed successfully.')
    return 0
