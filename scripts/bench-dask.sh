#!/usr/bin/env bash
# Measures scripts/dask_simulator.py on this machine: the oscillator simulator (data/oscillator.py)
# on ROWS rows run plainly and through the runner on a local cluster of 1 and 2 workers (chunks of
# CHUNK rows), and the runner's fixed cost per batch (starting and stopping its local cluster, around
# a one-row batch of `cat`). Prints a Markdown table; each time is the median of three runs.
#
#   scripts/bench-dask.sh [ROWS] [CHUNK]      # defaults: 100000 rows, chunks of 10000
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$repo_root"
rows="${1:-100000}"
chunk="${2:-10000}"
work="$(mktemp -d -t innfer-bench-dask-XXXXXX)"
trap 'rm -rf "$work"' EXIT
python3 data/oscillator.py generate "$rows" 1 | cut -d, -f1-3 >"$work/x.csv"
head -2 "$work/x.csv" >"$work/one.csv"

# Median wall-clock seconds of three runs of "$@" with $input on stdin.
median() {
    local times=()
    for _ in 1 2 3; do
        local start end
        start=$(date +%s.%N)
        "$@" <"$input" >/dev/null
        end=$(date +%s.%N)
        times+=("$(python3 -c "print($end - $start)")")
    done
    printf '%s\n' "${times[@]}" | sort -g | sed -n 2p
}

runner=(python3 scripts/dask_simulator.py --chunk "$chunk")
input="$work/x.csv"
plain=$(median python3 data/oscillator.py)
one=$(median "${runner[@]}" --workers 1 -- python3 data/oscillator.py)
two=$(median "${runner[@]}" --workers 2 -- python3 data/oscillator.py)
input="$work/one.csv"
overhead=$(median "${runner[@]}" --workers 2 -- cat)

echo "| $rows oscillator rows ($(nproc) cores) | seconds | rows per second |"
echo "|---|---|---|"
for row in "plain, one process:$plain" "runner, 1 worker:$one" "runner, 2 workers:$two"; do
    printf '| %s | %.2f | %.0f |\n' "${row%%:*}" "${row##*:}" "$(python3 -c "print($rows / ${row##*:})")"
done
printf '| runner around a 1-row batch (its cost per batch) | %.2f | |\n' "$overhead"
