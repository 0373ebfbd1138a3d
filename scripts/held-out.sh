#!/usr/bin/env bash
# Settings chosen the honest way, by held-out loss alone: for each task, simulation budget and seed,
# one cINN per candidate set of options, trained on the same simulations, then each measured on the
# same held-out pairs (`innfer --seed 7 generate`, never trained on) with `innfer eval --metric nll`:
# the mean −log q(x | y) in raw x, lower is better. No reference posterior is looked at. Writes
# OUT/held_out.csv and prints, per task and budget, each candidate's mean over the seeds.
#
#   scripts/held-out.sh --candidates "A | B" [OPTIONS] [OUT]     OUT defaults to runs/held-out-<time>
#   --candidates "--regression true | --regression false"   innfer train options, one set per candidate
#                              (an empty one: the defaults)
#   --tasks "slcp sir"         built-in problems or sbibm tasks (default: the ten sbibm tasks)
#   --budgets "1e3 1e4"        simulations per run (default: 1e3)
#   --seeds K                  seeds 42, 43, … (default 1)
#   --jobs 2                   two runs at once, each on one thread
#   --pairs N                  held-out pairs per task (default 2000)
#   INNFER=path/to/innfer uses that binary instead of building one. Finished runs are skipped when
#   the script runs again into the same folder.
set -euo pipefail
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit "$1"; }
tasks="two_moons gaussian_mixture slcp gaussian_linear gaussian_linear_uniform bernoulli_glm bernoulli_glm_raw slcp_distractors sir lotka_volterra"
budgets="1e3" seeds="42" jobs=1 pairs=2000 candidates=""
while (( $# )); do
    case "$1" in
        --candidates) candidates="$2"; shift 2 ;;
        --tasks) tasks="$2"; shift 2 ;;
        --budgets) budgets="$2"; shift 2 ;;
        --seeds) seeds="$(seq -s ' ' 42 $((41 + $2)))"; shift 2 ;;
        --jobs) jobs="$2"; shift 2 ;;
        --pairs) pairs="$2"; shift 2 ;;
        -h|--help) usage 0 ;;
        -*) echo "held-out.sh: unknown option $1" >&2; usage 2 ;;
        *) break ;;
    esac
done
if [[ "$candidates" != *"|"* ]]; then
    echo "held-out.sh: give at least two candidates: --candidates \"OPTIONS | OPTIONS\"" >&2
    exit 2
fi
source "$(dirname "${BASH_SOURCE[0]}")/runs.sh"
out="${1:-runs/held-out-$(date -u +%Y-%m-%dT%H-%M-%S)}"
IFS='|' read -ra options <<<"$candidates"
mkdir -p "$out"
for task in $tasks; do
    [[ -f "$out/$task-pairs.csv" ]] || "$innfer" --seed 7 generate --problem "$task" --n "$pairs" --out "$out/$task-pairs.csv" >/dev/null
done

# measure TASK BUDGET SEED K: candidate K's run, trained and measured on the task's held-out pairs.
measure() {
    local run="$out/$1-$2-seed$3-candidate$4"
    if [[ -f "$run/nll.json" ]]; then return; fi
    rm -rf "$run"
    # shellcheck disable=SC2086
    "$innfer" "${threads[@]}" --seed "$3" train --problem "$1" --model cinn --simulations "$2" ${options[$4]} \
        --out "$run" 2>"$run.log"
    "$innfer" "${threads[@]}" eval --run "$run" --metric nll --pairs-file "$out/$1-pairs.csv" >/dev/null 2>>"$run.log"
    local label
    label="$(echo ${options[$4]})"
    label="${label:-the defaults}"
    echo "$1 $2 seed $3 [$label]: $(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["mean"])' "$run/nll.json")" >&2
}

for budget in $budgets; do
    for task in $tasks; do
        for seed in $seeds; do
            for k in "${!options[@]}"; do launch measure "$task" "$budget" "$seed" "$k"; done
        done
    done
done
wait_all held-out.sh "$out"

python3 - "$out" "$tasks" "$budgets" "$seeds" "${options[@]}" <<'PY' | tee "$out/table.md"
import csv, json, pathlib, statistics, sys
out, tasks, budgets, seeds, options = pathlib.Path(sys.argv[1]), sys.argv[2].split(), sys.argv[3].split(), sys.argv[4].split(), sys.argv[5:]
rows = []
for budget in budgets:
    for task in tasks:
        for seed in seeds:
            for k, option in enumerate(options):
                report = json.load(open(out / f"{task}-{budget}-seed{seed}-candidate{k}" / "nll.json"))
                rows.append([task, budget, seed, option.strip(), report["mean"], report["standard_error"]])
with open(out / "held_out.csv", "w", newline="") as handle:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(["task", "budget", "seed", "options", "held_out_loss", "standard_error"])
    writer.writerows(rows)
print("| task | budget | " + " | ".join(f"`{o.strip()}`" if o.strip() else "the defaults" for o in options) + " |")
print("|---|---|" + "---|" * len(options))
for budget in budgets:
    for task in tasks:
        cells = []
        for option in options:
            losses = [r[4] for r in rows if r[:2] == [task, budget] and r[3] == option.strip()]
            spread = f" ± {statistics.stdev(losses):.3f}" if len(losses) > 1 else ""
            cells.append(f"{statistics.mean(losses):.3f}{spread}")
        print(f"| {task} | {budget} | " + " | ".join(cells) + " |")
print(f"\nMean held-out loss (nats, lower is better) over seeds {', '.join(seeds)}; {out}/held_out.csv has every run.")
PY
