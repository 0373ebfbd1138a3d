#!/usr/bin/env bash
# Whole-process training throughput of `innfer train` against the FrEIA/PyTorch reference
# (scripts/reference/freia_bench.py) at the same configuration and threads, run alternately ROUNDS
# times: each process is timed from start to exit (start-up, data, training, and for innfer its
# validation and run folder), and steps/s is its steps over that time. Installs FrEIA into the cached
# environment on first use. Usage: scripts/bench-vs-freia.sh [THREADS] [ROUNDS] [INN_STEPS] [CINN_STEPS]
#
# The reference gets every process setting innfer gives itself: the allocator's (src/runtime.rs:
# glibc keeps freed memory instead of returning it to the system) and MKL's fast kernels on any CPU
# (innfer answers MKL's "is this an Intel CPU?" with yes; the reference gets the same answer from a
# two-line library built here with cc and preloaded). It runs twice: as written for PyTorch, and with
# innfer's two algorithmic shortcuts (--same-algorithm: the MMD's gradient in closed form, one inverse
# pass), so that the ratios say what comes from the algorithm and what from the rest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
threads="${1:-2}"
rounds="${2:-3}"
inn_steps="${3:-1000}"
cinn_steps="${4:-3000}"
python -c "import FrEIA" 2>/dev/null || python -m pip install --quiet "FrEIA==0.2" >&2
cd "$repo_root"
cargo build --release --locked >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo 'int mkl_serv_intel_cpu_true(void) { return 1; }' >"$work/intel.c"
cc -shared -fPIC -o "$work/libintel.so" "$work/intel.c"
tunables="glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=1073741824:glibc.malloc.top_pad=67108864"

# Steps per second of the whole command "$@" that trains $1 steps (the rest is the command).
rate() {
    local steps="$1"
    shift
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s.%N)
    python -c "print(f'{$steps / ($end - $start):.1f}')"
}
innfer_train() {
    local model="$1" steps="$2"
    rm -rf "$work/run"
    local shape=(--blocks 6 --hidden 128 --layers 2 --coupling glow --batch 500 --steps "$steps" --out "$work/run")
    if [ "$model" = inn ]; then
        shape+=(--losses paper --w-y 30 --pad 6 --z-width 2)
    fi
    target/release/innfer --device cpu --threads "$threads" train --problem kinematics --model "$model" "${shape[@]}"
}
reference() {
    GLIBC_TUNABLES="$tunables" LD_PRELOAD="$work/libintel.so" python scripts/reference/freia_bench.py --threads "$threads" "$@"
}

echo "model,round,innfer,reference,reference_same_algorithm"
for round in $(seq "$rounds"); do
    for model in inn cinn; do
        steps=$([ "$model" = inn ] && echo "$inn_steps" || echo "$cinn_steps")
        ours=$(rate "$steps" innfer_train "$model" "$steps")
        theirs=$(rate "$steps" reference --model "$model" --steps "$steps")
        if [ "$model" = inn ]; then
            same=$(rate "$steps" reference --model "$model" --steps "$steps" --same-algorithm)
            python -c "print(f'round $round, INN: innfer $ours steps/s, reference $theirs ({$ours / $theirs:.2f}×), with innfer\'s algorithm $same ({$ours / $same:.2f}×)')" >&2
        else
            same=""  # the cINN's maximum likelihood has no shortcut to take
            python -c "print(f'round $round, cINN: innfer $ours steps/s, reference $theirs ({$ours / $theirs:.2f}×)')" >&2
        fi
        echo "$model,$round,$ours,$theirs,$same"
    done
done
