"""The papers' 2-D toy experiments, as ordinary ``fit`` runs on array pairs.

- :func:`dal_toy`: DFA Sec. 4.1 / Fig. 4, the distribution alignment loss alone moving one point
  cloud onto another (Table 1's MLP encoder G and decoder D).
- :func:`bridge_2d`: the bridging paper's Fig. 2 / Fig. 7, a bridge between two 2-D "latent
  spaces" whose base models are the identity.

Each builds a pair with :func:`dalab.data.pair_from_arrays` (every point trains:
``test_fraction=0``), a method, and calls :func:`dalab.train.fit` like any other run; the
frames and arrays for the app are read from the fitted model (and, for ``dal_toy``, from a
``fit`` callback). Both are seeded and leave the global random generators as they found them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from .data import load_domain, pair_from_arrays
from .device import rng_state, set_rng_state
from .methods.base import Method
from .methods.bridge import Bridge, BridgeConfig
from .methods.dfa import PAIRINGS, MLPAutoencoder, check_choice, distribution_alignment_loss
from .train import fit

__all__ = ["DALToy", "TOY_DEFAULTS", "ToyBridge", "bridge_2d", "dal_toy"]


class _RngKept:
    """Run a block and restore Python's, numpy's and torch's global generators afterwards."""

    def __enter__(self):
        self.state = rng_state()

    def __exit__(self, *exc):
        set_rng_state(self.state)
        return False


# -- DFA Sec. 4.1 ---------------------------------------------------------------------------------
@dataclass
class DALToyConfig:
    batch_size: int = 500    # full batch: all points of a domain (the paper's 500 per cloud)
    lr: float = 0.01         # plain SGD (official toy scripts: SGD, lr 0.01, full batch)
    tied: bool = False       # official toy scripts: separate G and D; True = tied weights
    pairing: Literal["fixed", "shuffle"] = "fixed"  # fixed: target i with source i each step


class DALToy(Method):
    """DAL alone on 2-D points: ``min mean |D(G(x_t)) - x_s|`` (Sec. 4.1), Table 1's MLPs
    with plain BatchNorm. Not a classifier (``fit(..., evaluate=False)``); not registered."""

    name = "dal_toy"
    paper = "Wang et al., DFA, Sec. 4.1 (the 2-D experiment)"
    summary = "Distribution alignment loss alone on two point clouds."
    Config = DALToyConfig
    input_kinds = frozenset({"points"})

    def __init__(self, config=None, *, input_shape, num_classes):
        super().__init__(config, input_shape=input_shape, num_classes=num_classes)
        self.ae = MLPAutoencoder(self.input_shape[0], tied=self.config.tied,
                                 decoder_bn="affine")  # Table 1: plain BatchNorm

    def configure_optimizers(self):
        return {"sgd": torch.optim.SGD(self.parameters(), lr=self.config.lr)}

    def mapped(self, x_t: torch.Tensor) -> torch.Tensor:
        """``D(G(x_t))``: target points carried towards the source cloud ``(N, 2)``."""
        return self.ae.decode(self.ae(x_t))

    def train_step(self, x_s, y_s, x_t, step, y_t=None):
        loss = distribution_alignment_loss(self.mapped(x_t), x_s)
        self.update("sgd", loss)
        return {"loss": loss.item()}

    def predict(self, x):
        raise NotImplementedError("dal_toy aligns point clouds; it has no classifier")


def _all_points(name: str) -> np.ndarray:
    d = load_domain(name)
    if d.kind != "points":
        raise ValueError(f"dal_toy needs 2-D point domains (e.g. gauss-mean-s); {name!r} is "
                         f"{d.kind}")
    return np.concatenate([d.train.x, d.test.x]).astype(np.float32)


