#!/usr/bin/env python3
"""A damped oscillator, the example of training innfer on your own simulator's data.

x = (amplitude, damping, frequency); y = the signal amplitude * exp(-damping * t) * cos(2 pi frequency t)
at five times t = 0, 0.4, 0.8, 1.2, 1.6 s, each with Gaussian noise of standard deviation 0.1.
Prior: amplitude ~ U(0.5, 2), damping ~ U(0.1, 1), frequency ~ U(0.5, 2) Hz.
At t = 0.4 k, cos(2 pi (2.5 - f) t) = cos(2 pi k - 2 pi f t) = cos(2 pi f t): frequencies f and
2.5 - f give exactly the same samples (aliasing), and both lie in the prior, so the posterior of the
frequency has two modes, mirror images about 1.25 Hz: the ill-posedness an INN is for.

    python3 oscillator.py generate N [SEED] > pairs.csv   # N pairs drawn from the prior
    python3 oscillator.py < x.csv > y.csv                  # the simulator protocol of innfer

The second form is what `innfer ... --simulator 'python3 data/oscillator.py'` runs: x rows as CSV
(with a header naming amplitude, damping, frequency) on stdin, y rows as CSV (s1..s5) on stdout.
Only the standard library is used.
"""
import csv
import math
import random
import sys

X_NAMES = ["amplitude", "damping", "frequency"]
TIMES = [0.0, 0.4, 0.8, 1.2, 1.6]
Y_NAMES = [f"s{k}" for k in range(1, len(TIMES) + 1)]
NOISE = 0.1
PRIOR = {"amplitude": (0.5, 2.0), "damping": (0.1, 1.0), "frequency": (0.5, 2.0)}


def signal(amplitude, damping, frequency, rng):
    return [
        amplitude * math.exp(-damping * t) * math.cos(2 * math.pi * frequency * t) + rng.gauss(0.0, NOISE)
        for t in TIMES
    ]


def generate(count, seed):
    rng = random.Random(seed)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(X_NAMES + Y_NAMES)
    for _ in range(count):
        x = [rng.uniform(*PRIOR[name]) for name in X_NAMES]
        out.writerow([f"{v:.5g}" for v in x + signal(*x, rng)])


def simulate():
    rng = random.Random()
    rows = csv.reader(sys.stdin)
    header = [name.strip() for name in next(rows)]
    try:
        columns = [header.index(name) for name in X_NAMES]
    except ValueError:
        sys.exit(f"oscillator.py: the input must have the columns {', '.join(X_NAMES)}; it has {', '.join(header)}")
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(Y_NAMES)
    for row in rows:
        x = [float(row[i]) for i in columns]
        out.writerow([f"{v:.6g}" for v in signal(*x, rng)])


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "generate":
        generate(int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    elif len(sys.argv) == 1:
        simulate()
    else:
        sys.exit(__doc__)
