#!/usr/bin/env bash
# Training throughput of innfer against the FrEIA/PyTorch reference (scripts/reference/freia_bench.py),
# same architectures, same threads, run alternately ROUNDS times. Installs FrEIA into the cached
# environment on first use. Usage: scripts/bench-vs-freia.sh [THREADS] [ROUNDS]
#
# innfer answers MKL's "is this an Intel CPU?" with yes (src/runtime.rs), which on AMD CPUs lets MKL
# use its fast kernels. Each round therefore also runs both sides the other way: innfer with
# INNFER_MKL_VENDOR_CHECK=1 (MKL's own answer), and the reference with the same answer preloaded
# (a two-line shared library built with cc), so that the comparison can be read either way.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
threads="${1:-2}"
rounds="${2:-2}"
python -c "import FrEIA" 2>/dev/null || python -m pip install --quiet "FrEIA==0.2" >&2
cd "$repo_root"
cargo build --release --locked >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo 'int mkl_serv_intel_cpu_true(void) { return 1; }' >"$work/intel.c"
cc -shared -fPIC -o "$work/libintel.so" "$work/intel.c"
innfer() { target/release/innfer --device cpu --threads "$threads" bench --repeats 3 --json; }
freia() { python scripts/reference/freia_bench.py --threads "$threads" --repeats 3; }
for round in $(seq "$rounds"); do
    echo "round $round" >&2
    innfer >"$work/innfer.json"
    freia >"$work/freia.json"
    INNFER_MKL_VENDOR_CHECK=1 innfer >"$work/innfer-vendor.json"
    LD_PRELOAD="$work/libintel.so" freia >"$work/freia-intel.json"
    python - "$work" <<'PY'
import json, sys
work = sys.argv[1]
def innfer(name):
    return {(m["name"], m["unit"]): m["median"] for m in json.load(open(f"{work}/{name}.json"))["measurements"]}
ours, ours_vendor = innfer("innfer"), innfer("innfer-vendor")
freia, freia_intel = (json.load(open(f"{work}/{name}.json")) for name in ("freia", "freia-intel"))
for model, key in (("INN", "inn_steps_per_s"), ("cINN", "cinn_steps_per_s")):
    a, b = ours[(f"{model} training", "steps/s")], ours_vendor[(f"{model} training", "steps/s")]
    print(f"{model} steps/s: innfer {a:.1f}, FrEIA {freia[key]:.1f} (ratio {a / freia[key]:.2f}); "
          f"both with MKL's fast path on any CPU: innfer {a:.1f}, FrEIA {freia_intel[key]:.1f} "
          f"(ratio {a / freia_intel[key]:.2f}); both with MKL's own vendor check: innfer {b:.1f}, "
          f"FrEIA {freia[key]:.1f} (ratio {b / freia[key]:.2f})")
PY
done
