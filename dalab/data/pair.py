"""A pair of domains: harmonised arrays and balanced source/target batches.

Harmonisation: both sides must be of one kind (images or 2-D points) and share the number of
classes; images are 28 x 28 already (every loader resizes), and a gray side is repeated to
three channels when the other side is RGB.

Target labels: the training side of a pair never hands them out. :meth:`DomainPair.batches`
yields ``Batch(x_s, y_s, x_t, y_t=None)``; the target labels live in
:class:`TargetEvaluation` (``pair.evaluation``), which evaluation code reads. The one declared
exception is a method with ``uses_target_labels = True`` (``target_only``, the upper bound):
``fit`` then asks for ``batches(..., with_target_labels=True)`` and records that in the run.
The second is a declared semi-supervised budget (the bridge's Table 3 protocol): a method whose
``target_labels_per_class()`` is ``n != 0`` gets exactly :meth:`TargetEvaluation.labelled_subset`
(``n`` target train images per class, seeded, disjoint from the held-out selection slice
:meth:`TargetEvaluation.selection_indices`; never the test split), once, before training.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from .domains import DEFAULT_SPLIT_SEED, Domain, load_domain
from .errors import DataError
from .images import to_rgb


@dataclass
class Batch:
    x_s: torch.Tensor
    y_s: torch.Tensor
    x_t: torch.Tensor
    y_t: torch.Tensor | None = None  # only for methods that declare uses_target_labels

    def to(self, device) -> "Batch":
        mv = lambda t: None if t is None else t.to(device, non_blocking=True)  # noqa: E731
        return Batch(mv(self.x_s), mv(self.y_s), mv(self.x_t), mv(self.y_t))


SELECTION_FRACTION = 0.2  # share of the target train split held out for model selection


class TargetEvaluation:
    """The only door to target labels: test split for scores, train labels for selection.

    A pair built from unlabelled target arrays has no target labels at all: ``has_labels`` is
    False, ``y_test`` is None and ``train_labeled()`` raises.

    The target train split is cut in two by a permutation seeded with the pair's split seed:
    the last ``SELECTION_FRACTION`` is the *selection slice* (held-out target-train accuracy,
    the oracle score model selection is compared with), the rest is where a declared label
    budget (:meth:`labelled_subset`) may draw from, so the two never overlap."""

    def __init__(self, x_test, y_test, x_train, y_train, split_seed: int = 0):
        self.x_test, self.y_test = x_test, y_test
        self._x_train, self._y_train = x_train, y_train
        self.split_seed = split_seed

    def _order(self) -> np.ndarray:
        return np.random.default_rng(self.split_seed).permutation(len(self._x_train))

    def selection_indices(self) -> np.ndarray:
        """Indices into the target train split of the held-out selection slice (the last
        ``SELECTION_FRACTION`` of the seeded permutation)."""
        order = self._order()
        return order[len(order) - int(len(order) * SELECTION_FRACTION):]

    def labelled_subset(self, per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """A declared semi-supervised budget: ``per_class`` labelled target *train* images of
        every class (``-1``: every image outside the selection slice), drawn with ``seed`` from
        the part of the target train split that is not the selection slice. A class with fewer
        images gives what it has. Returns ``(x, y)``, class by class."""
        if per_class == 0 or per_class < -1:
            raise ValueError(f"per_class={per_class}: use a count >= 1 or -1 (all)")
        x, y = self.train_labeled()
        order = self._order()
        pool = order[:len(order) - int(len(order) * SELECTION_FRACTION)]
        if per_class == -1:
            idx = np.sort(pool)
        else:
            pool = np.random.default_rng(seed).permutation(pool)
            idx = np.concatenate([pool[y[pool] == c][:per_class] for c in np.unique(y)])
        idx = idx[np.argsort(y[idx], kind="stable")]
        return x[idx], y[idx]

    @property
    def has_labels(self) -> bool:
        return self.y_test is not None

    def train_labeled(self) -> tuple[np.ndarray, np.ndarray]:
        """Target train images with labels: for the target-only upper bound and for held-out
        model selection, never for an adaptation method's training."""
        if self._y_train is None:
            raise DataError("this pair's target domain has no labels (built from unlabelled "
                            "arrays): nothing that needs target labels can run on it")
        return self._x_train, self._y_train


def _harmonise(a: np.ndarray, b_channels: int, kind: str) -> np.ndarray:
    if kind == "image" and a.shape[1] == 1 and b_channels == 3:
        return to_rgb(a)
    return a


