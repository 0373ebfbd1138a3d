#!/usr/bin/env bash
# Training throughput of innfer against the FrEIA/PyTorch reference (scripts/reference/freia_bench.py),
# same architectures, same threads, run alternately ROUNDS times. Installs FrEIA into the cached
# environment on first use. Usage: scripts/bench-vs-freia.sh [THREADS] [ROUNDS]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
threads="${1:-2}"
rounds="${2:-2}"
python -c "import FrEIA" 2>/dev/null || python -m pip install --quiet "FrEIA==0.2" >&2
cd "$repo_root"
cargo build --release --locked >&2
for round in $(seq "$rounds"); do
    echo "round $round" >&2
    target/release/innfer --device cpu --threads "$threads" bench --repeats 3 --json >"${TMPDIR:-/tmp}/innfer-bench.json"
    python scripts/reference/freia_bench.py --threads "$threads" --repeats 3 >"${TMPDIR:-/tmp}/freia-bench.json"
    python - "${TMPDIR:-/tmp}/innfer-bench.json" "${TMPDIR:-/tmp}/freia-bench.json" <<'PY'
import json, sys
innfer = {(m["name"], m["unit"]): m["median"] for m in json.load(open(sys.argv[1]))["measurements"]}
freia = json.load(open(sys.argv[2]))
for model, key in (("INN", "inn_steps_per_s"), ("cINN", "cinn_steps_per_s")):
    ours = innfer[(f"{model} training", "steps/s")]
    print(f"{model}: innfer {ours:.1f} steps/s, FrEIA {freia[key]:.1f} steps/s, ratio {ours / freia[key]:.2f}")
PY
done
