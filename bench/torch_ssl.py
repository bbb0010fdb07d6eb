#!/usr/bin/env python3
"""PyTorch peer of ssl-dist's M2 and ADGM/SDGM: the same networks, bounds and batch layout.

Two uses:
  throughput   python3 bench/torch_ssl.py bench --model m2 --threads 1 [--bf16] [--seconds 5]
               prints `RESULT model=m2 threads=1 precision=fp32 examples_per_second=...` (unlabelled examples/s,
               batch 100 labelled + 100 unlabelled, as `ssl-dist bench`)
  recipe probe python3 bench/torch_ssl.py train --model adgm --data DIR --epochs 30 [--bn] [--clip-value 1] ...
               MNIST-family IDX files in DIR, 10 labels per class, validation = last 10,000 of train;
               prints validation and test accuracy every epoch (JSON lines).
It is a peer for measurements only; ssl-dist does not need it (install torch into a virtualenv under .build).
"""
import argparse, gzip, json, math, os, struct, sys, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

LOG2PI = math.log(2 * math.pi)


def mlp(sizes, bn):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if bn:
            layers.append(nn.BatchNorm1d(sizes[i + 1]))
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Gauss(nn.Module):
    def __init__(self, inp, hidden, out, bn):
        super().__init__()
        self.body = mlp([inp] + hidden, bn)
        self.mu = nn.Linear(hidden[-1], out)
        self.lv = nn.Linear(hidden[-1], out)

    def forward(self, x):
        h = self.body(x)
        return self.mu(h), self.lv(h)


def log_normal(x, mu, lv):
    return -0.5 * (LOG2PI + lv + (x - mu) ** 2 * torch.exp(-lv)).sum(-1)


def kl_std(mu, lv):
    return 0.5 * (torch.exp(lv) + mu ** 2 - 1 - lv).sum(-1)


