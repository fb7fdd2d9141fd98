# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""From the xen_domu module's options to xl.cfg settings, disk and vif specs.

Pure functions: everything is validated before the host is read or changed, and
every value goes through :mod:`xl_cfg` quoting, so nothing can add a setting.
"""

from __future__ import annotations

import collections
import os
import platform
import re

from ansible_collections.bsd.multiplicity.plugins.module_utils import xl_cfg
from ansible_collections.bsd.multiplicity.plugins.module_utils._core import ownership
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.sizes import require_size
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParameterError

NAME_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z')
VDEV_RE = re.compile(r'[a-z]{2,4}[a-z0-9]*\Z')        # xvda, hda, sdb, xvdaa, d0p1 is not used by xl
MAC_RE = re.compile(r'[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}\Z')
SPEC_VALUE_RE = re.compile(r'[^,=\s]+\Z')           # a key=value in a disk or vif spec

# Where xl and the rc scripts look, per dom0 OS (config directory, autostart).
PLATFORMS = {
    'Linux': {'config_dir': '/etc/xen', 'auto_dir': '/etc/xen/auto'},
    'FreeBSD': {'config_dir': '/usr/local/etc/xen', 'auto_dir': '/usr/local/etc/xen/auto'},
    'NetBSD': {'config_dir': '/usr/pkg/etc/xen', 'auto_dir': None},    # rc.conf xendomains="..."
}
ACTIONS = ('destroy', 'restart', 'rename-restart', 'preserve', 'coredump-destroy', 'coredump-restart',
           'soft-reset')
VIF_KEYS = ('bridge', 'mac', 'ip', 'model', 'type', 'vifname', 'script', 'rate', 'backend', 'gatewaydev')


def dom0_platform():
    """(OS name, its default paths) of the dom0 this runs on; unknown systems get Linux's paths."""
    system = platform.system()
    return system, PLATFORMS.get(system, PLATFORMS['Linux'])


def check_domain_name(name):
    if not NAME_RE.match(name or ''):
        raise ParameterError('name', '%r is not a usable domain name (letters, digits, "_", "." and "-", '
                                     'up to 64)' % (name,))
    return name


def _spec_value(value, parameter, allow_space=False):
    text = str(value)
    if not SPEC_VALUE_RE.match(text.replace(' ', 'x') if allow_space else text):
        raise ParameterError(parameter, '%r may not be empty or hold commas, "=" or blanks: they would '
                                        'change the spec' % (value,))
    return text


def disk_spec(disk, index):
    """One xl disk spec (xl-disk-configuration(5)); ``target`` last because it may hold commas."""
    where = 'disks[%d]' % index
    target = disk.get('target')
    if not target or '\n' in target or not os.path.isabs(target):
        raise ParameterError(where + '.target', 'must be an absolute path, got %r' % (target,))
    vdev = disk.get('vdev') or ''
    if not VDEV_RE.match(vdev):
        raise ParameterError(where + '.vdev', '%r is not a virtual device name like xvda, hdc or sdb' % (vdev,))
    parts = ['format=%s' % disk.get('format', 'raw'), 'vdev=%s' % vdev, 'access=%s' % disk.get('access', 'rw')]
    if disk.get('devtype'):
        parts.append('devtype=%s' % disk['devtype'])
    for key in ('backendtype', 'script'):
        if disk.get(key):
            parts.append('%s=%s' % (key, _spec_value(disk[key], '%s.%s' % (where, key))))
    if disk.get('size') is not None:
        require_size(disk['size'], where + '.size')
        if disk.get('format', 'raw') != 'raw':
            raise ParameterError(where + '.size', 'only raw disks are created; create %s images yourself'
                                 % disk.get('format'))
    parts.append('target=%s' % target)
    return ', '.join(parts)


def vif_spec(vif, index):
    """One xl vif spec (xl-network-configuration(5))."""
    where = 'vifs[%d]' % index
    parts = []
    for key in VIF_KEYS:
        value = vif.get(key)
        if value is None or value == '':
            continue
        if key == 'mac' and not MAC_RE.match(str(value)):
            raise ParameterError(where + '.mac', '%r is not a MAC address like 00:16:3e:01:02:03' % (value,))
        parts.append('%s=%s' % (key, _spec_value(value, '%s.%s' % (where, key), allow_space=(key == 'ip'))))
    return ', '.join(parts)


