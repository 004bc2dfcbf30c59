"""The Playground (issue 25): domain adaptation as TensorFlow Playground shows classification.
Pure functions and one state object; the page only draws what :func:`frame` returns.

Two 2-D domains: scikit-learn's two moons (two classes) as the source, and the same moons
rotated about their centre by ``angle`` degrees and moved by ``shift`` (in units of the moons'
spread) as the target. A registered method (:data:`PLAY_METHODS`: source-only, DANN, DFA-ENT,
DFA-MCD: the ones whose networks take 2-D points; CDLM and LST-Net are image networks) trains
on them with its own ``train_step`` and schedules, exactly as ``dalab train`` would, a chunk of
steps at a time (:func:`train_chunk`). The target labels are never shown to the method; they
only score it (the "target accuracy" curve), as the benchmark's test split does.

Each :func:`frame` holds: the input space (both domains' points by class, and the classifier's
probability of class 1 on a grid: its decision regions), the feature space (the method's deep
features ``h`` of both domains in 2-D: the network's own features through a projection fixed
at the start, the principal axes of the untrained features, so movement between frames is the
method's and not the projection's), and the running target accuracy, source accuracy and one
domain distance (the squared MMD of the features, RBF kernel with the bandwidth fixed at the
start) as curves over the steps.

The state lives in the URL (:meth:`Setup.to_params` / :meth:`Setup.from_params`), so a teacher
can share "DANN at 60 degrees": ``/playground?method=dann&angle=60``.

Our choices (the papers give no 2-D moons protocol): 300 points per domain, noise 0.1, the
moons standardised; batch 64 per domain; the methods' config defaults except the learning rate
and the adaptation weight, which the page sets (DANN ``lambda_w``, DFA ``beta``, the weight of
the distribution alignment loss); the schedules' horizon (``progress`` = step / 1000).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import torch

PLAY_METHODS = ("source_only", "dann", "dfa_ent", "dfa_mcd")
METHOD_LABELS = {"source_only": "source-only", "dann": "DANN", "dfa_ent": "DFA-ENT",
                 "dfa_mcd": "DFA-MCD"}
WEIGHT_KEY = {"dann": "lambda_w", "dfa_ent": "beta", "dfa_mcd": "beta"}  # adaptation weight
HORIZON = 1000   # the schedules' training length (DANN's lambda_p and lr annealing)
BATCH = 64
GRID = 60        # decision-region grid, GRID x GRID points
SPEEDS = {"slow": 5, "normal": 20, "fast": 50}  # training steps per frame


@dataclass(frozen=True)
class Setup:
    """What a Playground run is: the method, the target's rotation (degrees) and shift, the
    seed, the learning rate and the adaptation weight (None: the method's default)."""
    method: str = "dann"
    angle: float = 40.0
    shift: float = 0.0
    seed: int = 0
    lr: float | None = None
    weight: float | None = None

    LIMITS = {"angle": (0.0, 180.0), "shift": (-2.0, 2.0), "seed": (0, 9999),
              "lr": (1e-5, 1.0), "weight": (0.0, 100.0)}

    def __post_init__(self):
        if self.method not in PLAY_METHODS:
            raise ValueError(f"method {self.method!r}: the Playground has "
                             f"{', '.join(PLAY_METHODS)}")
        for name, (lo, hi) in self.LIMITS.items():
            v = getattr(self, name)
            if v is not None and not (math.isfinite(v) and lo <= v <= hi):
                raise ValueError(f"{name}={v}: must be in [{lo:g}, {hi:g}]")

    def to_params(self) -> dict[str, str]:
        """The URL's query parameters (None values left out)."""
        return {k: f"{v:g}" if isinstance(v, float) else str(v)
                for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_params(cls, params) -> tuple["Setup", list[str]]:
        """A Setup from URL parameters, and a note per parameter that was left at its default
        (unknown method, not a number, out of range): a bad link never breaks the page."""
        values, notes = {}, []
        for f in fields(cls):
            raw = params.get(f.name)
            if raw is None or raw == "":
                continue
            if f.name == "method":
                if raw in PLAY_METHODS:
                    values["method"] = raw
                else:
                    notes.append(f"method {raw!r} is not one of {', '.join(PLAY_METHODS)}")
                continue
            try:
                v = int(raw) if f.name == "seed" else float(raw)
                cls(**{f.name: v})  # range check
            except (TypeError, ValueError, OverflowError):
                lo, hi = cls.LIMITS[f.name]
                notes.append(f"{f.name}={raw!r} is not a number in [{lo:g}, {hi:g}]")
                continue
            values[f.name] = v
        return cls(**values), notes


def domains(setup: Setup, n: int = 300) -> tuple[np.ndarray, ...]:
    """``(x_s, y_s, x_t, y_t)``: two standardised moons (noise 0.1, ``n`` points a domain) and
    the same shape rotated by ``setup.angle`` degrees about its centre and moved by
    ``setup.shift`` along both axes; float32 ``(n, 2)`` points, int64 labels."""
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=2 * n, noise=0.1, random_state=setup.seed)
    x = (x - x.mean(0)) / x.std(0)
    x_s, y_s, x_t, y_t = x[:n], y[:n], x[n:], y[n:]
    a = math.radians(setup.angle)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    x_t = x_t @ rot.T + setup.shift
    return (x_s.astype(np.float32), y_s.astype(np.int64), x_t.astype(np.float32),
            y_t.astype(np.int64))


@dataclass
class Session:
    """A Playground run in progress: the setup, the pair, the method, the step count, the
    fixed feature projection and bandwidth, and the curves so far."""
    setup: Setup
    pair: object
    model: object
    step: int = 0
    projection: np.ndarray | None = None
    bandwidth: float = 1.0
    history: list = field(default_factory=list)
    batches: object = None  # the pair's endless balanced batches


def start(setup: Setup) -> Session:
    """A fresh, seeded run of ``setup`` (nothing trained yet; its first frame is step 0)."""
    from ..data import pair_from_arrays
    from ..train import build_for

    x_s, y_s, x_t, y_t = domains(setup)
    pair = pair_from_arrays(x_s, y_s, x_t, y_t, source_name="moons",
                            target_name=f"moons-rot{setup.angle:g}", split_seed=setup.seed,
                            test_fraction=0.2)
    overrides = [f"batch_size={BATCH}"]
    if setup.lr is not None:
        overrides.append(f"lr={setup.lr}")
    if setup.weight is not None and setup.method in WEIGHT_KEY:
        overrides.append(f"{WEIGHT_KEY[setup.method]}={setup.weight}")
    model = build_for(setup.method, pair, overrides=overrides, seed=setup.seed)
    model.on_fit_start(HORIZON)
    s = Session(setup, pair, model)
    s.batches = pair.batches(BATCH, seed=setup.seed)
    f_s, f_t = _features(s)
    both = np.concatenate([f_s, f_t])
    centred = both - both.mean(0)
    if both.shape[1] == 2:
        s.projection = np.eye(2, dtype=np.float32)
    else:  # the untrained features' two principal axes, kept for the whole run
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        s.projection = vt[:2].T.astype(np.float32)
    d2 = ((centred[:, None, :] - centred[None, :, :]) ** 2).sum(-1)
    s.bandwidth = float(np.sqrt(np.median(d2[d2 > 0]) / 2)) if (d2 > 0).any() else 1.0
    s.history.append(_scores(s))
    return s


def train_chunk(s: Session, steps: int) -> Session:
    """``steps`` training steps of the method (its own ``train_step`` and schedules, as in
    ``dalab.train.fit``), then one point on the curves. Returns ``s``."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    s.model.train()
    for _ in range(steps):
        b = next(s.batches)
        s.step += 1
        s.model.train_step(b.x_s, b.y_s, b.x_t, s.step)
        s.model.step_schedules()
    s.history.append(_scores(s))
    return s


@torch.no_grad()
def _features(s: Session) -> tuple[np.ndarray, np.ndarray]:
    s.model.eval()
    x_s, x_t = _all_points(s)
    f = s.model.encode(torch.from_numpy(np.concatenate([x_s, x_t]))).h.numpy()
    return f[:len(x_s)], f[len(x_s):]


def _all_points(s: Session):
    p = s.pair
    x_s = np.concatenate([p.x_s_train, p.x_s_test]).astype(np.float32)
    x_t = np.concatenate([p.x_t_train, p.evaluation.x_test]).astype(np.float32)
    return x_s, x_t


def _all_labels(s: Session):
    p = s.pair
    return (np.concatenate([p.y_s_train, p.y_s_test]),
            np.concatenate([p.evaluation.train_labeled()[1], p.evaluation.y_test]))


def mmd2(a: np.ndarray, b: np.ndarray, bandwidth: float) -> float:
    """Squared MMD between two point sets, RBF kernel ``exp(-|x-y|^2 / (2 bw^2))`` (biased
    estimate: 0 for identical sets, larger as the sets separate)."""
    def k(u, v):
        d2 = ((u[:, None, :] - v[None, :, :]) ** 2).sum(-1)
        return np.exp(-d2 / (2 * bandwidth ** 2))
    return float(k(a, a).mean() + k(b, b).mean() - 2 * k(a, b).mean())


@torch.no_grad()
def _scores(s: Session) -> dict:
    s.model.eval()
    x_s, x_t = _all_points(s)
    y_s, y_t = _all_labels(s)
    pred = s.model.predict(torch.from_numpy(np.concatenate([x_s, x_t]))).argmax(1).numpy()
    f_s, f_t = _features(s)
    return {"step": s.step, "source_acc": float((pred[:len(x_s)] == y_s).mean()),
            "target_acc": float((pred[len(x_s):] == y_t).mean()),
            "mmd2": mmd2(f_s, f_t, s.bandwidth)}


@torch.no_grad()
def frame(s: Session, grid: int = GRID) -> dict:
    """What the page draws now: ``points`` (``x_s, y_s, x_t, y_t``), the decision regions
    (``grid_x, grid_y`` axes and ``p1``, the probability of class 1, ``(grid, grid)``), the
    features in 2-D (``f_s, f_t``), the latest scores and the ``history`` of them."""
    x_s, x_t = _all_points(s)
    y_s, y_t = _all_labels(s)
    both = np.concatenate([x_s, x_t])
    lo, hi = both.min(0) - 0.5, both.max(0) + 0.5
    gx, gy = np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid)
    mesh = np.stack(np.meshgrid(gx, gy), -1).reshape(-1, 2).astype(np.float32)
    s.model.eval()
    p1 = torch.softmax(s.model.predict(torch.from_numpy(mesh)), 1)[:, 1].numpy()
    f_s, f_t = _features(s)
    return {"step": s.step, "setup": s.setup, "x_s": x_s, "y_s": y_s, "x_t": x_t, "y_t": y_t,
            "grid_x": gx, "grid_y": gy, "p1": p1.reshape(grid, grid),
            "f_s": f_s @ s.projection, "f_t": f_t @ s.projection,
            "scores": s.history[-1], "history": list(s.history)}


def seconds_to_align(setup: Setup, steps_per_frame: int = 20, max_s: float = 30.0,
                     target: float | None = None) -> dict:
    """How long this machine takes until the method visibly aligns: the first frame whose
    feature MMD is below half the start's and whose target accuracy beats the start's by 0.1
    (or reaches ``target``), chunks of ``steps_per_frame`` steps with a frame each, as the
    page plays. For the closing note's numbers (a benchmark, not a test)."""
    import time
    t0 = time.perf_counter()
    s = start(setup)
    first = s.history[0]
    while time.perf_counter() - t0 < max_s:
        train_chunk(s, steps_per_frame)
        frame(s)
        now = s.history[-1]
        aligned = now["mmd2"] < 0.5 * first["mmd2"]
        better = (now["target_acc"] >= target if target is not None
                  else now["target_acc"] >= first["target_acc"] + 0.1)
        if aligned and better:
            return {"seconds": time.perf_counter() - t0, "step": s.step, **now}
    return {"seconds": None, "step": s.step, **s.history[-1]}
