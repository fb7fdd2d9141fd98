"""rctl(8): rule syntax, expansion, add/remove/show, errors, as the man page and rctl.c describe them."""


def rules(host, *filters):
    rc, out, err = host.run('rctl', *filters)
    assert rc == 0, err
    return out.splitlines()


def test_add_expands_amount_and_omits_default_per(fresh):
    assert fresh.run('rctl', '-a', 'jail:www:memoryuse:deny=1g') == (0, '', '')
    assert rules(fresh) == ['jail:www:memoryuse:deny=1073741824']


def test_per_is_printed_when_it_differs_from_subject(fresh):
    assert fresh.run('rctl', '-a', 'jail:www:maxproc:deny=20/process')[0] == 0
    assert fresh.run('rctl', '-a', 'jail:www:openfiles:deny=100/jail')[0] == 0
    assert sorted(rules(fresh, 'jail:www:')) == ['jail:www:maxproc:deny=20/process',
                                                 'jail:www:openfiles:deny=100']


def test_abbreviated_subject_and_user_name(fresh):
    assert fresh.run('rctl', '-a', 'j:db:pcpu:deny=50', 'u:root:maxproc:log=1000')[0] == 0
    assert sorted(rules(fresh)) == ['jail:db:pcpu:deny=50', 'user:root:maxproc:log=1000']
    assert rules(fresh, '-n', 'user:') == ['user:0:maxproc:log=1000']


def test_filter_selects_by_given_fields(fresh):
    fresh.run('rctl', '-a', 'jail:a:memoryuse:deny=1m', 'jail:b:memoryuse:deny=2m', 'jail:b:maxproc:deny=5')
    assert rules(fresh, 'jail:b:') == ['jail:b:memoryuse:deny=2097152', 'jail:b:maxproc:deny=5']
    assert sorted(rules(fresh, '::memoryuse')) == ['jail:a:memoryuse:deny=1048576',
                                                   'jail:b:memoryuse:deny=2097152']
    assert rules(fresh, 'jail:nosuch:') == []


def test_same_rule_with_new_amount_replaces_old(fresh):
    fresh.run('rctl', '-a', 'jail:www:memoryuse:deny=1g')
    fresh.run('rctl', '-a', 'jail:www:memoryuse:deny=2g')
    fresh.run('rctl', '-a', 'jail:www:memoryuse:log=1g')
    assert rules(fresh, 'jail:www:') == ['jail:www:memoryuse:deny=2147483648', 'jail:www:memoryuse:log=1073741824']


def test_remove_by_filter(fresh):
    fresh.run('rctl', '-a', 'jail:www:memoryuse:deny=1g', 'jail:www:maxproc:deny=10', 'jail:db:maxproc:deny=10')
    assert fresh.run('rctl', '-r', 'jail:www:maxproc')[0] == 0
    assert rules(fresh) == ['jail:www:memoryuse:deny=1073741824', 'jail:db:maxproc:deny=10']
    assert fresh.run('rctl', '-r', ':')[0] == 0
    assert rules(fresh) == []


def test_remove_matching_nothing_fails_with_esrch(host):
    assert host.run('rctl', '-r', 'jail:nosuch:') == (
        1, '', "rctl: failed to remove rule 'jail:nosuch:': No such process\n")


def test_human_readable_amounts(fresh):
    fresh.run('rctl', '-a', 'jail:www:memoryuse:deny=1g', 'jail:www:pcpu:deny=50')
    assert rules(fresh, '-h', 'jail:www:') == ['jail:www:memoryuse:deny=1024M', 'jail:www:pcpu:deny=50']


def test_usage_reports_every_resource(host):
    rc, out, err = host.run('rctl', '-u', 'jail:www')
    assert rc == 0
    assert 'memoryuse=0' in out.splitlines() and 'pcpu=0' in out.splitlines()


def test_invalid_rules_fail_like_freebsd(host):
    assert host.run('rctl', '-a', 'jail:www:memoryuse:deny=lots') == (
        1, '', "rctl: malformed rule 'jail:www:memoryuse:deny=lots': invalid numeric value 'lots'\n")
    assert host.run('rctl', '-a', 'jail:www:bogus:deny=1') == (
        1, '', "rctl: failed to add rule 'jail:www:bogus:deny=1': Invalid argument\n")
    assert host.run('rctl', '-a', 'jail:www:memoryuse') == (
        1, '', "rctl: failed to add rule 'jail:www:memoryuse': Invalid argument\n")
    assert host.run('rctl', '-a', 'jail:www:cputime:deny=10') == (
        1, '', "rctl: failed to add rule 'jail:www:cputime:deny=10': Operation not supported\n")
    assert host.run('rctl', '-a', 'www') == (1, '', "rctl: malformed rule 'www': missing subject\n")
    assert host.run('rctl', '-a', 'user:nosuchuser:maxproc:deny=1')[0] == 1


def test_options_and_usage(host):
    assert host.run('rctl', '-a', '-r', 'jail:x:') == (
        1, '', 'rctl: at most one of -a, -l, -r, or -u may be specified\n')
    assert host.run('rctl', '-a') == (
        1, '', 'usage: rctl [ -h ] [-a rule | -l filter | -r filter | -u filter | filter]\n')
    rc, out, err = host.run('rctl', '-x')
    assert rc == 1 and err.startswith('rctl: illegal option -- x\nusage: rctl')


def test_each_failed_operand_counts_in_exit_status(fresh):
    rc, out, err = fresh.run('rctl', '-a', 'jail:a:maxproc:deny=1', 'jail:a:bogus:deny=1', 'x')
    assert rc == 2
    assert rules(fresh) == ['jail:a:maxproc:deny=1']


def test_disabled_racct_is_reported(fresh):
    sysctl = fresh.read('/var/db/fbsdsim/state.d/sysctl.json')
    fresh.write('/var/db/fbsdsim/state.d/sysctl.json', sysctl.replace('"kern.racct.enable":1', '"kern.racct.enable":0'))
    assert fresh.run('rctl') == (
        1, '', 'rctl: RACCT/RCTL present, but disabled; enable using kern.racct.enable=1 tunable\n')
