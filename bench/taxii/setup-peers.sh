#!/usr/bin/env bash
# Creates one virtualenv per peer TAXII 2.1 server under bench/.venvs/ (git-ignored):
#   bench/.venvs/medallion   medallion (OASIS reference server), memory backend
#   bench/.venvs/opentaxii   OpenTAXII (EclecticIQ), SQL backend on SQLite
#   bench/.venvs/client      requests and orjson, for bench.py itself (the client is the same for
#                            every server; orjson keeps its JSON parsing from hiding server time)
# Usage: bench/taxii/setup-peers.sh [PYTHON]   (default: python3, 3.9-3.11 work for both peers)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venvs="$here/../.venvs"
py="${1:-python3}"
mkdir -p "$venvs"

mk() { # name, pip args...
    local name="$1"; shift
    if [ ! -x "$venvs/$name/bin/python" ]; then
        "$py" -m venv "$venvs/$name"
        "$venvs/$name/bin/pip" install --quiet --upgrade pip
    fi
    "$venvs/$name/bin/pip" install --quiet "$@"
    echo "$name: $("$venvs/$name/bin/pip" list 2>/dev/null | grep -i -E "^($name|requests|orjson) " | tr -s ' ' | paste -sd, -)"
}

mk client requests orjson==3.13.0
# medallion 3.0.0 is the latest release; it runs on Flask's development server (werkzeug).
mk medallion medallion
# OpenTAXII: the 0.10 pre-release enables TAXII 2.1 by default; --pre picks it when published.
# gunicorn serves it (the same WSGI stack it documents for production).
mk opentaxii --pre opentaxii gunicorn
echo "peers ready in $venvs"
