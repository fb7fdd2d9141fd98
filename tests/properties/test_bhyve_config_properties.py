# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""bhyve_config(5) files read back by the sandbox's bhyve reader (written from bhyverun.c and config.c,
independently of the collection): every value written is the value bhyve uses, or it is refused."""

from __future__ import annotations

import os
import tempfile

import pytest
from hypothesis import example, given, settings, strategies as st

from ansible_collections.bsd.multiplicity.plugins.module_utils import bhyve_config
from ansible_collections.bsd.multiplicity.plugins.module_utils._bhyve.manager import BhyveVmKind

from fbsd import bhyve as sim
from fbsd.core import Command, Exit

from strategies import examples, hostile_text

PATHS = st.sampled_from(['name', 'pci.0.2.0.path', 'pci.0.3.0.mac', 'system.family_name', 'lpc.com1.path'])


def _tree(text):
    """The sandbox's bhyve configuration tree of a file holding ``text`` (Exit where bhyve stops)."""
    with tempfile.NamedTemporaryFile('wb', suffix='.conf', delete=False) as handle:
        handle.write(text.encode('utf-8', 'surrogateescape'))
    try:
        tree = sim.ConfigTree(Command('bhyve', []))
        sim.parse_simple_config_file(tree.cmd, tree, handle.name)
        return tree
    finally:
        os.unlink(handle.name)


def read_back(text):
    """{path: value as bhyve uses it} of ``text``, or the Exit status bhyve stops with."""
    try:
        return _tree(text).flat()
    except Exit as stop:
        return stop.status


@settings(max_examples=examples(300))
@given(st.dictionaries(PATHS, hostile_text(max_size=16), min_size=1, max_size=4), hostile_text(max_size=30))
@example({'name': 'a%(name)b'}, '')
@example({'name': 'x\\%(y)'}, '')
@example({'pci.0.2.0.path': '/vm/%'}, '')
@example({'name': 'a\rb'}, '')
@example({'name': 'a\nname=evil'}, '')
@example({'name': 'a\x00b'}, '')
@example({'name': '\udcff'}, '')
@example({'name': 'v'}, '# kept\nother.x=1\n')
def test_rendered_values_are_what_bhyve_uses(wanted, kept):
    hand = ''.join('%s\n' % line for line in kept.split('\n') if line.startswith('#'))
    try:
        text = BhyveVmKind.render_text(hand, wanted)
    except Exception as exc:        # refused: a value that cannot be written on one line, or empty
        assert 'cannot write the config file' in str(exc)
        for value in wanted.values():
            try:
                bhyve_config.encode(value)
            except bhyve_config.BhyveConfigError:
                return
        pytest.fail('refused values that can all be written: %r' % (wanted,))
    found = read_back(text)
    assert isinstance(found, dict), text
    assert dict((k, found[k]) for k in wanted) == wanted
    assert bhyve_config.values(text) == dict((k, found[k]) for k in bhyve_config.parse(text))
    # A re-render of the file as written changes nothing (the owned line lists what it wrote).
    assert BhyveVmKind.render_text(text, wanted) == text


@given(hostile_text(max_size=40))
@settings(max_examples=examples(300))
@example('a=1\na.b=2\n')
@example('a.b=1\na=2\n')
@example(' # x\n')
@example('x=\n')
def test_the_reader_refuses_what_bhyve_refuses(text):
    """bhyve_config.lines() stops where bhyve stops, and agrees on what it reads otherwise."""
    bhyve = read_back(text)
    try:
        ours = bhyve_config.parse(text)
    except bhyve_config.BhyveConfigError:
        assert bhyve == 4, text
        return
    assert isinstance(bhyve, dict), text
    assert ours == dict((path, value) for path, value in _raw(text).items())


def _raw(text):
    return dict(_tree(text).items())


REPRESENTATIVE = [
    # The talk's FreeBSD guest, loaded with bhyveload.
    dict(name='guest', cpus=2, memory='1G', boot=dict(loader='bhyveload'),
         disks=[dict(path='/vm/guest.img', size='8G')], nics=[dict(bridge='bridge0')]),
    # A Linux guest with UEFI and a cloud-init seed.
    dict(name='deb', memory='2G', disks=[dict(path='/dev/zvol/zroot/vm/deb', model='nvme')],
         nics=[dict(bridge='bridge0', model='virtio-net', options=dict(mtu='9000'))],
         cloud_init=dict(user_data=dict(packages=['nginx']))),
    # A Windows-style guest: UEFI, VNC with a password, a TPM and install media.
    dict(name='win', cpus=4, sockets=1, cores=4, memory='8G', wired_memory=True,
         disks=[dict(path='/vm/win.img', model='nvme'), dict(path='/iso/win 11.iso', model='ahci-cd')],
         nics=[dict(bridge='bridge0', model='e1000')],
         vnc=dict(password='pa%ss', width=1920, height=1080, wait=True), tpm=dict(path='/var/run/swtpm.sock'),
         extra_config={'bios.vendor': 'ACME %(name)'}),
]


@pytest.mark.parametrize('given', REPRESENTATIVE, ids=[g['name'] for g in REPRESENTATIVE])
def test_representative_vms_read_back_by_bhyve_as_declared(given):
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    from ansible_collections.bsd.multiplicity.plugins.module_utils._bhyve.config import Machine
    from ansible_collections.bsd.multiplicity.plugins.module_utils._bhyve.manager import bhyve_vm_argument_spec
    checked = ArgumentSpecValidator(bhyve_vm_argument_spec()['argument_spec']).validate(dict(given))
    assert not checked.error_messages
    machine = Machine(checked.validated_parameters)
    wanted = machine.variables(['tap%d' % i for i in range(len(machine.nics))],
                               ['58:9c:fc:00:00:%02x' % i for i in range(len(machine.nics))],
                               '/var/db/bhyve/%s/uefi-vars.fd' % machine.name, '/var/db/bhyve/%s/seed.iso' % machine.name)
    found = read_back(BhyveVmKind.render_text('', wanted))
    # What bhyve uses is what was declared, every variable (a '%' included: escaped, not a reference).
    assert found == wanted
