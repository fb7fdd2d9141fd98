# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""xen_domu_info: every domain xl knows and every config file in the directory, joined by name.

Two commands whatever the number of domains: ``xl list`` and ``xl list -l``.
"""

from __future__ import annotations


from ansible_collections.bsd.multiplicity.plugins.module_utils import xl_cfg
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import refuse_nul
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.files import parsed_files
from ansible_collections.bsd.multiplicity.plugins.module_utils._xen import config, runtime

# Files in the config directory that are not guest definitions.
NOT_GUESTS = frozenset(('xl.conf', 'cpupool', 'oxenstored.conf', 'xenstored.conf', 'xend-config.sxp',
                        'xm-config.xml', 'xend-pci-permissive.sxp', 'xend-pci-quirks.sxp'))


def xen_domu_info_argument_spec():
    return dict(argument_spec=dict(name=dict(type='str'), config_dir=dict(type='path')),
                supports_check_mode=True)


def read_config_dir(directory):
    """{name: {config_file, config}} of the guest files in ``directory``, plus {file: error}."""
    files, errors = parsed_files(directory, lambda entry: entry not in NOT_GUESTS
                                 and not entry.endswith(('.sxp', '.xml', '~')), xl_cfg.parse)
    found = {}
    for path, settings in files:
        name = settings.get('name')
        if isinstance(name, str) and name:
            found.setdefault(name, dict(config_file=path, config=dict(settings)))
    return found, errors


class XenDomuInfo(object):
    def __init__(self, module, runner):
        self.module = module
        self.runner = runner
        refuse_nul(module.params)
        dummy, defaults = config.dom0_platform()
        self.config_dir = module.params['config_dir'] or defaults['config_dir']
        self.only = module.params['name']

    def run(self):
        files, errors = read_config_dir(self.config_dir)
        listed = runtime.parse_list(self.runner.run(['xl', 'list'], action='list domains').stdout)
        details = runtime.parse_long(self.runner.run(['xl', 'list', '-l'], action='list domain details').stdout)
        domains = []
        for name in sorted(set(files) | set(listed)):
            if name == 'Domain-0' or (self.only and name != self.only):
                continue
            running = listed.get(name)
            file_info = files.get(name, {})
            live = runtime.live_settings(details[name]['config']) if name in details else {}
            domains.append(dict(
                name=name,
                domid=running['domid'] if running else None,
                state=running['state'] if running else 'stopped',
                memory=running['memory'] if running else None,
                vcpus=running['vcpus'] if running else None,
                config_file=file_info.get('config_file'),
                config=file_info.get('config'),
                live=live or None,
            ))
        return dict(changed=False, domains=domains, config_dir=self.config_dir, config_errors=errors)
