#!/usr/bin/env python3
"""Images for `ssl-dist template`'s worked example: `make-faces.py OUT_DIR [--images 2000] [--noise 0.6]`.

Writes OUT_DIR/X.npy (float32, H × W × K, the exercise's layout): K images of 40 × 80 pixels, each a smooth
background with a 20-pixel-wide "face" pasted over columns d … d+19 at a random shift d, plus Gaussian noise; and
OUT_DIR/truth.npz with the face, the background and the shifts, to score what EM recovers. Needs NumPy.
"""
import argparse, os
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--images", type=int, default=2000)
ap.add_argument("--noise", type=float, default=0.6)
ap.add_argument("--seed", type=int, default=1)
a = ap.parse_args()
rng = np.random.default_rng(a.seed)
h, w, fw = 40, 80, 20
i, m = np.mgrid[0:h, 0:fw].astype(np.float64)
# A face: two eyes, a mouth, on an oval.
face = 0.5 + 1.5 * np.exp(-(((i - 20) / 16) ** 2 + ((m - 9.5) / 9) ** 2))
for cy, cx in [(13, 5), (13, 14)]:
    face -= 1.2 * np.exp(-((i - cy) ** 2 + (m - cx) ** 2) / 4)
face -= 1.0 * np.exp(-(((i - 28) / 2) ** 2 + ((m - 9.5) / 5) ** 2))
jj, ii = np.meshgrid(np.arange(w), np.arange(h))
background = 0.6 * np.cos(jj / 9.0) + 0.4 * np.sin(ii / 7.0)
shifts = rng.integers(0, w - fw + 1, size=a.images)
x = np.empty((h, w, a.images), np.float32)
for k, d in enumerate(shifts):
    img = background.copy()
    img[:, d:d + fw] = face
    x[:, :, k] = img + a.noise * rng.standard_normal((h, w))
os.makedirs(a.out, exist_ok=True)
np.save(os.path.join(a.out, "X.npy"), x)
np.savez(os.path.join(a.out, "truth.npz"), face=face, background=background, shifts=shifts)
print(f"{a.out}/X.npy: {h} x {w} x {a.images} float32, face width {fw}, noise {a.noise}")
