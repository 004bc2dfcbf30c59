"""A pair of domains: harmonised arrays and balanced source/target batches.

Harmonisation: both sides must be of one kind (images or 2-D points) and share the number of
classes; images are 28 x 28 already (every loader resizes), and a gray side is repeated to
three channels when the other side is RGB.

Target labels: the training side of a pair never hands them out. :meth:`DomainPair.batches`
yields ``Batch(x_s, y_s, x_t, y_t=None)``; the target labels live in
:class:`TargetEvaluation` (``pair.evaluation``), which evaluation code reads. The one declared
exception is a method with ``uses_target_labels = True`` (``target_only``, the upper bound):
``fit`` then asks for ``batches(..., with_target_labels=True)`` and records that in the run.
"""
from __future__ import annotations

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


class TargetEvaluation:
    """The only door to target labels: test split for scores, train labels for selection."""

    def __init__(self, x_test, y_test, x_train, y_train):
        self.x_test, self.y_test = x_test, y_test
        self._x_train, self._y_train = x_train, y_train

    def train_labeled(self) -> tuple[np.ndarray, np.ndarray]:
        """Target train images with labels: for the target-only upper bound and for held-out
        model selection, never for an adaptation method's training."""
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
        self.source_name, self.target_name = s.name, t.name
        self.split_seed = split_seed
        self.kind = s.kind
        self.classes = s.classes
        self.num_classes = s.num_classes
        cs, ct = s.channels, t.channels
        c = max(cs, ct)
        self.x_s_train = _harmonise(s.train.x, c, s.kind)
        self.y_s_train = s.train.y
        self.x_s_test = _harmonise(s.test.x, c, s.kind)
        self.y_s_test = s.test.y
        self.x_t_train = _harmonise(t.train.x, c, t.kind)
        self.evaluation = TargetEvaluation(_harmonise(t.test.x, c, t.kind), t.test.y,
                                           self.x_t_train, t.train.y)
        self.input_shape = tuple(self.x_s_train.shape[1:])

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
                          "target_test": len(self.evaluation.y_test)}}

    def batches(self, batch_size: int, seed: int = 0,
                with_target_labels: bool = False) -> Iterator[Batch]:
        """Endless balanced batches: ``batch_size`` source and ``batch_size`` target samples,
        each side drawn epoch by epoch without replacement from its own shuffled order."""
        rng = np.random.default_rng(seed)
        x_s, y_s = torch.from_numpy(np.array(self.x_s_train)), torch.from_numpy(
            np.array(self.y_s_train))
        x_t = torch.from_numpy(np.array(self.x_t_train))
        y_t = torch.from_numpy(np.array(self.evaluation._y_train)) if with_target_labels else None
        src, tgt = _epochs(len(y_s), batch_size, rng), _epochs(len(x_t), batch_size, rng)
        while True:
            i, j = next(src), next(tgt)
            yield Batch(x_s[i], y_s[i], x_t[j], None if y_t is None else y_t[j])


def _epochs(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[torch.Tensor]:
    if n == 0:
        raise DataError("a domain split is empty: nothing to train on")
    order, pos = rng.permutation(n), 0
    while True:
        take, got = [], 0
        while got < batch_size:
            if pos == n:
                order, pos = rng.permutation(n), 0
            k = min(batch_size - got, n - pos)
            take.append(order[pos:pos + k])
            pos, got = pos + k, got + k
        yield torch.from_numpy(np.concatenate(take))
