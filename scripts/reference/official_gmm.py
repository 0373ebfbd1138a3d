"""The official eight-mode mixture recipe of the INN paper, in FrEIA/PyTorch, scored as `innfer eval` scores.

A yardstick for innfer's INN on the mixture: does the authors' own configuration give clean modes at
its step count, and what do innfer's scores say about it? Written from the recipe of FrEIA's
`toy_8-modes` notebook (Ardizzone et al., ICLR 2019), as innfer's lab notebook records it:

- x (2-D, the mixture of PROBLEMS.md) padded to 16 with noise 0.05; the network maps it to
  [z (2), pad (6), y (8)]; y is the one-hot label with noise 0.1.
- Eight GLOW coupling blocks (clamp 2) with subnets of one hidden layer of 512 (ReLU), a fixed random
  permutation after each; every parameter initialised as 0.05·N(0, 1).
- Batch 1600, 8 steps per epoch, 50 epochs (400 steps); Adam lr 10^-3, betas (0.8, 0.9), eps 10^-6,
  weight decay 2·10^-5; gradients clamped elementwise to ±15.
- Forward: 3·MSE of [pad, y] against their noisy targets, 300·MMD([z, y detached], [N(0, I), y]).
  Inverse: 400·r·MMD(x from [N(0, I), pad, y], x), r = min(1, 2·0.002^(1 − epoch/50)), and
  3·MSE of the padded x rebuilt from the network's own z (plus noise 0.1). MMD: inverse multiquadric
  kernels of widths 0.05, 0.2, 0.9, the biased estimate (means over whole kernel matrices).

Scores (as `innfer eval` on the mixture): forward accuracy of the label's argmax on 10 000 fresh
points; for each colour, 4000 samples from [N(0, I), zero padding, the one-hot label]: precision (the
share within 3σ = 0.6 of a mode of that colour) and recall (the share of the colour's modes that get
at least 5% of the samples), and the mismatch: MMD² (widths 0.05, 0.2, 0.9) between 2000 of them and
2000 exact posterior draws (the colour's modes), averaged over the colours, beside its floor (two
sets of exact draws); innfer's mismatch takes rejection ABC's draws where these are exact. Prints one
JSON line.

Usage: python scripts/reference/official_gmm.py [--labels some|all] [--steps 400] [--seed 42] [--threads 2]
FrEIA 0.2 must be installed: `source scripts/env.sh && python -m pip install FrEIA==0.2`.
"""
import argparse
import json
import math
import time

import torch
import FrEIA.framework as Ff
import FrEIA.modules as Fm

CENTRES = torch.tensor([(-2.4142, 1.0), (-1.0, 2.4142), (1.0, 2.4142), (2.4142, 1.0),
                        (2.4142, -1.0), (1.0, -2.4142), (-1.0, -2.4142), (-2.4142, -1.0)])
MODE_STD = 0.2
COLOURS = {"all": [0, 1, 2, 3, 4, 5, 6, 7], "some": [0, 0, 0, 0, 1, 1, 2, 3]}
WIDTH, X_DIMS, Y_DIMS, Z_DIMS = 16, 2, 8, 2
PAD_YZ = WIDTH - Y_DIMS - Z_DIMS
BATCH, STEPS_PER_EPOCH = 1600, 8
Y_NOISE, PAD_NOISE = 0.1, 0.05
W_FIT, W_LATENT, W_INVERSE = 3.0, 300.0, 400.0
KERNEL_WIDTHS = (0.05, 0.2, 0.9)


def mixture(n, colours):
    """n points of the mixture and their one-hot colour labels (8 wide)."""
    modes = torch.randint(0, 8, (n,))
    x = CENTRES[modes] + MODE_STD * torch.randn(n, 2)
    y = torch.nn.functional.one_hot(colours[modes], Y_DIMS).float()
    return x, y


def mmd(a, b):
    """Biased MMD² with inverse multiquadric kernels, distances from one matrix product."""
    both = torch.cat([a, b])
    squares = (both * both).sum(1)
    distances = (squares[:, None] + squares[None, :] - 2.0 * both @ both.t()).clamp_min(0.0)
    kernel = sum(h * h / (h * h + distances) for h in KERNEL_WIDTHS)
    n = a.shape[0]
    return kernel[:n, :n].mean() + kernel[n:, n:].mean() - 2.0 * kernel[:n, n:].mean()


def subnet(c_in, c_out):
    return torch.nn.Sequential(torch.nn.Linear(c_in, 512), torch.nn.ReLU(), torch.nn.Linear(512, c_out))


def network():
    inn = Ff.SequenceINN(WIDTH)
    for k in range(8):
        inn.append(Fm.GLOWCouplingBlock, subnet_constructor=subnet, clamp=2.0)
        inn.append(Fm.PermuteRandom, seed=k)
    for parameter in trainable(inn):
        parameter.data = 0.05 * torch.randn_like(parameter)
    return inn


