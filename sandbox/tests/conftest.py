"""Conformance tests run against a live sandbox instance, as FreeBSD users would."""

import os
import subprocess
import uuid

import pytest

SANDBOX = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'sandbox')


class Instance(object):
    def __init__(self, name):
        self.name = name
        self.root = subprocess.check_output([SANDBOX, 'path', name], universal_newlines=True).strip()

    def run(self, *argv, stdin=None):
        """(rc, stdout, stderr) of a command run inside the instance."""
        result = subprocess.run([SANDBOX, 'run', self.name, '--'] + list(argv), input=stdin, check=False,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        return result.returncode, result.stdout, result.stderr

    def sh(self, script):
        return self.run('/bin/sh', '-c', script)

    def read(self, path):
        with open(os.path.join(self.root, path.lstrip('/'))) as handle:
            return handle.read()

    def write(self, path, text):
        with open(os.path.join(self.root, path.lstrip('/')), 'w') as handle:
            handle.write(text)

    def log(self):
        return subprocess.check_output([SANDBOX, 'log', self.name], universal_newlines=True)


def make_instance(prefix):
    name = '%s-%s' % (prefix, uuid.uuid4().hex[:8])
    subprocess.run([SANDBOX, 'create', name], check=True, stdout=subprocess.DEVNULL)
    return Instance(name)


@pytest.fixture(scope='module')
def host():
    """One fresh instance per test file."""
    instance = make_instance('conf')
    yield instance
    subprocess.run([SANDBOX, 'destroy', instance.name], check=True)


@pytest.fixture
def fresh():
    """A fresh instance for tests that need a known starting state."""
    instance = make_instance('fresh')
    yield instance
    subprocess.run([SANDBOX, 'destroy', instance.name], check=True)