class Model(nn.Module):
    """m2: q(y|x), q(z|x,y), p(x|y,z). adgm: + q(a|x), q(y|a,x), q(z|a,x,y), p(a|x,y,z). sdgm: p(a|y,z), p(x|a,y,z)."""

    def __init__(self, kind, d=784, k=10, hidden=(500,), z=50, a=100, bn=False):
        super().__init__()
        self.kind, self.k, self.d = kind, k, d
        h = list(hidden)
        aux = kind in ("adgm", "sdgm")
        self.a = a if aux else 0
        self.qa = Gauss(d, h, a, bn) if aux else None
        self.qy = nn.Sequential(mlp([d + self.a] + h, bn), nn.Linear(h[-1], k))
        self.qz = Gauss(d + self.a + k, h, z, bn)
        if kind == "adgm":
            self.pa = Gauss(d + k + z, h, a, bn)
            self.px = nn.Sequential(mlp([k + z] + h[::-1], bn), nn.Linear(h[0], d))
        elif kind == "sdgm":
            self.pa = Gauss(k + z, h, a, bn)
            self.px = nn.Sequential(mlp([a + k + z] + h[::-1], bn), nn.Linear(h[0], d))
        else:
            self.pa = None
            self.px = nn.Sequential(mlp([k + z] + h[::-1], bn), nn.Linear(h[0], d))

    def classify(self, x, samples=1):
        if self.qa is None:
            return F.softmax(self.qy(x), -1)
        mu, lv = self.qa(x)
        p = 0
        for _ in range(samples):
            a = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
            p = p + F.softmax(self.qy(torch.cat([x, a], -1)), -1)
        return p / samples

    def costs(self, x, y1h, a, logqa):
        """−ELBO per row for (x, y, a): rec + KL_z − log p(y) − log p(a|·) + log q(a|x)."""
        parts = [x, y1h] if a is None else [x, a, y1h]
        mu, lv = self.qz(torch.cat(parts, -1))
        zz = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
        c = kl_std(mu, lv) + math.log(self.k)
        if self.kind == "sdgm":
            pmu, plv = self.pa(torch.cat([y1h, zz], -1))
            c = c - log_normal(a, pmu, plv) + logqa
            logits = self.px(torch.cat([a, y1h, zz], -1))
        elif self.kind == "adgm":
            pmu, plv = self.pa(torch.cat([x, y1h, zz], -1))
            c = c - log_normal(a, pmu, plv) + logqa
            logits = self.px(torch.cat([y1h, zz], -1))
        else:
            logits = self.px(torch.cat([y1h, zz], -1))
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
        return rec + c

    def virtual_adversarial(self, x, a, logits, eps, xi=10.0):
        """ssl-dist's VirtualAdversarial: mean KL(p ‖ q(y|x + r_adv)) over the batch, p = q(y|x) held, a as drawn, r_adv
        from one power iteration from a random direction of size ξ."""
        p = F.softmax(logits.float(), -1).detach()
        logp = torch.log(p.clamp_min(1e-30))

        def kl(xx):
            q = F.log_softmax(self.qy(xx if a is None else torch.cat([xx, a.detach()], -1)).float(), -1)
            return (p * (logp - q)).sum(-1)
        d = torch.randn_like(x)
        d = (xi * d / d.norm(dim=-1, keepdim=True)).requires_grad_(True)
        g, = torch.autograd.grad(kl(x + d).sum(), d)
        r = eps * g / (g.norm(dim=-1, keepdim=True) + 1e-12)
        return kl(x + r.detach()).mean()

    def loss(self, xl, yl, xu, alpha, vat=0.0, balance=0.0):
        k = self.k
        n_l, n_u = xl.shape[0], xu.shape[0]
        x = torch.cat([xl, xu])
        a = logqa = None
        if self.qa is not None:
            amu, alv = self.qa(x)
            a = amu + torch.exp(0.5 * alv) * torch.randn_like(amu)
            logqa = log_normal(a, amu, alv)
            logits = self.qy(torch.cat([x, a], -1))
        else:
            logits = self.qy(x)
        logp = F.log_softmax(logits, -1)
        # labelled rows
        L = self.costs(xl, F.one_hot(yl, k).float(), None if a is None else a[:n_l], None if a is None else logqa[:n_l])
        ce = F.nll_loss(logp[:n_l], yl)
        # unlabelled rows: every label
        xr = xu.repeat_interleave(k, 0)
        yr = torch.arange(k, device=x.device).repeat(n_u)
        ar = None if a is None else a[n_l:].repeat_interleave(k, 0)
        qr = None if a is None else logqa[n_l:].repeat_interleave(k, 0)
        Lu = self.costs(xr, F.one_hot(yr, k).float(), ar, qr).view(n_u, k)
        pu, lpu = torch.exp(logp[n_l:]), logp[n_l:]
        U = (pu * (Lu + lpu)).sum(-1)
        spread = (Lu.max(-1).values - Lu.min(-1).values).mean()
        total = L.mean() + U.mean() + alpha * ce
        if balance > 0:  # ssl-dist's class-balance term: λ·(KL(q̄(y) ‖ uniform) + mean H(q(y|x))) over the unlabelled rows
            qbar = pu.mean(0)
            total = total + balance * ((qbar * torch.log(qbar.clamp_min(1e-30) * k)).sum() - (pu * lpu).sum(-1).mean())
        if vat > 0:
            total = total + self.virtual_adversarial(x, a, logits, vat)
        return total, dict(L=L.mean().item(), U=U.mean().item(), CE=ce.item(),
                                                        spread=spread.item())


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(dirname):
    def p(n):
        for c in (n + ".gz", n):
            if os.path.exists(os.path.join(dirname, c)):
                return os.path.join(dirname, c)
        raise SystemExit(f"{dirname}/{n}: not found")
    x = read_idx(p("train-images-idx3-ubyte")).reshape(-1, 784).astype(np.float32) / 255
    y = read_idx(p("train-labels-idx1-ubyte")).astype(np.int64)
    xt = read_idx(p("t10k-images-idx3-ubyte")).reshape(-1, 784).astype(np.float32) / 255
    yt = read_idx(p("t10k-labels-idx1-ubyte")).astype(np.int64)
    return x[:50000], y[:50000], x[50000:], y[50000:], xt, yt


def accuracy(model, x, y, samples, chunk=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), chunk):
            p = model.classify(torch.from_numpy(x[i:i + chunk]), samples)
            correct += (p.argmax(-1).numpy() == y[i:i + chunk]).sum()
    model.train()
    return correct / len(x)


def clip(model, norm, value):
    if norm:
        torch.nn.utils.clip_grad_norm_(model.parameters(), norm)
    if value:
        torch.nn.utils.clip_grad_value_(model.parameters(), value)


