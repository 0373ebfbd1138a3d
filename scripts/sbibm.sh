#!/usr/bin/env bash
# innfer's conditional INN on the sbibm grid: for each task, simulation budget and seed, train on
# exactly that many simulations (10% held out, early stopping), then C2ST against sbibm's reference
# posteriors on its ten observations. Writes every C2ST to OUT/results.csv and prints the table in
# sbibm's layout (the mean over the observations; over several seeds, their mean ± standard
# deviation) beside the published NPE row and the best published one (any method).
#
#   scripts/sbibm.sh [OPTIONS] [OUT]     OUT defaults to runs/sbibm-<time>
#   --tasks "two_moons slcp"   a part of the grid (default: all ten tasks)
#   --budgets "1e3 1e4"        (default: 1e3 1e4 1e5)
#   --seeds K                  K runs with seeds 42, 43, … for the spread (default 1)
#   --jobs 2                   two runs at once, each on one thread (on 2 cores about twice as fast;
#                              one thread gives the numbers of two)
#   --rounds R                 sequential rounds instead (truncated sequential NPE): one run per
#                              observation, each spending the budget in R rounds for that
#                              observation alone, then C2ST for it
#   --observations "1 2 3"     some of sbibm's ten observations (default: all)
#   The same as variables: TASKS, BUDGETS, SEEDS (a list of seeds), JOBS, ROUNDS, OBSERVATIONS.
#   INNFER=path/to/innfer uses that binary instead of building one.
#   Extra innfer options for training: TRAIN_ARGS="…" (default: none: training stops when the
#   held-out loss has not improved for 50 epochs, or after 150 epochs)
#   --candidates "A | B"       one round: train one run per set of options (after TRAIN_ARGS) on
#                              the same simulations and keep the one with the lowest held-out loss
#                              (RUN/candidates.csv lists each with its loss); as a variable: CANDIDATES
# Finished runs (with their c2st.json) are kept and skipped when the script runs again.
set -euo pipefail
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit "$1"; }
while (( $# )); do
    case "$1" in
        --tasks) TASKS="$2"; shift 2 ;;
        --budgets) BUDGETS="$2"; shift 2 ;;
        --seeds) SEEDS="$(seq -s ' ' 42 $((41 + $2)))"; shift 2 ;;
        --jobs) JOBS="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --observations) OBSERVATIONS="$2"; shift 2 ;;
        --candidates) CANDIDATES="$2"; shift 2 ;;
        -h|--help) usage 0 ;;
        -*) echo "sbibm.sh: unknown option $1" >&2; usage 2 ;;
        *) break ;;
    esac
done
out="${1:-runs/sbibm-$(date -u +%Y-%m-%dT%H-%M-%S)}"
tasks="${TASKS:-two_moons gaussian_mixture slcp gaussian_linear gaussian_linear_uniform bernoulli_glm bernoulli_glm_raw slcp_distractors sir lotka_volterra}"
budgets="${BUDGETS:-1e3 1e4 1e5}"
seeds="${SEEDS:-42}"
rounds="${ROUNDS:-}"
observations="${OBSERVATIONS:-1 2 3 4 5 6 7 8 9 10}"
jobs="${JOBS:-1}"
candidates="${CANDIDATES:-}"
if [[ -n "$candidates" && -n "$rounds" ]]; then
    echo "sbibm.sh: --candidates chooses among single-round runs; it does not combine with --rounds" >&2
    exit 2
fi
source "$(dirname "${BASH_SOURCE[0]}")/runs.sh"
mkdir -p "$out"

# unscored RUN WHAT: a trained run whose samples could not be scored (a model with almost no mass
# inside the prior's box gives no samples there): its error goes to RUN/unscored.txt, and the table
# counts it as C2ST 1.0 (the two sets are then told apart perfectly) and says how many there were.
unscored() {
    tail -1 "$1.log" >"$1/unscored.txt"
    echo "$2: not scored ($(cat "$1/unscored.txt")); counted as 1.0" >&2
}

# train_single TASK BUDGET SEED RUN OPTIONS: trains RUN on the budget with TRAIN_ARGS and OPTIONS.
train_single() {
    # shellcheck disable=SC2086
    "$innfer" "${threads[@]}" --seed "$3" train --problem "$1" --model cinn --simulations "$2" --out "$4" \
        ${TRAIN_ARGS:-} $5 2>"$4.log"
}

# choose TASK BUDGET SEED RUN: one run per candidate (the same simulations and held-out rows: the
# same seed), the one with the lowest held-out loss moved to RUN; RUN/candidates.csv lists them.
choose() {
    local options k
    IFS='|' read -ra options <<<"$candidates"
    for k in "${!options[@]}"; do
        rm -rf "$4.candidate$((k + 1))"
        train_single "$1" "$2" "$3" "$4.candidate$((k + 1))" "${options[$k]}"
    done
    python3 - "$4" "${options[@]}" <<'PY'
import csv, json, os, shutil, sys
run, options = sys.argv[1], sys.argv[2:]
candidates = [f"{run}.candidate{k}" for k in range(1, len(options) + 1)]
losses = [json.load(open(f"{c}/manifest.json"))["training"]["best_validation"]["loss"] for c in candidates]
best = candidates[min(range(len(losses)), key=losses.__getitem__)]
os.rename(best, run)
shutil.copyfile(f"{best}.log", f"{run}.log")
with open(f"{run}/candidates.csv", "w", newline="") as handle:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(["options", "held_out_loss"])
    writer.writerows([option.strip(), loss] for option, loss in zip(options, losses))
PY
}

