"""Your own data: a :class:`~dalab.data.pair.DomainPair` from numpy arrays.

``pair_from_arrays(x_s, y_s, x_t, y_t=None)`` is what a researcher calls from a notebook::

    pair = dalab.pair_from_arrays(x_s, y_s, x_t)          # unlabelled target
    model, result = dalab.fit("dfa_mcd", pair, steps=2000)

Images are ``(N, C, H, W)`` / ``(N, H, W, C)`` / ``(N, H, W)``, uint8 0-255 or float in
[0, 1], C = 1 or 3; they are resized to 28 x 28 (every dalab image network's frame) exactly as
the ``npz:`` domains are. Points are ``(N, D)`` finite floats. A gray side is repeated to three
channels when the other side is RGB.

Splits (``split_seed``, stratified on the label, as the named domains):
- source: ``test_fraction`` held out as the source test split (source accuracy);
- target with labels ``y_t``: ``test_fraction`` held out as the target test split, the rest is
  the (unlabelled, for training) target train split whose labels only evaluation and
  held-out selection read;
- target without labels: every image is both the training set and the "test" set that
  predictions and label-free scores are computed on; no target accuracy exists;
- ``test_fraction=0``: no held-out split on either side, evaluation reads the training arrays
  (the 2-D toy experiments of :mod:`dalab.experiments`, which train on every point).
"""
from __future__ import annotations

import numpy as np

from .errors import DataError
from .files import MAX_CLASSES, check_images, check_labels
from .images import to_gray, to_rgb
from .pair import DomainPair


def _points(x, where: str) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype == bool or not (np.issubdtype(x.dtype, np.integer)
                               or np.issubdtype(x.dtype, np.floating)):
        raise DataError(f"{where} has dtype {x.dtype}; expected float points (N, D)")
    if len(x) == 0:
        raise DataError(f"{where} is empty: no samples")
    if not np.isfinite(x).all():
        raise DataError(f"{where} holds nan or inf values")
    return np.ascontiguousarray(x, dtype=np.float32)


def model_inputs(x, input_shape: tuple[int, ...], where: str = "x") -> np.ndarray:
    """``x`` as a model built for ``input_shape`` takes it: images in any layout
    :func:`pair_from_arrays` accepts (``(N, H, W)``, ``(N, H, W, C)``, ``(N, C, H, W)``, uint8
    or float, any size) resized to 28 x 28 and matched to the model's channels (grey <-> RGB);
    points ``(N, D)`` checked against ``D``. A mismatch names the expected shape."""
    x = np.asarray(x)
    want = tuple(int(v) for v in input_shape)
    if x.ndim >= 2 and tuple(x.shape[1:]) == want and x.dtype == np.float32:
        return x
    arr, kind = _inputs(x, where)
    if len(want) == 1:
        if kind != "points" or arr.shape[1] != want[0]:
            raise DataError(f"{where} has shape {x.shape}; this model takes {want[0]}-D points "
                            f"(N, {want[0]})")
        return arr
    if kind != "image":
        raise DataError(f"{where} has shape {x.shape}; this model takes images "
                        f"(N, {want[0]}, 28, 28) (or (N, H, W), (N, H, W, C) of any size)")
    if arr.shape[1] != want[0]:
        arr = to_rgb(arr) if want[0] == 3 else to_gray(arr)
    return arr


def _inputs(x, where: str) -> tuple[np.ndarray, str]:
    x = np.asarray(x)
    if x.ndim == 2:
        return _points(x, where), "points"
    if x.ndim in (3, 4):
        if x.size == 0:
            raise DataError(f"{where} has shape {x.shape}: no samples")
        if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
            raise DataError(f"{where} holds nan or inf pixels; expected values in [0, 1]")
        return check_images(x, where), "image"
    raise DataError(f"{where} has shape {x.shape}; expected images (N, C, H, W), (N, H, W, C) "
                    f"or (N, H, W), or points (N, D)")


def _split(x, y, fraction: float, seed: int, where: str):
    """Stratified split; falls back to an unstratified one when a class is too rare."""
    n = len(x)
    n_test = int(round(n * fraction))
    if n_test < 1 or n - n_test < 1:
        raise DataError(f"{where}: {n} samples cannot be split into train and test "
                        f"(test_fraction {fraction}); give at least 2")
    from sklearn.model_selection import train_test_split  # lazily: 1.7 s of `dalab.load`

    idx = np.arange(n)
    try:
        tr, te = train_test_split(idx, test_size=n_test, random_state=seed, stratify=y)
    except ValueError:  # a class with a single sample
        tr, te = train_test_split(idx, test_size=n_test, random_state=seed)
    tr, te = np.sort(tr), np.sort(te)
    return x[tr], y[tr], x[te], y[te]


