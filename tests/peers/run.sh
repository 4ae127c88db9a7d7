#!/usr/bin/env bash
# Runs workflows/peers.toml against the Python peers installed by this script: a virtual
# environment in target/peers-venv from the pinned plugins/peers/requirements.txt (made when
# missing or when the requirements changed; python3-venv comes from apt when missing). Fails,
# saying why, when the environment cannot be made or any peer did not produce an estimate for
# every one of its cells: a peer that cannot run is a failure here, never a skip.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/peers-venv
req=plugins/peers/requirements.txt
fail() { echo "peers test FAILED: $*" >&2; exit 1; }

if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    command -v apt-get >/dev/null || fail "python3 has no venv module and apt-get is not available"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv \
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

host=target/debug/lrdbench-host
[ -x "$host" ] || fail "$host is missing: run cargo build --workspace first"
work=$(mktemp -d target/peers-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
export LRDBENCH_HOME="$work/store" LRDBENCH_PEERS_PYTHON="$PWD/$venv/bin/python"
unset LRDBENCH_PLUGIN_PATH

# Every peer must be listed as a process plugin component, and none as unavailable.
"$host" plugins list --plugin-dir plugins > "$work/list.txt" || fail "plugins list failed"
"$host" plugins inspect plugins/peers/lrdbench-plugin.toml > "$work/inspect.txt" \
    || fail "plugins inspect failed"
if grep -q "unavailable:" "$work/inspect.txt"; then
    grep "unavailable:" "$work/inspect.txt" >&2
    fail "some peers cannot run in $venv"
fi

set +e
"$host" run workflows/peers.toml --out "$work/runs" > "$work/run.out" 2> "$work/run.err"
code=$?
set -e
[ "$code" -eq 0 ] || { cat "$work/run.err" >&2; fail "the peers workflow exited with $code"; }
run_dir=$(tail -n 1 "$work/run.out")
est="$run_dir/estimates.csv"
[ -f "$est" ] || fail "no estimates.csv in $run_dir"
# Every cell of every estimator (ours and the peers) must be valid. The CSV quotes fields
# with commas (warnings), so it is read by Python's csv module, not split on commas.
python3 - "$est" <<'PY' || { cat "$run_dir/leaderboard.md" >&2 || true; fail "some cells failed"; }
import csv, sys
n, bad = {}, {}
with open(sys.argv[1], newline="") as f:
    for row in csv.DictReader(f):
        e = row["estimator"]
        n[e] = n.get(e, 0) + 1
        if row["valid"] != "true":
            bad[e] = bad.get(e, 0) + 1
            print("%s: %s %s" % (e, row.get("error_kind"), row.get("error_message")))
for e in sorted(n):
    print("%-20s %d cells, %d failed" % (e, n[e], bad.get(e, 0)))
if len(n) != 10:
    print("expected 10 estimators, got %d" % len(n))
sys.exit(1 if bad or len(n) != 10 else 0)
PY
cat "$run_dir/leaderboard.md" 2>/dev/null | head -30 || true
echo "peers workflow: ok"
