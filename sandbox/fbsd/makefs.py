"""makefs(8) -t cd9660, **simulated**: the image is not ISO 9660.

It is a small text file: a signature line, the volume label (``-o label=``), then the directory's
regular files as JSON ({path: text}).  Enough for a VM's cloud-init seed to be made, compared and
read back by tests; no guest reads it (no guest code runs in the sandbox).
"""

import json
import os

from fbsd.core import Command, getopt

SIGNATURE = 'fbsdsim-cd9660'


def makefs_main(prog, args):
    cmd = Command(prog, ['usage: makefs [-DxZ] [-B endian] [-b free-blocks] [-d debug-mask]',
                         '\t[-F mtree-specfile] [-f free-files] [-M minimum-size] [-m maximum-size]',
                         '\t[-N userdb-dir] [-O offset] [-o fs-options] [-R roundup-size]',
                         '\t[-S sector-size] [-s image-size] [-T <timestamp/file>] [-t fs-type]',
                         '\timage-file directory | manifest [extra-directory ...]'])
    options, operands = getopt(cmd, args, 'B:b:Dd:F:f:M:m:N:O:o:pR:s:S:t:T:xZ')
    opts = dict(options)
    if len(operands) < 2:
        cmd.bad_option()
    fstype = opts.get('t', 'ffs')
    if fstype != 'cd9660':
        cmd.errx(1, 'fbsdsim: only -t cd9660 is simulated (not %s)' % fstype)
    settings = {}
    for flag, value in options:
        if flag == 'o':
            for item in value.split(','):
                key, unused, setting = item.partition('=')
                settings[key] = setting or True
    image, directory = operands[0], operands[1]
    if not os.path.isdir(directory):
        cmd.errx(1, 'cannot stat `%s\': No such file or directory' % directory)      # [mem]
    files = {}
    for base, dirs, names in os.walk(directory):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(base, name)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, errors='surrogateescape') as handle:
                    files[os.path.relpath(path, directory)] = handle.read()
    with open(image, 'w', errors='surrogateescape') as handle:
        handle.write('%s\nlabel=%s\n%s\n' % (SIGNATURE, settings.get('label', ''), json.dumps(files, sort_keys=True)))
    return 0
