#!/bin/sh
# /usr/bin/mssmangler: the CLI under the Node runtime the package depends on (nodejs >= 20), by its
# path rather than through `env node`, so a node earlier in an operator's PATH is never picked up.
# exec keeps the PID: under systemd (Type=notify, NotifyAccess=main) this process is the daemon.
exec /usr/bin/node /usr/lib/mssmangler/dist/src/cli/main.js "$@"
