"""mdconfig(8): the examples of its man page, the listing formats and the errors of mdconfig.c."""


def test_man_page_examples(fresh):
    # "To create a 4 megabyte malloc(9) backed memory disk ... output on stdout like md3"
    assert fresh.run('mdconfig', '-a', '-t', 'malloc', '-s', '4m') == (0, 'md0\n', '')
    # A disk named /dev/md4 with a file as backing storage: an explicit unit prints nothing.
    fresh.sh('dd if=/dev/zero of=/tmp/boot.flp bs=1k count=1440 2>/dev/null')
    assert fresh.run('mdconfig', '-a', '-t', 'vnode', '-f', '/tmp/boot.flp', '-u', '4') == (0, '', '')
    # "-a and -t vnode are implied" for -f, "-a and -t swap" for -s.
    assert fresh.run('mdconfig', '-f', '/tmp/boot.flp') == (0, 'md1\n', '')
    assert fresh.run('mdconfig', '-s', '128M', '-u', '10') == (0, '', '')
    assert fresh.run('mdconfig', '-n', '-s', '1m') == (0, '2\n', '')
    assert fresh.run('mdconfig', '-l') == (0, 'md0 md1 md2 md4 md10 \n', '')
    assert fresh.run('mdconfig', '-l', '-n') == (0, '0 1 2 4 10 \n', '')
    # "To detach and free all resources used by /dev/md4"
    assert fresh.run('mdconfig', '-d', '-u', '4') == (0, '', '')
    assert fresh.run('mdconfig', '-d', '-u', 'md10') == (0, '', '')
    assert fresh.run('mdconfig', '-l') == (0, 'md0 md1 md2 \n', '')


def test_verbose_listing_and_query(fresh):
    fresh.sh('dd if=/dev/zero of=/tmp/img bs=1k count=4096 2>/dev/null')
    fresh.run('mdconfig', '-a', '-t', 'vnode', '-f', '/tmp/img', '-u', '0', '-o', 'readonly', '-L', 'seed')
    fresh.run('mdconfig', '-a', '-t', 'swap', '-s', '128m', '-o', 'nocompress', '-u', '3')
    assert fresh.run('mdconfig', '-l', '-v') == (0, 'md0\tvnode\t  4.0M\t/tmp/img\tseed\tcompress,readonly\n'
                                                    'md3\tswap\t  128M\t-\t-\t\n', '')
    # -l -u: the one disk with its details; a unit that does not exist returns -1 (255), silently.
    assert fresh.run('mdconfig', '-l', '-u', 'md3') == (0, 'md3\tswap\t  128M\t-\t-\t\n', '')
    assert fresh.run('mdconfig', '-l', '-u', '7') == (255, '', '')
    # -l -f: the disks backed by that file.
    assert fresh.run('mdconfig', '-l', '-f', '/tmp/img') == (0, 'md0 \n', '')
    assert fresh.run('mdconfig', '-l', '-f', '/etc/passwd') == (255, '', '')


def test_device_node_reaches_the_backing_store(fresh):
    fresh.sh('dd if=/dev/zero of=/tmp/disk bs=1k count=64 2>/dev/null')
    assert fresh.run('mdconfig', '/tmp/disk') == (0, 'md0\n', '')
    assert fresh.sh('printf FBSD > /dev/md0 && head -c 4 /tmp/disk') == (0, 'FBSD', '')
    fresh.run('mdconfig', '-a', '-t', 'malloc', '-s', '2m', '-u', '5')
    assert fresh.sh('wc -c < /dev/md5')[1].strip() == '2097152'
    assert fresh.run('mdconfig', '-r', '-u', '5', '-s', '4m') == (0, '', '')
    assert fresh.sh('wc -c < /dev/md5')[1].strip() == '4194304'
    fresh.run('mdconfig', '-d', '-u', '0')
    fresh.run('mdconfig', '-d', '-u', '5')
    assert fresh.run('test', '-e', '/dev/md0')[0] == 1 and fresh.run('test', '-e', '/dev/md5')[0] == 1
    assert fresh.run('test', '-f', '/tmp/disk')[0] == 0


def test_errors(fresh):
    usage = fresh.run('mdconfig')
    assert usage[0] == 1 and usage[2].startswith('usage: mdconfig -a -t type [-n] [-o [no]option] ... [-f file]\n')
    assert fresh.run('mdconfig', '-a', '-t', 'tmpfs', '-s', '1m') == (1, '', 'mdconfig: unknown type: tmpfs\n')
    assert fresh.run('mdconfig', '-a', '-t', 'malloc') == \
        (1, '', 'mdconfig: must specify -s for -t malloc, -t swap, or -t null\n')
    assert fresh.run('mdconfig', '-a') == (1, '', 'mdconfig: unable to determine type\n')
    assert fresh.run('mdconfig', '-a', '-d') == (1, '', 'mdconfig: -d is mutually exclusive with -a, -r, and -l\n')
    assert fresh.run('mdconfig', '-s', '4x') == (1, '', 'mdconfig: unknown suffix on -s argument\n')
    assert fresh.run('mdconfig', '-d') == (1, '', 'mdconfig: -d requires -u\n')
    assert fresh.run('mdconfig', '-d', '-u', 'x1') == (1, '', 'mdconfig: bad unit: x1\n')
    assert fresh.run('mdconfig', '-d', '-u', '9') == (1, '', 'mdconfig: ioctl(/dev/mdctl): No such file or directory\n')
    assert fresh.run('mdconfig', '-l', '-s', '1m') == (1, '', 'mdconfig: -s can only be used with -a and -r\n')
    assert fresh.run('mdconfig', '-d', '-u', '0', '-o', 'readonly') == \
        (1, '', 'mdconfig: only -o [no]force can be used with -d\n')
    assert fresh.run('mdconfig', '-r', '-u', '0') == (1, '', 'mdconfig: must specify -s for -r\n')
    assert fresh.run('mdconfig', '-a', '-t', 'swap', '-s', '1m', '-v') == \
        (1, '', 'mdconfig: -v can only be used with -l\n')
    assert fresh.run('mdconfig', '-t', 'swap', '-s', '1m', '/tmp/x') == \
        (1, '', 'mdconfig: only -t vnode can be used with file name\n')
    assert fresh.run('mdconfig', '-a', '-t', 'swap', '-s', '1m', '-o', 'turbo') == \
        (1, '', 'mdconfig: unknown option: turbo\n')
    assert fresh.run('mdconfig', '-f', '/nonexistent') == (1, '', 'mdconfig: realpath: No such file or directory\n')
    assert fresh.run('mdconfig', '-a', '-t', 'vnode', '-f', '/etc') == (1, '', 'mdconfig: /etc is not a regular file\n')
    assert fresh.run('mdconfig', '-a', '-t', 'swap', '-s', '1m', '-u', '0') == (0, '', '')
    assert fresh.run('mdconfig', '-a', '-t', 'swap', '-s', '1m', '-u', '0') == \
        (1, '', 'mdconfig: ioctl(/dev/mdctl): Device busy\n')
    assert fresh.run('mdconfig', '-a', '-t', 'swap', '-s', '1m', '-o', 'cluster') == \
        (0, 'md1\n', 'mdconfig: Option cluster is ignored\n')
    assert fresh.run('mdconfig', '-q') == (1, '', 'mdconfig: illegal option -- q\n' + usage[2])
