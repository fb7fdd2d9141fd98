"""fbsdsim: FreeBSD's command surface, simulated inside a sandbox instance.

Installed into each instance under /usr/local/libexec/fbsdsim and reached
through wrappers at FreeBSD's own paths (/sbin/kldload, /usr/sbin/sysrc, ...).
"""
