# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What /bin/sh reads: rc.conf-style files (rc.conf, a jail's rc.conf), rctl.conf as rc.d/rctl reads
it, and the exec.* hooks the jail module writes around names it was given."""

from __future__ import annotations

import os
import subprocess
import tempfile

import pytest
from hypothesis import example, given, settings, strategies as st

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParameterError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import encode
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.shvars import read_vars, set_vars
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail import config, rctl

from strategies import examples, hostile_text, word

BATCH = 25
NAMES = ['bsdm_v%d' % i for i in range(BATCH)]
# An rc.conf a person wrote: comments, a function, values that look like assignments.
HAND_WRITTEN = ('# /etc/rc.conf\nhostname="h"\nsshd_enable="YES" # ssh\nf() { echo x; }\n'
                "keep_me='a \"b\"'\nbsdm_v3=\"old\"\nbsdm_v3=\"older\"\n")


def sh(script, *args, stdin=None):
    with tempfile.TemporaryDirectory() as scratch:
        result = subprocess.run(['/bin/sh', '-c', script, 'sh'] + list(args), cwd=scratch, input=stdin,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        assert not os.path.exists(os.path.join(scratch, 'canary')), 'an injected command ran'
    assert result.returncode == 0, result.stderr
    return result.stdout


@settings(max_examples=examples(400))
@given(values=st.lists(hostile_text(), min_size=BATCH, max_size=BATCH))
@example(values=['$(touch canary)', '`touch canary`', '"; touch canary; "'] + ['x'] * (BATCH - 3))
def test_rc_conf_values_read_back_by_sh(values):
    """25 values per example, written by set_vars into a hand-written file and sourced by sh."""
    wanted = dict(zip(NAMES, values))
    if any(c in v for v in values for c in '\x00\n\r'):
        with pytest.raises(ValueError):
            set_vars(HAND_WRITTEN, wanted)
        return
    text = set_vars(HAND_WRITTEN, wanted)
    assert read_vars(text) == dict(read_vars(HAND_WRITTEN), **wanted)
    assert set_vars(text, wanted) == text
    with tempfile.NamedTemporaryFile('wb', suffix='.conf') as handle:
        handle.write(encode(text))
        handle.flush()
        out = sh('. "$1"; printf "%s\\0" "$hostname" "$keep_me" ' + ' '.join('"$%s"' % n for n in NAMES),
                 handle.name)
    got = [part.decode('utf-8', 'surrogateescape') for part in out.split(b'\0')[:-1]]
    assert got == ['h', 'a "b"'] + values


# rc.d/rctl's loop: every line's first word is a rule for `rctl -a`.
RC_D_RCTL = 'while read var comments; do case ${var} in \\#*|"") ;; *) printf "%s\\0" "${var}" ;; esac; done < "$1"'


def rctl_lines(text):
    with tempfile.NamedTemporaryFile('wb', suffix='.conf') as handle:
        handle.write(encode(text))
        handle.flush()
        out = sh(RC_D_RCTL, handle.name)
    return [part.decode('utf-8', 'surrogateescape') for part in out.split(b'\0')[:-1]]


RESOURCE_WORDS = st.sampled_from(list(rctl.RESOURCES) + ['bogus', 'memoryuse '])
RULES = st.one_of(
    st.builds(lambda r, a, n, s: '%s:%s=%s%s' % (r, a, n, s), RESOURCE_WORDS,
              st.sampled_from(['deny', 'log', 'sigterm', 'throttle', 'nope']),
              st.sampled_from(['1', '10', '1g', '512M', 'x', '']), st.sampled_from(['', '/jail', '/process', '/x'])),
    hostile_text(max_size=8))


@settings(max_examples=examples(1000))
@given(rules=st.lists(RULES, min_size=4, max_size=4), others=st.lists(hostile_text(surrogates=True), max_size=6))
def test_rctl_conf_keeps_other_lines_and_reads_back(rules, others):
    """4 rules plus up to 6 hostile foreign lines per example, read back by rc.d/rctl's sh loop."""
    try:
        wanted = rctl.normalize('web', rules)
    except ParameterError as exc:
        assert exc.parameter == 'rctl'
        return
    foreign = ''.join('%s\n' % line.replace('\n', ' ') for line in others if not rctl._owned(line, 'web'))
    text = foreign + 'jail:web:pcpu:deny=5\n'
    new = rctl.update_conf(text, 'web', wanted)
    assert new.split('\n')[:len(foreign.split('\n')) - 1] == foreign.split('\n')[:-1]
    ours = [r for r in rctl_lines(new) if r.startswith('jail:web:')]
    assert ours == wanted
    assert rctl.conf_rules(new, 'web') == wanted


@settings(max_examples=examples(5000))
@given(bridge=word(), epair=word(alphabet='abcdefghij_0123456789'))
@example(bridge='bridge0;touch canary', epair='ej_web')
@example(bridge='bridge0\n', epair='ej_web')
@example(bridge='$(touch canary)', epair='a')
def test_vnet_hooks_run_only_ifconfig_with_the_names(bridge, epair):
    """2 values per example.  /sbin/ifconfig is swapped for a function that logs its arguments:
    the only edit made to the hook text before sh runs it."""
    try:
        params = config.desired_params(dict(name='web', path='/j/web', vnet=dict(bridge=bridge, epair=epair)))
    except ParameterError as exc:
        assert exc.parameter in ('vnet.bridge', 'vnet.epair')
        return
    host_if, jail_if = config.epair_names(dict(name='web', vnet=dict(epair=epair)))
    prestart, = params['exec.prestart']
    poststop, = params['exec.poststop']
    fake = 'ifconfig() { printf "%s|" "$@" >> log; printf "\\n" >> log; [ "$1 $2" = "epair create" ] && echo epair7a; :; }'
    for hook in (prestart, poststop):
        assert hook.count('/sbin/ifconfig') == hook.count('ifconfig')
    log = sh('%s; %s; %s; cat log' % (fake, prestart.replace('/sbin/ifconfig', 'ifconfig'),
                                      poststop.replace('/sbin/ifconfig', 'ifconfig')))
    assert log.decode().split('\n')[:-1] == [
        '%s|destroy|' % host_if, 'epair|create|', 'epair7a|name|%s|up|' % host_if, 'epair7b|name|%s|up|' % jail_if,
        '%s|addm|%s|' % (bridge, host_if), '%s|destroy|' % host_if]
