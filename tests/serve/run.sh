#!/usr/bin/env bash
# The live dashboard with the real things: starts `lrdbench-host serve` on a free loopback
# port, opens its index page in headless Chromium (Debian's `chromium`) before any run
# exists, starts sweep.toml, and checks that
#   - the open page shows the new run by itself (its script polls /api/runs),
#   - the run's page shows its cells done increasing between two looks, then the finished
#     leaderboard (a screenshot of it is kept: target/serve/run-finished.png),
#   - `promtool check metrics` (Debian's `prometheus`) accepts /metrics,
#   - a real Prometheus server scrapes it (prometheus.yml) and its HTTP API answers a query
#     of lrdbench_calls_total with the calls of the sweep.
# It installs Chromium and Prometheus with apt when they are missing, stops everything it
# started, and FAILS (never skips) when something cannot be installed or started.
#
#   tests/serve/run.sh        # uses target/debug/lrdbench-host (LRDBENCH overrides)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${LRDBENCH:-$root/target/debug/lrdbench-host}
fault=$(dirname "$bin")/liblrdbench_fault_plugin.so
artefacts=$root/target/serve
t0=$(date +%s)

fail() {
    echo "serve test: FAIL: $*" >&2
    exit 1
}

[ -x "$bin" ] || fail "no $bin: build the workspace first (cargo build --workspace)"
[ -f "$fault" ] || fail "no $fault: build the workspace first (cargo build --workspace)"
command -v chromium >/dev/null || bash "$root/.ci/install-chromium" \
    || fail "cannot install Chromium (.ci/install-chromium)"
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
    [ "$(id -u)" = 0 ] || fail "Prometheus is not installed, and installing it needs root"
    echo "serve test: installing prometheus"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends prometheus >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends prometheus >/dev/null; } \
        || fail "cannot install Prometheus from the Debian packages (apt-get install prometheus)"
fi

work=$(mktemp -d /tmp/lrdbench-serve.XXXXXX)
pids=()
stop_all() {
    # A run stopped for a look must be continued to act on its TERM.
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null && kill -CONT "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ "${KEEP:-0}" = 1 ]; then echo "serve test: kept $work"; else rm -rf "$work"; fi
}
trap stop_all EXIT

export LRDBENCH_HOME="$work/store"
unset LRDBENCH_ANALYTICS DO_NOT_TRACK
mkdir -p "$work/runs" "$artefacts"
rm -f "$artefacts"/*.png

# The server, on a port the system picks; it prints its URL on standard output, and with -v
# one line per request on standard error.
"$bin" -v serve --addr 127.0.0.1:0 --runs "$work/runs" >"$work/serve.out" 2>"$work/serve.err" &
pids+=($!)
url=""
for _ in $(seq 100); do
    url=$(head -n 1 "$work/serve.out" 2>/dev/null || true)
    [ -n "$url" ] && break
    sleep 0.1
done
[ -n "$url" ] || fail "serve printed no URL: $(cat "$work/serve.err")"
url=${url%/}
port=${url##*:}
echo "serve test: serving at $url"

chrome() { # chrome OUT ARGS... : headless Chromium with a fresh profile
    local out=$1 profile
    shift
    profile=$(mktemp -d "$work/profile.XXXXXX")
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --user-data-dir="$profile" "$@" >"$out" 2>"$out.err" || true
}
wait_for() { # wait_for SECONDS WHAT COMMAND...: polls COMMAND every 50 ms
    local limit=$1 what=$2
    shift 2
    for _ in $(seq $((limit * 20))); do
        "$@" && return 0
        sleep 0.05
    done
    fail "timed out after $limit s waiting for $what"
}
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }

# The index page, opened before any run exists and kept open for 600 s of virtual time (its
# timers run fast, each poll a real request: about 600 polls, 10-20 s here): its DOM after
# that must list the run, which only the page's own polling can have put there. The run starts
# once the page's script has polled /api/runs (the server logs it), so the page was loaded
# without it.
chrome "$work/index.dom" --dump-dom --virtual-time-budget=600000 "$url/" &
index_pid=$!
pids+=($index_pid)
wait_for 20 "the index page to poll /api/runs" grep -q '^GET /api/runs 200' "$work/serve.err"

"$bin" -q --plugin "$fault" run "$here/sweep.toml" --out "$work/runs" >"$work/run.out" 2>"$work/run.err" &
run_pid=$!
pids+=($run_pid)
found_run() {
    run_id=$(find "$work/runs" -mindepth 1 -maxdepth 1 -type d -name 'serve-test-*' -printf '%f\n' | head -n 1)
    [ -n "$run_id" ]
}
run_id=""
wait_for 20 "the run directory" found_run
journal=$work/runs/$run_id/cells.jsonl

# Two looks at the run's page, each while the run is stopped (SIGSTOP), with cells finished in
# between: the page must show more cells done the second time, whatever the machine's load.
done_of() { # the cells-done figure of a dumped run page
    sed -n 's/.*<span id="done">\([0-9]*\)<\/span>.*/\1/p' "$1" | head -n 1
}
journal_has() { [ "$(lines "$journal")" -ge "$1" ]; }
wait_for 30 "the first cells" journal_has 1
kill -STOP "$run_pid"
chrome "$work/run1.dom" --dump-dom "$url/runs/$run_id"
n1=$(lines "$journal")
kill -CONT "$run_pid"
wait_for 30 "more cells" journal_has $((n1 + 4))
kill -STOP "$run_pid"
chrome "$work/run2.dom" --dump-dom "$url/runs/$run_id"
kill -CONT "$run_pid"
d1=$(done_of "$work/run1.dom")
d2=$(done_of "$work/run2.dom")
echo "serve test: cells done seen by Chromium: $d1, then $d2 (of 80)"
[ -n "$d1" ] && [ -n "$d2" ] || fail "no cells-done figure in the run page (see $work/run1.dom)"
[ "$d2" -gt "$d1" ] || fail "progress did not increase between two looks ($d1, then $d2)"
grep -q 'id="status">running<' "$work/run1.dom" || fail "the run page did not say running"

