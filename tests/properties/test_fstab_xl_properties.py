# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fstab lines read back by util-linux's libmount (findmnt --tab-file), and xl.cfg files read
back by Xen's own libxlutil."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile

import pytest
from hypothesis import example, given, settings, strategies as st

from ansible_collections.bsd.multiplicity.plugins.module_utils import xl_cfg
from ansible_collections.bsd.multiplicity.plugins.module_utils._core import mounts as mnt
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParameterError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import encode, replace_block
from ansible_collections.bsd.multiplicity.tests.unit.plugins.module_utils import xen_oracle

from strategies import examples, hostile_text, word

XEN = xen_oracle.load()
BEGIN, END = '# BEGIN chroot (managed by bsd.multiplicity)', '# END chroot (managed by bsd.multiplicity)'
HAND = '# Device\tMountpoint\tFStype\tOptions\tDump\tPass#\n/dev/ada0p2\t/\tufs\trw\t1\t1\n'


def read_fstab(text):
    """[(source, target, fstype, options)] as libmount parses the file."""
    with tempfile.NamedTemporaryFile('wb', suffix='.fstab') as handle:
        handle.write(encode(text))
        handle.flush()
        out = subprocess.run(['findmnt', '--tab-file', handle.name, '-J', '-o', 'SOURCE,TARGET,FSTYPE,OPTIONS'],
                             stdout=subprocess.PIPE, check=True).stdout
    table = json.loads(out.decode('utf-8', 'surrogateescape'))['filesystems']
    return [(f['source'], f['target'], f['fstype'], f['options']) for f in table]


ENTRY = st.fixed_dictionaries({
    'type': st.sampled_from(['nullfs', 'bind', 'devfs', 'tmpfs', 'proc', 'procfs', 'linprocfs', 'sysfs']),
    'target': st.one_of(word(alphabet='abc/._-'), st.none()),
    'source': word(alphabet='/abc._-'),
    'options': st.lists(word(alphabet='a-z=0,'), max_size=2),
    'read_only': st.booleans(),
})


@pytest.mark.skipif(shutil.which('findmnt') is None, reason='util-linux findmnt is not installed')
@settings(max_examples=examples(800))
@given(root=st.one_of(st.just('/srv/chroot'), hostile_text().map(lambda t: '/c' + t)),
       entries=st.lists(ENTRY, min_size=1, max_size=3), platform=st.sampled_from([mnt.FREEBSD, mnt.LINUX]))
@example(root='/srv/a b', entries=[dict(type='tmpfs', target=None, source='', options=[], read_only=False)],
         platform=mnt.FREEBSD)
def test_chroot_fstab_block_reads_back(root, entries, platform):
    """Up to 3 entries of 4 values and a root per example (over 10,000 values in all)."""
    for entry in entries:
        if entry['type'] not in ('nullfs', 'bind'):
            entry['source'] = None
    try:
        declared = mnt.normalize(entries, platform, root)
    except ParameterError as exc:
        assert exc.parameter == 'path' or exc.parameter.startswith('mounts[')
        return
    lines = [mnt.fstab_line(e, platform) for e in declared]
    text = replace_block(HAND, BEGIN, END, ''.join(line + '\n' for line in lines))
    read = read_fstab(text)
    assert read[0] == ('/dev/ada0p2', '/', 'ufs', 'rw')
    assert [r[1] for r in read[1:]] == [e['node'] for e in declared]
    assert [r[0] for r in read[1:]] == [line.split()[0] for line in lines]
    assert replace_block(text, BEGIN, END, None) == HAND


NAMES = st.from_regex(r'[a-z][_0-9a-z]{0,8}', fullmatch=True)
VALUES = st.one_of(hostile_text(), st.integers(min_value=0, max_value=2 ** 40),
                   st.lists(hostile_text(max_size=6), max_size=3))


@pytest.mark.skipif(XEN is None, reason="Xen's libxlutil is not installed (tools/bootstrap installs it)")
@settings(max_examples=examples(2500))
@given(settings_=st.dictionaries(NAMES, VALUES, min_size=4, max_size=4))
@example(settings_={'name': 'a"b', 'extra': 'x\\ny', 'cmdline': '# not a comment', 'vif': ['mac=00:16:3e:00:00:01']})
def test_xl_cfg_update_reads_back_in_libxlutil(settings_):
    """4 settings per example, written into a hand-written file whose other lines must stay."""
    hand = '# my guest\nkernel = "/boot/vmlinuz" # keep\nmemory = 128\n'
    flat = [v for value in settings_.values() for v in (value if isinstance(value, list) else [value])]
    if any('\x00' in str(v) for v in flat):
        with pytest.raises(ValueError, match="NUL"):
            xl_cfg.update(hand, settings_)
        return
    text = xl_cfg.update(hand, settings_)
    error, unused, parsed = XEN.parse(text)
    assert error is None, (error, text)
    expected = {'kernel': '/boot/vmlinuz', 'memory': '128'}
    expected.update((k, xl_cfg.normalize(v)) for k, v in settings_.items())
    assert parsed == expected
    assert dict(xl_cfg.parse(text)) == expected
    assert text.startswith('# my guest\n')