# xl-disk-configuration(5): the positional parameters in order, the bare flags, and the prefixes of the
# deprecated syntax "[<format>:][<target>],<vdev>[:<devtype>],<access>".
POSITIONAL = ('target', 'format', 'vdev', 'access')
DISK_FLAGS = {'cdrom': ('devtype', 'cdrom'), 'direct-io-safe': ('direct-io-safe', True), 'discard': ('discard', True),
              'no-discard': ('discard', False), 'trusted': ('trusted', True), 'untrusted': ('trusted', False),
              'colo': ('colo', True)}
FORMAT_PREFIXES = ('raw', 'qcow', 'qcow2', 'vhd')
OTHER_PREFIXES = ('tapdisk', 'tap2', 'tap', 'aio', 'ioemu', 'file', 'phy', 'iscsi', 'nbd', 'enbd', 'drbd')


def _strip_prefixes(target, result):
    """The deprecated prefixes of a target (``tap:aio:``, ``phy:``, ``raw:``) removed; a format prefix kept."""
    while ':' in target:
        head, rest = target.split(':', 1)
        if head in FORMAT_PREFIXES:
            result.setdefault('format', head)
        elif head not in OTHER_PREFIXES:
            break
        target = rest
    return target


def parse_spec(spec):
    """The parameters of a disk spec (xl-disk-configuration(5)), or the key=value pairs of a vif spec.

    ``target=`` takes the rest of the spec; bare flags (``cdrom``, ``discard``...) set their
    parameter; other bare words fill target, format, vdev and access in order (an empty one counts).
    The deprecated ``[<format>:][<target>],<vdev>[:<devtype>],<access>`` is recognised by a prefixed
    target or a ``vdev:devtype``.  Tolerant: used to read hand-written files.
    """
    result, positional = {}, []
    rest = spec
    while rest is not None:
        head, sep, tail = rest.partition(',')
        key, eq, value = head.strip().partition('=')
        if eq and key.strip() == 'target':
            result['target'] = rest.split('=', 1)[1].strip()
            break
        if eq:
            result[key.strip()] = value.strip()
        elif head.strip() in DISK_FLAGS:
            name, flag = DISK_FLAGS[head.strip()]
            result[name] = flag
        else:
            positional.append(head.strip())
        rest = tail if sep else None
    if positional == ['']:
        positional = []
    deprecated = bool(positional) and (
        (':' in positional[0] and positional[0].split(':', 1)[0] in FORMAT_PREFIXES + OTHER_PREFIXES)
        or (len(positional) > 1 and ':' in positional[1]))
    if deprecated:
        target = _strip_prefixes(positional[0], result)
        vdev, colon, devtype = (positional[1] if len(positional) > 1 else '').partition(':')
        named = [('target', target), ('vdev', vdev), ('access', positional[2] if len(positional) > 2 else '')]
        if colon and devtype:
            result.setdefault('devtype', devtype)
    else:
        named = list(zip(POSITIONAL, positional))
    for key, value in named:
        if value and key not in result:
            result[key] = value
    return result


def shared_medium(fields):
    """Whether a disk is install media or read-only: such a disk may serve other domains, and a purge
    never removes it."""
    return fields.get('devtype') == 'cdrom' or (fields.get('access') or 'rw').lower() in ('r', 'ro')


