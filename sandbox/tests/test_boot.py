"""A simulated reboot (shutdown -r, reboot) and the rc.d scripts it runs: loader.conf(5), rc.conf(5)
(kld_list, cloned_interfaces, ifconfig_*, mdconfig_mdN, rctl_enable, jail_enable/jail_list), and
service jail / service netif as src-notes section 4 describes rc.d/jail."""

RC_CONF = '''
kld_list="if_bridge"
cloned_interfaces="bridge0 epair0"
ifconfig_bridge0="addm em0 addm epair0a up"
ifconfig_em0_alias0="inet 10.0.2.50/32"
jail_enable="YES"
jail_list="web"
'''
JAIL_CONF = 'web { path = "/"; host.hostname = "web.example"; persist; }\ndb { path = "/"; persist; }\n'


def configure(host):
    host.write('/etc/rc.conf', host.read('/etc/rc.conf') + RC_CONF)
    host.write('/boot/loader.conf', host.read('/boot/loader.conf') + 'vmm_load="YES"\nkern.racct.enable="1"\n')
    host.write('/etc/jail.conf', JAIL_CONF)
    host.write('/etc/rctl.conf', '# limits\njail:web:memoryuse:deny=1g\n')


def test_reboot_applies_what_is_configured_and_forgets_the_rest(fresh):
    configure(fresh)
    before = fresh.run('sysctl', '-n', 'kern.boottime')[1]
    assert before.startswith('{ sec = ') and ', usec = ' in before
    # Runtime-only state: a jail from the command line, a module, a cloned interface, a memory disk.
    fresh.run('jail', '-c', 'name=scratch', 'path=/', 'persist')
    fresh.run('kldload', 'nmdm')
    fresh.run('ifconfig', 'tap', 'create')
    fresh.run('mdconfig', '-s', '1m')
    fresh.run('zfs', 'create', 'zroot/keep')
    assert fresh.run('shutdown', '-r', 'now') == (0, '', '')
    assert fresh.run('sysctl', '-n', 'kern.boottime')[1] != before
    # Configured: loader modules and tunables, kld_list, cloned interfaces with their settings, rctl, jail_list.
    assert fresh.run('kldstat', '-q', '-m', 'vmm')[0] == 0
    assert fresh.run('kldstat', '-q', '-m', 'if_bridge')[0] == 0
    assert fresh.run('sysctl', '-n', 'kern.racct.enable') == (0, '1\n', '')
    assert fresh.run('ifconfig', '-l') == (0, 'em0 lo0 bridge0 epair0a epair0b\n', '')
    bridge = fresh.run('ifconfig', 'bridge0')[1]
    assert '<UP,' in bridge.splitlines()[0]
    assert '\tmember: em0 ' in bridge and '\tmember: epair0a ' in bridge
    assert '\tinet 10.0.2.50 netmask 0xffffffff broadcast 10.0.2.50' in fresh.run('ifconfig', 'em0')[1].splitlines()
    assert fresh.run('rctl') == (0, 'jail:web:memoryuse:deny=1073741824\n', '')
    assert fresh.run('jls', 'name') == (0, 'web\n', '')
    assert fresh.run('cat', '/var/run/jail_web.id') == (0, '1\n', '')
    # Not configured: gone, as after a real reboot; datasets stay.
    assert fresh.run('kldstat', '-q', '-m', 'nmdm')[0] == 1
    assert fresh.run('mdconfig', '-l') == (0, '', '')
    assert fresh.run('zfs', 'list', '-H', '-o', 'name', 'zroot/keep') == (0, 'zroot/keep\n', '')
    # What rc printed, in rc's order.
    boot = fresh.read('/var/log/fbsdsim/boot.log').splitlines()
    assert [line for line in boot if not line.startswith(('\t', 'em0:', 'lo0:', 'bridge0:'))] == [
        'Stopping jails:.', 'Setting hostname: sandbox.', 'Mounting local filesystems:.',
        'Created clone interfaces: bridge0 epair0.',
        'Starting Network: em0 lo0 bridge0.', 'Starting jails: web.']
    # The commands rc ran are in the command log like any other.
    log = fresh.log()
    for line in ('0\tkldload -n if_bridge', '0\tifconfig bridge0 create', '0\tifconfig epair0 create',
                 '0\tifconfig bridge0 addm em0 addm epair0a up', '0\tifconfig bridge0 up',
                 '0\tifconfig em0 inet 10.0.2.50/32 alias', '0\trctl -a jail:web:memoryuse:deny=1g',
                 '0\tjail -i -f /etc/jail.conf -c web', '0\tshutdown -r now'):
        assert line in log.splitlines()


def test_racct_follows_loader_conf_after_a_reboot(fresh):
    # Instances start booted with the kern.racct.enable="1" of their loader.conf; without it, 0 (the default).
    assert fresh.run('sysctl', '-n', 'kern.racct.enable') == (0, '1\n', '')
    assert 'kern.racct.enable="1"' in fresh.read('/boot/loader.conf').splitlines()
    assert fresh.run('reboot') == (0, '', '')
    assert fresh.run('sysctl', '-n', 'kern.racct.enable') == (0, '1\n', '')
    fresh.write('/boot/loader.conf', fresh.read('/boot/loader.conf').replace('kern.racct.enable="1"\n', ''))
    assert fresh.run('reboot') == (0, '', '')
    assert fresh.run('sysctl', '-n', 'kern.racct.enable') == (0, '0\n', '')
    assert fresh.run('rctl')[0] == 1


