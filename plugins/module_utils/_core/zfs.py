# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""zfs(8) command lines and lookups shared by every kind (jail roots, chroots, Xen zvols).

Lists only: dataset names and property values are single arguments, never shell text.
"""

from __future__ import annotations


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