# single TASK BUDGET SEED: one run on the budget, C2ST on all ten observations.
single() {
    local run="$out/$1-$2-seed$3"
    if [[ -f "$run/c2st.json" || -f "$run/unscored.txt" ]]; then return; fi
    rm -rf "$run"
    if [[ -z "$candidates" ]]; then
        train_single "$1" "$2" "$3" "$run" ""
    else
        choose "$1" "$2" "$3" "$run"
    fi
    if ! "$innfer" "${threads[@]}" --seed "$3" eval --run "$run" --metric c2st >/dev/null 2>>"$run.log"; then
        unscored "$run" "$1 $2 seed $3"
        return
    fi
    echo "$1 $2 seed $3: $(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["mean"])' "$run/c2st.json")" >&2
}

# sequential TASK BUDGET SEED K: a sequential run for sbibm's observation K, then its C2ST.
sequential() {
    local run="$out/$1-$2-rounds$rounds-seed$3/obs$4"
    if [[ -f "$run/c2st.json" || -f "$run/unscored.txt" ]]; then return; fi
    rm -rf "$run"
    mkdir -p "$(dirname "$run")"
    python3 - "$INNFER_SBIBM/$1" "$4" "$run.obs.csv" "$run.ref.csv" <<'PY'
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
    "$innfer" "${threads[@]}" --seed "$3" train --problem "$1" --model cinn --simulations "$2" --rounds "$rounds" \
        --observation "$run.obs.csv" --out "$run" ${TRAIN_ARGS:-} 2>"$run.log"
    if ! "$innfer" "${threads[@]}" --seed "$3" eval --run "$run" --metric c2st --observations "$run.obs.csv" \
        --reference "$run.ref.csv" >/dev/null 2>>"$run.log"; then
        unscored "$run" "$1 $2 seed $3 observation $4"
        return
    fi
    echo "$1 $2 seed $3 observation $4: $(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["mean"])' "$run/c2st.json")" >&2
}

# JOBS runs at once; a failed one fails the script once all have ended.
for budget in $budgets; do
    for task in $tasks; do
        for seed in $seeds; do
            if [[ -z "$rounds" ]]; then
                launch single "$task" "$budget" "$seed"
            else
                for k in $observations; do launch sequential "$task" "$budget" "$seed" "$k"; done
            fi
        done
    done
done
wait_all sbibm.sh "$out"

python3 - "$out" "$tasks" "$budgets" "$seeds" "$rounds" "$observations" <<'PY' | tee "$out/table.md"
import csv, json, pathlib, statistics, sys
out, tasks, budgets, seeds = pathlib.Path(sys.argv[1]), sys.argv[2].split(), sys.argv[3].split(), sys.argv[4].split()
rounds, observations = sys.argv[5], [int(k) for k in sys.argv[6].split()]
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
        "gaussian_linear": {"1e3": 0.575, "1e4": 0.526, "1e5": 0.505},
        "gaussian_linear_uniform": {"1e3": 0.594, "1e4": 0.523, "1e5": 0.503},
        "bernoulli_glm": {"1e3": 0.594, "1e4": 0.553, "1e5": 0.515},
        "sir": {"1e3": 0.637, "1e4": 0.561, "1e5": 0.525},
        "lotka_volterra": {"1e3": 0.909, "1e4": 0.738, "1e5": 0.695},
        "slcp_distractors": {"1e3": 0.977, "1e4": 0.931, "1e5": 0.753}}

def runs(task, budget, seed):
    """(observation, run folder, index in its c2st.json) of every C2ST of one seed."""
    if rounds:
        return [(k, out / f"{task}-{budget}-rounds{rounds}-seed{seed}" / f"obs{k}", 0) for k in observations]
    return [(k, out / f"{task}-{budget}-seed{seed}", k - 1) for k in observations]

rows, table, unscored = [], {}, {}
for task in tasks:
    for budget in budgets:
        for seed in seeds:
            found = runs(task, budget, seed)
            if not all((run / "c2st.json").is_file() or (run / "unscored.txt").is_file() for _, run, _ in found):
                continue
            values = []
            for k, run, index in found:
                if (run / "c2st.json").is_file():
                    value = json.loads((run / "c2st.json").read_text())["per_observation"][index]
                else:
                    value = 1.0
                    unscored[(task, budget)] = unscored.get((task, budget), 0) + 1
                seconds = json.loads((run / "manifest.json").read_text())["training"]["seconds"]
                rows.append([task, budget, rounds or 1, seed, k, f"{value:.4f}", f"{seconds:.1f}"])
                values.append(value)
            table.setdefault((task, budget), []).append(sum(values) / len(values))
with open(out / "results.csv", "w", newline="") as handle:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(["task", "budget", "rounds", "seed", "observation", "c2st", "train_seconds"])  # c2st 1 where unscored
    writer.writerows(rows)

def cell(key):
    means = table.get(key, [])
    if not means:
        return "–"
    text = f"{means[0]:.3f}" if len(means) == 1 else f"{statistics.mean(means):.3f} ± {statistics.stdev(means):.3f}"
    if key in unscored:
        text += f" ({unscored[key]} unscored, as 1.0)"
    return text

print("| task | method | " + " | ".join(f"10^{b[-1]}" if b.startswith("1e") else b for b in budgets) + " |")
print("|---|---|" + "---|" * len(budgets))
method = f"innfer cINN, {rounds} rounds" if rounds else "innfer cINN"
if len(seeds) > 1:
    method += f", {len(seeds)} seeds"
if observations != list(range(1, 11)):
    method += f", observations {' '.join(map(str, observations))}"
for task in tasks:
    print(f"| {task} | {method} | " + " | ".join(cell((task, b)) for b in budgets) + " |")
    for name, published in [("NPE (published)", npe), ("best published", best)]:
        if task in published:
            print(f"| {task} | {name} | " + " | ".join(str(published[task].get(b, "–")) for b in budgets) + " |")
PY