wait "$run_pid" || fail "the sweep failed: $(cat "$work/run.err")"
wait "$index_pid" || true
polls=$(grep -c '^GET /api/runs 200' "$work/serve.err" || true)
grep -q "/runs/$run_id" "$work/index.dom" \
    || fail "the index page opened before the run did not show it by itself after $polls polls (see $work/index.dom)"

# The finished run: its page, with the final leaderboard, in a screenshot.
chrome "$work/final.dom" --dump-dom "$url/runs/$run_id"
grep -q 'id="status">complete<' "$work/final.dom" || fail "the finished run is not shown complete"
grep -q 'id="board-state">final<' "$work/final.dom" || fail "the finished run's leaderboard is not final"
grep -q '<td>fault_shift</td>' "$work/final.dom" || fail "the leaderboard lacks fault_shift"
grep -q '<td>dfa</td>' "$work/final.dom" || fail "the leaderboard lacks dfa"
chrome "$work/shot.log" --screenshot="$artefacts/run-finished.png" --window-size=1280,1400 "$url/runs/$run_id"
[ -s "$artefacts/run-finished.png" ] || fail "no screenshot of the finished run"
chrome "$work/shot2.log" --screenshot="$artefacts/index.png" --window-size=1280,700 "$url"

# /metrics: valid exposition, and the calls of the sweep are counted.
curl -fsS "$url/metrics" >"$work/metrics.txt" || fail "GET /metrics failed"
promtool check metrics <"$work/metrics.txt" >"$work/promtool.out" 2>&1 \
    || fail "promtool check metrics rejects /metrics: $(cat "$work/promtool.out")"
grep -q '^lrdbench_calls_total{component="fault_shift"' "$work/metrics.txt" \
    || fail "/metrics does not count fault_shift calls"

# A real Prometheus scrapes it; its HTTP API then has lrdbench_calls_total.
prom_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed "s/PORT/$port/" "$here/prometheus.yml" >"$work/prometheus.yml"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)
calls=""
for _ in $(seq 60); do
    calls=$(curl -fsS "http://127.0.0.1:$prom_port/api/v1/query?query=sum(lrdbench_calls_total%7Bcomponent%3D%22fault_shift%22%7D)" 2>/dev/null \
        | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null || true)
    [ -n "$calls" ] && break
    sleep 0.5
done
[ -n "$calls" ] || fail "Prometheus did not scrape lrdbench_calls_total (log: $(tail -n 5 "$work/prometheus.log"))"
# 40 series, one fault_shift call each.
[ "$calls" = 40 ] || fail "Prometheus counts $calls fault_shift calls, not 40"
echo "serve test: Prometheus scraped lrdbench_calls_total{component=\"fault_shift\"} = $calls"

echo "serve test: passed in $(( $(date +%s) - t0 )) s; screenshot $artefacts/run-finished.png"
