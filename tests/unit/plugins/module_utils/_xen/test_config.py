# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_xen.config: every file xen_domu renders is read back by Xen's own parser (libxlutil) with the
declared values, and every disk spec it writes is accepted by xl's disk parser."""
from __future__ import annotations

import pytest

from ansible_collections.bsd.multiplicity.plugins.module_utils import xl_cfg
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParameterError
from ansible_collections.bsd.multiplicity.plugins.module_utils._xen import config
from ansible_collections.bsd.multiplicity.tests.unit.plugins.module_utils import xen_oracle

XEN = xen_oracle.load()

BASE = dict(name='web', type=None, memory=None, maxmem=None, vcpus=None, maxvcpus=None, kernel=None, ramdisk=None,
            cmdline=None, bootloader=None, bootloader_args=None, disks=None, vifs=None, serial=None, vnc=None,
            on_poweroff=None, on_reboot=None, on_crash=None, config=None)

DECLARATIONS = [
    dict(type='pv', kernel='/netbsd-XEN3_DOMU.gz', cmdline='root=xbd0a', memory=256, maxmem=512, vcpus=1,
         disks=[dict(target='/var/xen/nbsd1.img', vdev='xvda', size='8G', format='raw', access='rw')],
         vifs=[dict(bridge='bridge0', mac='00:16:3e:00:00:11')], on_crash='preserve'),
    dict(type='pvh', kernel='/usr/local/lib/xen/boot/pvhgrub', memory=2048, vcpus=2, maxvcpus=4,
         disks=[dict(target='/dev/zvol/zroot/xen/web1', vdev='xvda', size='20G', format='raw', access='rw'),
                dict(target='/iso/FreeBSD 14.1, disc1.iso', vdev='xvdb', devtype='cdrom', access='ro',
                     format='raw')],
         vifs=[dict(bridge='bridge0', script='vif-bridge', ip='10.0.0.5 10.0.0.6', rate='10Mb/s')]),
    dict(type='hvm', memory=4096, vcpus=2, serial='pty',
         vnc=dict(enabled=True, listen='127.0.0.1', display=1, password='se"cr\'et\\'),
         disks=[dict(target='/srv/xen/win1.img', vdev='hda', size='40G', format='raw', access='rw'),
                dict(target='/srv/iso/install.iso', vdev='hdc', devtype='cdrom', access='ro', format='raw')],
         vifs=[dict(bridge='xenbr0', model='e1000', type='ioemu')],
         config=dict(boot='dc', viridian=True, usbdevice=['tablet'], cpuid=['host,tm=0,sse3=0'])),
    dict(bootloader='pygrub', bootloader_args=['--entry=1'], memory=1024,
         cmdline='console=hvc0 "quoted" \\ and\nnewline',
         disks=[dict(target='/dev/vg0/deb12', vdev='xvda', backendtype='phy', format='raw', access='rw')]),
]


@pytest.mark.parametrize('declared', DECLARATIONS, ids=['netbsd-pv', 'freebsd-pvh', 'hvm', 'pygrub'])
def test_rendered_file_reads_back_in_xen_and_here(declared):
    wanted = config.settings(dict(BASE, **declared))
    text = config.render_file('', wanted)
    expected = dict((k, xl_cfg.normalize(v)) for k, v in wanted.items())
    assert dict(xl_cfg.parse(text)) == expected
    assert XEN is not None, 'libxlutil.so.4.17 is needed (apt-get install libxenmisc4.17)'
    error, line, settings = XEN.parse(text)
    assert error is None and settings == expected
    for spec in settings.get('disk', []):
        assert XEN.disk_ok(spec), spec


def test_disk_target_with_commas_stays_one_target():
    spec = config.disk_spec(dict(target='/iso/a, b=c.iso', vdev='xvdb', format='raw', access='ro'), 0)
    assert spec.endswith('target=/iso/a, b=c.iso') and config.parse_spec(spec)['target'] == '/iso/a, b=c.iso'
    if XEN is not None:
        assert XEN.disk_ok(spec)


def test_marker_lists_managed_keys_and_is_kept_first():
    text = config.render_file('# mine\nname = "web"\n', {'name': 'web', 'memory': 1})
    assert text.splitlines()[:2] == ['# Managed by bsd.multiplicity: domain web; settings: name memory', '# mine']
    assert config.marker_keys(text) == ['name', 'memory']


def test_an_earlier_versions_marker_is_adopted_kept_while_it_holds_and_never_doubled():
    old = '# bsd.multiplicity.xen_domu manages: name memory\n# mine\nname = "web"\nmemory = 1\n'
    assert config.marker_keys(old) == ['name', 'memory']
    assert config.render_file(old, {'name': 'web', 'memory': 1}) == old          # an upgrade rewrites nothing
    grown = config.render_file(old, {'name': 'web', 'memory': 2, 'vcpus': 1})
    assert grown.splitlines()[0] == '# Managed by bsd.multiplicity: domain web; settings: name memory vcpus'
    assert 'xen_domu manages' not in grown and grown.count('Managed by') == 1


def test_a_value_xl_cannot_read_back_is_refused_naming_the_option():
    for key, option in (('cmdline', 'cmdline'), ('kernel', 'kernel'), ('serial', 'serial')):
        with pytest.raises(ParameterError, match='^%s: .*NUL' % option):
            config.settings(dict(BASE, **{key: 'a\x00b'}))
