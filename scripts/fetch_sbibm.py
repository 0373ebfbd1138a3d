"""Extracts the observations and reference posterior samples of four sbibm tasks from the sbibm
wheel (downloaded by scripts/setup.sh from the package registry) into CSV files innfer reads:

    OUT/<task>/observations.csv      data_1..data_K, one row per observation (sbibm's 1..10 → rows 0..9)
    OUT/<task>/reference.csv         obs, parameter_1..parameter_D (10 000 samples per observation)
    OUT/<task>/true_parameters.csv   obs, parameter_1..parameter_D

Usage: python fetch_sbibm.py WHEEL OUT
"""
import bz2
import csv
import io
import pathlib
import sys
import zipfile

TASKS = ["two_moons", "gaussian_mixture", "slcp", "gaussian_linear"]
OBSERVATIONS = range(1, 11)


def rows(text):
    return list(csv.reader(io.StringIO(text)))


def main(wheel, out):
    archive = zipfile.ZipFile(wheel)
    for task in TASKS:
        folder = pathlib.Path(out) / task
        folder.mkdir(parents=True, exist_ok=True)
        tables = {"observations": [], "reference": [], "true_parameters": []}
        for number in OBSERVATIONS:
            base = f"sbibm/tasks/{task}/files/num_observation_{number}/"
            observation = rows(archive.read(base + "observation.csv").decode())
            reference = rows(bz2.decompress(archive.read(base + "reference_posterior_samples.csv.bz2")).decode())
            truth = rows(archive.read(base + "true_parameters.csv").decode())
            obs = str(number - 1)
            if not tables["observations"]:
                tables["observations"].append(observation[0])
                tables["reference"].append(["obs"] + reference[0])
                tables["true_parameters"].append(["obs"] + truth[0])
            tables["observations"].extend(observation[1:])
            tables["reference"].extend([obs] + row for row in reference[1:])
            tables["true_parameters"].extend([obs] + row for row in truth[1:])
        for name, table in tables.items():
            partial = folder / f".{name}.csv.partial"
            with open(partial, "w", newline="") as handle:
                csv.writer(handle, lineterminator="\n").writerows(table)
            partial.replace(folder / f"{name}.csv")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
