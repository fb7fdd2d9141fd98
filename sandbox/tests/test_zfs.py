"""zfs(8)/zpool(8): list -H -p shapes (src-notes section 10), lifecycles, errors of zfs-*.8."""


def zfs(host, *args):
    return host.run('zfs', *args)


def test_list_parsable_shape(fresh):
    assert zfs(fresh, 'create', '-o', 'mountpoint=/usr/jails', 'zroot/jails') == (0, '', '')
    rc, out, err = zfs(fresh, 'list', '-H', '-p', '-o', 'name,used,avail,refer,mountpoint', '-r', 'zroot/jails')
    assert (rc, err) == (0, '')
    fields = out.rstrip('\n').split('\t')
    assert fields[0] == 'zroot/jails' and fields[4] == '/usr/jails' and len(fields) == 5
    assert all(f.isdigit() for f in fields[1:4])
    assert fresh.run('test', '-d', '/usr/jails')[0] == 0


def test_create_errors(fresh):
    assert zfs(fresh, 'create', 'zroot/a/b') == (1, '', "cannot create 'zroot/a/b': parent does not exist\n")
    assert zfs(fresh, 'create', '-p', 'zroot/a/b') == (0, '', '')
    assert zfs(fresh, 'create', 'zroot/a') == (1, '', "cannot create 'zroot/a': dataset already exists\n")
    assert zfs(fresh, 'list', 'zroot/nope') == (1, '', "cannot open 'zroot/nope': dataset does not exist\n")
    assert zfs(fresh, 'create', '-o', 'compression=fast', 'zroot/c')[0] == 1
    assert zfs(fresh, 'bogus')[0] == 2


def test_volume(fresh):
    assert zfs(fresh, 'create', '-V', '8G', 'zroot/vm/disk0')[0] == 1
    assert zfs(fresh, 'create', '-p', '-V', '8G', 'zroot/vm/disk0') == (0, '', '')
    assert zfs(fresh, 'list', '-H', '-p', '-o', 'name,volsize,mountpoint,type', 'zroot/vm/disk0') == \
        (0, 'zroot/vm/disk0\t8589934592\t-\tvolume\n', '')


def test_get_sources_and_inherit(fresh):
    zfs(fresh, 'create', '-o', 'compression=zstd', 'zroot/j')
    zfs(fresh, 'create', 'zroot/j/web')
    assert zfs(fresh, 'get', '-H', '-o', 'name,property,value,source', 'compression', 'zroot/j/web') == \
        (0, 'zroot/j/web\tcompression\tzstd\tinherited from zroot/j\n', '')
    zfs(fresh, 'set', 'compression=off', 'zroot/j/web')
    assert zfs(fresh, 'get', '-H', '-o', 'value,source', 'compression', 'zroot/j/web') == (0, 'off\tlocal\n', '')
    zfs(fresh, 'inherit', 'compression', 'zroot/j/web')
    assert zfs(fresh, 'get', '-H', '-o', 'source', 'compression', 'zroot/j/web') == \
        (0, 'inherited from zroot/j\n', '')
    assert zfs(fresh, 'get', '-H', '-p', '-o', 'value', 'quota', 'zroot/j') == (0, '0\n', '')
    zfs(fresh, 'set', 'quota=10G', 'org.example:role=web', 'zroot/j')
    assert zfs(fresh, 'get', '-H', '-p', '-o', 'value', 'quota,org.example:role', 'zroot/j') == \
        (0, '10737418240\nweb\n', '')


def test_snapshot_clone_carries_files_and_destroy_guards(fresh):
    zfs(fresh, 'create', '-p', 'zroot/jails/templates/base')
    fresh.sh('tar -xf /usr/freebsd-dist/base.txz -C /zroot/jails/templates/base')
    assert zfs(fresh, 'snapshot', 'zroot/jails/templates/base@14.3') == (0, '', '')
    assert zfs(fresh, 'clone', 'zroot/jails/templates/base@14.3', 'zroot/jails/web') == (0, '', '')
    assert fresh.run('test', '-x', '/zroot/jails/web/bin/sh')[0] == 0
    assert zfs(fresh, 'list', '-H', '-o', 'origin', 'zroot/jails/web') == (0, 'zroot/jails/templates/base@14.3\n', '')
    assert zfs(fresh, 'list', '-H', '-t', 'snapshot', '-o', 'name') == (0, 'zroot/jails/templates/base@14.3\n', '')
    rc, out, err = zfs(fresh, 'destroy', 'zroot/jails/templates/base@14.3')
    assert rc == 1 and err.startswith("cannot destroy 'zroot/jails/templates/base@14.3': snapshot has dependent clones")
    rc, out, err = zfs(fresh, 'destroy', 'zroot/jails')
    assert rc == 1 and "use '-r'" in err
    # The clone runs as a jail.
    fresh.run('jail', '-qc', 'name=web', 'path=/zroot/jails/web', 'persist')
    assert fresh.run('jexec', 'web', 'freebsd-version') == (0, '14.3-RELEASE\n', '')


