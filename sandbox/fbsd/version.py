"""uname(1) and freebsd-version(1) for the simulated release."""

from fbsd.core import Command, getopt, locked_state
from fbsd.prison import find_jail


def uname(prog, args):
    cmd = Command(prog, ['usage: uname [-abiKmnoprsUv]'])
    options, operands = getopt(cmd, args, 'abiKmnoprsUv')
    if operands:
        cmd.bad_option()
    flags = set(flag for flag, value in options)
    if 'a' in flags:
        flags.update('mnrsv')
    if not flags:
        flags = {'s'}
    with locked_state(write=False) as state:
        release = state['release']
        values = {
            's': 'FreeBSD', 'o': 'FreeBSD',
            'n': state['sysctl']['kern.hostname'],
            'r': release['kernel'],
            'v': 'FreeBSD %s %s GENERIC' % (release['kernel'], release['build']),
            'm': 'amd64', 'p': 'amd64', 'i': 'GENERIC',
            'K': str(release['osreldate']), 'U': str(release['osreldate']),
            'b': release['build_id'],
        }
    cmd.out(' '.join(values[f] for f in 'snrvmpiKUb' if f in flags))
    return 0


def freebsd_version(prog, args):
    cmd = Command(prog, ['usage: freebsd-version [-kru] [-j jail]'])
    options, operands = getopt(cmd, args, 'j:kru')
    if operands:
        cmd.bad_option()
    flags = [flag for flag, value in options if flag in 'kru']
    jail = dict(options).get('j')
    with locked_state(write=False) as state:
        release = state['release']
        if jail is not None:
            found = find_jail(state, jail)
            if found is None:
                cmd.errx(1, 'jail "%s" not found' % jail)
            userland = found.get('userland', release['userland'])
        else:
            userland = release['userland']
        for flag in ('k', 'r', 'u'):
            if flag in flags or (not flags and flag == 'u'):
                cmd.out({'k': release['kernel'], 'r': release['kernel'], 'u': userland}[flag])
    return 0
