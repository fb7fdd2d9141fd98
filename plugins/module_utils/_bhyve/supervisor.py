# Copyright (c) bsd.multiplicity contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The supervisor of one bhyve VM: a small /bin/sh program that daemon(8) runs (``_core/launcher.py``).

bhyve(8) exits when its guest reboots (0), powers off (1), halts (2) or triple-faults (3), and on an
error (4).  The supervisor boots the guest again after a reboot (running the guest's loader first,
bhyveload or grub-bhyve, when it is loaded that way: the loader's work is gone with the reset) and stops on anything else.  It
writes why the last run ended to the exit record (``CODE REASON EPOCH``), and destroys the VM in
vmm(4) when it stops.  SIGTERM (what ``pkill -F`` of daemon(8) sends) is passed to bhyve, which
presses the guest's ACPI power button; the supervisor then does not boot it again, whatever bhyve's
status.  Before every boot it makes each tap and adds it to its bridge.  Its arguments are data, each one
argv element: ``NAME CONFIG RECORD [-n TAP BRIDGE]... [-- LOADER [LOADER-OPTION...]]`` (the loader an
absolute path: /usr/sbin/bhyveload or /usr/local/sbin/grub-bhyve).
"""

from __future__ import annotations

PATH = '/usr/local/libexec/bsd-multiplicity/bhyve-supervisor'

SCRIPT = r'''#!/bin/sh
# bhyve-supervisor NAME CONFIG RECORD [-n TAP BRIDGE]... [-- LOADER [LOADER-OPTION...]]
# (installed by bsd.multiplicity.bhyve_vm) Runs the bhyve VM NAME from the bhyve_config(5) file CONFIG
# until it stops for a reason other than a guest reboot; RECORD gets "CODE REASON EPOCH" of each end.
# Before every boot each TAP is made if missing and added to its BRIDGE, so that the network is there
# whatever made the interfaces go (a host reboot, an upgrade).
name=$1 config=$2 record=$3
shift 3
nics=
while [ "$1" = -n ]; do
    nics="$nics $2:$3"
    shift 3
done
[ "$1" = -- ] && shift
child= stopping=
trap 'stopping=1; [ -n "$child" ] && kill -TERM "$child"' TERM
note() {
    printf '%s %s %s\n' "$1" "$2" "$(date +%s)" > "$record.new" && mv -f "$record.new" "$record"
}
attach() {
    for pair in $nics; do
        tap=${pair%%:*} bridge=${pair#*:}
        /sbin/ifconfig "$tap" >/dev/null 2>&1 || /sbin/ifconfig "$tap" create >/dev/null || return 1
        if ! /sbin/ifconfig "$bridge" >/dev/null 2>&1; then
            echo "bhyve-supervisor: bridge $bridge of $tap does not exist" >&2
            return 1
        fi
        /sbin/ifconfig "$bridge" | grep -q "member: $tap " || /sbin/ifconfig "$bridge" addm "$tap" || return 1
    done
}
while :; do
    if ! attach; then
        note 4 network-failed
        break
    fi
    if [ $# -gt 0 ]; then
        /usr/sbin/bhyvectl --vm="$name" --destroy >/dev/null 2>&1
        if ! "$@" "$name"; then
            note 4 loader-failed
            break
        fi
    fi
    [ -n "$stopping" ] && { note 1 poweroff; break; }
    /usr/sbin/bhyve -k "$config" "$name" &
    child=$!
    wait "$child"
    rc=$?
    # A trapped signal interrupts wait: wait again for bhyve's own status.
    while kill -0 "$child" 2>/dev/null; do
        wait "$child"
        rc=$?
    done
    child=
    case $rc in
    0) note 0 reboot ;;
    1) note 1 poweroff; break ;;
    2) note 2 halt; break ;;
    3) note 3 triple-fault; break ;;
    *) note "$rc" error; break ;;
    esac
    [ -n "$stopping" ] && break
done
/usr/sbin/bhyvectl --vm="$name" --destroy >/dev/null 2>&1
exit 0
'''

REASONS = {0: 'reboot', 1: 'poweroff', 2: 'halt', 3: 'triple-fault', 4: 'error'}


def parse_record(text):
    """(code, reason, epoch) of an exit record, or None."""
    parts = (text or '').split()
    if len(parts) != 3 or not parts[0].isdigit() or not parts[2].isdigit():
        return None
    return int(parts[0]), parts[1], int(parts[2])


def argv(name, config, record, nics, loader):
    """The supervisor's command line: ``nics`` (tap, bridge) pairs, ``loader`` the loader and its options
    (the VM's name comes last, from the supervisor)."""
    found = [PATH, name, config, record]
    for tap, bridge in nics:
        found += ['-n', tap, bridge]
    return found + (['--'] + list(loader) if loader else [])