def test_rollback_only_to_latest_without_r(fresh):
    zfs(fresh, 'create', 'zroot/d')
    fresh.sh('echo one > /zroot/d/f')
    zfs(fresh, 'snapshot', 'zroot/d@1')
    fresh.sh('echo two > /zroot/d/f')
    zfs(fresh, 'snapshot', 'zroot/d@2')
    assert zfs(fresh, 'rollback', 'zroot/d@1') == (1, '', "cannot rollback to 'zroot/d@1': more recent snapshots or "
                                                          "bookmarks exist\nuse '-r' to force deletion of the "
                                                          "following snapshots and bookmarks:\nzroot/d@2\n")
    assert zfs(fresh, 'rollback', '-r', 'zroot/d@1') == (0, '', '')
    assert fresh.run('cat', '/zroot/d/f') == (0, 'one\n', '')


def test_send_receive_and_rename(fresh):
    zfs(fresh, 'create', 'zroot/src')
    fresh.sh('echo data > /zroot/src/f')
    zfs(fresh, 'snapshot', 'zroot/src@s')
    assert fresh.sh('zfs send zroot/src@s | zfs receive zroot/copy') == (0, '', '')
    assert fresh.run('cat', '/zroot/copy/f') == (0, 'data\n', '')
    assert zfs(fresh, 'list', '-H', '-t', 'snapshot', '-o', 'name', '-r', 'zroot/copy') == (0, 'zroot/copy@s\n', '')
    assert zfs(fresh, 'rename', 'zroot/copy', 'zroot/moved') == (0, '', '')
    assert fresh.run('cat', '/zroot/moved/f') == (0, 'data\n', '')


def test_mountpoint_change_moves_files_and_destroy_removes_data(fresh):
    zfs(fresh, 'create', 'zroot/m')
    fresh.sh('echo x > /zroot/m/f')
    zfs(fresh, 'set', 'mountpoint=/srv/m', 'zroot/m')
    assert fresh.run('cat', '/srv/m/f') == (0, 'x\n', '')
    assert zfs(fresh, 'destroy', 'zroot/m') == (0, '', '')
    assert fresh.run('test', '-e', '/srv/m/f')[0] == 1


def test_jailed_dataset(fresh):
    fresh.run('mkdir', '/j')
    fresh.run('jail', '-qc', 'name=j', 'path=/j', 'persist')
    zfs(fresh, 'create', 'zroot/jd')
    assert zfs(fresh, 'jail', 'j', 'zroot/jd') == (1, '', "cannot jail 'zroot/jd': 'jailed' property not set\n")
    zfs(fresh, 'set', 'jailed=on', 'zroot/jd')
    assert zfs(fresh, 'jail', 'j', 'zroot/jd') == (0, '', '')


def test_zpool_list(fresh):
    rc, out, err = fresh.run('zpool', 'list', '-H', '-p', '-o', 'name,size,alloc,free,health')
    fields = out.rstrip('\n').split('\t')
    assert (rc, err, fields[0], fields[4]) == (0, '', 'zroot', 'ONLINE')
    assert int(fields[1]) == int(fields[2]) + int(fields[3])
    assert fresh.run('zpool', 'list', 'tank') == (1, '', "zpool: cannot open 'tank': no such pool\n")


def test_bad_options_are_reported_as_openzfs_does(fresh):
    # FreeBSD 14.x ships OpenZFS 2.2, which has no 'zfs list -j' (JSON came with 2.3, FreeBSD 15).
    # zfs sets opterr = 0: no libc message, its own line, the subcommand's usage, exit 2 [src zfs_main.c].
    rc, out, err = zfs(fresh, 'list', '-j')
    assert (rc, out) == (2, '')
    lines = err.splitlines()
    assert lines[:4] == ["invalid option 'j'", 'usage:',
                         '\tlist [-Hp] [-r|-d max] [-o property[,...]] [-s property]...',
                         '\t    [-S property]... [-t type[,...]] [filesystem|volume|snapshot] ...']
    assert 'The following properties are supported:' in lines
    assert any(line.startswith('\tcompression     YES      YES   ') for line in lines)
    assert 'illegal option' not in err
    # A missing option argument is reported the same way (no ':' leads the optstring).
    rc, out, err = zfs(fresh, 'create', '-o')
    assert (rc, err.splitlines()[:3]) == (2, ["invalid option 'o'", 'usage:',
                                              '\tcreate [-Pnpuv] [-o property=value] ... <filesystem>'])
    assert err.splitlines()[-1] == 'For the delegated permission list, run: zfs allow|unallow'
    assert zfs(fresh, 'snap', '-x', 'zroot@a')[2].splitlines()[:2] == ["invalid option 'x'", 'usage:']
    rc, out, err = zfs(fresh)
    assert (rc, err.splitlines()[:2]) == (2, ['missing command', 'usage: zfs command args ...'])
    assert host_usage_lines(fresh, 'zpool', 'list', '-Z')[:2] == ["invalid option 'Z'", 'usage:']


def host_usage_lines(host, *argv):
    rc, out, err = host.run(*argv)
    assert (rc, out) == (2, '')
    return err.splitlines()
