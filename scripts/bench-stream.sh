#!/usr/bin/env bash
# Measures `innfer train --data --stream` against in-memory training on the same Parquet shards:
# peak memory (/usr/bin/time -v), training steps per second (steps over the training seconds innfer
# reports) and the seconds before training (reading the data, or the buffer's first fill), in
# ROUNDS alternating rounds, medians.
# The shards (kinematics pairs: SHARDS files of 10^6 rows) are made once into DIR.
#
#   scripts/bench-stream.sh [DIR] [SHARDS] [STEPS] [ROUNDS]   # defaults: /tmp/innfer-stream-bench 50 4000 3
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$repo_root"
dir="${1:-/tmp/innfer-stream-bench}"
shards="${2:-50}"
steps="${3:-4000}"
rounds="${4:-3}"
[[ -x /usr/bin/time ]] || { echo "bench-stream: needs /usr/bin/time (Debian: apt-get install time)" >&2; exit 1; }
cargo build --release --locked --quiet
innfer="$repo_root/target/release/innfer"
mkdir -p "$dir/data"
for k in $(seq 1 "$shards"); do
    part="$dir/data/part-$(printf %04d "$k").parquet"
    [[ -f "$part" ]] || "$innfer" --seed "$k" generate --problem kinematics --n 1e6 --out "$part" 2>/dev/null
done

# One training run: prints "steps-per-second peak-MB seconds-before-training".
run() {
    local log="$dir/$1.log"
    shift
    rm -rf "$dir/run"
    /usr/bin/time -v "$innfer" train --data "$dir/data" --x x1..x4 --y y1,y2 --model cinn --steps "$steps" \
        --out "$dir/run" "$@" >"$log" 2>&1
    local seconds peak wall
    seconds=$(sed -n "s/^trained for $steps steps in \([0-9.]*\) s.*/\1/p" "$log")
    peak=$(sed -n 's/.*Maximum resident set size (kbytes): \([0-9]*\)/\1/p' "$log")
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): \([0-9:.]*\)/\1/p' "$log")
    python3 -c "
wall = sum(float(part) * 60 ** index for index, part in enumerate(reversed('$wall'.split(':'))))
print(f'{$steps / $seconds:.1f} {$peak / 1024:.0f} {wall - $seconds:.1f}')"
}

memory=()
stream=()
for round in $(seq 1 "$rounds"); do
    memory+=("$(run "memory-$round")")
    stream+=("$(run "stream-$round" --stream)")
    echo "round $round: in memory ${memory[-1]}, streamed ${stream[-1]} (steps/s, peak MB, s before training)" >&2
done
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
column() { local index=$1; shift; for entry in "$@"; do echo "$entry" | cut -d' ' -f"$index"; done; }
echo "| $((shards))·10^6 rows of Parquet, $steps steps, $(nproc) cores (medians of $rounds) | steps per second | peak memory (MB) | seconds before training |"
echo "|---|---|---|---|"
for mode in "in memory" "--stream (buffer of 10^6 rows)"; do
    if [[ "$mode" == "in memory" ]]; then runs=("${memory[@]}"); else runs=("${stream[@]}"); fi
    echo "| $mode | $(median $(column 1 "${runs[@]}")) | $(median $(column 2 "${runs[@]}")) | $(median $(column 3 "${runs[@]}")) |"
done
