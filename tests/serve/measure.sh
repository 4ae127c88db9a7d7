#!/usr/bin/env bash
# What watching a sweep costs it: a sweep of 20,000 cells (10 H x 500 replicates x 4
# estimators, n = LENGTH) run alone and with `serve` running and a page open on it, in turns
# (alone, watched, alone, watched, ...; ROUNDS pairs). The page is played by curl with the
# page's own requests: /api/runs/ID once a second and the truth chart every 5 s (the page
# reloads it every 10 s: twice its cost). Prints per sweep the wall and CPU time (user+sys) of
# `run`, and for watched sweeps the CPU time the server itself used meanwhile (after its
# start-up computation of the store's dashboard, printed apart).
#
#   LENGTH=4096 ROUNDS=2 tests/serve/measure.sh   # target/debug/lrdbench-host (LRDBENCH overrides)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${LRDBENCH:-$here/../../target/debug/lrdbench-host}
work=$(mktemp -d /tmp/lrdbench-serve-measure.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
export LRDBENCH_HOME=$work/store
cat >sweep.toml <<'TOML'
[workflow]
name = "watched"
seed = 3

[[data]]
model = "fgn"
params = { H = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95] }
lengths = [LENGTH]
replicates = 500

[[estimator]]
name = "higuchi"

[[estimator]]
name = "rs"

[[estimator]]
name = "dfa"

[[estimator]]
name = "local_whittle"

[output]
formats = ["csv", "md", "json", "html"]
TOML
sed -i "s/LENGTH/${LENGTH:-4096}/" sweep.toml

cpu_ticks() { # user+sys clock ticks of a process
    awk '{print $14 + $15}' "/proc/$1/stat"
}

sweep() { # label, watched (0/1)
    local label=$1 watched=$2 out=$work/runs-$1 spid="" ppid="" c0=0 c1=0 warm="-"
    mkdir -p "$out"
    if [ "$watched" = 1 ]; then
        local port url
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        "$bin" -q serve --addr "127.0.0.1:$port" --runs "$out" >serve.url 2>serve.err &
        spid=$!
        pids+=("$spid")
        for _ in $(seq 100); do [ -s serve.url ] && break; sleep 0.1; done
        url=$(head -n 1 serve.url)
        (
            i=0
            while true; do
                id=$(find "$out" -mindepth 1 -maxdepth 1 -type d -name 'watched-*' -printf '%f\n' | head -n 1)
                if [ -n "$id" ]; then
                    curl -fsS "${url}api/runs/$id" >/dev/null || true
                    [ $((i % 5)) = 0 ] && { curl -fsS "${url}runs/$id/charts/truth.svg" >/dev/null || true; }
                fi
                i=$((i + 1))
                sleep 1
            done
        ) &
        ppid=$!
        pids+=("$ppid")
        # The server computes the store's dashboard once at start (reported apart): wait for it,
        # so what is counted is what an open page costs.
        local cs
        cs=$(cpu_ticks "$spid")
        curl -fsS "${url}dashboard" >/dev/null
        c0=$(cpu_ticks "$spid")
        warm=$(awk -v a="$cs" -v b="$c0" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz }')
    fi
    /usr/bin/time -f "%e %U %S" -o time.txt "$bin" -q run sweep.toml --threads 1 --out "$out" --no-compare >/dev/null 2>err.txt \
        || { cat err.txt >&2; exit 1; }
    read -r wall user sys <time.txt
    local served="-"
    if [ "$watched" = 1 ]; then
        c1=$(cpu_ticks "$spid")
        served=$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz }')
        kill "$ppid" "$spid" 2>/dev/null || true
        wait "$ppid" "$spid" 2>/dev/null || true
    fi
    awk -v l="$label" -v w="$wall" -v u="$user" -v s="$sys" -v v="$served" -v m="$warm" 'BEGIN {
        printf "%-10s wall %7.2f s  cpu %7.2f s  server cpu during the sweep %s s (start-up dashboard %s s)\n", l, w, u + s, v, m }'
}
for r in $(seq "${ROUNDS:-2}"); do
    sweep "alone-$r" 0
    sweep "watched-$r" 1
done
uptime
