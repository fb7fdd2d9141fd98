"""jail(8) with command-line parameters, jls(8) formats (src-notes section 2), jexec(8)."""

import json
import os
import shutil

import pytest


# A tiny userland for the jail root: a shell, cat and pwd with the C library.
JAIL_FILES = ('usr/bin/dash', 'usr/bin/cat', 'usr/bin/pwd', 'usr/lib/x86_64-linux-gnu/libc.so.6',
              'usr/lib64/ld-linux-x86-64.so.2')


@pytest.fixture
def jailhost(fresh):
    """An instance with a jail root that holds a small runnable userland."""
    jail = '%s/jails/web' % fresh.root
    for name in JAIL_FILES:
        os.makedirs(os.path.dirname('%s/%s' % (jail, name)), exist_ok=True)
        shutil.copy2('%s/%s' % (fresh.root, name), '%s/%s' % (jail, name))
    os.makedirs('%s/etc' % jail)
    for link, target in (('bin', 'usr/bin'), ('lib', 'usr/lib'), ('lib64', 'usr/lib64'), ('usr/bin/sh', 'dash')):
        os.symlink(target, '%s/%s' % (jail, link))
    return fresh


def create(host, *extra):
    return host.run('jail', '-c', 'name=web', 'path=/jails/web', 'host.hostname=web.example.org',
                    'ip4.addr=em0|10.0.0.5/24', 'persist', *extra)


def test_create_prints_created_and_runs_exec_start_inside(jailhost):
    rc, out, err = create(jailhost, 'exec.start=echo $JNAME $JID $(pwd)')
    assert (rc, err) == (0, '')
    assert out == 'web: created\nweb 1 /\n'


def test_create_quiet_and_jid_only(jailhost):
    assert jailhost.run('jail', '-qc', 'name=a', 'path=/jails/web', 'persist') == (0, '', '')
    assert jailhost.run('jail', '-ic', 'name=b', 'path=/jails/web', 'persist') == (0, '2\n', '')


def test_errors(jailhost):
    create(jailhost)
    assert create(jailhost)[0] == 1
    assert jailhost.run('jail', '-c', 'name=x', 'path=/jails/web', 'bogus=1') == \
        (1, '', 'jail: unknown parameter: bogus\n')
    assert jailhost.run('jail', '-c', 'name=x', 'path=/jails/web', 'persist=maybe') == \
        (1, '', 'jail: persist: unknown boolean value "maybe"\n')
    assert jailhost.run('jail', '-r', 'nosuch') == (1, '', 'jail: "nosuch" not found\n')
    assert jailhost.run('jail')[0] == 1


def test_default_listing_layout(jailhost):
    create(jailhost)
    assert jailhost.run('jls') == (0, '   JID  IP Address      Hostname                      Path\n'
                                      '     1  10.0.0.5        web.example.org               /jails/web\n', '')
    assert jailhost.run('jls', '-N')[1].splitlines() == [
        ' JID             IP Address      Hostname                      Path',
        ' web             10.0.0.5        web.example.org               /jails/web']


def test_verbose_listing(jailhost):
    create(jailhost)
    assert jailhost.run('jls', '-v')[1].splitlines()[4:] == [
        '     1  web.example.org               /jails/web',
        '        web                           ACTIVE',
        '        2',
        '        10.0.0.5']


def test_parameter_mode(jailhost):
    create(jailhost)
    assert jailhost.run('jls', '-j', 'web', '-n', 'name', 'persist', 'allow.mount', 'ip6.addr') == \
        (0, 'name=web persist allow.nomount ip6.addr=\n', '')
    assert jailhost.run('jls', '-j', 'web', '-h', 'jid', 'ip6.addr', 'host.domainname') == \
        (0, 'jid ip6.addr host.domainname\n1 - ""\n', '')
    assert jailhost.run('jls', '-j', 'web', '-q', 'ip6.addr')[1] == '""\n'


