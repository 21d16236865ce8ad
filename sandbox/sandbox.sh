#!/bin/sh
# The local Azure sandbox: start|stop|env|status|test. See sandbox/README.md.
here=$(cd "$(dirname "$0")" && pwd)
PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1 exec python3 -m azsandbox "$@"
