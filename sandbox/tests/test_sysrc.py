"""sysrc(8): outputs from sysrc.8 and FreeBSD's sysrc_test.sh (src-notes section 11)."""

import pytest


@pytest.fixture
def rc(fresh):
    fresh.write('/etc/rc.conf', '# hand comment\nhostname="sandbox"\nfoo_list="a b"\n')
    return fresh


def test_query(rc):
    assert rc.run('sysrc', 'hostname') == (0, 'hostname: sandbox\n', '')
    assert rc.run('sysrc', '-n', 'hostname') == (0, 'sandbox\n', '')
    assert rc.run('sysrc', '-e', 'hostname') == (0, 'hostname="sandbox"\n', '')
    assert rc.run('sysrc', '-F', 'hostname') == (0, 'hostname: /etc/rc.conf\n', '')


def test_defaults_are_visible(rc):
    assert rc.run('sysrc', 'jail_enable') == (0, 'jail_enable: NO\n', '')
    assert rc.run('sysrc', 'kld_list') == (0, 'kld_list: \n', '')


def test_unknown_variable_reports_and_continues(rc):
    assert rc.run('sysrc', 'nosuch', 'hostname') == (1, 'hostname: sandbox\n', "sysrc: unknown variable 'nosuch'\n")
    assert rc.run('sysrc', '-i', 'nosuch') == (0, '', '')


def test_set_new_and_existing_keeps_hand_edits(rc):
    assert rc.run('sysrc', 'sshd_flags=-4') == (0, 'sshd_flags:  -> -4\n', '')
    assert rc.run('sysrc', 'hostname=web') == (0, 'hostname: sandbox -> web\n', '')
    assert rc.read('/etc/rc.conf') == '# hand comment\nhostname="web"\nfoo_list="a b"\nsshd_flags="-4"\n'


def test_append_without_duplicates_as_in_the_man_page(rc):
    assert rc.run('sysrc', 'cloned_interfaces=')[0] == 0
    assert rc.run('sysrc', 'cloned_interfaces+=gif0') == (0, 'cloned_interfaces:  -> gif0\n', '')
    assert rc.run('sysrc', 'cloned_interfaces+=gif0') == (0, 'cloned_interfaces: gif0 -> gif0\n', '')
    assert rc.run('sysrc', 'cloned_interfaces+=tun0 gif0') == (0, 'cloned_interfaces: gif0 -> gif0 tun0\n', '')


def test_subtract(rc):
    assert rc.run('sysrc', 'foo_list-=a') == (0, 'foo_list: a b -> b\n', '')
    # subtracting from an unset variable creates it empty
    assert rc.run('sysrc', 'bar_list-=x') == (0, 'bar_list:  -> \n', '')
    assert 'bar_list=""\n' in rc.read('/etc/rc.conf')


def test_check_mode_exit_status(rc):
    assert rc.run('sysrc', '-c', 'hostname=sandbox') == (0, '', '')
    assert rc.run('sysrc', '-c', 'hostname=other') == (1, '', '')
    assert rc.run('sysrc', '-c', 'hostname') == (0, '', '')
    assert rc.run('sysrc', '-c', 'nosuch') == (1, '', '')
    assert 'other' not in rc.read('/etc/rc.conf')


def test_remove(rc):
    assert rc.run('sysrc', '-x', 'foo_list') == (0, '', '')
    assert rc.read('/etc/rc.conf') == '# hand comment\nhostname="sandbox"\n'


def test_other_file(rc):
    assert rc.run('sysrc', '-f', '/boot/loader.conf', 'vmm_load=YES') == (0, 'vmm_load:  -> YES\n', '')
    assert rc.read('/boot/loader.conf').endswith('vmm_load="YES"\n')
    # The defaults are read with -f too: hostname is known there (empty); a name nowhere is unknown.
    assert rc.run('sysrc', '-f', '/boot/loader.conf', 'hostname') == (0, 'hostname: \n', '')
    assert rc.run('sysrc', '-f', '/boot/loader.conf', 'nowhere') == (1, '', "sysrc: unknown variable 'nowhere'\n")


def test_values_are_written_unescaped_as_sysrc_does_and_checked_by_sh_n(rc):
    # sysrc.subr's f_sysrc_set puts the value between double quotes as it is: a command substitution
    # passes `sh -n` and is written (it would run when rc.conf is read); a lone quote fails the check.
    assert rc.run('sysrc', 'tricky=$(id -u)')[0] == 0
    assert rc.read('/etc/rc.conf').endswith('tricky="$(id -u)"\n')
    assert rc.sh('. /etc/rc.conf; printf %s "$tricky"') == (0, '0', '')
    before = rc.read('/etc/rc.conf')
    code, out, err = rc.run('sysrc', 'broken=a"b')
    assert code == 1 and 'Previous syntax errors in /etc/rc.conf' in err and rc.read('/etc/rc.conf') == before


def test_usage(rc):
    code, out, err = rc.run('sysrc')
    assert code == 1 and err.startswith('Usage: sysrc [OPTIONS]')
