"""Extracts the observations and reference posterior samples of the sbibm tasks innfer has from the
sbibm wheel (downloaded by scripts/setup.sh from the package registry) into CSV files innfer reads:

    OUT/<task>/observations.csv      data_1..data_K, one row per observation (sbibm's 1..10 → rows 0..9)
    OUT/<task>/reference.csv         obs, parameter_1..parameter_D (10 000 samples per observation)
    OUT/<task>/true_parameters.csv   obs, parameter_1..parameter_D

sir and lotka_volterra name their parameters by symbols (β, γ, …) in sbibm's files; here every task's
are parameter_1..parameter_D, in sbibm's order. slcp_distractors also gets the fixed distribution of
its 92 distractors and the permutation of its 100 outputs (the simulator reads them):

    OUT/slcp_distractors/distractor_loc.csv          20 rows (components) × 92 means
    OUT/slcp_distractors/distractor_scale_tril.csv   20·92 rows × 92: the components' scale factors
    OUT/slcp_distractors/permutation.csv             index: output j is input permutation[j]

Usage: python fetch_sbibm.py WHEEL OUT   (the Python needs numpy and torch)
"""
import bz2
import csv
import io
import pathlib
import sys
import zipfile

import numpy as np
import torch

# innfer's name → (sbibm's folder, the observation file there).
TASKS = {
    "two_moons": ("two_moons", "observation.csv"),
    "gaussian_mixture": ("gaussian_mixture", "observation.csv"),
    "slcp": ("slcp", "observation.csv"),
    "gaussian_linear": ("gaussian_linear", "observation.csv"),
    "gaussian_linear_uniform": ("gaussian_linear_uniform", "observation.csv"),
    "bernoulli_glm": ("bernoulli_glm", "observation.csv"),
    "bernoulli_glm_raw": ("bernoulli_glm", "observation_raw.csv"),
    "slcp_distractors": ("slcp", "observation_distractors.csv"),
    "sir": ("sir", "observation.csv"),
    "lotka_volterra": ("lotka_volterra", "observation.csv"),
}
OBSERVATIONS = range(1, 11)


def rows(text):
    return list(csv.reader(io.StringIO(text)))


def parameter_names(header):
    return [f"parameter_{index}" for index in range(1, len(header) + 1)]


def write(path, table):
    partial = path.with_name(f".{path.name}.partial")
    with open(partial, "w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(table)
    partial.replace(path)


def distractors(archive, folder):
    """sbibm's distractor mixture for slcp_distractors, made as sbibm made it (numpy's legacy generator,
    seed 42: 20 Student-t components of 92 dimensions, df 2), and its stored permutation."""
    rng = np.random.RandomState(42)
    loc = np.array([15 * rng.normal(size=92) for _ in range(20)])
    scale_tril = 3 * np.array([np.tril(rng.normal(size=(92, 92))) + np.diag(np.exp(rng.normal(size=92))) for _ in range(20)])
    permutation = torch.load(io.BytesIO(archive.read("sbibm/tasks/slcp/files/permutation_idx.torch")), weights_only=True)
    header = [f"d_{index}" for index in range(1, 93)]
    write(folder / "distractor_loc.csv", [header] + [[repr(float(v)) for v in row] for row in loc])
    write(folder / "distractor_scale_tril.csv", [header] + [[repr(float(v)) for v in row] for row in scale_tril.reshape(20 * 92, 92)])
    write(folder / "permutation.csv", [["index"]] + [[str(int(i))] for i in permutation.tolist()])


def main(wheel, out):
    archive = zipfile.ZipFile(wheel)
    for task, (source, observation_file) in TASKS.items():
        folder = pathlib.Path(out) / task
        folder.mkdir(parents=True, exist_ok=True)
        tables = {"observations": [], "reference": [], "true_parameters": []}
        for number in OBSERVATIONS:
            base = f"sbibm/tasks/{source}/files/num_observation_{number}/"
            observation = rows(archive.read(base + observation_file).decode())
            reference = rows(bz2.decompress(archive.read(base + "reference_posterior_samples.csv.bz2")).decode())
            truth = rows(archive.read(base + "true_parameters.csv").decode())
            obs = str(number - 1)
            if not tables["observations"]:
                tables["observations"].append(observation[0])
                tables["reference"].append(["obs"] + parameter_names(reference[0]))
                tables["true_parameters"].append(["obs"] + parameter_names(truth[0]))
            tables["observations"].extend(observation[1:])
            tables["reference"].extend([obs] + row for row in reference[1:])
            tables["true_parameters"].extend([obs] + row for row in truth[1:])
        for name, table in tables.items():
            write(folder / f"{name}.csv", table)
        if task == "slcp_distractors":
            distractors(archive, folder)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
