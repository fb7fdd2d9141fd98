# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sysctl.conf as rc.d/sysctl reads it: every value the collection writes there comes back as it
was given from the shell loop of rc.d/sysctl, or is refused naming the option."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import example, given, settings

from ansible_collections.bsd.multiplicity.plugins.module_utils._core import sysctlconf
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParameterError

from strategies import examples, hostile_text

# rc.d/sysctl's reading of the file, run by /bin/sh: each setting's MIB and value, a line each.
# rc.d/sysctl writes the pattern *[^=]=[^=]*, which FreeBSD's sh reads as POSIX's *[!=]=[!=]* (dash
# here knows only the latter).
RC_D_SYSCTL = r'''
while read config extra || [ -n "${config}" ]; do
    case ${config} in
    \#*|'') continue ;;
    *[!=]=[!=]*) printf '%s\n%s\n' "${config%=*}" "${config#*=}" ;;
    esac
done
'''
MIB = 'compat.linux.osrelease'


def read_back(text):
    result = subprocess.run(['/bin/sh', '-c', RC_D_SYSCTL], input=text.encode('utf-8', 'surrogateescape'),
                            stdout=subprocess.PIPE, check=True)
    return result.stdout.decode('utf-8', 'surrogateescape').split('\n')[:-1]


@settings(max_examples=examples(300))
@given(value=hostile_text(surrogates=False))
@example(value='5.15.0')
@example(value='a=b')
@example(value='5.15.0 # x')
@example(value='x\\y')
@example(value='#5')
@example(value='')
def test_a_setting_reads_back_as_written_or_is_refused(value):
    try:
        line = sysctlconf.setting_line(MIB, value, 'osrelease')
    except ParameterError as exc:
        assert 'osrelease' in str(exc)
        return
    edit = sysctlconf.owned_edit('compat_linux /compat/linux', {MIB: value}, 'osrelease')
    text = edit('# a person\'s line\nkern.ipc.shmmax=1\n')
    assert read_back(text) == ['kern.ipc.shmmax', '1', MIB, value]
    assert sysctlconf.owned_settings(text, 'compat_linux /compat/linux') == {MIB: value}
    assert sysctlconf.parse(line + '\n') == {MIB: value}


@pytest.mark.parametrize('mib', ['', 'compat', 'compat..x', 'compat.linux.x=y', 'a b.c', '-x.y'])
def test_a_bad_mib_is_refused(mib):
    with pytest.raises(ParameterError):
        sysctlconf.setting_line(mib, '1', 'name')