def dal_toy(source: str = "gauss-mean-s", target: str = "gauss-mean-t", steps: int = 2000,
            every: int = 100, seed: int = 0, *, lr: float = 0.01, tied: bool = False,
            pairing: str = "fixed") -> list[dict]:
    """DAL alone aligning two point clouds (Sec. 4.1, Fig. 4): train Table 1's G and D so that
    ``D(G(x_t))`` lands on the source cloud, minimising ``mean |D(G(x_t)) - x_s|``.

    All points of each domain (500, as the paper) form one full batch; plain SGD at ``lr``.
    ``pairing="fixed"`` pairs target i with source i on every step (the official scripts: the
    pair walks its arrays in order); ``"shuffle"`` draws a new random pairing each step (every
    full batch is a new epoch in a new order). ``tied=False`` (the official scripts: separate
    G and D) or ``True``. Table 1's D ends in a ReLU, so it cannot output negative numbers:
    when the source cloud has coordinates below 0.1, both clouds are shifted by the same
    constant for training (the official moons script adds 1 for the same reason) and shifted
    back in the frames.

    Returns frames at steps 0, every, 2*every, ..., steps: ``{"step", "x_s" (N, 2), "x_t"
    (N, 2), "x_t_mapped" (N, 2) = D(G(x_t)), "loss"}`` with the weights after that many
    updates, as numpy arrays / floats.
    """
    check_choice("pairing", pairing, PAIRINGS)
    if steps < 0 or every < 1:
        raise ValueError(f"need steps >= 0 and every >= 1, got steps={steps}, every={every}")
    x_s_np, x_t_np = _all_points(source), _all_points(target)
    shift = np.maximum(0.0, 0.1 - x_s_np.min(0)).astype(np.float32)  # for D's final ReLU
    n = min(len(x_s_np), len(x_t_np))
    x_s, x_t = x_s_np[:n] + shift, x_t_np[:n] + shift
    pair = pair_from_arrays(x_s, np.zeros(n, np.int64), x_t, source_name=source,
                            target_name=target, classes=("cloud", "-"), test_fraction=0.0,
                            shuffle=(pairing == "shuffle"))
    frames: list[dict] = []
    with _RngKept():
        torch.manual_seed(seed)
        model = DALToy(DALToyConfig(batch_size=n, lr=lr, tied=tied, pairing=pairing),
                       input_shape=(2,), num_classes=2)
        xs_t, xt_t = torch.from_numpy(x_s), torch.from_numpy(x_t)

        def frame(step):
            with torch.no_grad():  # train mode, as the step's own forward pass
                mapped = model.mapped(xt_t)
                loss = distribution_alignment_loss(mapped, xs_t).item()
            frames.append({"step": step, "x_s": x_s_np[:n], "x_t": x_t_np[:n],
                           "x_t_mapped": mapped.numpy() - shift, "loss": loss})

        def on_event(ev):
            if (ev.kind == "start" and ev.step == 0) or (
                    ev.kind == "step" and (ev.step % every == 0 or ev.step == steps)):
                frame(ev.step)

        if steps == 0:
            model.train()
            frame(0)
        else:
            fit(model, pair, steps, device="cpu", seed=seed, callbacks=[on_event],
                evaluate=False, eval_every=steps)
    return frames


# -- the bridging paper's Fig. 2 --------------------------------------------------------------------
TOY_DEFAULTS = {"n_latent_shared": 2, "bridge_hidden": 64, "beta_cls": 0.5}  # see bridge_2d


class ToyBridge(Bridge):
    """The bridge of Fig. 2 in the paper's own setting, ``L_Cls`` on *both* domains
    (``labels="both"``): a declared use of target labels (``uses_target_labels``), for this
    2-D illustration only; not registered, never in a benchmark table."""

    uses_target_labels = True

    def train_step(self, x_s, y_s, x_t, step, y_t=None):
        return self._bridge_step(x_s, x_t, x_s, y_s, x_t, y_t)


