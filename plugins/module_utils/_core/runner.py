# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run host commands as argv lists, in the C locale, and keep a record of them."""

from __future__ import annotations

import json

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import CommandError, ParseError

C_LOCALE = {'LANG': 'C', 'LC_ALL': 'C', 'LC_MESSAGES': 'C'}
REDACTED = '********'


class CommandResult(object):
    __slots__ = ('argv', 'rc', 'stdout', 'stderr')

    def __init__(self, argv, rc, stdout, stderr):
        self.argv = argv
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr


class CommandRunner(object):
    """Thin layer over AnsibleModule.run_command.

    Commands are given as argv lists whose first element is a program name;
    it is resolved once with get_bin_path (``executables`` overrides a name
    with a user-supplied path).  No shell is ever involved.
    """

    def __init__(self, module, executables=None, secrets=None):
        self.module = module
        self._executables = dict(executables or {})
        self._paths = {}
        self._secrets = [s for s in (secrets or []) if s]
        self.commands = []

    def hide(self, secrets):
        """Values shown masked in the commands this runner reports (as ``secrets`` given at creation)."""
        self._secrets.extend(s for s in secrets if s and s not in self._secrets)

    def bin(self, name):
        if name not in self._paths:
            override = self._executables.get(name)
            self._paths[name] = override or self.module.get_bin_path(name, required=True)
        return self._paths[name]

    def which(self, name):
        """The path of program ``name`` on the host, or None when it has none."""
        return self.module.get_bin_path(name)

    def fetch(self, url):
        """A local copy of ``url``, downloaded with Ansible's own client (its proxy and TLS settings)."""
        from ansible.module_utils.urls import fetch_file
        return fetch_file(self.module, url, decompress=False)

    def _display(self, argv):
        shown = []
        for arg in argv:
            for secret in self._secrets:
                arg = arg.replace(secret, REDACTED)
            shown.append(arg)
        return shown

    def run(self, argv, check=True, data=None, action=None):
        """Run ``argv``; raise CommandError on a non-zero exit when ``check``."""
        if not argv or not isinstance(argv, (list, tuple)):
            raise ValueError('argv must be a non-empty list')
        full = [self.bin(argv[0])] + [str(a) for a in argv[1:]]
        rc, out, err = self.module.run_command(full, check_rc=False, data=data, binary_data=data is not None,
                                               environ_update=dict(C_LOCALE))
        shown = self._display(full)
        self.commands.append({'argv': shown, 'rc': rc})
        if check and rc != 0:
            raise CommandError(shown, rc, out, err, action=action)
        return CommandResult(shown, rc, out, err)

    def run_lookup(self, argv, missing, action=None):
        """Run a read whose non-zero exit may mean "no such object".

        Returns None when the command failed and ``missing(result)`` says the
        object does not exist; any other failure raises CommandError.
        """
        result = self.run(argv, check=False)
        if result.rc == 0:
            return result
        if missing(result):
            return None
        raise CommandError(result.argv, result.rc, result.stdout, result.stderr, action=action)

    def run_json(self, argv, action=None):
        """Run ``argv`` and decode its standard output as JSON."""
        result = self.run(argv, action=action)
        try:
            return json.loads(result.stdout)
        except ValueError as exc:
            raise ParseError('JSON output of %s' % ' '.join(result.argv), str(exc), result.stdout)
