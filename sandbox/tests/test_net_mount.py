"""ifconfig(8) cloning and bridges (src-notes section 9), mount(8)/umount(8), the base.txz."""

import hashlib


def test_clone_create_prints_only_generated_names(fresh):
    assert fresh.run('ifconfig', 'bridge', 'create') == (0, 'bridge0\n', '')
    assert fresh.run('ifconfig', 'bridge5', 'create') == (0, '', '')
    assert fresh.run('ifconfig', 'epair', 'create') == (0, 'epair0a\n', '')
    assert fresh.run('ifconfig', 'tap', 'create') == (0, 'tap0\n', '')
    assert fresh.run('ifconfig', '-l') == (0, 'em0 lo0 bridge0 bridge5 epair0a epair0b tap0\n', '')
    assert fresh.run('ifconfig', 'bridge0', 'create') == (1, '', 'ifconfig: SIOCIFCREATE2 (bridge0): File exists\n')


def test_bridge_members_listing(fresh):
    fresh.run('ifconfig', 'bridge', 'create')
    fresh.run('ifconfig', 'tap', 'create')
    assert fresh.run('ifconfig', 'bridge0', 'addm', 'em0', 'addm', 'tap0', 'up') == (0, '', '')
    out = fresh.run('ifconfig', 'bridge0')[1].splitlines()
    assert out[0].startswith('bridge0: flags=') and '<UP,' in out[0] and out[0].endswith('metric 0 mtu 1500')
    assert out[3:8] == [
        '\tid 00:00:00:00:00:00 priority 32768 hellotime 2 fwddelay 15',
        '\tmaxage 20 holdcnt 6 proto rstp maxaddr 2000 timeout 1200',
        '\troot id 00:00:00:00:00:00 priority 32768 ifcost 0 port 0',
        '\tmember: tap0 flags=143<LEARNING,DISCOVER,AUTOEDGE,AUTOPTP>',
        '\t        ifmaxaddr 0 port 4 priority 128 path cost 2000000']
    assert '\tmember: em0 flags=143<LEARNING,DISCOVER,AUTOEDGE,AUTOPTP>' in out
    assert '\tgroups: bridge' in out


def test_bridge_errors(fresh):
    fresh.run('ifconfig', 'bridge', 'create')
    assert fresh.run('ifconfig', 'bridge0', 'addm', 'tap9') == (1, '', 'ifconfig: BRDGADD tap9: No such file or directory\n')
    fresh.run('ifconfig', 'bridge0', 'addm', 'em0')
    assert fresh.run('ifconfig', 'bridge0', 'addm', 'em0') == (1, '', 'ifconfig: BRDGADD em0: File exists\n')
    assert fresh.run('ifconfig', 'nosuch0') == (1, '', 'ifconfig: interface nosuch0 does not exist\n')
    assert fresh.run('ifconfig', 'bridge0', 'deletem', 'em0') == (0, '', '')
    assert 'member:' not in fresh.run('ifconfig', 'bridge0')[1]


def test_addresses_and_destroy(fresh):
    fresh.run('ifconfig', 'bridge', 'create')
    assert fresh.run('ifconfig', 'bridge0', 'inet', '10.0.0.1/24') == (0, '', '')
    assert fresh.run('ifconfig', 'bridge0', 'inet', '10.0.0.2', 'netmask', '255.255.255.0', 'alias') == (0, '', '')
    lines = fresh.run('ifconfig', 'bridge0')[1].splitlines()
    assert '\tinet 10.0.0.1 netmask 0xffffff00 broadcast 10.0.0.255' in lines
    assert '\tinet 10.0.0.2 netmask 0xffffff00 broadcast 10.0.0.255' in lines
    assert fresh.run('ifconfig', 'bridge0', 'inet', '10.0.0.2', '-alias') == (0, '', '')
    assert 'inet 10.0.0.2 ' not in fresh.run('ifconfig', 'bridge0')[1]
    fresh.run('ifconfig', 'epair', 'create')
    assert fresh.run('ifconfig', 'epair0b', 'destroy') == (0, '', '')
    assert fresh.run('ifconfig', '-l') == (0, 'em0 lo0 bridge0\n', '')


def test_an_epair_is_one_pair_whatever_its_sides_are_named(fresh):
    # if_epair: a renamed pair keeps its unit, and destroying either side destroys both.
    assert fresh.run('ifconfig', 'epair', 'create') == (0, 'epair0a\n', '')
    assert fresh.run('ifconfig', 'epair0a', 'name', 'ej_wa', 'up') == (0, 'ej_wa\n', '')
    assert fresh.run('ifconfig', 'epair', 'create') == (0, 'epair1a\n', '')
    assert fresh.run('ifconfig', 'ej_wa', 'destroy') == (0, '', '')
    assert fresh.run('ifconfig', '-l') == (0, 'em0 lo0 epair1a epair1b\n', '')
    assert fresh.run('ifconfig', 'epair', 'create') == (0, 'epair0a\n', '')


