# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""zfs(8) for every kind (jail roots, chroots, Xen and bhyve zvols): command lines, reads of datasets
and their properties, and how a declared property value compares with what ``zfs get -p`` prints.

Lists only: dataset names and property values are single arguments, never shell text.
"""

from __future__ import annotations

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import ParseError
from ansible_collections.bsd.multiplicity.plugins.module_utils._core.sizes import size_bytes

# Properties whose values are sizes: "1G" equals zfs get -p's "1073741824", "none" equals "0".
SIZE_PROPERTIES = frozenset(('quota', 'refquota', 'reservation', 'refreservation', 'volsize', 'recordsize',
                             'volblocksize'))


def not_found(result):
    """zfs list/get of a dataset that is not there: exit 1, "dataset does not exist"."""
    return 'does not exist' in (result.stderr or '')


def exists(view, name, snapshot=False):
    """Whether a dataset (or a snapshot) exists; one read per call through the host view."""
    argv = ['zfs', 'list', '-H', '-o', 'name'] + (['-t', 'snapshot'] if snapshot else []) + [name]
    return view.lookup(argv, missing=not_found, action='look for %s %s' % (
        'snapshot' if snapshot else 'dataset', name)) is not None


def _options(properties):
    options = []
    for prop, value in properties:
        options += ['-o', '%s=%s' % (prop, value)]
    return options


def create_argv(dataset, properties=(), volume_size=None, sparse=False):
    """zfs create -p [-o prop=value ...] [-s] [-V size] DATASET; properties as (name, value) pairs."""
    volume = (['-s'] if sparse else []) + (['-V', str(volume_size)] if volume_size is not None else [])
    return ['zfs', 'create', '-p'] + _options(properties) + volume + [dataset]


def clone_argv(snapshot, dataset, properties=()):
    return ['zfs', 'clone', '-p'] + _options(properties) + [snapshot, dataset]


def set_argv(dataset, properties):
    return ['zfs', 'set'] + ['%s=%s' % (prop, value) for prop, value in properties] + [dataset]


def destroy_argv(dataset, recursive=False):
    return ['zfs', 'destroy'] + (['-r'] if recursive else []) + [dataset]


def parse_get(text):
    """{property: value} from ``zfs get -H -p -o property,value ...``."""
    props = {}
    for line in (text or '').split('\n'):
        if not line.strip():
            continue
        fields = line.split('\t')
        if len(fields) < 2:
            raise ParseError('zfs get output', 'expected "property<TAB>value"', text)
        props[fields[0]] = fields[1]
    return props


def read_dataset(runner, dataset, properties):
    """{property: value} of the dataset (with origin and mountpoint), or None if it does not exist."""
    names = ['mountpoint', 'origin'] + sorted(set(properties) - set(('mountpoint', 'origin')))
    result = runner.run_lookup(['zfs', 'get', '-H', '-p', '-o', 'property,value', ','.join(names), dataset],
                               missing=not_found, action='read dataset %s' % dataset)
    return None if result is None else parse_get(result.stdout)


def read_datasets(runner, properties, types='filesystem'):
    """{dataset: {property: value}} of every dataset of ``types`` on the host, from one ``zfs get``."""
    names = ['mountpoint', 'origin'] + sorted(set(properties) - set(('mountpoint', 'origin')))
    result = runner.run(['zfs', 'get', '-H', '-p', '-o', 'name,property,value', '-t', types, ','.join(names)],
                        action='read the datasets')
    found = {}
    for line in result.stdout.split('\n'):
        fields = line.split('\t')
        if len(fields) == 3:
            found.setdefault(fields[0], {})[fields[1]] = fields[2]
    return found


def value_equal(prop, wanted, current):
    """Whether a declared property value is what ``zfs get -p`` printed (sizes in bytes, none = 0, case)."""
    wanted, current = str(wanted).strip(), str(current).strip()
    if wanted == current:
        return True
    if prop in SIZE_PROPERTIES:
        if wanted.lower() in ('none', '0') and current in ('0', 'none', '-'):
            return True
        return size_bytes(wanted) is not None and size_bytes(wanted) == size_bytes(current)
    return wanted.lower() == current.lower()


def property_changes(wanted, current):
    """{property: value} of the declared ``wanted`` properties that ``zfs set`` must change on a dataset
    whose properties are ``current`` (as read)."""
    return dict((k, str(v)) for k, v in sorted((wanted or {}).items())
                if not value_equal(k, v, (current or {}).get(k, '')))
