"""Offline stand-in for the get-pip.py script that ansible-test downloads.

ansible-test bootstraps pip in each test virtualenv from a get-pip script it
fetches from a host that this project's machines cannot reach, unless a copy
sits in its cache.  tools/bootstrap installs this file there: it installs pip
from the interpreter's own ensurepip, then the requested packages from PyPI.
"""

import subprocess
import sys

GET_PIP_ONLY_FLAGS = ('--no-setuptools', '--no-wheel')

args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_FLAGS]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'])
if args:
    subprocess.check_call([sys.executable, '-m', 'pip', 'install', '-q'] + args)
