"""pkg(8) with the sandbox's local repository: install, info, query, delete, as pkg documents them."""


def test_install_with_dependencies_writes_files_and_records_automatic(fresh):
    rc, out, err = fresh.run('pkg', 'install', '-y', 'xen-tools')
    assert rc == 0, err
    assert 'New packages to be INSTALLED:\n\tpython311: 3.11.13 [FreeBSD]\n\txen-tools: 4.19.1 [FreeBSD]' in out
    assert 'Number of packages to be installed: 2' in out
    assert fresh.read('/usr/local/etc/xen/xl.conf').startswith('## Global XL config')
    assert fresh.run('pkg', 'query', '%n %v %a', 'xen-tools', 'python311') == (
        0, 'xen-tools 4.19.1 0\npython311 3.11.13 1\n', '')
    rc, out, err = fresh.run('pkg', 'install', '-y', 'xen-tools')
    assert rc == 0 and 'The most recent versions of packages are already installed' in out


def test_info_forms(fresh):
    fresh.run('pkg', 'install', '-y', 'tmux')
    assert fresh.run('pkg', 'info', '-e', 'tmux')[0] == 0
    assert fresh.run('pkg', 'info', '-e', 'xen-kernel')[0] == 1
    assert fresh.run('pkg', 'info', '-q', 'tmux') == (0, 'tmux-3.5a\n', '')
    rc, out, err = fresh.run('pkg', 'info')
    assert out == 'tmux-3.5a                       Terminal Multiplexer\n'
    rc, out, err = fresh.run('pkg', 'info', 'tmux')
    assert 'Origin          : sysutils/tmux' in out
    assert fresh.run('pkg', 'info', 'nosuch') == (1, '', 'pkg: No package(s) matching nosuch\n')
    assert fresh.run('pkg', 'query', '-a', '%n\\t%o') == (0, 'tmux\tsysutils/tmux\n', '')


def test_unknown_package_and_command_fail(fresh):
    rc, out, err = fresh.run('pkg', 'install', '-y', 'nosuchpkg')
    assert rc == 1 and "No packages available to install matching 'nosuchpkg'" in err
    rc, out, err = fresh.run('pkg', 'frobnicate')
    assert rc == 1 and 'unknown command: frobnicate' in err


def test_confirmation_without_y_or_batch(fresh):
    rc, out, err = fresh.run('pkg', 'install', 'tmux', stdin='n\n')
    assert rc == 1 and 'Proceed with this action? [y/N]:' in out
    assert fresh.run('pkg', 'info', '-e', 'tmux')[0] == 1
    rc, out, err = fresh.run('env', 'BATCH=yes', 'pkg', 'install', 'tmux')
    assert rc == 0 and fresh.run('pkg', 'info', '-e', 'tmux')[0] == 0


def test_delete_removes_files(fresh):
    fresh.run('pkg', 'install', '-y', 'xen-kernel')
    assert fresh.run('sh', '-c', 'test -f /boot/xen')[0] == 0
    rc, out, err = fresh.run('pkg', 'delete', '-y', 'xen-kernel')
    assert rc == 0 and 'Installed packages to be REMOVED:\n\txen-kernel: 4.19.1' in out
    assert fresh.run('sh', '-c', 'test -f /boot/xen')[0] == 1
    assert fresh.run('pkg', 'delete', '-y', 'xen-kernel')[0] == 1


def test_version_and_bootstrap_check(fresh):
    assert fresh.run('pkg', '-v') == (0, '2.1.2\n', '')
    assert fresh.run('pkg', '-N') == (0, 'pkg: 0 packages installed\n', '')