def test_vnet_move_needs_a_vnet_jail(fresh):
    fresh.run('ifconfig', 'epair', 'create')
    fresh.run('mkdir', '/j')
    fresh.run('jail', '-qc', 'name=v', 'path=/j', 'vnet=new', 'persist')
    fresh.run('jail', '-qc', 'name=plain', 'path=/j', 'persist')
    assert fresh.run('ifconfig', 'epair0b', 'vnet', 'v') == (0, '', '')
    assert fresh.run('ifconfig', '-j', 'v', '-l') == (0, 'lo0 epair0b\n', '')
    assert fresh.run('ifconfig', 'epair0a', 'vnet', 'plain')[0] == 1
    assert fresh.run('ifconfig', 'epair0b') == (1, '', 'ifconfig: interface epair0b does not exist\n')
    assert fresh.run('ifconfig', '-j', 'v', 'epair0b', 'inet', '192.168.5.2/24') == (0, '', '')
    assert fresh.run('ifconfig', 'epair0b', '-vnet', 'v') == (1, '', 'ifconfig: interface epair0b does not exist\n')
    assert fresh.run('ifconfig', '-j', 'v', 'epair0b', '-vnet', 'v') == (0, '', '')
    assert 'epair0b' in fresh.run('ifconfig', '-l')[1]


def test_a_vnet_has_its_own_lo0_and_routing_table(fresh):
    """if_loop makes a lo0 in every vnet, down and without addresses; route -j works in the jail's table."""
    fresh.run('mkdir', '/j')
    fresh.run('jail', '-qc', 'name=v', 'path=/j', 'vnet=new', 'persist')
    lines = fresh.run('ifconfig', '-j', 'v', 'lo0')[1].splitlines()
    assert lines[0].startswith('lo0: flags=') and 'UP' not in lines[0] and not any('inet' in x for x in lines)
    assert fresh.run('ifconfig', '-j', 'v', 'lo0', 'inet', '127.0.0.1/8', 'up') == (0, '', '')
    assert '\tinet 127.0.0.1 netmask 0xff000000' in fresh.run('ifconfig', '-j', 'v', 'lo0')[1]
    assert fresh.run('ifconfig', 'lo0')[1].count('inet 127.0.0.1') == 1      # the host's, apart
    assert fresh.run('ifconfig', '-j', 'v', 'lo0', '-vnet', 'v') == \
        (1, '', 'ifconfig: SIOCSIFVNET: Operation not permitted\n')
    # A gateway must be on a network of the vnet's interfaces.
    assert fresh.run('route', '-j', 'v', 'add', 'default', '192.0.2.1') == \
        (1, 'add net default: gateway 192.0.2.1 fib 0: Network is unreachable\n',
         'route: message indicates error: Network is unreachable\n')
    fresh.sh('e=$(ifconfig epair create) && ifconfig "${e%a}b" vnet v')
    assert fresh.run('ifconfig', '-j', 'v', 'epair0b', 'inet', '192.0.2.5/24', 'up') == (0, '', '')
    assert fresh.run('route', '-j', 'v', 'add', 'default', '192.0.2.1') == \
        (0, 'add net default: gateway 192.0.2.1\n', '')
    assert fresh.run('route', '-j', 'v', 'add', 'default', '192.0.2.1') == \
        (1, 'add net default: gateway 192.0.2.1 fib 0: route already in table\n',
         'route: message indicates error: File exists\n')
    rc, out, err = fresh.run('route', '-j', 'v', '-n', 'get', 'default')
    assert rc == 0 and '    gateway: 192.0.2.1\n' in out and '  interface: epair0b\n' in out
    assert fresh.run('route', '-n', 'get', 'default') == \
        (1, '   route to: default\n', 'route: route has not been found\n')     # the host's table is apart
    assert fresh.run('route', '-j', 'v', 'delete', 'default') == (0, 'delete net default\n', '')
    # IPv6 has a table of its own: -inet6 adds and deletes there, and a gateway of the other family is refused.
    assert fresh.run('ifconfig', '-j', 'v', 'epair0b', 'inet6', '2001:db8::5/64', 'alias') == (0, '', '')
    assert fresh.run('route', '-j', 'v', 'add', '-inet6', 'default', '2001:db8::1') == \
        (0, 'add net default: gateway 2001:db8::1\n', '')
    assert fresh.run('route', '-j', 'v', 'add', '-inet6', 'default', '192.0.2.1') == \
        (1, '', 'route: bad address: 192.0.2.1\n')
    assert fresh.run('route', '-j', 'v', '-n', 'get', 'default')[0] == 1      # the IPv4 one is gone
    assert fresh.run('route', '-j', 'v', 'delete', '-inet6', 'default') == (0, 'delete net default\n', '')
    assert fresh.run('route', '-j', 'v', 'delete', '-inet6', 'default') == \
        (1, 'delete net default fib 0: not in table\n', 'route: message indicates error: No such process\n')
    assert fresh.run('route', '-j', 'nosuch', 'get', 'default') == (1, '', 'route: jail "nosuch" not found\n')
    assert fresh.run('route', 'frobnicate')[0] == 64
    # The jail's vnet goes with it: its lo0 too, the epair's side back to the host.
    fresh.run('jail', '-r', 'v')
    assert fresh.run('ifconfig', '-l') == (0, 'em0 lo0 epair0a epair0b\n', '')


