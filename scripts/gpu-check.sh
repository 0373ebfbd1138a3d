#!/usr/bin/env bash
# Runs every innfer command on one device, timed, and writes one JSON of timings and pass/fail:
# the proof that the CUDA path works, in one call, on the first machine that has a GPU.
#
#   scripts/gpu-check.sh [--device cuda|cuda:N|cpu] [--small] [--out DIR]
#
#   --device  where to compute (default cuda)
#   --small   sizes for a CPU (a few minutes on 2 cores; CI runs it so): without it, a GPU's sizes
#             (trainings of 1000 and 3000 steps, the main job at 1000 steps a training, 10^6
#             samples, 10^8 ABC draws), sized from an NVIDIA H200's measured rates (small-batch
#             trainings at 25-77 steps/s) to fit one call of under 10 minutes there
#   --out     folder for the runs, logs and gpu-check.json (default: a new temporary folder)
#
# INNFER_BIN names the innfer binary (default: target/release/innfer, built here when missing). On a
# machine without the set-up (a GPU machine the binary was carried to), libtorch is taken from the
# Python's torch: `python3 -c 'import torch'` must work there, with torch 2.11.0.
# Exit status: 0 when every check passed, 1 otherwise.
set -uo pipefail

device=cuda
small=0
out=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --device) device="$2"; shift 2 ;;
        --small) small=1; shift ;;
        --out) out="$2"; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "gpu-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${INNFER_BIN:-$repo/target/release/innfer}"
if [[ ! -x "$bin" ]]; then
    echo "gpu-check: building $bin" >&2
    (source "$repo/scripts/env.sh" && cd "$repo" && cargo build --release --locked >&2) || exit 1
fi
if ! "$bin" --version >/dev/null 2>&1; then
    # The binary's rpath names the set-up's torch; elsewhere use the torch of the Python at hand.
    torch_lib="$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')" || exit 1
    export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
out="${out:-$(mktemp -d -t innfer-gpu-check-XXXXXX)}"
mkdir -p "$out"

if [[ $small == 1 ]]; then
    inn_steps=100; cinn_steps=300; samples=1e5; draws=1e6; main_steps=50; bench_repeats=1; pairs=200
else
    inn_steps=1000; cinn_steps=3000; samples=1e6; draws=1e8; main_steps=1000; bench_repeats=3; pairs=1000
fi
targets="$repo/data/kinematics-targets.csv"
checks=()
failed=0

# check NAME COMMAND...: runs innfer with the device and seed, logs to NAME.log, records the outcome.
check() {
    local name="$1"; shift
    local started ended status
    started=$(date +%s.%N)
    "$bin" --device "$device" --seed 42 "$@" >"$out/$name.log" 2>&1
    status=$?
    ended=$(date +%s.%N)
    local seconds; seconds=$(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.2f", b - a }')
    local ok=true
    if [[ $status -ne 0 ]]; then ok=false; failed=$((failed + 1)); fi
    echo "gpu-check: $name: $([[ $ok == true ]] && echo ok || echo "FAILED (exit $status, see $out/$name.log)") in $seconds s" >&2
    checks+=("{\"name\": \"$name\", \"ok\": $ok, \"exit\": $status, \"seconds\": $seconds}")
}

check version --version
if [[ $device == cuda* ]] && ! grep -q "CUDA device(s) visible" "$out/version.log"; then
    echo "gpu-check: libtorch sees no CUDA device: $(cat "$out/version.log")" >&2
fi
check train-inn train --problem kinematics --model inn --steps "$inn_steps" --out "$out/inn"
check train-cinn train --problem kinematics --model cinn --steps "$cinn_steps" --out "$out/cinn"
check resume train --resume "$out/cinn" --steps $((cinn_steps + 50))
check train-sbibm train --problem two_moons --model cinn --simulations 1000 --steps "$inn_steps" --out "$out/two_moons"
check sample-cinn sample --run "$out/cinn" --observations "$targets" --n "$samples" --out "$out/post-cinn.csv"
check sample-inn sample --run "$out/inn" --y 1.5,0 --n "$samples" --resimulate --out "$out/post-inn.csv"
check abc abc --observations "$targets" --keep 2000 --draws "$draws" --out "$out/abc.csv"
check eval eval --run "$out/cinn" --observations "$targets" --abc-draws "$draws"
check eval-reference eval --run "$out/inn" --observations "$targets" --reference "$out/abc.csv"
check c2st eval --run "$out/cinn" --metric c2st --observations "$targets" --reference "$out/abc.csv"
check check-cinn check --run "$out/cinn" --pairs "$pairs" --out "$out/check-cinn"
check check-inn check --run "$out/inn" --pairs "$pairs" --out "$out/check-inn"
check generate-pairs generate --problem kinematics --n "$pairs" --out "$out/pairs.csv"
check generate-sir generate --problem sir --n "$pairs" --out "$out/sir.csv"
check generate-lotka-volterra generate --problem lotka_volterra --n "$pairs" --out "$out/lotka_volterra.csv"
check nll eval --run "$out/cinn" --metric nll --pairs-file "$out/pairs.csv"
check train-summary train --problem bernoulli_glm_raw --model cinn --simulations 1000 --summary mlp --steps "$inn_steps" --out "$out/summary"
printf 'data_1,data_2\n-0.6,0.15\n' >"$out/two_moons-observation.csv"
check train-sequential train --problem two_moons --model cinn --simulations 1000 --rounds 2 --steps "$inn_steps" \
    --observation "$out/two_moons-observation.csv" --out "$out/sequential"
mkdir -p "$out/shards"
check generate-shard-1 generate --problem kinematics --n 1e4 --out "$out/shards/part-1.parquet"
check generate-shard-2 generate --problem kinematics --n 1e4 --out "$out/shards/part-2.parquet"
check train-stream train --data "$out/shards" --x x1..x4 --y y1,y2 --model cinn --stream --val 0.5 --buffer-rows 5000 \
    --steps "$inn_steps" --out "$out/stream"
check sample-pairs sample --run "$out/cinn" --observations "$out/pairs.csv" --n 1000 --out "$out/post-pairs.csv"
check check-files check --truth "$out/pairs.csv" --posterior "$out/post-pairs.csv" --out "$out/check-files"
check corner plot --posterior "$out/post-cinn.csv" --reference "$out/abc.csv" --out "$out/corner.png"
check bench bench --repeats "$bench_repeats" --json
check main-job --steps "$main_steps" --check-pairs "$pairs" --abc-draws "$draws" --out "$out/main"

joined=$(IFS=,; echo "${checks[*]}")
cat >"$out/gpu-check.json" <<JSON
{"device": "$device", "small": $([[ $small == 1 ]] && echo true || echo false), "binary": "$bin", "failed": $failed, "checks": [$joined]}
JSON
echo "gpu-check: $(( ${#checks[@]} - failed )) passed, $failed failed; $out/gpu-check.json" >&2
[[ $failed -eq 0 ]]
