#!/usr/bin/env bash
# Sets up a venv with the pinned Python gRPC toolchain, generates stubs from
# proto/, and runs smoke.py against a running petition-server.
#
#   clients/python/run.sh [target]        # default 127.0.0.1:50051
#
# Environment: PETITION_PY_VENV (venv dir, default /tmp/petition-py-venv),
# PYTHON (interpreter that creates the venv, default python3, needs >= 3.9).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target="${1:-127.0.0.1:50051}"
venv="${PETITION_PY_VENV:-/tmp/petition-py-venv}"
base_python="${PYTHON:-python3}"
req="$here/requirements.txt"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

t0="$(now)"
if [ ! -x "$venv/bin/python" ]; then
    "$base_python" -m venv "$venv"
fi
# Reinstall only when requirements.txt changed since the last install.
stamp="$venv/.petition-requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    echo "$want" > "$stamp"
fi
echo "run.sh: venv ready at $venv ($(elapsed "$t0"))"

t1="$(now)"
PYTHON="$venv/bin/python" "$here/generate.sh"
echo "run.sh: stubs generated ($(elapsed "$t1"))"

t2="$(now)"
status=0
"$venv/bin/python" "$here/smoke.py" --strict --target "$target" || status=$?
echo "run.sh: smoke finished with exit $status ($(elapsed "$t2"); total $(elapsed "$t0"))"
exit "$status"