def bridge_2d(x_1, y_1, x_2, y_2, *, steps: int = 3000, seed: int = 0, labels: str = "source",
              config: dict | None = None, num_classes: int | None = None) -> dict:
    """The synthetic example of Fig. 2 / Fig. 7: a bridge between two 2-D "latent spaces"
    (base models are the identity), trained by ``fit`` and returned as arrays for plotting.

    ``x_1, x_2``: ``(N, 2)`` points of domain 1 and 2 (e.g. the ``ellipse-1`` / ``ellipse-2``
    train splits), ``y_1, y_2`` their classes. ``labels``: ``"source"`` (domain-1 labels only,
    dalab's rule: :class:`Bridge` with ``n_sup=-1``), ``"both"`` (the paper's setting,
    :class:`ToyBridge`) or ``"none"`` (``n_sup=0``). ``config``: BridgeConfig overrides on top
    of this example's defaults ``TOY_DEFAULTS``: the figure's 2-D shared latent, and (our
    choices, the paper gives no Fig. 2 settings) a 64-wide bridge and ``beta_cls = 0.5``: with
    App. B's 0.05 the 2-D bridge can sit in a local optimum with a diagonal class boundary.
    Ablations (Fig. 7 rows): pass ``{"conditional": False}``, ``{"swd": False, "beta_cls": 0}``,
    ``{"beta_cls": 0}``.

    Returns numpy arrays: ``shared_1, shared_2`` (mean shared codes, Fig. 2e), ``recon_1,
    recon_2`` (Fig. 2b), ``x_12`` (domain 1 transferred to 2, Fig. 2c), ``x_21`` (Fig. 2d),
    ``boundary_w, boundary_b`` (the linear classifier, Fig. 2e's line) and ``losses`` (one per
    step).
    """
    if labels not in ("source", "both", "none"):
        raise ValueError(f"labels={labels!r} is not valid; choose one of source, both, none")
    x_1, x_2 = (np.array(v, np.float32) for v in (x_1, x_2))  # copies
    y_1, y_2 = (np.array(v, np.int64) for v in (y_1, y_2))
    if x_1.ndim != 2 or x_2.ndim != 2 or x_1.shape[1] != x_2.shape[1]:
        raise ValueError(f"bridge_2d needs (N, D) points of one D; got {tuple(x_1.shape)}, "
                         f"{tuple(x_2.shape)}")
    k = int(num_classes or int(max(y_1.max(), y_2.max())) + 1)
    pair = pair_from_arrays(x_1, y_1, x_2, y_2 if labels == "both" else None,
                            source_name="toy-1", target_name="toy-2",
                            classes=[str(c) for c in range(k)], test_fraction=0.0)
    cfg = BridgeConfig(**{**TOY_DEFAULTS, "n_sup": -1 if labels != "none" else 0,
                          **(config or {})})
    losses: list[float] = []
    with _RngKept():
        torch.manual_seed(seed)
        cls = ToyBridge if labels == "both" else Bridge
        model = cls(cfg, input_shape=(x_1.shape[1],), num_classes=k)
        fit(model, pair, steps, device="cpu", seed=seed, evaluate=False, eval_every=steps,
            callbacks=[lambda ev: ev.kind == "step" and losses.append(ev.metrics["loss"])])
        model.eval()
        with torch.no_grad():
            t1, t2 = torch.from_numpy(x_1), torch.from_numpy(x_2)
            s1, s2 = model.encode(t1, "source").mu, model.encode(t2, "target").mu
            out = {"shared_1": s1, "shared_2": s2,
                   "recon_1": model.decode_shared(s1, "source"),
                   "recon_2": model.decode_shared(s2, "target"),
                   "x_12": model.transfer_latent(t1, "target"),
                   "x_21": model.transfer_latent(t2, "source"),
                   "boundary_w": model.f.weight, "boundary_b": model.f.bias}
            out = {k_: v.cpu().numpy() for k_, v in out.items()}
    out["losses"] = np.asarray(losses, np.float32)
    return out
