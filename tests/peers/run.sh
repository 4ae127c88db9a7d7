#!/usr/bin/env bash
# Runs workflows/peers.toml against the Python peers in target/peers-venv, which
# tests/peers/venv.sh makes from the pinned plugins/peers/requirements.txt when missing or
# when the requirements changed (.ci/run starts it early, beside the build). Fails,
# saying why, when the environment cannot be made or any peer did not produce an estimate for
# every one of its cells: a peer that cannot run is a failure here, never a skip.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/peers-venv
fail() { echo "peers test FAILED: $*" >&2; exit 1; }

tests/peers/venv.sh || fail "cannot make the peers venv (see above)"

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
