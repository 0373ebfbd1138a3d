#!/usr/bin/env bash
# innfer's conditional INN on the sbibm grid: for each task and simulation budget, train on exactly
# that many simulations (10% held out, early stopping), then C2ST against sbibm's reference posteriors
# on its ten observations. Prints the table in sbibm's layout beside the published NPE row and the best
# published one (any method).
#
#   scripts/sbibm.sh [OUT]        OUT defaults to runs/sbibm-<time>
#   TASKS="two_moons slcp" BUDGETS="1e3 1e4" scripts/sbibm.sh     a part of the grid
#   INNFER=path/to/innfer uses that binary instead of building one.
#   Extra innfer options for training: TRAIN_ARGS="…" (default: none: training stops when the
#   held-out loss has not improved for 50 epochs, or after 150 epochs)
#   ROUNDS=R: sequential rounds instead (truncated sequential NPE): one run per observation, each
#   spending the budget in R rounds for that observation alone, then C2ST for it; the table gives the
#   mean over the observations (OBSERVATIONS="1 2 3" for some of sbibm's ten). JOBS=2 runs two
#   observations at once, each on one thread (on 2 cores about twice as fast; the same numbers for
#   the same JOBS).
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

rounds="${ROUNDS:-}"
observations="${OBSERVATIONS:-1 2 3 4 5 6 7 8 9 10}"
jobs="${JOBS:-1}"
threads=""
if (( jobs > 1 )); then threads="--threads 1"; fi

# one_observation TASK BUDGET K: a sequential run for sbibm's observation K, then its C2ST.
one_observation() {
    local task="$1" budget="$2" k="$3" run
    run="$out/$task-$budget-rounds$rounds/obs$k"
    if [[ -f "$run/c2st.json" ]]; then return; fi
    rm -rf "$run"
    mkdir -p "$(dirname "$run")"
    python3 - "$INNFER_SBIBM/$task" "$k" "$run.obs.csv" "$run.ref.csv" <<'PY'
import csv, sys
folder, k, obs_path, ref_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = list(csv.reader(open(f"{folder}/observations.csv")))
csv.writer(open(obs_path, "w", newline="")).writerows([rows[0], rows[k]])
reference = csv.reader(open(f"{folder}/reference.csv"))
header = next(reference)
column = header.index("obs")
writer = csv.writer(open(ref_path, "w", newline=""))
writer.writerow(header)
writer.writerows([*r[:column], "0", *r[column + 1:]] for r in reference if int(float(r[column])) == k - 1)
PY
    # shellcheck disable=SC2086
    "$innfer" $threads train --problem "$task" --model cinn --simulations "$budget" --rounds "$rounds" \
        --observation "$run.obs.csv" --out "$run" ${TRAIN_ARGS:-} 2>"$run.log"
    "$innfer" $threads eval --run "$run" --metric c2st --observations "$run.obs.csv" --reference "$run.ref.csv" \
        >/dev/null 2>>"$run.log"
    echo "$task $budget observation $k: $(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["mean"])' "$run/c2st.json")" >&2
}

# sequential TASK BUDGET: one sequential run per observation, JOBS of them at once.
sequential() {
    local k pids=()
    for k in $observations; do
        while (( $(jobs -rp | wc -l) >= jobs )); do wait -n || true; done
        one_observation "$1" "$2" "$k" &
        pids+=("$!")
    done
    local pid failed=0
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    if (( failed )); then echo "sbibm.sh: a sequential run failed (its log: $out/$1-$2-rounds$rounds/obsK.log)" >&2; exit 1; fi
}

for budget in $budgets; do
    for task in $tasks; do
        if [[ -n "$rounds" ]]; then
            sequential "$task" "$budget"
            continue
        fi
        run="$out/$task-$budget"
        if [[ ! -f "$run/c2st.json" ]]; then
            rm -rf "$run"
            # shellcheck disable=SC2086
            "$innfer" train --problem "$task" --model cinn --simulations "$budget" --out "$run" ${TRAIN_ARGS:-}
            "$innfer" eval --run "$run" --metric c2st >/dev/null
        fi
    done
done

python3 - "$out" "$tasks" "$budgets" "$rounds" "$observations" <<'PY' | tee "$out/table.md"
import json, pathlib, sys
out, tasks, budgets = pathlib.Path(sys.argv[1]), sys.argv[2].split(), sys.argv[3].split()
rounds, observations = sys.argv[4], sys.argv[5].split()
# Mean C2ST of NPE in the sbibm paper (Lueckmann et al. 2021; gaussian_mixture: sbibm 1.1 rerun).
npe = {"two_moons": {"1e3": 0.725, "1e4": 0.606, "1e5": 0.542},
       "gaussian_mixture": {"1e3": 0.716, "1e4": 0.615, "1e5": 0.548},
       "slcp": {"1e3": 0.975, "1e4": 0.901, "1e5": 0.831},
       "gaussian_linear": {"1e3": 0.694, "1e4": 0.552, "1e5": 0.506}}
# The best published mean C2ST of any method (sbi-benchmark results: main paper, supplement and the
# sbibm 0.2.3 rerun; gaussian_mixture: its rerun), mostly sequential SNLE/SNPE.
best = {"two_moons": {"1e3": 0.610, "1e4": 0.528, "1e5": 0.518},
        "gaussian_mixture": {"1e3": 0.663, "1e4": 0.551, "1e5": 0.530},
        "slcp": {"1e3": 0.912, "1e4": 0.713, "1e5": 0.578},
        "gaussian_linear": {"1e3": 0.575, "1e4": 0.526, "1e5": 0.505}}
print("| task | method | " + " | ".join(f"10^{b[-1]}" if b.startswith("1e") else b for b in budgets) + " |")
print("|---|---|" + "---|" * len(budgets))
for task in tasks:
    cells = []
    for budget in budgets:
        runs = [out / f"{task}-{budget}-rounds{rounds}" / f"obs{k}" for k in observations] if rounds else [out / f"{task}-{budget}"]
        if not all((run / "c2st.json").is_file() for run in runs):
            cells.append("–")
            continue
        means = [json.loads((run / "c2st.json").read_text())["mean"] for run in runs]
        seconds = [json.loads((run / "manifest.json").read_text())["training"]["seconds"] for run in runs]
        each = f", {sum(seconds) / len(seconds):.0f} s each" if rounds else ""
        cells.append(f"{sum(means) / len(means):.3f} ({sum(seconds):.0f} s{each})")
    method = f"innfer cINN, {rounds} rounds, observations {' '.join(observations)}" if rounds else "innfer cINN"
    print(f"| {task} | {method} | " + " | ".join(cells) + " |")
    print(f"| {task} | NPE (published) | " + " | ".join(str(npe.get(task, {}).get(b, "–")) for b in budgets) + " |")
    print(f"| {task} | best published | " + " | ".join(str(best.get(task, {}).get(b, "–")) for b in budgets) + " |")
PY
