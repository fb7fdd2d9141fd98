# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from types import SimpleNamespace

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import CommandError
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail import startup


def members(*names):
    return [(SimpleNamespace(name=name), None) for name in names]


def test_a_failed_batch_names_each_jail_with_its_own_lines_and_the_hooks_output():
    stderr = ('ifconfig: ioctl SIOCSIFNAME (set name): File exists\n'
              'jail: web: /bin/sh -c e=$(/sbin/ifconfig epair create): failed\n'
              'jail: db: path /j/db: No such file or directory\n'
              'jail: app: skipped\n')
    error = CommandError(startup.MANY, 1, '', stderr)
    found = startup.failures(members('web', 'db', 'app', 'ok'), error, running={'ok'})
    assert sorted(found) == ['app', 'db', 'web']
    web = str(found['web'])
    assert web.startswith('Failed to start jail web: jail -f - -p1 -c exited 1: jail: web: /bin/sh -c')
    assert 'File exists' in web and 'jail: db' not in web
    assert 'jail: db: path /j/db: No such file or directory' in str(found['db'])
    assert 'jail: app: skipped' in str(found['app'])


def test_a_failed_batch_with_nothing_attributable_shows_everything():
    error = CommandError(startup.MANY, 1, '', 'jail: something went wrong\n')
    found = startup.failures(members('web'), error, running=set())
    assert str(found['web']).endswith('exited 1: jail: something went wrong')