def trainable(inn):
    """The subnets' weights (the permutations are stored as parameters that need no gradient)."""
    return [parameter for parameter in inn.parameters() if parameter.requires_grad]


def train_step(inn, optimiser, x, y, ramp):
    """One step of the recipe: forward losses, then inverse losses, gradients summed, clamped."""
    n = x.shape[0]
    noisy_y = y + Y_NOISE * torch.randn_like(y)
    padded_x = torch.cat([x, PAD_NOISE * torch.randn(n, WIDTH - X_DIMS)], 1)
    target = torch.cat([torch.randn(n, Z_DIMS), PAD_NOISE * torch.randn(n, PAD_YZ), noisy_y], 1)
    optimiser.zero_grad()
    output, _ = inn(padded_x, jac=False)
    forward = W_FIT * ((output[:, Z_DIMS:] - target[:, Z_DIMS:]) ** 2).mean()
    forward = forward + W_LATENT * mmd(torch.cat([output[:, :Z_DIMS], output[:, -Y_DIMS:].detach()], 1),
                                       torch.cat([target[:, :Z_DIMS], noisy_y], 1))
    forward.backward()
    noisy_y = y + Y_NOISE * torch.randn_like(y)
    pad = PAD_NOISE * torch.randn(n, PAD_YZ)
    own_z = output.detach()[:, :Z_DIMS] + Y_NOISE * torch.randn(n, Z_DIMS)
    rebuilt, _ = inn(torch.cat([own_z, pad, noisy_y], 1), rev=True, jac=False)
    drawn, _ = inn(torch.cat([torch.randn(n, Z_DIMS), pad, noisy_y], 1), rev=True, jac=False)
    inverse = W_INVERSE * ramp * mmd(drawn[:, :X_DIMS], x) + W_FIT * ((rebuilt - padded_x) ** 2).mean()
    inverse.backward()
    for parameter in trainable(inn):
        parameter.grad.data.clamp_(-15.0, 15.0)
    optimiser.step()
    return forward.item() + inverse.item()


@torch.no_grad()
def scores(inn, colours):
    x, y = mixture(10_000, colours)
    output, _ = inn(torch.cat([x, torch.zeros(len(x), WIDTH - X_DIMS)], 1), jac=False)
    accuracy = (output[:, -Y_DIMS:].argmax(1) == y.argmax(1)).float().mean().item()
    report = {"forward_accuracy": accuracy, "mismatch": [], "floor": [], "precision": [], "recall": []}
    for colour in range(int(colours.max()) + 1):
        label = torch.nn.functional.one_hot(torch.full((4000,), colour), Y_DIMS).float()
        samples, _ = inn(torch.cat([torch.randn(4000, Z_DIMS), torch.zeros(4000, PAD_YZ), label], 1), rev=True, jac=False)
        distances = torch.cdist(samples[:, :X_DIMS], CENTRES)
        nearest = distances.argmin(1)
        hits = (distances.min(1).values <= 3 * MODE_STD) & (colours[nearest] == colour)
        share = torch.bincount(nearest[hits], minlength=8).float() / 4000
        of_colour = colours == colour
        exact = posterior(colours, colour, 4000)
        report["mismatch"].append(mmd(samples[:2000, :X_DIMS], exact[:2000]).item())
        report["floor"].append(mmd(exact[:2000], exact[2000:]).item())
        report["precision"].append(round(hits.float().mean().item(), 4))
        report["recall"].append(round(((share >= 0.05) & of_colour).sum().item() / of_colour.sum().item(), 4))
    for key in ("mismatch", "floor"):
        report[key] = round(sum(report[key]) / len(report[key]), 4)
    return report


def posterior(colours, colour, n):
    """n draws of x given the exact label: the colour's modes, equally likely."""
    modes = torch.nonzero(colours == colour).flatten()
    return CENTRES[modes[torch.randint(0, len(modes), (n,))]] + MODE_STD * torch.randn(n, 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", choices=sorted(COLOURS), default="some")
    parser.add_argument("--steps", type=int, default=50 * STEPS_PER_EPOCH)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    colours = torch.tensor(COLOURS[args.labels])
    inn = network()
    optimiser = torch.optim.Adam(trainable(inn), lr=1e-3, betas=(0.8, 0.9), eps=1e-6, weight_decay=2e-5)
    epochs = math.ceil(args.steps / STEPS_PER_EPOCH)
    start = time.time()
    loss = float("nan")
    for step in range(args.steps):
        epoch = step // STEPS_PER_EPOCH
        ramp = min(1.0, 2.0 * 0.002 ** (1.0 - epoch / epochs))
        x, y = mixture(BATCH, colours)
        loss = train_step(inn, optimiser, x, y, ramp)
    seconds = time.time() - start
    report = {"labels": args.labels, "steps": args.steps, "seed": args.seed, "seconds": round(seconds, 1),
              "last_loss": round(loss, 4), **scores(inn, colours)}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
