"""FrEIA/PyTorch reference of innfer's two kinematics models, for whole-process training throughput.

Trains one model for --steps steps and exits; scripts/bench-vs-freia.sh times the whole process (the
interpreter's start, imports, data, training) against `innfer train` at the same configuration.

Architectures as in `innfer bench`: six GLOW coupling blocks with random permutations, subnets with
two hidden layers of width 128 (ReLU), clamp 2. The INN pads x to width 6 and maps it to
[z (2), pad (2), y (2)] with the paper's losses (L_y with the padding pushed to zero, L_z and L_x by
MMD, the reconstruction of x); the cINN maps x (width 4) to z given y by maximum likelihood. Batch
500, Adam with gradients clipped to norm 10 (as innfer).

Written to be as fast as plain PyTorch allows: pairwise distances from one matrix product, the kernel
matrix accumulated width by width (measured faster than one broadcast over all widths), no
log-determinants where no loss needs them, Adam's multi-tensor (foreach) update. Run it with the
allocator settings innfer uses (bench-vs-freia.sh sets GLIBC_TUNABLES): without them glibc returns
the n×n kernel matrices' memory to the system after every step and the INN trains at half the speed.
Subnormal numbers are flushed to zero, as innfer does (torch.set_flush_denormal).

--same-algorithm also takes innfer's algorithmic shortcuts: the MMD block by block with its gradient in
closed form (a torch.autograd.Function) instead of autograd through the kernel matrices, and the two
inverse passes (L_x, reconstruction) as one pass over both batches.
"""
import argparse
import json
import time

import torch
import FrEIA.framework as Ff
import FrEIA.modules as Fm

SIGMA = torch.tensor([0.25, 0.5, 0.5, 0.5])
LENGTHS = torch.tensor([0.5, 0.5, 1.0])
WIDTHS = (0.2, 0.5, 0.9, 1.3)
BATCH = 500


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


def distances(a, b):
    """Stacked rows, their pairwise squared distances and the MMD weights (1/n, ..., -1/m, ...)."""
    rows = torch.cat([a, b])
    norms = (rows * rows).sum(1, keepdim=True)
    squared = (norms + norms.T - 2 * rows @ rows.T).clamp_min(0)
    w = torch.cat([torch.full((len(a),), 1 / len(a)), torch.full((len(b),), -1 / len(b))])
    return rows, squared, w


def mmd(a, b):
    _, squared, w = distances(a, b)
    kernel = 0
    for h in WIDTHS:
        kernel = kernel + (squared + h * h).reciprocal() * (h * h)
    return kernel @ w @ w


def kernel(p, q, with_slope):
    """The kernel matrix of rows p against rows q, summed over the widths, and its slope."""
    squared = ((p * p).sum(1, keepdim=True) + (q * q).sum(1)[None, :] - 2 * p @ q.T).clamp_min(0)
    total = torch.zeros_like(squared)
    slope = torch.zeros_like(squared) if with_slope else None
    for h in WIDTHS:
        inverse = (squared + h * h).reciprocal_()
        total.add_(inverse, alpha=h * h)
        if with_slope:
            slope.add_(inverse.square_(), alpha=h * h)
    return total, slope


def pull(slope, p, q):
    products = slope @ torch.cat([q, torch.ones(len(q), 1)], 1)
    return products[:, :-1] - products[:, -1:] * p


class ClosedFormMmd(torch.autograd.Function):
    """MMD² of rows a against constant rows b, block by block, with the gradient in a in closed
    form (as innfer computes it)."""

    @staticmethod
    def forward(ctx, a, b):
        n, m = len(a), len(b)
        within_a, slope_a = kernel(a, a, True)
        within_b, _ = kernel(b, b, False)
        across, slope_ab = kernel(a, b, True)
        ctx.save_for_backward(4 / n**2 * pull(slope_a, a, a) - 4 / (n * m) * pull(slope_ab, a, b))
        return within_a.mean() + within_b.mean() - 2 * across.mean()

    @staticmethod
    def backward(ctx, grad):
        (gradient,) = ctx.saved_tensors
        return grad * gradient, None


def closed_form_mmd(a, b):
    return ClosedFormMmd.apply(a, b.detach())


def inn_step(inn, opt, x, y, same_algorithm):
    opt.zero_grad()
    u = torch.cat([x, 0.01 * torch.randn(len(x), 2)], 1)
    noisy_y = y + 0.01 * torch.randn_like(y)
    v, _ = inn(u, jac=False)
    z, pad, yp = v[:, :2], v[:, 2:4], v[:, 4:]
    discrepancy = closed_form_mmd if same_algorithm else mmd
    l_y = 30 * (((yp - noisy_y) ** 2).mean() + (pad ** 2).mean())
    l_z = 300 * discrepancy(torch.cat([z, yp.detach()], 1), torch.cat([torch.randn_like(z), noisy_y], 1))
    (l_y + l_z).backward()
    fresh = torch.cat([torch.randn_like(z), 0.01 * torch.randn(len(x), 2), noisy_y], 1)
    own = torch.cat([z.detach(), 0.01 * torch.randn(len(x), 2), noisy_y], 1)
    if same_algorithm:
        u_fresh, u_own = inn(torch.cat([fresh, own]), rev=True, jac=False)[0].split(len(x))
    else:
        u_fresh, _ = inn(fresh, rev=True, jac=False)
        u_own, _ = inn(own, rev=True, jac=False)
    l_x = 400 * 0.5 * discrepancy(u_fresh[:, :4], x)
    l_rec = 3 * ((u_own - u) ** 2).mean()
    (l_x + l_rec).backward()
    torch.nn.utils.clip_grad_norm_(inn.parameters(), 10.0)
    opt.step()


def cinn_step(inn, opt, x, y, _same_algorithm):
    opt.zero_grad()
    z, log_det = inn(x, c=[y + 0.01 * torch.randn_like(y)])
    loss = (0.5 * (z * z).sum(1) - log_det).mean()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(inn.parameters(), 10.0)
    opt.step()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["inn", "cinn"], required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--same-algorithm", action="store_true", help="innfer's closed-form MMD gradient and one inverse pass")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(0)
    inn, step = (network(6, 0), inn_step) if args.model == "inn" else (network(4, 2), cinn_step)
    opt = torch.optim.Adam(inn.parameters(), lr=1e-4, foreach=True)
    x, y = joint(BATCH * args.steps)
    start = time.perf_counter()
    for xb, yb in zip(x.split(BATCH), y.split(BATCH)):
        step(inn, opt, xb, yb, args.same_algorithm)
    seconds = time.perf_counter() - start
    print(json.dumps({"model": args.model, "steps": args.steps, "training_steps_per_s": args.steps / seconds}))


if __name__ == "__main__":
    main()
