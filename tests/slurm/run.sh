#!/usr/bin/env bash
# The sharded-sweep test on a real Slurm: installs Slurm from the Debian packages when it is
# missing, starts a one-node cluster (munged, slurmctld, slurmd) with slurm.conf.in, submits
# sweep.toml as a 4-shard job array plus a dependent merge job through
# `lrdbench-host slurm --submit`, waits for both, and compares the merged outputs with a
# single-machine run of the same workflow (every column but the timings and the run id).
# The daemons it started are stopped at the end, whatever happens. If Slurm cannot be
# installed or started, the test says why and FAILS: a skipped test is not a pass.
#
#   tests/slurm/run.sh            # uses target/debug/lrdbench-host (LRDBENCH overrides)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${LRDBENCH:-$root/target/debug/lrdbench-host}
t0=$(date +%s)

fail() {
    echo "slurm test: FAIL: $*" >&2
    exit 1
}

[ -x "$bin" ] || fail "no $bin: build the workspace first (cargo build --workspace)"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
    || ! command -v sbatch >/dev/null || ! [ -x /usr/sbin/munged ]; then
    [ "$(id -u)" = 0 ] || fail "Slurm is not installed, and installing it needs root"
    echo "slurm test: installing slurmctld slurmd slurm-client munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q slurmctld slurmd slurm-client munge >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null && apt-get install -y -q slurmctld slurmd slurm-client munge >/dev/null; } \
        || fail "cannot install Slurm from the Debian packages (apt-get install slurmctld slurmd slurm-client munge)"
fi

work=$(mktemp -d /tmp/lrdbench-slurm.XXXXXX)
state=$work/state
mkdir -p "$state/ctld" "$state/spool"
munged_pid=""

pid_of() { [ -s "$1" ] && cat "$1" || true; }

stop_daemons() {
    local pids=()
    for d in slurmd slurmctld; do
        local p
        p=$(pid_of "$state/$d.pid")
        [ -n "$p" ] && kill "$p" 2>/dev/null && pids+=("$p")
    done
    [ -n "$munged_pid" ] && kill "$munged_pid" 2>/dev/null && pids+=("$munged_pid")
    for _ in $(seq 50); do
        local alive=0
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.2
    done
    if [ "${KEEP:-0}" = 1 ]; then echo "slurm test: kept $work"; else rm -rf "$work"; fi
}
trap stop_daemons EXIT

show_logs() {
    for f in slurmctld.log slurmd.log; do
        [ -f "$state/$f" ] && { echo "--- $f (last lines)"; tail -n 15 "$state/$f"; } >&2
    done
    return 0
}

# munged: reuse one that runs, else start one (and stop it at the end).
if ! [ -S /run/munge/munge.socket.2 ] || ! munge -n >/dev/null 2>&1; then
    [ -f /etc/munge/munge.key ] || fail "/etc/munge/munge.key is missing (the munge package creates it)"
    mkdir -p /run/munge && chown munge:munge /run/munge 2>/dev/null || true
    runuser -u munge -- /usr/sbin/munged || fail "munged does not start"
    for _ in $(seq 50); do [ -s /run/munge/munged.pid ] && break; sleep 0.1; done
    munged_pid=$(pid_of /run/munge/munged.pid)
    munge -n >/dev/null 2>&1 || fail "munged started but does not answer"
fi

host=$(hostname -s)
node=$(slurmd -C 2>/dev/null | grep '^NodeName=') || fail "slurmd -C cannot describe this node"
sed -e "s|@HOST@|$host|g" -e "s|@STATE@|$state|g" -e "s|@NODE@|$node|" \
    "$here/slurm.conf.in" >"$state/slurm.conf"
export SLURM_CONF=$state/slurm.conf
slurmctld || { show_logs; fail "slurmctld does not start"; }
slurmd || { show_logs; fail "slurmd does not start"; }
ready=""
for _ in $(seq 100); do
    if [ "$(sinfo -h -o %t 2>/dev/null | head -n1)" = idle ]; then ready=1; break; fi
    sleep 0.2
done
[ -n "$ready" ] || { show_logs; fail "the node never became idle (sinfo: $(sinfo -h -o '%t %E' 2>&1))"; }
echo "slurm test: one-node cluster up in $(( $(date +%s) - t0 )) s"

cd "$work"
cp "$here/sweep.toml" .
export LRDBENCH_HOME=$work/store
single=$("$bin" -q run sweep.toml --out single | tail -n1)
ids=$("$bin" slurm sweep.toml --shards 4 --dir sweep --submit) || fail "lrdbench-host slurm --submit failed"
echo "$ids"
array=$(echo "$ids" | awk '/^shards job/ {print $3}')
merge=$(echo "$ids" | awk '/^merge job/ {print $3}')
[ -n "$array" ] && [ -n "$merge" ] || fail "no job ids printed: $ids"

# Poll instead of `sbatch --wait`, which returns about 30 s after the jobs end.
for _ in $(seq 900); do
    [ -z "$(squeue -h -j "$array,$merge" 2>/dev/null)" ] && break
    sleep 0.2
done
[ -z "$(squeue -h -j "$array,$merge" 2>/dev/null)" ] \
    || fail "jobs still queued after 180 s: $(squeue -j "$array,$merge" 2>&1)"

# Without accounting, the final states come from the controller's memory.
states=$(for j in "$array" "$merge"; do scontrol show job "$j" 2>&1; done | grep -o 'JobState=[A-Z_]*' || true)
echo "slurm test: job states: $(echo "$states" | sort | uniq -c | tr '\n' ' ')"
[ "$(echo "$states" | grep -c 'JobState=COMPLETED')" = 5 ] || {
    for f in sweep/logs/*; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done
    fail "expected 4 shard tasks and the merge COMPLETED, got: $states"
}

merged=sweep/merged
for f in estimates.csv metrics.csv leaderboard.csv; do
    [ -s "$merged/$f" ] || fail "the merge wrote no $merged/$f"
    diff <(awk -f "$here/without-timing.awk" "$single/$f") \
        <(awk -f "$here/without-timing.awk" "$merged/$f") >"$work/$f.diff" \
        || { head -n 20 "$work/$f.diff" >&2; fail "$f of the merged shards differs from the single run"; }
done
rows=$(($(wc -l <"$merged/estimates.csv") - 1))
grep -q '"count": 4' "$merged/manifest.json" || fail "the merged manifest does not name 4 shards"
echo "slurm test: PASS: 4 shards + merge on Slurm equal the single run ($rows cells), $(( $(date +%s) - t0 )) s in all"
