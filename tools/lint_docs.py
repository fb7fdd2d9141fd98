"""``antsibull-docs ARGS...`` with temporary directory names that reStructuredText cannot misread.

lint-collection-docs copies the collection into a temporary directory and writes that directory's
name into every plugin page's edit-on-GitHub URL.  tempfile draws names from [a-z0-9_]; a name that
ends in "_" makes the URL an rst reference ("Unknown target name: antsibull-docs-..."), so the
docs stage failed by chance about one run in 37 on unchanged code.  Names here have no "_".
"""
import sys
import tempfile

# pylint: disable-next=protected-access
tempfile._RandomNameSequence.characters = 'abcdefghijklmnopqrstuvwxyz0123456789'

from antsibull_docs.cli.antsibull_docs import run  # noqa: E402  (after the names are fixed)

sys.exit(run(['antsibull-docs'] + sys.argv[1:]))