def pair_from_arrays(x_s, y_s, x_t, y_t=None, *, source_name: str = "arrays-source",
                     target_name: str = "arrays-target", classes=None, split_seed: int = 0,
                     test_fraction: float = 0.2, shuffle: bool = True) -> DomainPair:
    """A domain pair from arrays (see the module docstring for shapes, ranges and splits).

    ``classes``: class names (default ``"0" .. "K-1"`` with K = max label + 1 over both sides).
    ``shuffle=False`` makes batches walk the training arrays in order (full-batch toy
    experiments that pair sample i of one domain with sample i of the other). Every bad input
    raises :class:`~dalab.data.DataError` naming the argument and what is valid."""
    if not 0.0 <= test_fraction < 1.0:
        raise DataError(f"test_fraction={test_fraction}; expected a share in [0, 1)")
    xs, kind_s = _inputs(x_s, "x_s")
    xt, kind_t = _inputs(x_t, "x_t")
    if kind_s != kind_t:
        raise DataError(f"x_s holds {kind_s} and x_t holds {kind_t}: both sides must be images "
                        f"or both points")
    if kind_s == "points" and xs.shape[1] != xt.shape[1]:
        raise DataError(f"x_s has {xs.shape[1]}-D points and x_t {xt.shape[1]}-D points: "
                        f"they must match")
    if kind_s == "image":
        c = max(xs.shape[1], xt.shape[1])
        if xs.shape[1] != c:
            xs = to_rgb(xs)
        if xt.shape[1] != c:
            xt = to_rgb(xt)
    what = "images" if kind_s == "image" else "points"
    ys = check_labels(np.asarray(y_s), len(xs), "y_s", what)
    yt = None if y_t is None else check_labels(np.asarray(y_t), len(xt), "y_t", what)
    top = int(max(ys.max(), yt.max() if yt is not None else 0))
    if classes is None:
        if top >= MAX_CLASSES:
            raise DataError(f"labels go up to {top}; pass classes=[...] names, or relabel "
                            f"to 0 .. K-1")
        classes = tuple(str(i) for i in range(top + 1))
    classes = tuple(str(c) for c in classes)
    if len(classes) <= top:
        raise DataError(f"classes has {len(classes)} names but the labels use {top}")
    if len(classes) < 2:
        raise DataError("need at least 2 classes")
    if test_fraction == 0.0:  # no held-out split: evaluation reads the training arrays
        xs_tr, ys_tr, xs_te, ys_te = xs, ys, xs, ys
        xt_tr, yt_tr, xt_te, yt_te = xt, yt, xt, yt
    else:
        xs_tr, ys_tr, xs_te, ys_te = _split(xs, ys, test_fraction, split_seed, "x_s")
        if yt is None:
            xt_tr, yt_tr, xt_te, yt_te = xt, None, xt, None
        else:
            xt_tr, yt_tr, xt_te, yt_te = _split(xt, yt, test_fraction, split_seed, "x_t")
    pair = DomainPair.__new__(DomainPair)
    pair._setup(source_name, target_name, split_seed, kind_s, classes, xs_tr, ys_tr, xs_te,
                ys_te, xt_tr, yt_tr, xt_te, yt_te, origin="arrays", shuffle=shuffle)
    return pair


def pair_from_saved(arrays: dict, describe: dict) -> DomainPair:
    """Rebuild a pair from :meth:`DomainPair.arrays` (a run's ``data.npz``) and its
    ``describe()`` record."""
    need = ("x_s_train", "y_s_train", "x_s_test", "y_s_test", "x_t_train", "x_t_test")
    missing = [k for k in need if k not in arrays]
    if missing:
        raise DataError(f"saved data lacks {', '.join(missing)}")
    pair = DomainPair.__new__(DomainPair)
    pair._setup(describe["source"], describe["target"], describe.get("split_seed", 0),
                describe["kind"], describe["classes"], arrays["x_s_train"], arrays["y_s_train"],
                arrays["x_s_test"], arrays["y_s_test"], arrays["x_t_train"],
                arrays.get("y_t_train"), arrays["x_t_test"], arrays.get("y_t_test"),
                origin=describe.get("origin", "arrays"), shuffle=describe.get("shuffle", True))
    return pair
