#!/usr/bin/env python3
"""A synthetic hyperspectral cube for ssl-dist's worked example: `make-cube.py OUT_DIR [--size 300] [--bands 100] [--noise 0.5]`.

Writes OUT_DIR/X.npy (float32, size × size × bands), OUT_DIR/GT.npy (int64 size × size ground truth: 0 for a pixel
without a label, 1…C for the classes, the Indian Pines convention) and OUT_DIR/truth.npy (every pixel's class 1…C,
to score a class map). The scene is 90% one class (a field), with four minority classes in spatially coherent
blobs; a pixel's spectrum is its class's curve (broad absorption bumps at class-specific bands) times a smooth
brightness field, plus per-band noise. Only 0.5% of the pixels keep their label, in small patches as a user
would label them. Needs NumPy (python3-numpy, which `make deps` installs with python3-sklearn).
"""
import argparse, os
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--size", type=int, default=300)
ap.add_argument("--bands", type=int, default=100)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--noise", type=float, default=0.5, help="per-band noise (the class curves differ by up to 0.5)")
a = ap.parse_args()
rng = np.random.default_rng(a.seed)
n, b = a.size, a.bands
yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) / n

# Classes: 1 is the majority; 2..5 are blobs (thresholded sums of random Gaussian bumps), ~10% of the scene.
truth = np.ones((n, n), np.int64)
for k in range(2, 6):
    field = np.zeros((n, n), np.float32)
    for _ in range(3):
        cy, cx, s = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9), rng.uniform(0.03, 0.07)
        field += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
    truth[field > 0.6] = k

# Spectra: class curves over the bands, a smooth brightness field, noise.
lam = np.linspace(0, 1, b, dtype=np.float32)
curves = np.stack([1 + 0.5 * np.exp(-(lam - c) ** 2 / (2 * 0.06 ** 2)) - 0.3 * np.exp(-(lam - (1 - c)) ** 2 / (2 * 0.1 ** 2))
                   for c in np.linspace(0.2, 0.8, 5)])
brightness = 0.8 + 0.4 * (0.5 + 0.5 * np.sin(6 * xx + 2) * np.cos(5 * yy))
x = curves[truth - 1] * brightness[..., None] + rng.normal(0, a.noise, (n, n, b)).astype(np.float32)

# Ground truth: small labelled patches (3×3), two inside each minority class and the rest at random places,
# about 0.5% of the pixels in all.
gt = np.zeros((n, n), np.int64)
centres = [rng.integers(1, n - 1, 2) for _ in range(int(0.005 * n * n / 9))]
for k in range(2, 6):
    ys, xs = np.nonzero(truth[1:-1, 1:-1] == k)
    for i in rng.choice(len(ys), 2, replace=False):
        centres.append((ys[i] + 1, xs[i] + 1))
for py, px in centres:
    gt[py - 1:py + 2, px - 1:px + 2] = truth[py - 1:py + 2, px - 1:px + 2]

os.makedirs(a.out, exist_ok=True)
np.save(os.path.join(a.out, "X.npy"), x.astype(np.float32))
np.save(os.path.join(a.out, "GT.npy"), gt)
np.save(os.path.join(a.out, "truth.npy"), truth)
counts = np.bincount(truth.ravel(), minlength=6)[1:] / truth.size
print(f"{a.out}: {n}×{n} pixels × {b} bands; classes 1-5: " + ", ".join(f"{100 * c:.1f}%" for c in counts)
      + f"; {int((gt > 0).sum())} labelled pixels ({100 * (gt > 0).mean():.2f}%)")