def test_mount_nullfs_is_a_real_read_only_bind(fresh):
    fresh.sh('mkdir -p /src /dst && echo hi > /src/f')
    assert fresh.run('mount', '-t', 'nullfs', '-o', 'ro', '/src', '/dst') == (0, '', '')
    assert '/src on /dst (nullfs, local, read-only)' in fresh.run('mount')[1].splitlines()
    assert fresh.run('cat', '/dst/f') == (0, 'hi\n', '')
    assert fresh.sh('echo x > /dst/g')[0] != 0
    assert fresh.run('umount', '/dst') == (0, '', '')
    assert fresh.run('umount', '/dst') == (1, '', 'umount: /dst: not a file system root directory\n')
    assert fresh.run('mount', '-t', 'nullfs', '/nope', '/dst') == (1, '', 'mount: /nope: No such file or directory\n')


def test_mount_tmpfs_and_busy_parent(fresh):
    fresh.sh('mkdir -p /m')
    assert fresh.run('mount', '-t', 'tmpfs', 'tmpfs', '/m') == (0, '', '')
    fresh.sh('mkdir /m/sub')
    assert fresh.run('mount', '-t', 'tmpfs', 'tmpfs', '/m/sub') == (0, '', '')
    assert fresh.run('umount', '/m') == (1, '', 'umount: unmount of /m failed: Device busy\n')
    assert fresh.run('umount', '/m/sub') == (0, '', '')
    assert fresh.run('umount', '/m') == (0, '', '')


def test_base_release_manifest_and_userland(fresh):
    manifest = fresh.read('/usr/freebsd-dist/MANIFEST').split('\t')
    with open(fresh.root + '/usr/freebsd-dist/base.txz', 'rb') as handle:
        assert manifest[:2] == ['base.txz', hashlib.sha256(handle.read()).hexdigest()]
    assert fresh.sh('mkdir /j && tar -xf /usr/freebsd-dist/base.txz -C /j')[0] == 0
    assert fresh.run('jail', '-qc', 'name=b', 'path=/j', 'persist') == (0, '', '')
    assert fresh.run('jexec', 'b', '/bin/sh', '-c', 'freebsd-version; /bin/sh /etc/rc && echo rc-ok') == \
        (0, '14.3-RELEASE\nrc-ok\n', '')
    assert fresh.run('jexec', '-u', 'www', 'b', 'id', '-u') == (0, '80\n', '')


def test_rename_keeps_bridge_membership(fresh):
    fresh.run('ifconfig', 'bridge', 'create')
    fresh.run('ifconfig', 'tap', 'create')
    fresh.run('ifconfig', 'bridge0', 'addm', 'tap0')
    assert fresh.run('ifconfig', 'tap0', 'name', 'vm0tap') == (0, 'vm0tap\n', '')
    assert '\tmember: vm0tap flags=143<LEARNING,DISCOVER,AUTOEDGE,AUTOPTP>' in fresh.run('ifconfig', 'bridge0')[1]
    assert fresh.run('ifconfig', 'tap0') == (1, '', 'ifconfig: interface tap0 does not exist\n')


def test_mount_follows_a_symlinked_node_and_the_table_names_where_it_landed(fresh):
    fresh.sh('mkdir -p /srv/c /srv/victim /srv/src && ln -s /srv/victim /srv/c/mnt')
    assert fresh.run('mount', '-t', 'nullfs', '/srv/src', '/srv/c/mnt')[0] == 0
    nodes = [line.split()[1] for line in fresh.run('mount', '-p')[1].splitlines()]
    assert '/srv/victim' in nodes and '/srv/c/mnt' not in nodes
    assert fresh.run('umount', '/srv/victim')[0] == 0
