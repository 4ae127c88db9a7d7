#!/usr/bin/env bash
# Makes the Python peers' virtual environment, target/peers-venv, from the pinned
# plugins/peers/requirements.txt: again only when it is missing or the requirements changed
# (a stamp holds their SHA-256). python3-venv comes from apt when missing (root only). Fails,
# saying why, when it cannot. tests/peers/run.sh runs it; .ci/run starts it beside the build,
# since it mostly waits on downloads.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/peers-venv
req=plugins/peers/requirements.txt
fail() { echo "peers venv FAILED: $*" >&2; exit 1; }
mkdir -p target

if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    command -v apt-get >/dev/null || fail "python3 has no venv module and apt-get is not available"
    apt-get -o DPkg::Lock::Timeout=600 update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq python3-venv \
        || fail "cannot install python3-venv"
fi
stamp="$venv/requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv" || fail "python3 -m venv failed"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" \
        || fail "pip could not install $req"
    echo "$want" > "$stamp"
fi

