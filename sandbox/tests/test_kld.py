"""kldload(8), kldunload(8), kldstat(8): exact outputs from the man pages and kldstat.c."""

import re

ENOENT = 'No such file or directory'


def test_kldstat_layout_matches_freebsd(fresh):
    rc, out, err = fresh.run('kldstat')
    assert (rc, err) == (0, '')
    lines = out.splitlines()
    assert lines[0] == 'Id Refs Address                Size Name'
    assert re.match(r'^ 1 +\d+ 0xffffffff80200000 +[0-9a-f]+ kernel$', lines[1])


def test_kldload_then_kldstat_shows_the_file(fresh):
    assert fresh.run('kldload', 'vmm') == (0, '', '')
    rc, out, err = fresh.run('kldstat', '-n', 'vmm')
    assert err == ''
    assert rc == 0
    assert re.match(r'^ 2 +1 0x[0-9a-f]{16} +[0-9a-f]+ vmm\.ko$', out.splitlines()[1])


def test_kldload_verbose_prints_id(fresh):
    assert fresh.run('kldload', '-v', 'nmdm') == (0, 'Loaded nmdm, id=2\n', '')


def test_kldload_twice_is_eexist(fresh):
    fresh.run('kldload', 'vmm')
    assert fresh.run('kldload', 'vmm') == (1, '', "kldload: can't load vmm: module already loaded or in kernel\n")


def test_kldload_builtin_module_is_eexist(fresh):
    assert fresh.run('kldload', 'nullfs')[0] == 1


def test_kldload_missing_file(fresh):
    assert fresh.run('kldload', 'nosuch') == (1, '', "kldload: can't load nosuch: %s\n" % ENOENT)


def test_kldload_usage(fresh):
    assert fresh.run('kldload') == (1, '', 'usage: kldload [-nqv] file ...\n')
    rc, out, err = fresh.run('kldload', '-z', 'vmm')
    assert rc == 1 and out == '' and err.startswith('kldload: illegal option -- z\n')


def test_dependencies_load_first_and_hold_references(fresh):
    assert fresh.run('kldload', 'if_bridge')[0] == 0
    out = fresh.run('kldstat')[1]
    assert [line.split()[-1] for line in out.splitlines()[1:]] == ['kernel', 'bridgestp.ko', 'if_bridge.ko']
    assert fresh.run('kldunload', 'bridgestp') == (1, '', "kldunload: can't unload file: Device busy\n")
    assert fresh.run('kldunload', 'if_bridge') == (0, '', '')
    assert fresh.run('kldunload', 'bridgestp.ko') == (0, '', '')


def test_kldunload_not_loaded_and_usage(fresh):
    assert fresh.run('kldunload', 'vmm') == (1, '', "kldunload: can't find file vmm\n")
    rc, out, err = fresh.run('kldunload')
    assert rc == 64 and out == '' and err.startswith('usage: kldunload [-fv] -i id ...\n')


def test_kldunload_verbose(fresh):
    fresh.run('kldload', 'vmm')
    assert fresh.run('kldunload', '-v', 'vmm') == (0, 'Unloading vmm.ko, id=2\n', '')


def test_kldstat_module_queries(fresh):
    assert fresh.run('kldstat', '-q', '-m', 'vmm') == (1, '', '')
    assert fresh.run('kldstat', '-m', 'vmm') == (1, '', "kldstat: can't find module vmm: %s\n" % ENOENT)
    fresh.run('kldload', 'vmm')
    assert fresh.run('kldstat', '-q', '-m', 'vmm') == (0, '', '')
    rc, out, err = fresh.run('kldstat', '-m', 'vmm')
    assert rc == 0 and err == '' and out.splitlines()[0] == 'Id  Refs Name'
    assert re.match(r'^ *\d+ +\d+ vmm$', out.splitlines()[1])


def test_kldstat_verbose_lists_contained_modules(fresh):
    fresh.run('kldload', 'linux64')
    out = fresh.run('kldstat', '-v')[1]
    assert ' linux64.ko (/boot/kernel/linux64.ko)\n\tContains modules:\n\t\t Id Name\n' in out
    assert re.search(r'\t\t *\d+ linux64elf\n', out)
    # linux64 needs linux_common: it was loaded first
    assert out.index('linux_common.ko') < out.index('linux64.ko')


def test_kldstat_usage_and_unknown_file(fresh):
    rc, out, err = fresh.run('kldstat', '-z')
    assert rc == 1 and out == '' and err.startswith('kldstat: illegal option -- z\nusage: kldstat')
    assert fresh.run('kldstat', '-n', 'nosuch') == (1, '', "kldstat: can't find file nosuch: %s\n" % ENOENT)


def test_vmm_adds_its_sysctl_nodes(fresh):
    assert fresh.run('sysctl', '-n', 'hw.vmm.maxcpu')[0] == 1
    fresh.run('kldload', 'vmm')
    assert fresh.run('sysctl', '-n', 'hw.vmm.maxcpu') == (0, '256\n', '')
    fresh.run('kldunload', 'vmm')
    assert fresh.run('sysctl', '-n', 'hw.vmm.maxcpu')[0] == 1
