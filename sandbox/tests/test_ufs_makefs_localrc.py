"""newfs and mount -t ufs (simulated UFS), makefs -t cd9660 (simulated), and local rc.d scripts run by
rc and service(8) through the sandbox's rc.subr."""

import json


def test_a_file_system_on_an_image_keeps_its_files_across_attachments(fresh):
    fresh.sh('truncate -s 64M /vm.img; mkdir -p /mnt/a /mnt/b')
    rc, out, err = fresh.sh('u=$(mdconfig -a -t vnode -f /vm.img); mount -t ufs /dev/$u /mnt/a')
    assert (rc, err) == (1, 'mount: /dev/md0: Invalid argument\n')      # no file system on it yet
    assert fresh.sh('newfs -U /dev/md0 >/dev/null && mount /dev/md0 /mnt/a && echo hello > /mnt/a/f')[0] == 0
    assert fresh.run('mount', '-p')[1].splitlines()[-1].split() == ['/dev/md0', '/mnt/a', 'ufs', 'rw', '0', '0']
    assert fresh.run('mdconfig', '-d', '-u', '0') == (1, '', 'mdconfig: ioctl(/dev/mdctl): Device busy\n')
    assert fresh.sh('umount /mnt/a && mdconfig -d -u 0 && mdconfig -a -t vnode -f /vm.img -u 3 && '
                    'mount -o ro /dev/md3 /mnt/b && cat /mnt/b/f') == (0, 'hello\n', '')
    assert fresh.sh('echo x > /mnt/b/g')[0] != 0                              # read-only
    assert fresh.run('mdconfig', '-l', '-f', '/vm.img')[1].split() == ['md3']


def test_makefs_cd9660_keeps_the_files_and_label(fresh):
    fresh.sh('mkdir -p /seed && printf "instance-id: a\\n" > /seed/meta-data && echo "#cloud-config" > /seed/user-data')
    assert fresh.run('makefs', '-t', 'cd9660', '-o', 'rockridge', '-o', 'label=cidata', '/seed.iso', '/seed') == \
        (0, '', '')
    lines = fresh.read('/seed.iso').split('\n', 2)
    assert lines[:2] == ['fbsdsim-cd9660', 'label=cidata']
    assert json.loads(lines[2]) == {'meta-data': 'instance-id: a\n', 'user-data': '#cloud-config\n'}
    assert fresh.run('makefs', '-t', 'ffs', '/x.img', '/seed')[0] == 1


SCRIPT = '''#!/bin/sh
# PROVIDE: demo
# REQUIRE: NETWORKING
# KEYWORD: shutdown
. /etc/rc.subr
name=demo
rcvar=demo_enable
start_cmd="echo demo started >> /var/log/demo.log"
stop_cmd="echo demo stopped >> /var/log/demo.log"
load_rc_config $name
: ${demo_enable:=NO}
run_rc_command "$1"
'''


def test_local_rc_scripts_run_at_boot_and_shutdown_and_through_service(fresh):
    fresh.sh('mkdir -p /usr/local/etc/rc.d')
    fresh.write('/usr/local/etc/rc.d/demo', SCRIPT)
    fresh.run('chmod', '555', '/usr/local/etc/rc.d/demo')
    assert fresh.run('service', 'demo', 'start') == \
        (1, '', "Cannot 'start' demo. Set demo_enable to YES in /etc/rc.conf or use 'onestart' instead of 'start'.\n")
    assert fresh.run('service', 'demo', 'onestart')[0] == 0
    assert fresh.run('service', 'demo', 'rcvar') == (0, '# demo\ndemo_enable="NO"\n', '')
    fresh.run('sysrc', 'demo_enable=YES')
    import subprocess
    from conftest import SANDBOX
    subprocess.run([SANDBOX, 'reboot', fresh.name], check=True, stdout=subprocess.DEVNULL)
    # onestart, then at shutdown faststop (KEYWORD: shutdown), at boot faststart.
    assert fresh.read('/var/log/demo.log') == 'demo started\ndemo stopped\ndemo started\n'
