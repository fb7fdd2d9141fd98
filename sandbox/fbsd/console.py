"""What rc prints while it runs (at boot, through service(8)), and rc.subr's checkyesno.

Shared by the simulated boot (fbsd/boot.py) and service(8) (fbsd/service.py), which each run the
other's steps: neither imports the other for these.
"""

import subprocess

PATH = '/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin'


def yes(value):
    return (value or '').strip().lower() in ('yes', 'true', 'on', '1')


class Console(object):
    """What rc prints during boot, kept in the boot log."""

    def __init__(self):
        self.lines = []

    def say(self, text):
        self.lines.append(text)

    def run(self, *argv, show=True):
        """Run a (simulated) command as rc.d would; its output goes to the console."""
        result = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True, check=False, env={'PATH': PATH, 'LANG': 'C'})
        if show and result.stdout.strip():
            self.lines.extend(result.stdout.rstrip('\n').split('\n'))
        return result.returncode, result.stdout
