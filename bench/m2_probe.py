#!/usr/bin/env python3
"""Probe (PyTorch): M2 with today's m2 recipe, optionally with a convolutional q(y|x), against the classifier alone.

  python3 bench/m2_probe.py [--conv] [--supervised] [--labels-file RUN/labelled.txt] [--seed S] [--epochs E]

Reuses bench/torch_ssl.py's M2 (MLP encoder q(z|x,y) and decoder p(x|y,z)) with ssl-dist's m2 recipe: Adam 1e-3,
gradient elements clipped to ±1, α 10, real-valued pixels, the class-balance term (λ 10) and the moving average of
the parameters (decay min(0.999, (1+t)/(10+t)), batch-norm statistics copied) for evaluation. --conv replaces q(y|x)
by a small conv net (3×3 conv 32, 2×2 pool, 3×3 conv 64, pool, 256; batch norm); --supervised trains q(y|x) alone on
the same labels and settings; --labels-file takes the labelled examples of an ssl-dist run (its labelled.txt), else
10 per class drawn with --seed; --init glorot gives the Linear layers ssl-dist's default initialisation. Fashion-MNIST
from /usr/share/datasets/fashion-mnist (--data DIR for other MNIST-family IDX files); validation = the last 10,000 of
train. Prints JSON lines per epoch, then the test accuracy at the best validation. Needs torch (bench-pytorch's venv).
"""
import argparse, copy, json, math, os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
import torch_ssl as T


def conv_classifier(k=10):
    return nn.Sequential(nn.Unflatten(1, (1, 28, 28)),
                         nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 49, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Linear(256, k))


def balance_term(logits_u, lam):
    lp = F.log_softmax(logits_u, -1); p = lp.exp()
    qbar = p.mean(0)
    kl = (qbar * (qbar.clamp_min(1e-30).log() + math.log(p.shape[1]))).sum()
    ent = -(p * lp).sum(-1).mean()
    return lam * (kl + ent)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=10); ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--conv", action="store_true"); ap.add_argument("--supervised", action="store_true")
    ap.add_argument("--balance", type=float, default=10); ap.add_argument("--alpha", type=float, default=10)
    ap.add_argument("--lr", type=float, default=1e-3); ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--clip-value", type=float, default=1)
    ap.add_argument("--init", default="torch", choices=["torch", "glorot"]); ap.add_argument("--labels-file")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads); torch.manual_seed(a.seed)
    rng = np.random.RandomState(a.seed)
    x, y, xv, yv, xt, yt = T.load(a.data)
    lab = np.concatenate([rng.choice(np.where(y == c)[0], 10, replace=False) for c in range(10)])
    if a.labels_file:
        lab = np.loadtxt(a.labels_file, dtype=np.int64)
    model = T.Model("m2", hidden=[500], z=50, bn=False)
    if a.conv:
        model.qy = conv_classifier()
    if a.init == "glorot":  # ssl-dist's: Glorot-uniform weights, zero biases
        for mod in model.modules():
            if isinstance(mod, nn.Linear):
                nn.init.xavier_uniform_(mod.weight); nn.init.zeros_(mod.bias)
    params = model.qy.parameters() if a.supervised else model.parameters()
    opt = torch.optim.Adam(params, lr=a.lr)
    ema = copy.deepcopy(model)  # ssl-dist's moving average: decay min(d, (1+t)/(10+t)); buffers (BN statistics) copied

    def ema_update(t):
        d = min(a.ema, (1 + t) / (10 + t))
        with torch.no_grad():
            for pe, p in zip(ema.parameters(), model.parameters()): pe.mul_(d).add_(p, alpha=1 - d)
            for be, b in zip(ema.buffers(), model.buffers()): be.copy_(b)
    n, nl, steps = len(x), len(lab), len(x) // 100
    t0, best = time.time(), (-1, 0, 0)
    for epoch in range(1, a.epochs + 1):
        perm = rng.permutation(n); sums = {}
        for s in range(steps):
            li = lab[(np.arange(100) + s * 100) % nl]
            xl, yl = torch.from_numpy(x[li]), torch.from_numpy(y[li])
            xu = torch.from_numpy(x[perm[s * 100:(s + 1) * 100]])
            if a.supervised:
                loss = F.cross_entropy(model.qy(xl), yl); parts = dict(CE=loss.item())
            else:
                loss, parts = model.loss(xl, yl, xu, a.alpha)
                if a.balance:
                    b = balance_term(model.qy(xu), a.balance); loss = loss + b; parts["bal"] = b.item()
            opt.zero_grad(set_to_none=True); loss.backward()
            torch.nn.utils.clip_grad_value_(model.parameters(), a.clip_value)
            opt.step(); ema_update((epoch - 1) * steps + s + 1)
            for k, v in parts.items(): sums[k] = sums.get(k, 0) + v / steps
        m = ema
        val, test = T.accuracy(m, xv, yv, 1), T.accuracy(m, xt, yt, 1)
        if val > best[1]: best = (epoch, val, test)
        print(json.dumps(dict(epoch=epoch, minutes=round((time.time() - t0) / 60, 2), val=round(100 * val, 2),
                              test=round(100 * test, 2), **{k: round(v, 3) for k, v in sums.items()})), flush=True)
    print(json.dumps(dict(best_epoch=best[0], best_val=round(100 * best[1], 2), test_at_best=round(100 * best[2], 2))))


if __name__ == "__main__":
    main()