def test_shutdown_stops_jails_with_their_hooks_and_kills_jailed_processes(fresh):
    fresh.write('/etc/jail.conf', 'web { path = "/"; persist; exec.poststop = "touch /tmp/web-stopped"; }\n')
    fresh.run('sysrc', 'jail_enable=YES')
    assert fresh.run('service', 'jail', 'start') == (0, 'Starting jails: web.\n', '')
    assert fresh.run('shutdown', '-r', '+0s', 'maintenance') == (0, '', '')
    assert fresh.run('test', '-f', '/tmp/web-stopped')[0] == 0
    assert fresh.read('/var/log/fbsdsim/boot.log').splitlines()[0] == 'Stopping jails: web.'
    assert fresh.run('jls', 'name') == (0, 'web\n', '')


def test_service_jail(fresh):
    fresh.write('/etc/jail.conf', JAIL_CONF)
    assert fresh.run('service', 'jail', 'start') == \
        (0, "Cannot 'start' jail. Set jail_enable to YES in /etc/rc.conf or use 'onestart' instead of 'start'.\n", '')
    assert fresh.run('service', 'jail', 'onestart', 'db') == (0, 'Starting jails: db.\n', '')
    fresh.run('sysrc', 'jail_enable=YES')
    # Every jail of jail_conf at once: jail(8) passes over the one already running (jail.c: JF_WILD).
    assert fresh.run('service', 'jail', 'start') == (0, 'Starting jails: db web.\n', '')
    assert fresh.run('service', 'jail', 'stop') == (0, 'Stopping jails: db web.\n', '')   # jls order: by jid
    # No jail_list: every jail of jail_conf, with -p1 unless jail_parallel_start.
    assert fresh.run('service', 'jail', 'start') == (0, 'Starting jails: web db.\n', '')
    assert '0\tjail -f /etc/jail.conf -c -p1' in fresh.log().splitlines()
    assert [row.split()[0] for row in fresh.run('service', 'jail', 'status')[1].splitlines()] == ['JID', 'web', 'db']
    assert fresh.run('service', 'jail', 'stop', 'web') == (0, 'Stopping jails: web.\n', '')
    assert fresh.run('jls', 'name') == (0, 'db\n', '')
    # A jail named in jail_list with its own file in jail.conf.d.
    fresh.write('/etc/jail.conf.d/api.conf', 'api { path = "/"; persist; }\n')
    fresh.run('sysrc', 'jail_list=api db')
    assert fresh.run('service', 'jail', 'start') == \
        (0, 'Starting jails: api [db already running (/var/run/jail_db.id exists)].\n', '')
    assert '0\tjail -i -f /etc/jail.conf.d/api.conf -c api' in fresh.log().splitlines()
    fresh.write('/etc/jail.conf.d/bad.conf', 'bad { path = "/nonexistent"; persist; }\n')
    rc, out, err = fresh.run('service', 'jail', 'onestart', 'bad')
    assert (rc, err) == (0, '') and out.startswith('Starting jails: cannot start jail "bad": \n')
    assert fresh.run('service', 'jail', 'stop') == (0, 'Stopping jails: api db.\n', '')
    assert fresh.run('jls', 'name') == (0, '', '')
    assert fresh.run('service', 'jail', 'bogus')[0] == 1


def test_service_netif(fresh):
    fresh.write('/etc/rc.conf', fresh.read('/etc/rc.conf') + 'cloned_interfaces="bridge0"\n'
                'ifconfig_bridge0="inet 192.0.2.1/24"\nifconfig_bridge0_alias0="inet 192.0.2.2/32"\n')
    rc, out, err = fresh.run('service', 'netif', 'start', 'bridge0')
    assert (rc, err) == (0, '')
    assert out.splitlines()[:3] == ['Created clone interfaces: bridge0.', 'Starting Network: bridge0.',
                                    'bridge0: flags=1008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP> '
                                    'metric 0 mtu 1500']
    assert '\tinet 192.0.2.2 netmask 0xffffffff broadcast 192.0.2.2' in out.splitlines()
    assert fresh.run('service', 'netif', 'stop', 'bridge0') == \
        (0, 'Stopping Network: bridge0.\nDestroyed clone interfaces: bridge0.\n', '')
    assert fresh.run('ifconfig', '-l') == (0, 'em0 lo0\n', '')


def test_refused_shutdowns(fresh):
    assert fresh.run('shutdown', '-p', 'now')[0] == 1
    assert fresh.run('shutdown', '-r', '0') == (1, '', 'shutdown: bad time format\n')
    assert fresh.run('shutdown', '-r')[0] == 1
    assert fresh.run('jail', '-c', 'name=still', 'path=/', 'persist')[0] == 0
    assert fresh.run('jls', 'name') == (0, 'still\n', '')