def test_libxo_json_shapes(jailhost):
    assert jailhost.run('jls', '--libxo', 'json') == \
        (0, '{"__version": "2", "jail-information": {"jail": []}}\n', '')
    create(jailhost)
    out = jailhost.run('jls', '--libxo', 'json')[1]
    assert out == ('{"__version": "2", "jail-information": {"jail": [{"jid":1,"ipv4":"10.0.0.5",'
                   '"hostname":"web.example.org","path":"/jails/web"}]}}\n')
    data = json.loads(jailhost.run('jls', '-j', 'web', '--libxo', 'json', '-n', 'name', 'persist')[1])
    assert data['jail-information']['jail'] == [{'name': 'web', 'persist': True}]


def test_jls_unknown_jail_and_check(jailhost):
    assert jailhost.run('jls', '-j', 'nosuch') == (1, '', 'jls: jail "nosuch" not found\n')
    assert jailhost.run('jls', '-c', '-j', 'nosuch') == (1, '', '')
    create(jailhost)
    assert jailhost.run('jls', '-c', '-j', 'web') == (0, '', '')


def test_modify_and_remove(jailhost):
    create(jailhost, 'exec.stop=echo stopping $JNAME')
    assert jailhost.run('jail', '-m', 'name=web', 'host.hostname=new.example.org')[0] == 0
    assert jailhost.run('jls', '-j', 'web', 'host.hostname') == (0, 'new.example.org\n', '')
    assert jailhost.run('jail', '-m', 'name=web', 'path=/')[0] == 1
    assert jailhost.run('jail', '-r', 'web') == (0, 'stopping web\nweb: removed\n', '')
    assert jailhost.run('jls', '-c', '-j', 'web')[0] == 1


def test_jexec_runs_for_real_inside_the_jail_root(jailhost):
    create(jailhost)
    jailhost.write('/jails/web/etc/only-in-jail', 'yes\n')
    assert jailhost.run('jexec', 'web', '/bin/cat', '/etc/only-in-jail') == (0, 'yes\n', '')
    assert jailhost.run('jexec', 'web', '/bin/sh', '-c', 'exit 3')[0] == 3
    assert jailhost.run('jexec', '1', 'pwd') == (0, '/\n', '')
    assert jailhost.run('jexec', 'nosuch', 'true') == (1, '', 'jexec: jail "nosuch" not found\n')


def test_jexec_runs_as_a_user_of_the_jail(jailhost):
    create(jailhost)
    jailhost.write('/jails/web/etc/passwd', 'root:*:0:0::/root:/bin/sh\nwww:*:80:80::/:/bin/sh\n')
    jailhost.write('/jails/web/etc/probe', 'x')
    os.chmod('%s/jails/web/etc/probe' % jailhost.root, 0o600)
    assert jailhost.run('jexec', '-u', 'www', 'web', '/bin/cat', '/etc/probe')[0] == 1
    assert jailhost.run('jexec', '-u', 'root', 'web', '/bin/cat', '/etc/probe') == (0, 'x', '')
    assert jailhost.run('jexec', '-u', 'nosuch', 'web', 'true') == (1, '', 'jexec: unknown user: nosuch\n')


def test_freebsd_version_and_sysrc_in_a_jail(jailhost):
    create(jailhost)
    assert jailhost.run('freebsd-version', '-j', 'web') == (0, '14.3-RELEASE\n', '')
    jailhost.write('/jails/web/etc/rc.conf', 'hostname="web"\n')
    assert jailhost.run('sysrc', '-j', 'web', '-f', '/etc/rc.conf', 'hostname') == (0, 'hostname: web\n', '')


