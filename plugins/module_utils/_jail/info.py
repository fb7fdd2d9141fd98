# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""jail_info: every jail on the host, configured and/or running, in one read-only pass.

Config files are read directly (no command); the running jails come from one
``jls -n --libxo json all``.  A jail configured in several files is reported
from the file rc.d/jail would use for it.
"""

from __future__ import annotations

import glob
import os

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import read_text
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail import config, rootfs
from ansible_collections.bsd.multiplicity.plugins.module_utils._jail.runtime import parse_jls_json
from ansible_collections.bsd.multiplicity.plugins.module_utils.jail_conf import JailConfError, parse

RUNTIME_KEYS = ('jid', 'path', 'host.hostname', 'ip4.addr', 'ip6.addr', 'vnet', 'securelevel', 'enforce_statfs',
                'devfs_ruleset', 'children.max', 'persist', 'osrelease', 'dying')


def jail_info_argument_spec():
    return dict(
        argument_spec=dict(
            name=dict(type='list', elements='str'),
        ),
        supports_check_mode=True,
    )


def _reader(path):
    text = read_text(path)
    if text is None:
        raise JailConfError('%s: No such file or directory' % path)
    return text


def config_files():
    """Every file rc.d/jail may read, in the order that decides which one wins for a jail."""
    files = sorted(glob.glob('/etc/jail.*.conf')) + sorted(glob.glob(os.path.join(config.CONF_D, '*.conf')))
    return files + [config.SHARED_CONF]


def _rank(name, path):
    """rc.d/jail's preference for the file that configures ``name`` (lower wins)."""
    candidates = config.config_candidates(name)
    return candidates.index(path) if path in candidates else len(candidates)


def read_configured(errors):
    """{name: (path, resolved parameters)}; unreadable files and jails go to ``errors``."""
    found = {}
    for path in config_files():
        text = read_text(path)
        if text is None:
            continue
        try:
            conf = parse(text, path, reader=_reader)
        except JailConfError as exc:
            errors.append(dict(file=path, msg=str(exc)))
            continue
        for name in conf.jails:
            if name in found and _rank(name, found[name][0]) <= _rank(name, path):
                continue
            try:
                found[name] = (path, conf.resolve(name))
            except JailConfError as exc:
                errors.append(dict(file=path, jail=name, msg=str(exc)))
    return found


class JailInfo(object):
    def __init__(self, module, runner):
        self.module = module
        self.runner = runner
        self.names = module.params.get('name')
        for name in self.names or []:
            config.validate_name(name)

    def run(self):
        errors = []
        configured = read_configured(errors)
        result = self.runner.run(['jls', '-n', '--libxo', 'json', 'all'], action='list running jails')
        running = dict((j['name'], j) for j in parse_jls_json(result.stdout) if j.get('name'))
        names = [n for n in list(configured) + sorted(set(running) - set(configured))
                 if self.names is None or n in self.names]
        jails = {}
        for name in names:
            path_conf, params = configured.get(name, (None, {}))
            live = running.get(name)
            path = (live or {}).get('path') or params.get('path')
            jails[name] = dict(
                name=name,
                state='running' if live else 'stopped',
                configured=name in configured,
                config_file=path_conf,
                jid=(live or {}).get('jid'),
                path=path,
                hostname=(live or {}).get('host.hostname') or params.get('host.hostname'),
                ip4=(live or {}).get('ip4.addr', []),
                ip6=(live or {}).get('ip6.addr', []),
                vnet=bool(params.get('vnet')) or (live or {}).get('vnet') == 'new',
                parameters=params,
                runtime=dict((k, live[k]) for k in RUNTIME_KEYS if live and k in live),
                userland_version=rootfs.userland_version(path) if path else None,
            )
        return dict(changed=False, jails=jails, config_errors=errors)
