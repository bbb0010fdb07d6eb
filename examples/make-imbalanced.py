#!/usr/bin/env python3
"""Class-imbalanced copies of MNIST-family IDX data as NPY, for `ssl-dist train --data npy:... --test-data npy:...`.

Class k keeps a fraction ratio^(-k/(K-1)) of its examples (class 0 all, the last class 1/ratio of them: a 10:1
profile by default), drawn with a fixed seed, in training and test alike, so the test split has the same mix as the
unlabelled data (what a user's held-out pixels or spectra look like). Writes OUT/train-x.npy (float32 in [0, 1],
N x D), OUT/train-y.npy (int64), OUT/test-x.npy, OUT/test-y.npy and prints the class counts.

Usage: make-imbalanced.py IDX_DIR OUT_DIR [--ratio 10] [--seed 0]
  IDX_DIR holds train-images-idx3-ubyte(.gz), train-labels-idx1-ubyte(.gz), t10k-images..., t10k-labels...
  (e.g. /usr/share/datasets/fashion-mnist or the directory of ../shared/data/get-mnist.sh).
"""
import argparse, gzip, os, sys
import numpy as np


def read_idx(path):
    for p in (path + ".gz", path):
        if os.path.exists(p):
            with (gzip.open(p, "rb") if p.endswith(".gz") else open(p, "rb")) as f:
                data = f.read()
            ndim = data[3]
            dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
            return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)
    sys.exit(f"make-imbalanced: {path}(.gz) not found")


def subset(x, y, ratio, rng):
    k = int(y.max()) + 1
    keep = []
    for c in range(k):
        idx = np.flatnonzero(y == c)
        n = int(round(len(idx) * ratio ** (-c / (k - 1))))
        keep.append(rng.choice(idx, size=n, replace=False))
    keep = np.sort(np.concatenate(keep))
    return x[keep].reshape(len(keep), -1).astype(np.float32) / 255.0, y[keep].astype(np.int64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("idx_dir"); ap.add_argument("out_dir")
    ap.add_argument("--ratio", type=float, default=10.0); ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        x = read_idx(f"{a.idx_dir}/{prefix}-images-idx3-ubyte")
        y = read_idx(f"{a.idx_dir}/{prefix}-labels-idx1-ubyte")
        xs, ys = subset(x, y, a.ratio, rng)
        np.save(f"{a.out_dir}/{split}-x.npy", xs); np.save(f"{a.out_dir}/{split}-y.npy", ys)
        print(split, len(ys), "examples, per class:", np.bincount(ys).tolist())


if __name__ == "__main__":
    main()
