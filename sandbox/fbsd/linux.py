"""rc.d/linux: the Linux ABI at boot (linux_enable) and through service(8), as FreeBSD's script does it
(src-notes section 5; linux(4)).

It loads linux and linux64 (amd64), pty, fdescfs, linprocfs and linsysfs with load_kld (kldstat -m
first, then kldload), makes Linux the fallback brand of unbranded ELF binaries, and, when
linux_mounts_enable is YES (the default), mounts linprocfs, linsysfs, devfs, fdescfs (linrdlnk) and
a tmpfs for /dev/shm under compat.linux.emul_path, each with nocover and only when not mounted
already, making its directory first.  The stop command does nothing.  The ABI itself is not
simulated: a Linux binary run in the sandbox runs on the test machine's Linux kernel.
"""

from fbsd import rcconf
from fbsd.console import yes
from fbsd.service import run_steps, unknown_directive

# (module the file holds, file), as load_kld -e MODULE FILE names them; pty and fdescfs are in GENERIC here.
MODULES = (('linuxelf', 'linux'), ('linux64elf', 'linux64'), ('linprocfs', 'linprocfs'), ('linsysfs', 'linsysfs'))
# (fstype, below emul_path, options), in the script's order.
MOUNTS = (('linprocfs', '/proc', 'nocover'), ('linsysfs', '/sys', 'nocover'), ('devfs', '/dev', 'nocover'),
          ('fdescfs', '/dev/fd', 'nocover,linrdlnk'), ('tmpfs', '/dev/shm', 'nocover,mode=1777'))


def linux_start(console, rc):
    for module, filename in MODULES:
        if console.run('kldstat', '-q', '-m', module, show=False)[0] != 0:
            console.run('kldload', filename)
    for bits in ('64', '32'):
        status, out = console.run('sysctl', '-ni', 'kern.elf%s.fallback_brand' % bits, show=False)
        if status == 0 and out.strip() == '-1':
            console.run('sysctl', 'kern.elf%s.fallback_brand=3' % bits, show=False)
    if not yes(rc.get('linux_mounts_enable')):
        return
    emul_path = console.run('sysctl', '-n', 'compat.linux.emul_path', show=False)[1].strip()
    mounted = console.run('mount', show=False)[1].splitlines()
    for fstype, below, options in MOUNTS:
        node = emul_path + below
        # The script's test: "^<fs> on <node> (" in mount(8)'s output.
        if any(line.startswith('%s on %s (' % (fstype, node)) for line in mounted):
            continue
        console.run('mkdir', '-p', node, show=False)
        console.run('mount', '-o', options, '-t', fstype, fstype, node)


def script_step(console, step, names, rc):
    if step == 'start':
        linux_start(console, rc)


def linux(cmd, action, names):
    """service linux start|stop|restart (and one*); KEYWORD nojail."""
    rc = rcconf.rc_settings()
    base = action[3:] if action.startswith('one') else action
    if base not in ('start', 'stop', 'restart'):
        return unknown_directive(cmd, 'linux', action)
    if not action.startswith('one') and not yes(rc.get('linux_enable')):
        cmd.out("Cannot '%s' linux. Set linux_enable to YES in /etc/rc.conf or use 'one%s' instead of '%s'."
                % (action, action, action))
        return 0
    return run_steps(cmd, script_step, base, names, rc)


def rc_linux(console, rc):
    if yes(rc.get('linux_enable')):
        linux_start(console, rc)
