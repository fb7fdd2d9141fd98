# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release archives (base.txz...): fetched or local, checked against SHA-256 sums, extracted with tar.

Sums come from a FreeBSD release ``MANIFEST`` or from a ``{file name: sha256}``
mapping; :func:`check_local` verifies local archives before anything is
changed, so a wrong checksum fails a run that has not touched the host.
"""

from __future__ import annotations

import hashlib
import os
import re

from ansible_collections.bsd.multiplicity.plugins.module_utils._core.errors import MultiplicityError

SHA256_RE = re.compile(r'^[0-9a-f]{64}\Z')


def parse_manifest(text):
    """{archive file name: sha256} from a FreeBSD release MANIFEST (tab-separated)."""
    sums = {}
    for line in text.splitlines():
        fields = line.split('\t')
        if len(fields) >= 2 and SHA256_RE.match(fields[1]):
            sums[fields[0]] = fields[1]
    return sums


def sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def verify(archive_path, name, sums, manifest):
    """The archive's SHA-256; raises unless it matches the MANIFEST entry for ``name``."""
    if name not in sums:
        raise MultiplicityError('Release archive %s is not listed in %s' % (name, manifest))
    actual = sha256(archive_path)
    if actual != sums[name]:
        raise MultiplicityError('Release archive %s does not match %s: SHA-256 %s, expected %s'
                                % (archive_path, manifest, actual, sums[name]))
    return actual


def is_url(location):
    return '://' in location


def obtain(runner, location):
    """A local path to ``location``: the file itself, or a download of the URL."""
    if not is_url(location):
        if not os.path.isfile(location):
            raise MultiplicityError('Release file %s does not exist' % location)
        return location
    try:
        return runner.fetch(location)
    except Exception as exc:       # fetch_file fails the module itself on HTTP errors
        raise MultiplicityError('Cannot download %s: %s' % (location, exc))


def default_manifest(archives):
    return os.path.join(os.path.dirname(archives[0]), 'MANIFEST')


def load_sums(runner, archives, manifest=None, checksums=None):
    """(sums, source) for the archives; sums is None when there is nothing to check against."""
    if checksums:
        return dict(checksums), 'the given checksums'
    manifest = manifest or default_manifest(archives)
    if is_url(manifest) or os.path.exists(manifest):
        with open(obtain(runner, manifest), 'r', encoding='utf-8') as handle:
            return parse_manifest(handle.read()), manifest
    return None, None


def check_local(runner, archives, manifest=None, checksums=None):
    """Verify local archives now (read-only): a missing file or a wrong sum fails here.

    Returns ``(checked, digests)``: whether every local archive was checked
    against a sum, and the SHA-256 of each local archive by file name.
    """
    local = [a for a in archives if not is_url(a)]
    for archive in local:
        obtain(runner, archive)
    sums, source = (None, None)
    if not (manifest and is_url(manifest)):     # a URL MANIFEST is checked after the download
        sums, source = load_sums(runner, archives, manifest, checksums)
    digests = {}
    for archive in local:
        name = os.path.basename(archive)
        digests[name] = verify(archive, name, sums, source) if sums is not None else sha256(archive)
    return sums is not None, digests


def extract(runner, archives, path, manifest=None, checksums=None):
    """Fetch, verify and extract the archives in order into ``path``; returns warnings."""
    warnings = []
    sums, source = load_sums(runner, archives, manifest, checksums)
    if sums is None:
        warnings.append('No MANIFEST beside %s: archives extracted without a checksum check' % archives[0])
    for archive in archives:
        local = obtain(runner, archive)
        if sums is not None:
            verify(local, os.path.basename(archive.rstrip('/')), sums, source)
        runner.run(['tar', '-xpf', local, '-C', path], action='extract %s into %s' % (archive, path))
    return warnings
