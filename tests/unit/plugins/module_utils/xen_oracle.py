# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Xen's own xl.cfg parser (libxlutil from Debian's libxenmisc package), through ctypes.

The structures mirror tools/libs/util/libxlu_internal.h of Xen 4.17: settings are a
linked list, newest first, and xl uses the first one of each name.
"""

from __future__ import annotations

import ctypes
import re

LIBXLUTIL = 'libxlutil.so.4.17'
LIBXENLIGHT = 'libxenlight.so.4.17'


class _Loc(ctypes.Structure):
    _fields_ = [('first_line', ctypes.c_int), ('first_column', ctypes.c_int),
                ('last_line', ctypes.c_int), ('last_column', ctypes.c_int)]


class _Value(ctypes.Structure):
    pass


class _List(ctypes.Structure):
    _fields_ = [('avalues', ctypes.c_int), ('nvalues', ctypes.c_int),
                ('values', ctypes.POINTER(ctypes.POINTER(_Value)))]


class _Union(ctypes.Union):
    _fields_ = [('string', ctypes.c_char_p), ('list', _List)]


_Value._fields_ = [('type', ctypes.c_int), ('u', _Union), ('loc', _Loc)]   # type 0 string, 1 list


class _Setting(ctypes.Structure):
    pass


_Setting._fields_ = [('next', ctypes.POINTER(_Setting)), ('name', ctypes.c_char_p),
                     ('value', ctypes.POINTER(_Value)), ('op', ctypes.c_int), ('lineno', ctypes.c_int)]


class _Config(ctypes.Structure):
    _fields_ = [('settings', ctypes.POINTER(_Setting)), ('report', ctypes.c_void_p), ('source', ctypes.c_char_p)]


class XenParser(object):
    """parse(text) -> (error message or None, error line or None, {name: value})."""

    def __init__(self):
        self.lib = ctypes.CDLL(LIBXLUTIL)
        self.light = ctypes.CDLL(LIBXENLIGHT)
        self.libc = ctypes.CDLL(None)
        self.libc.tmpfile.restype = ctypes.c_void_p
        for name in ('rewind', 'fclose'):
            getattr(self.libc, name).argtypes = [ctypes.c_void_p]
        self.libc.fread.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p]
        self.lib.xlu_cfg_init.restype = ctypes.POINTER(_Config)
        self.lib.xlu_cfg_init.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        self.lib.xlu_cfg_readdata.argtypes = [ctypes.POINTER(_Config), ctypes.c_char_p, ctypes.c_int]
        self.lib.xlu_cfg_destroy.argtypes = [ctypes.POINTER(_Config)]
        self.lib.xlu_disk_parse.argtypes = [ctypes.POINTER(_Config), ctypes.c_int,
                                            ctypes.POINTER(ctypes.c_char_p), ctypes.c_void_p]

    @staticmethod
    def _value(pointer):
        value = pointer.contents
        if value.type == 0:
            return value.u.string.decode('utf-8', 'surrogateescape')
        return [XenParser._value(value.u.list.values[i]) for i in range(value.u.list.nvalues)]

    def _report(self, report):
        self.libc.fflush(ctypes.c_void_p(report))
        self.libc.rewind(report)
        buf = ctypes.create_string_buffer(65536)
        n = self.libc.fread(buf, 1, 65535, report)
        self.libc.fclose(report)
        return buf.raw[:n].decode('utf-8', 'replace')

    def parse(self, text):
        data = text.encode('utf-8', 'surrogateescape')
        report = self.libc.tmpfile()
        cfg = self.lib.xlu_cfg_init(report, b'cfg')
        try:
            err = self.lib.xlu_cfg_readdata(cfg, data, len(data))
            settings = {}
            node = cfg.contents.settings
            while node:
                setting = node.contents
                settings.setdefault(setting.name.decode(), self._value(setting.value))
                node = setting.next
        finally:
            self.lib.xlu_cfg_destroy(cfg)
        message = self._report(report)
        if not err:
            return None, None, settings
        first = message.splitlines()[0] if message else 'error %d' % err
        m = re.match(r'cfg:(\d+):', first)
        return first, int(m.group(1)) if m else None, settings

    def disk_ok(self, spec):
        """True when xl's disk spec parser (xlu_disk_parse) accepts ``spec``."""
        report = self.libc.tmpfile()
        cfg = self.lib.xlu_cfg_init(report, b'disk')
        disk = ctypes.create_string_buffer(4096)    # libxl_device_disk is much smaller
        self.light.libxl_device_disk_init(disk)
        try:
            specs = (ctypes.c_char_p * 1)(spec.encode())
            return self.lib.xlu_disk_parse(cfg, 1, specs, disk) == 0
        finally:
            self.light.libxl_device_disk_dispose(disk)
            self.lib.xlu_cfg_destroy(cfg)
            self._report(report)


def load():
    """The parser, or None when Xen's libraries are not installed."""
    try:
        return XenParser()
    except OSError:
        return None
