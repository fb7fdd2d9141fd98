"""jail(8) in jail.conf mode: the grammar, merge order and variables of src-notes section 1."""

import pytest

BASE = '/usr/freebsd-dist/base.txz'


@pytest.fixture
def confhost(fresh):
    """An instance with jail roots /jails/{a,b,c} extracted from the stand-in base.txz."""
    for name in ('a', 'b', 'c'):
        assert fresh.sh('mkdir -p /jails/%s && tar -xf %s -C /jails/%s' % (name, BASE, name))[0] == 0
    return fresh


def conf(host, text, path='/etc/jail.conf'):
    host.write(path, text)


def test_freebsd_test_configuration_runs_its_hooks(confhost):
    # shared/reference/freebsd/tests/usr.sbin/jail/tests/commands.jail.conf, with a path added.
    conf(confhost, '\nexec.prestop = "echo STOP";\nexec.prestart = "echo START";\nexec.poststart = "env";\n'
                   'persist;\npath = /jails/a;\n\nbasejail {}\n')
    rc, out, err = confhost.run('jail', '-c', 'basejail')
    assert (rc, err) == (0, '')
    lines = out.splitlines()
    assert lines[:2] == ['START', 'basejail: created']
    assert 'JNAME=basejail' in lines and 'JID=1' in lines and 'JPATH=/jails/a' in lines
    assert confhost.run('jail', '-r', 'basejail') == (0, 'STOP\nbasejail: removed\n', '')


def test_wildcards_before_and_after_a_jail(confhost):
    # A wildcard before the jail gives defaults; one after it always applies (jail.conf(5)).
    conf(confhost, '* { securelevel = 1; children.max = 5; }\n'
                   'a { path = /jails/a; persist; securelevel = 2; children.max = 7; }\n'
                   '* { children.max = 9; }\n')
    assert confhost.run('jail', '-qc', 'a')[0] == 0
    assert confhost.run('jls', '-j', 'a', 'securelevel', 'children.max') == (0, '2 9\n', '')


def test_hierarchical_wildcard(confhost):
    conf(confhost, 'persist;\npath = /jails/a;\nfoo.* { securelevel = 3; }\nfoo.bar { }\nfoobar { }\n')
    assert confhost.run('jail', '-qc') == (0, '', '')
    assert confhost.run('jls', 'name', 'securelevel') == (0, 'foo.bar 3\nfoobar -1\n', '')


def test_variables_resolve_per_jail_after_merging(confhost):
    conf(confhost, '$root = "/jails";\npath = "$root/$name";\nhost.hostname = "${name}.example.org";\n'
                   'persist;\na { }\nb { $root = /jails; }\n')
    assert confhost.run('jail', '-qc') == (0, '', '')
    assert confhost.run('jls', 'name', 'path', 'host.hostname') == \
        (0, 'a /jails/a a.example.org\nb /jails/b b.example.org\n', '')


def test_single_quotes_do_not_substitute_and_escapes_decode(confhost):
    conf(confhost, "a { path = /jails/a; persist; exec.start = 'echo $name'; "
                   'exec.poststart = "printf \'%s\\\\n\' \\"q\\" \\$HOME\\tx"; }\n')
    rc, out, err = confhost.run('jail', '-c', 'a')
    assert (rc, err) == (0, '')
    # jail.conf kept '$name' and decoded \" \$ \t; the shell then ran the command.
    assert out == 'a: created\n\nq\n/root\nx\n'


def test_plus_equals_appends_and_equals_replaces(confhost):
    conf(confhost, 'ip4.addr = 10.1.1.1;\na { path = /jails/a; persist; ip4.addr += 10.1.1.2; }\n'
                   'b { path = /jails/b; persist; ip4.addr = 10.1.1.3, 10.1.1.4; }\n')
    assert confhost.run('jail', '-qc') == (0, '', '')
    assert confhost.run('jls', 'name', 'ip4.addr') == (0, 'a 10.1.1.1,10.1.1.2\nb 10.1.1.3,10.1.1.4\n', '')


def test_numeric_block_name_is_jid(confhost):
    conf(confhost, '5309 { path = /jails/a; persist; name = "foo"; }\n')
    assert confhost.run('jail', '-c', 'foo') == (0, 'foo: created\n', '')
    assert confhost.run('jls', 'jid', 'name') == (0, '5309 foo\n', '')


def test_include_glob_crlf_comments_and_concatenation(confhost):
    conf(confhost, 'persist; // line comment\r\n/* block\r\n comment */ # hash\r\n'
                   '.include "/etc/jail.conf.d/*.conf";\r\n.include "/usr/local/etc/jail[.]conf";\r\n')
    conf(confhost, 'c { path = /jails/"c"; host.hostname = c.example.org; }\n', '/etc/jail.conf.d/c.conf')
    assert confhost.run('jail', '-qc', 'c') == (0, '', '')
    assert confhost.run('jls', 'name', 'path', 'persist') == (0, 'c /jails/c true\n', '')


def test_depend_starts_dependencies_first_and_stops_dependents_first(confhost):
    conf(confhost, 'persist;\npath = "/jails/$name";\na { depend = b; }\nb { depend = c; }\nc { }\n')
    assert confhost.run('jail', '-c', 'a') == (0, 'c: created\nb: created\na: created\n', '')
    assert confhost.run('jail', '-r', 'c') == (0, 'a: removed\nb: removed\nc: removed\n', '')


