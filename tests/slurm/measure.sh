#!/usr/bin/env bash
# Measures a sharded sweep of 20,000 cells on this machine: a single run, 4 shards run one
# after another (one thread each), and their merge. Prints, per process, the wall time, the
# CPU time (user+sys) and the wall time of the cell work as the run reports it; overhead is
# the rest (plan, plugin load, journal read, outputs). The merge runs no cells, so all of
# its time is overhead; it is compared with the total cell work of the sweep. The last line,
# `outputs`, is what a complete run spends besides its cells (a single-machine run pays it
# too): merge minus outputs is what merging itself adds.
#
#   LENGTH=4096 tests/slurm/measure.sh   # target/debug/lrdbench-host (LRDBENCH overrides)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${LRDBENCH:-$here/../../target/debug/lrdbench-host}
work=$(mktemp -d /tmp/lrdbench-measure.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
export LRDBENCH_HOME=$work/store LRDBENCH_ANALYTICS=0
cat >sweep.toml <<'TOML'
[workflow]
name = "measure"
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

[metrics]
compute = ["bias", "mae", "rmse", "coverage", "ci_width", "validity", "runtime"]
strata = ["length", "h_band"]

[output]
formats = ["csv", "md", "json", "html"]
TOML
# Series length: 128 makes cells nearly free (all overhead); 4096 is a typical benchmark length.
sed -i "s/LENGTH/${LENGTH:-4096}/" sweep.toml
measure() { # label, command...
    local label=$1
    shift
    /usr/bin/time -f "%e %U %S" -o time.txt "$@" >out.txt 2>err.txt || { cat err.txt >&2; exit 1; }
    read -r wall user sys <time.txt
    cells=$(grep -o '^[0-9]* cells in [0-9.]* s' err.txt | awk '{print $4}' || true)
    awk -v l="$label" -v w="$wall" -v u="$user" -v s="$sys" -v c="$cells" 'BEGIN {
        printf "%-8s wall %7.2f s  cpu %7.2f s  cell work %7s s  overhead %7.2f s\n",
            l, w, u + s, (c == "" ? "-" : c), w - c }'
}
measure single "$bin" run sweep.toml --threads 1 --out single
for i in 0 1 2 3; do
    measure "shard $i" "$bin" run sweep.toml --threads 1 --shard "$i/4" --out shards
done
measure merge "$bin" merge shards --out merged --threads 1
# The part of the merge that any complete run pays too: plan, plugin load, reading the journal
# and writing the outputs (resuming the merged run, whose cells are all done, does just that).
measure outputs "$bin" run sweep.toml --threads 1 --resume merged
echo "cells: $(($(wc -l <merged/cells.jsonl)))"