def test_vnet_jail_started_with_etc_rc_gets_its_rc_conf_addresses(fresh):
    """The stand-in for rc.d/netif inside a VNET jail (see jail_netif)."""
    fresh.sh('mkdir -p /j/v && tar -xpf /usr/freebsd-dist/base.txz -C /j/v && printf \'ifconfig_vb="inet 192.0.2.5/24"'
             '\\nifconfig_vb_alias0="inet 192.0.2.6/24"\\ndefaultrouter="192.0.2.1"\\n\' > /j/v/etc/rc.conf')
    fresh.sh('e=$(ifconfig epair create) && ifconfig "${e%a}b" name vb')
    rc, out, err = fresh.run('jail', '-c', 'name=v', 'path=/j/v', 'vnet', 'vnet.interface=vb', 'persist',
                             'exec.start=/bin/sh /etc/rc')
    assert rc == 0, err
    rc, out, err = fresh.run('ifconfig', '-j', 'v', 'vb')
    assert '\tinet 192.0.2.5 netmask 0xffffff00' in out and '\tinet 192.0.2.6 netmask 0xffffff00' in out


def test_depend_names_a_jail_of_the_configuration(fresh):
    """state.c dep_setup: a running jail that the configuration does not define is still undefined."""
    fresh.sh('mkdir -p /j/a /j/b && echo "a { path = /j/a; persist; }" > /etc/jail.a.conf')
    fresh.sh('jail -f /etc/jail.a.conf -c a')
    fresh.sh('echo "b { path = /j/b; persist; depend = a; }" > /etc/jail.b.conf')
    assert fresh.run('jail', '-f', '/etc/jail.b.conf', '-c', 'b') == \
        (1, '', 'jail: b: depends on undefined jail "a"\n')
    # Included, it is defined: already running, it is passed over and b starts.
    stdin = '.include "/etc/jail.a.conf";\n.include "/etc/jail.b.conf";\n'
    assert fresh.run('jail', '-f', '-', '-c', 'b', stdin=stdin) == (0, 'b: created\n', '')


def test_one_run_for_every_jail_of_a_file_goes_on_past_a_failure(fresh):
    """jail -f FILE -c with no jail named: each jail on its own, a failure reported by its name, the
    jails depending on it skipped, the others created; exit 1."""
    fresh.sh('mkdir -p /j/a /j/c /j/d')
    fresh.write('/etc/many.conf', 'a { path = /j/a; persist; }\n'
                'b { path = /j/missing; persist; }\n'
                'c { path = /j/c; persist; depend = b; }\n'
                'd { path = /j/d; persist; }\n')
    rc, out, err = fresh.run('jail', '-f', '/etc/many.conf', '-p', '1', '-c')
    assert rc == 1
    assert out == 'a: created\nd: created\n'
    assert err == 'jail: b: path /j/missing: No such file or directory\njail: c: skipped\n'
    assert fresh.run('jls', 'name') == (0, 'a\nd\n', '')
    # Again: the running ones are passed over (a wildcard start), b fails again.
    fresh.sh('mkdir -p /j/missing')
    assert fresh.run('jail', '-f', '/etc/many.conf', '-c') == (0, 'b: created\nc: created\n', '')
    # Named, a running jail is an error; more than one name is read as parameters (jail.c).
    assert fresh.run('jail', '-f', '/etc/many.conf', '-c', 'a') == (1, '', 'jail: "a" already exists\n')
    assert fresh.run('jail', '-f', '/etc/many.conf', '-c', 'a', 'd') == (1, '', 'jail: unknown parameter: a\n')


def test_a_dependency_loop_fails_its_jails(fresh):
    fresh.sh('mkdir -p /j/a /j/b /j/c')
    fresh.write('/etc/loop.conf', 'a { path = /j/a; persist; depend = b; }\nb { path = /j/b; persist; depend = a; }\n'
                'c { path = /j/c; persist; }\n')
    rc, out, err = fresh.run('jail', '-f', '/etc/loop.conf', '-c')
    assert (rc, out) == (1, 'c: created\n')
    assert 'dependency loop' in err