def test_exhibit(confhost):
    conf(confhost, 'persist;\na { path = /jails/a; ip4.addr = 10.0.0.1, 10.0.0.2; }\n')
    assert confhost.run('jail', '-e', '|') == (0, 'name=a|persist|path=/jails/a|ip4.addr=10.0.0.1,10.0.0.2\n', '')


def test_restart_runs_stop_then_start(confhost):
    conf(confhost, 'a { path = /jails/a; persist; exec.start = "echo up"; exec.stop = "echo down"; }\n')
    confhost.run('jail', '-qc', 'a')
    assert confhost.run('jail', '-rc', 'a') == (0, 'down\na: removed\na: created\nup\n', '')


@pytest.mark.parametrize('text, message', [
    ('a { path = /x }\n', 'jail: /etc/jail.conf line 1: }: syntax error\n'),
    ('a { path = "/x; }\n', 'jail: /etc/jail.conf line 1: unterminated string\n'),
    ('/* open\n', 'jail: /etc/jail.conf line 1: unterminated comment\n'),
    ('a { path = "${nope"; }\n', 'jail: /etc/jail.conf line 1: unterminated variable\n'),
    ('a { path = /x; persist = maybe; }\n', 'jail: a: persist: unknown boolean value "maybe"\n'),
    ('a { path = "$nope"; }\n', 'jail: a: path: variable "nope" not found\n'),
    ('a { $x = "$y"; $y = "$x"; path = "$x"; }\n', 'jail: a: x: variable loop\n'),
    ('a { $path = /x; }\n', 'jail: a: variable "$path" cannot have the same name as a parameter.\n'),
    ('a { name = b; }\n', 'jail: a: cannot redefine parameter "name".\n'),
    ('a { path = /x; exec.timeout = soon; }\n', 'jail: a: exec.timeout: non-integer value "soon"\n'),
    ('a { path = /x; depend = b; }\n', 'jail: a: depends on undefined jail "b"\n'),
])
def test_errors_name_file_line_or_jail(confhost, text, message):
    conf(confhost, text)
    assert confhost.run('jail', '-c', 'a') == (1, '', message)
    assert confhost.run('jls') == (0, '   JID  IP Address      Hostname                      Path\n', '')


def test_missing_configuration(confhost):
    assert confhost.run('jail', '-c', 'a') == (1, '', 'jail: /etc/jail.conf: No such file or directory\n')
    assert confhost.run('jail', '-f', '/nope.conf', '-c') == (1, '', 'jail: /nope.conf: No such file or directory\n')
    # -r works on running jails without a configuration file (jail(8) synopsis).
    confhost.run('jail', '-qc', 'name=x', 'path=/jails/a', 'persist')
    assert confhost.run('jail', '-r', 'x') == (0, 'x: removed\n', '')
    assert confhost.run('jail', '-c', 'nope', '-f', '/dev/null')[0] == 1


def test_unconfigured_name(confhost):
    conf(confhost, 'a { path = /jails/a; persist; }\n')
    assert confhost.run('jail', '-c', 'zz') == (1, '', 'jail: "zz" not found\n')


def test_config_from_stdin(confhost):
    rc, out, err = confhost.run('jail', '-f', '-', '-c', stdin='a { path = /jails/a; persist; }\n')
    assert (rc, out, err) == (0, 'a: created\n', '')


def test_mounts_devfs_nullfs_and_vnet_interface(confhost):
    assert confhost.run('ifconfig', 'epair', 'create') == (0, 'epair0a\n', '')
    conf(confhost, 'a { path = /jails/a; persist; vnet; vnet.interface = epair0b; mount.devfs;\n'
                   '    mount += "/jails/b /jails/a/mnt nullfs ro 0 0"; }\n')
    assert confhost.run('jail', '-qc', 'a') == (0, '', '')
    mounts = confhost.run('mount')[1].splitlines()
    assert 'devfs on /jails/a/dev (devfs)' in mounts
    assert '/jails/b on /jails/a/mnt (nullfs, local, read-only)' in mounts
    # Real where possible: the nullfs mount is a read-only bind mount, devfs has /dev/null.
    assert confhost.run('jexec', 'a', '/bin/ls', '/mnt/etc/rc')[0] == 0
    assert confhost.run('jexec', 'a', '/bin/sh', '-c', 'echo x > /mnt/new')[0] != 0
    assert confhost.run('jexec', 'a', '/bin/sh', '-c', 'echo x > /dev/null') == (0, '', '')
    assert 'epair0b' not in confhost.run('ifconfig', '-l')[1].split()
    assert confhost.run('ifconfig', '-j', 'a', '-l') == (0, 'lo0 epair0b\n', '')
    assert confhost.run('jail', '-qr', 'a') == (0, '', '')
    assert confhost.run('mount')[1].count('/jails/a') == 0
    assert 'epair0b' in confhost.run('ifconfig', '-l')[1].split()


def test_failed_start_undoes_mounts(confhost):
    conf(confhost, 'a { path = /jails/a; persist; mount.devfs; exec.start = "/usr/bin/false"; }\n')
    assert confhost.run('jail', '-c', 'a') == (1, 'a: created\n', 'jail: a: /usr/bin/false: failed\n')
    assert '/jails/a' not in confhost.run('mount')[1]
    assert confhost.run('jls', 'name') == (0, '', '')


def test_hooks_may_run_simulated_commands(confhost):
    # The state lock is not held while hooks run (exec.poststart calling jls must not hang).
    conf(confhost, 'a { path = /jails/a; persist; exec.poststart = "jls name"; }\n')
    assert confhost.run('jail', '-c', 'a') == (0, 'a: created\na\n', '')