def train(args):
    torch.manual_seed(args.seed)
    rng = np.random.RandomState(args.seed)
    x, y, xv, yv, xt, yt = load(args.data)
    lab = np.concatenate([rng.choice(np.where(y == c)[0], args.labels_per_class, replace=False) for c in range(10)])
    hidden = [int(h) for h in args.hidden.split(",")]
    model = Model(args.model, hidden=hidden, z=args.z, a=args.a, bn=args.bn)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    n, nl = len(x), len(lab)
    alpha = args.alpha if args.alpha is not None else 0.1 * n / nl
    steps = n // 100
    ema = None
    if args.ema:
        ema = torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(args.ema),
                                                  use_buffers=True)
    t0 = time.time()
    step = 0
    for epoch in range(1, args.epochs + 1):
        perm = rng.permutation(n)
        sums = {}
        for s in range(steps):
            if args.schedule == "cosine":
                lr = args.lr * 0.5 * (1 + math.cos(math.pi * step / (args.epochs * steps)))
                for g in opt.param_groups: g["lr"] = lr
            li = lab[rng.randint(0, nl, 100)] if args.labelled_sample == "random" else lab[(np.arange(100) + s * 100) % nl]
            xl = torch.from_numpy(x[li]); yl = torch.from_numpy(y[li])
            xu = torch.from_numpy(x[perm[s * 100:(s + 1) * 100]])
            if args.binarize:
                xl = torch.bernoulli(xl); xu = torch.bernoulli(xu)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                loss, parts = model.loss(xl, yl, xu, alpha)
            if args.weight_prior:
                loss = loss + sum((p ** 2).sum() for nme, p in model.named_parameters() if "weight" in nme) / (2 * n)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            clip(model, args.clip_norm, args.clip_value)
            opt.step()
            if ema is not None:
                ema.update_parameters(model)
            step += 1
            for kk, v in parts.items(): sums[kk] = sums.get(kk, 0) + v / steps
        if args.schedule == "step" and epoch % args.decay_every == 0:
            for g in opt.param_groups: g["lr"] = max(g["lr"] * 0.75, 3e-5)
        m = ema.module if ema is not None else model
        rec = dict(epoch=epoch, minutes=round((time.time() - t0) / 60, 2), val=accuracy(m, xv, yv, args.eval_samples),
                   test=accuracy(m, xt, yt, args.eval_samples), **{kk: round(v, 4) for kk, v in sums.items()})
        print(json.dumps(rec), flush=True)


def bench(args):
    """One training step of each model as ssl-dist's recipe trains it (TrainConfig.recipe): m2 with gradient
    elements clipped to ±1, α 10 and a moving average of the parameters; adgm with batch normalisation, the norm
    clipped to 5 then the elements to ±1, and the moving average; both with virtual adversarial training (ε 2, ξ 10,
    λ 1) and the class-balance term (λ 10); Adam 1e-3."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    adgm = args.model != "m2"
    hidden = [500, 500] if adgm else [500]
    z = 100 if adgm else 50
    model = Model(args.model, hidden=hidden, z=z, a=100, bn=adgm)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    ema = torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.999),
                                              use_buffers=True)
    xl = torch.bernoulli(torch.full((100, 784), 0.3)); yl = torch.arange(100) % 10
    xu = torch.bernoulli(torch.full((100, 784), 0.3))

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            loss, _ = model.loss(xl, yl, xu, 10.0 if not adgm else 50.0, vat=args.vat, balance=args.class_balance)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        clip(model, 5.0 if adgm else None, 1.0)
        opt.step()
        ema.update_parameters(model)
    for _ in range(3): step()
    n, t0 = 0, time.time()
    while time.time() - t0 < args.seconds or n < 5:
        step(); n += 1
    eps = 100 * n / (time.time() - t0)
    print(f"RESULT model={args.model} threads={args.threads} precision={'bf16' if args.bf16 else 'fp32'} "
          f"examples_per_second={eps:.1f}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bench")
    b.add_argument("--model", default="m2"); b.add_argument("--threads", type=int, default=1)
    b.add_argument("--bf16", action="store_true"); b.add_argument("--seconds", type=float, default=5)
    b.add_argument("--vat", type=float, default=2.0, help="ε of virtual adversarial training (0: off; the recipes: 2)")
    b.add_argument("--class-balance", type=float, default=10.0, help="λ of the class-balance term (0: off; the recipes: 10)")
    t = sub.add_parser("train")
    t.add_argument("--model", default="m2"); t.add_argument("--data", required=True)
    t.add_argument("--epochs", type=int, default=30); t.add_argument("--seed", type=int, default=1)
    t.add_argument("--labels-per-class", type=int, default=10)
    t.add_argument("--hidden", default="500"); t.add_argument("--z", type=int, default=50); t.add_argument("--a", type=int, default=100)
    t.add_argument("--bn", action="store_true"); t.add_argument("--bf16", action="store_true")
    t.add_argument("--lr", type=float, default=3e-4); t.add_argument("--alpha", type=float)
    t.add_argument("--clip-norm", type=float); t.add_argument("--clip-value", type=float)
    t.add_argument("--schedule", default="none"); t.add_argument("--decay-every", type=int, default=200)
    t.add_argument("--binarize", action="store_true"); t.add_argument("--weight-prior", action="store_true")
    t.add_argument("--ema", type=float); t.add_argument("--eval-samples", type=int, default=10)
    t.add_argument("--labelled-sample", default="cycle"); t.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    if args.cmd == "bench":
        bench(args)
    else:
        torch.set_num_threads(args.threads)
        train(args)


if __name__ == "__main__":
    main()
