#!/usr/bin/env bash
# innfer's conditional INN on the sbibm grid: for each task and simulation budget, train on exactly
# that many simulations (10% held out, early stopping), then C2ST against sbibm's reference posteriors
# on its ten observations. Prints the table in sbibm's layout beside the published NPE row.
#
#   scripts/sbibm.sh [OUT]        OUT defaults to runs/sbibm-<time>
#   TASKS="two_moons slcp" BUDGETS="1e3 1e4" scripts/sbibm.sh     a part of the grid
#   INNFER=path/to/innfer uses that binary instead of building one.
#   Extra innfer options for training: TRAIN_ARGS="…" (default: none: training stops when the
#   held-out loss has not improved for 50 epochs, or after 150 epochs)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
if [[ -z "${INNFER:-}" ]]; then
    cargo build --release --locked --manifest-path "$repo_root/Cargo.toml" >&2
fi
innfer="${INNFER:-$repo_root/target/release/innfer}"
out="${1:-runs/sbibm-$(date -u +%Y-%m-%dT%H-%M-%S)}"
tasks="${TASKS:-two_moons gaussian_mixture slcp gaussian_linear}"
budgets="${BUDGETS:-1e3 1e4 1e5}"
mkdir -p "$out"

for budget in $budgets; do
    for task in $tasks; do
        run="$out/$task-$budget"
        if [[ ! -f "$run/c2st.json" ]]; then
            rm -rf "$run"
            # shellcheck disable=SC2086
            "$innfer" train --problem "$task" --model cinn --simulations "$budget" --out "$run" ${TRAIN_ARGS:-}
            "$innfer" eval --run "$run" --metric c2st >/dev/null
        fi
    done
done

python3 - "$out" "$tasks" "$budgets" <<'PY' | tee "$out/table.md"
import json, pathlib, sys
out, tasks, budgets = pathlib.Path(sys.argv[1]), sys.argv[2].split(), sys.argv[3].split()
# Mean C2ST of NPE in the sbibm paper (Lueckmann et al. 2021; gaussian_mixture: sbibm 1.1 rerun).
npe = {"two_moons": {"1e3": 0.725, "1e4": 0.606, "1e5": 0.542},
       "gaussian_mixture": {"1e3": 0.716, "1e4": 0.615, "1e5": 0.548},
       "slcp": {"1e3": 0.975, "1e4": 0.901, "1e5": 0.831},
       "gaussian_linear": {"1e3": 0.694, "1e4": 0.552, "1e5": 0.506}}
print("| task | method | " + " | ".join(f"10^{b[-1]}" if b.startswith("1e") else b for b in budgets) + " |")
print("|---|---|" + "---|" * len(budgets))
for task in tasks:
    cells = []
    for budget in budgets:
        run = out / f"{task}-{budget}"
        if not (run / "c2st.json").is_file():
            cells.append("–")
            continue
        report = json.loads((run / "c2st.json").read_text())
        training = json.loads((run / "manifest.json").read_text())["training"]
        cells.append(f"{report['mean']:.3f} ({training['seconds']:.0f} s)")
    print(f"| {task} | innfer cINN | " + " | ".join(cells) + " |")
    print(f"| {task} | NPE (published) | " + " | ".join(str(npe.get(task, {}).get(b, "–")) for b in budgets) + " |")
PY
