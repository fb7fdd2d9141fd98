"""The kernel's table of jails (prisons), as every simulated command looks into it.

jail(8) changes the table (fbsd/jail.py); ifconfig -j/-vnet, zfs jail, sysrc -j and freebsd-version -j
only find a jail in it, so they import this module and not jail(8)'s.
"""

from fbsd import store


def find_jail(state, key):
    """The jail record of a jid or name, or None."""
    jails = state['jails']
    if key.isdigit():
        return jails[key] if key in jails else None
    found = store.where(jails, 'name', key)
    return found[0][1] if found else None


def running_names(state):
    """The names of every jail in the table."""
    jails = state.get('jails', {})
    return set(store.field_of(jails, key, 'name') for key in jails)