class DomainPair:
    """``DomainPair("mnist", "digits")``: source labelled, target unlabelled for training."""

    def __init__(self, source: str | Domain, target: str | Domain,
                 split_seed: int = DEFAULT_SPLIT_SEED):
        s = load_domain(source, split_seed) if isinstance(source, str) else source
        t = load_domain(target, split_seed) if isinstance(target, str) else target
        if s.kind != t.kind:
            raise DataError(f"cannot pair {s.name!r} ({s.kind}) with {t.name!r} ({t.kind}): "
                            "both sides must be images or both 2-D points")
        if s.num_classes != t.num_classes:
            raise DataError(f"cannot pair {s.name!r} ({s.num_classes} classes) with "
                            f"{t.name!r} ({t.num_classes} classes): the label sets must match")
        c = max(s.channels, t.channels)
        self._setup(s.name, t.name, split_seed, s.kind, s.classes,
                    _harmonise(s.train.x, c, s.kind), s.train.y,
                    _harmonise(s.test.x, c, s.kind), s.test.y,
                    _harmonise(t.train.x, c, t.kind), t.train.y,
                    _harmonise(t.test.x, c, t.kind), t.test.y, origin="domains")

    def _setup(self, source_name, target_name, split_seed, kind, classes, x_s_train, y_s_train,
               x_s_test, y_s_test, x_t_train, y_t_train, x_t_test, y_t_test, *, origin: str,
               shuffle: bool = True) -> None:
        self.source_name, self.target_name = source_name, target_name
        self.split_seed = split_seed
        self.kind = kind
        self.classes = tuple(classes)
        self.num_classes = len(self.classes)
        self.origin = origin          # "domains" (named, reloadable) or "arrays"
        self.shuffle = shuffle        # False: batches walk the data in order (toy experiments)
        self.x_s_train, self.y_s_train = x_s_train, y_s_train
        self.x_s_test, self.y_s_test = x_s_test, y_s_test
        self.x_t_train = x_t_train
        self.evaluation = TargetEvaluation(x_t_test, y_t_test, x_t_train, y_t_train,
                                           split_seed=split_seed)
        self.input_shape = tuple(self.x_s_train.shape[1:])
        self._fingerprint = None

    def fingerprint(self) -> str:
        """sha256 over every array of the pair (shapes, dtypes and bytes, in a fixed order):
        a run records it, so ``eval`` can check it re-evaluates the data it was trained on."""
        if self._fingerprint is None:
            ev = self.evaluation
            h = hashlib.sha256()
            for a in (self.x_s_train, self.y_s_train, self.x_s_test, self.y_s_test,
                      self.x_t_train, ev._y_train, ev.x_test, ev.y_test):
                if a is None:
                    h.update(b"none;")
                    continue
                a = np.ascontiguousarray(a)
                h.update(f"{a.dtype.str}{a.shape};".encode())
                h.update(a.data)
            self._fingerprint = h.hexdigest()
        return self._fingerprint

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array of the pair by name (what ``--save-data`` stores); unlabelled target
        arrays are left out."""
        ev = self.evaluation
        out = {"x_s_train": self.x_s_train, "y_s_train": self.y_s_train,
               "x_s_test": self.x_s_test, "y_s_test": self.y_s_test,
               "x_t_train": self.x_t_train, "x_t_test": ev.x_test}
        if ev.has_labels:
            out.update(y_t_train=ev._y_train, y_t_test=ev.y_test)
        return out

    @property
    def name(self) -> str:
        return f"{self.source_name}->{self.target_name}"

    def describe(self) -> dict:
        """What a run records about its data."""
        return {"source": self.source_name, "target": self.target_name,
                "split_seed": self.split_seed, "kind": self.kind,
                "input_shape": list(self.input_shape), "num_classes": self.num_classes,
                "classes": list(self.classes),
                "sizes": {"source_train": len(self.y_s_train), "source_test": len(self.y_s_test),
                          "target_train": len(self.x_t_train),
                          "target_test": len(self.evaluation.x_test)},
                "origin": self.origin, "shuffle": self.shuffle,
                "target_labels": self.evaluation.has_labels,
                "fingerprint": self.fingerprint()}

    def batches(self, batch_size: int, seed: int = 0, with_target_labels: bool = False,
                start: int = 0) -> Iterator[Batch]:
        """Endless balanced batches: ``batch_size`` source and ``batch_size`` target samples,
        each side drawn epoch by epoch without replacement from its own shuffled order (in
        data order when ``shuffle`` is False). ``start`` skips that many batches (only their
        indices are drawn), so a resumed run sees exactly the batches it would have seen."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        rng = np.random.default_rng(seed)
        x_s, y_s = torch.from_numpy(np.array(self.x_s_train)), torch.from_numpy(
            np.array(self.y_s_train))
        x_t = torch.from_numpy(np.array(self.x_t_train))
        y_t = None
        if with_target_labels:
            y_t = torch.from_numpy(np.array(self.evaluation.train_labeled()[1]))
        src = _epochs(len(y_s), batch_size, rng, self.shuffle)
        tgt = _epochs(len(x_t), batch_size, rng, self.shuffle)
        for _ in range(start):
            next(src), next(tgt)
        while True:
            i, j = next(src), next(tgt)
            yield Batch(x_s[i], y_s[i], x_t[j], None if y_t is None else y_t[j])


def _epochs(n: int, batch_size: int, rng: np.random.Generator,
            shuffle: bool = True) -> Iterator[torch.Tensor]:
    if n == 0:
        raise DataError("a domain split is empty: nothing to train on")
    new_order = (lambda: rng.permutation(n)) if shuffle else (lambda: np.arange(n))
    order, pos = new_order(), 0
    while True:
        take, got = [], 0
        while got < batch_size:
            if pos == n:
                order, pos = new_order(), 0
            k = min(batch_size - got, n - pos)
            take.append(order[pos:pos + k])
            pos, got = pos + k, got + k
        yield torch.from_numpy(np.concatenate(take))