def settings(params):
    """The xl.cfg settings the module's options declare, in a stable order."""
    out = collections.OrderedDict()
    out['name'] = check_domain_name(params['name'])
    if params.get('type'):
        out['type'] = params['type']
    for key in ('memory', 'maxmem', 'vcpus', 'maxvcpus'):
        value = params.get(key)
        if value is not None:
            if value < 1:
                raise ParameterError(key, 'must be at least 1, got %d' % value)
            out[key] = value
    if params.get('maxmem') and params.get('memory') and params['maxmem'] < params['memory']:
        raise ParameterError('maxmem', 'is %d, less than memory (%d)' % (params['maxmem'], params['memory']))
    if params.get('maxvcpus') and params.get('vcpus') and params['maxvcpus'] < params['vcpus']:
        raise ParameterError('maxvcpus', 'is %d, less than vcpus (%d)' % (params['maxvcpus'], params['vcpus']))
    for key in ('kernel', 'ramdisk', 'cmdline', 'bootloader'):
        if params.get(key) is not None:
            out[key] = params[key]
    if params.get('bootloader_args') is not None:
        out['bootloader_args'] = list(params['bootloader_args'])
    if params.get('disks') is not None:
        out['disk'] = [disk_spec(d, i) for i, d in enumerate(params['disks'])]
        vdevs = [d['vdev'] for d in params['disks']]
        duplicated = sorted(set(v for v in vdevs if vdevs.count(v) > 1))
        if duplicated:
            raise ParameterError('disks', 'vdev %s is used more than once' % ', '.join(duplicated))
    if params.get('vifs') is not None:
        out['vif'] = [vif_spec(v, i) for i, v in enumerate(params['vifs'])]
    if params.get('serial') is not None:
        out['serial'] = params['serial']
    vnc = params.get('vnc')
    if vnc is not None:
        if (params.get('type') or 'pv') != 'hvm':
            raise ParameterError('vnc', 'is for type hvm; PV and PVH guests get a framebuffer with '
                                        'config: {vfb: ["vnc=1, vnclisten=127.0.0.1"]}')
        out['vnc'] = bool(vnc.get('enabled', True))
        out['vnclisten'] = vnc.get('listen') or '127.0.0.1'
        if vnc.get('display') is not None:
            out['vncdisplay'] = vnc['display']
        if vnc.get('password'):
            out['vncpasswd'] = vnc['password']
    for key in ('on_poweroff', 'on_reboot', 'on_crash'):
        if params.get(key):
            out[key] = params[key]
    for key, value in (params.get('config') or {}).items():
        try:
            xl_cfg.check_name(key)
            xl_cfg.render_value(value)
        except ValueError as exc:
            raise ParameterError('config', str(exc))
        if key == 'name':
            raise ParameterError('config', 'the name comes from the name option')
        out[key] = value
    # Every value must be one xl can read back (a NUL cannot be): refused here, named by its option.
    for key, value in out.items():
        try:
            xl_cfg.render_value(value)
        except ValueError as exc:
            raise ParameterError(_OPTION_OF.get(key, key), str(exc))
    return out


# xl.cfg keys whose module option has another name.
_OPTION_OF = {'disk': 'disks', 'vif': 'vifs', 'vnclisten': 'vnc.listen', 'vncpasswd': 'vnc.password',
              'vncdisplay': 'vnc.display'}


def _is_marker(line):
    """Whether a line is a guest file's marker (_core/ownership.py, or an earlier version's)."""
    found = ownership.read(line)
    return found is not None and found[0].split(' ', 1)[0] == 'domain'


def _marker_of(text):
    """The guest file's marker line, or None."""
    return next((line for line in text.split('\n') if _is_marker(line)), None)


def marker_keys(text):
    """The keys a previous run wrote, from the marker comment."""
    line = _marker_of(text)
    detail = (ownership.read(line)[1] or '') if line is not None else ''
    return detail[len('settings:'):].split() if detail.startswith('settings:') else []


def render_file(text, wanted):
    """The new file: ``wanted`` set in place, keys this module wrote earlier and no longer
    declares removed, the marker comment updated; every other line kept.  A marker that already
    lists these keys is kept as it is (an earlier version's too, so an upgrade rewrites nothing)."""
    found, previous = _marker_of(text), marker_keys(text)
    if found is not None and previous == list(wanted):
        marker = found
    else:
        marker = ownership.marker('domain %s' % wanted.get('name', ''), 'settings: ' + ' '.join(wanted))
    # Split on \n only: xl's lexer ends lines there and nowhere else.
    body = '\n'.join(line for line in text.split('\n') if not _is_marker(line))
    if body.endswith('\n'):
        body = body[:-1]
    if text.endswith('\n') and body:
        body += '\n'
    if not body.strip():
        body = ''
    new = xl_cfg.update(body, wanted, remove=[k for k in previous if k not in wanted])
    return marker + '\n' + new


def disks_of(settings_):
    """(vdev, target, spec dict) of every disk of a settings dict, tolerant of hand-written specs."""
    out = []
    for spec in settings_.get('disk') or []:
        if isinstance(spec, str):
            fields = parse_spec(spec)
            out.append((fields.get('vdev'), fields.get('target'), fields))
    return out


def vifs_of(settings_):
    return [parse_spec(spec) for spec in settings_.get('vif') or [] if isinstance(spec, str)]
