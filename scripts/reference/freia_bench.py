"""FrEIA/PyTorch reference of innfer's two kinematics models, for side-by-side training throughput.

Identical architectures to `innfer bench`: six GLOW coupling blocks with random permutations, subnets
with two hidden layers of width 128 (ReLU), clamp 2; the INN pads x to width 6 and maps it to
[z (2), pad (2), y (2)] with the bidirectional MMD losses; the cINN maps x (width 4) to z given y with
maximum likelihood. Batch 500, Adam with gradients clipped to norm 10 (as innfer). Prints JSON: steps/s (median over repeats) for each model.
"""
import argparse
import json
import math
import time

import torch
import FrEIA.framework as Ff
import FrEIA.modules as Fm

SIGMA = torch.tensor([0.25, 0.5, 0.5, 0.5])
LENGTHS = torch.tensor([0.5, 0.5, 1.0])
WIDTHS = (0.2, 0.5, 0.9, 1.3)


def joint(n):
    x = torch.randn(n, 4) * SIGMA
    angles = torch.cumsum(x[:, 1:], dim=1)
    y = torch.stack([(LENGTHS * angles.cos()).sum(1), x[:, 0] + (LENGTHS * angles.sin()).sum(1)], dim=1)
    return x, y


def subnet(c_in, c_out):
    net = torch.nn.Sequential(
        torch.nn.Linear(c_in, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, c_out),
    )
    torch.nn.init.zeros_(net[-1].weight)
    torch.nn.init.zeros_(net[-1].bias)
    return net


def network(width, condition):
    inn = Ff.SequenceINN(width)
    for _ in range(6):
        if condition:
            inn.append(Fm.GLOWCouplingBlock, cond=0, cond_shape=(condition,), subnet_constructor=subnet, clamp=2.0)
        else:
            inn.append(Fm.GLOWCouplingBlock, subnet_constructor=subnet, clamp=2.0)
        inn.append(Fm.PermuteRandom)
    return inn


def mmd(a, b):
    rows = torch.cat([a, b])
    norms = (rows * rows).sum(1, keepdim=True)
    squared = (norms + norms.T - 2 * rows @ rows.T).clamp_min(0)
    w = torch.cat([torch.full((len(a),), 1 / len(a)), torch.full((len(b),), -1 / len(b))])
    return sum(((h * h) / (h * h + squared)) @ w @ w for h in WIDTHS)


def inn_step(inn, opt, x, y):
    opt.zero_grad()
    u = torch.cat([x, 0.01 * torch.randn(len(x), 2)], 1)
    noisy_y = y + 0.01 * torch.randn_like(y)
    v, _ = inn(u)
    z, pad, yp = v[:, :2], v[:, 2:4], v[:, 4:]
    l_y = 30 * (((yp - noisy_y) ** 2).mean() + (pad ** 2).mean())
    l_z = 300 * mmd(torch.cat([z, yp.detach()], 1), torch.cat([torch.randn_like(z), noisy_y], 1))
    (l_y + l_z).backward()
    fresh = torch.cat([torch.randn_like(z), 0.01 * torch.randn(len(x), 2), noisy_y], 1)
    u_fresh, _ = inn(fresh, rev=True)
    l_x = 400 * 0.5 * mmd(u_fresh[:, :4], x)
    own = torch.cat([z.detach(), 0.01 * torch.randn(len(x), 2), noisy_y], 1)
    u_own, _ = inn(own, rev=True)
    l_rec = 3 * ((u_own - u) ** 2).mean()
    (l_x + l_rec).backward()
    torch.nn.utils.clip_grad_norm_(inn.parameters(), 10.0)
    opt.step()


def cinn_step(inn, opt, x, y):
    opt.zero_grad()
    z, log_det = inn(x, c=[y + 0.01 * torch.randn_like(y)])
    loss = (0.5 * (z * z).sum(1) - log_det).mean()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(inn.parameters(), 10.0)
    opt.step()


def rate(step, inn, steps, repeats):
    opt = torch.optim.Adam(inn.parameters(), lr=1e-4)
    x, y = joint(500 * steps)
    batches = [(x[i * 500:(i + 1) * 500], y[i * 500:(i + 1) * 500]) for i in range(steps)]
    for xb, yb in batches[:3]:
        step(inn, opt, xb, yb)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for xb, yb in batches:
            step(inn, opt, xb, yb)
        rates.append(steps / (time.perf_counter() - start))
    return sorted(rates)[len(rates) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    result = {
        "torch": torch.__version__,
        "threads": args.threads,
        "inn_steps_per_s": rate(inn_step, network(6, 0), 20, args.repeats),
        "cinn_steps_per_s": rate(cinn_step, network(4, 2), 50, args.repeats),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
