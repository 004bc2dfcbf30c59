"""The ``Method`` interface every method implements (DESIGN.md, "Methods").

A method is an ``nn.Module`` that owns its sub-networks and *declares* its optimizers
(``configure_optimizers``) and learning-rate schedules (``lr_schedules``); ``fit`` builds them
after moving the method to its device (``setup_optimizers``), steps the schedules once per
training step, and saves and restores their state with the run's checkpoints. ``train_step``
computes the losses and applies them with ``self.update(name, loss)`` (zero grad, backward,
optional gradient clipping, optimizer step); multi-phase methods (MCD's three steps, LST-Net's
discriminator-then-generator) keep their order inside ``train_step``. Everything needed to
rebuild a method is ``(name, config, input_shape, num_classes)``; runs store exactly that
(see :mod:`dalab.runs`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, ClassVar, Iterable

import numpy as np
import torch
from torch import nn


@dataclass
class Latent:
    """What ``encode`` returns: deep features ``h`` and, for VAEs, ``mu`` and ``sigma``."""
    h: torch.Tensor
    mu: torch.Tensor | None = None
    sigma: torch.Tensor | None = None


class Method(nn.Module):
    """Base class. Subclasses set the class attributes and implement ``train_step``/``predict``.

    Capabilities are contracts declared on the class (DESIGN.md, "Methods"); the app and the
    analysis layer read them instead of the method's name and never probe by catching errors:

    - ``capabilities``: ``"encode"``, ``"translate"``, ``"reconstruct"``;
    - ``translate_to``: the domains ``translate(x, to=...)`` renders into (non-empty exactly when
      ``"translate"`` is a capability; any other ``to`` raises ``ValueError``);
    - ``equation``: the method's key equation in LaTeX, shown on its Home-page card
      (the app pages that show a method are the app's to say: ``dalab.ui.cards.METHOD_PAGES``).
    """

    name: ClassVar[str]
    paper: ClassVar[str]                 # citation of the method's paper
    summary: ClassVar[str]               # one line for `dalab methods` and the app
    Config: ClassVar[type]               # a dataclass with commented, cited defaults
    capabilities: ClassVar[frozenset[str]] = frozenset()
    translate_to: ClassVar[frozenset[str]] = frozenset()  # "source" and/or "target"
    equation: ClassVar[str] = ""         # key equation (LaTeX) for the app's method card
    uses_target_labels: ClassVar[bool] = False  # True only for the target-only upper bound
    input_kinds: ClassVar[frozenset[str]] = frozenset({"image", "points"})  # what it accepts
    default_steps: ClassVar[int] = 3000
    # what the paper reports on its nearest task, shown beside our numbers (a different
    # dataset): ({"task": "MNIST->USPS", "accuracy": 0.95, "source": "Table 2"}, ...)
    paper_results: ClassVar[tuple[dict, ...]] = ()

    def __init__(self, config=None, *, input_shape: tuple[int, ...], num_classes: int):
        super().__init__()
        self.config = config if config is not None else self.Config()
        if not isinstance(self.config, self.Config):
            raise TypeError(f"{self.name} expects a {self.Config.__name__}, "
                            f"got {type(self.config).__name__}")
        self.input_shape = tuple(int(s) for s in input_shape)
        self.num_classes = int(num_classes)
        self.total_steps = self.default_steps
        self.max_grad_norm: float | None = None   # set by fit(max_grad_norm=...)
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, torch.optim.lr_scheduler.LambdaLR] = {}

    # -- optimisation (built by fit, after .to(device)) ----------------------------------
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The method's optimizers by name, over its (already placed) parameters. Default:
        none (a method that changes its weights by hand)."""
        return {}

    def lr_schedules(self) -> dict[str, Callable[[float], float]]:
        """Learning-rate factor ``f(p)`` per optimizer name (p = training progress in [0, 1]);
        optimizers not named keep a constant rate. Default: none."""
        return {}

    def setup_optimizers(self) -> None:
        """Build the optimizers and their ``LambdaLR`` schedules. Step ``k`` of training
        (``train_step(..., step=k)``, 1-based) runs at ``lr_0 * f(min(1, k / total_steps))``."""
        self.optimizers = dict(self.configure_optimizers())
        total = self.total_steps
        self.schedulers = {}
        for name, factor in self.lr_schedules().items():
            if name not in self.optimizers:
                raise KeyError(f"{self.name}: lr schedule for unknown optimizer {name!r}; "
                               f"optimizers: {', '.join(self.optimizers)}")
            self.schedulers[name] = torch.optim.lr_scheduler.LambdaLR(
                self.optimizers[name],
                lambda e, f=factor: f(min(1.0, (e + 1) / total)))

    def on_fit_start(self, total_steps: int) -> None:
        """Called by ``fit`` before the first step (after ``.to(device)``): schedules need the
        run's length, optimizers the placed parameters."""
        self.total_steps = max(1, int(total_steps))
        self.setup_optimizers()

    def step_schedules(self) -> None:
        """Advance every learning-rate schedule by one training step (``fit`` calls it after
        each ``train_step``)."""
        for s in self.schedulers.values():
            s.step()

    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if not self.optimizers:  # train_step called outside fit: build them on first use
            self.setup_optimizers()
        return self.optimizers

    def lr(self, name: str) -> float:
        """The current learning rate of optimizer ``name`` (its first parameter group)."""
        return self._optimizers()[name].param_groups[0]["lr"]

    def update(self, names: str | Iterable[str], loss: torch.Tensor) -> None:
        """One update of the optimizer(s) ``names`` by ``loss``: zero their gradients,
        backward, clip the gradient norm of their parameters to ``max_grad_norm`` (when set),
        step each. The backward computes the gradients of these optimizers' parameters only
        (``backward(inputs=...)``): other parameters the loss reaches (a discriminator the
        generator loss passes through, MCD's classifiers in its generator step) get none, and
        their weight gradients are not computed at all, so no ``requires_grad_`` toggling is
        needed to freeze them. Every update zeroes its own gradients first, so nothing that
        was left in another optimizer's gradients was ever used."""
        names = (names,) if isinstance(names, str) else tuple(names)
        opts = [self._optimizers()[n] for n in names]
        params = [p for o in opts for g in o.param_groups for p in g["params"]
                  if p.requires_grad]
        for o in opts:
            o.zero_grad(set_to_none=True)
        loss.backward(inputs=params or None)
        if self.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(params, self.max_grad_norm)
        for o in opts:
            o.step()

    def progress(self, step: int) -> float:
        """Training progress p in [0, 1], as used by DANN-style schedules."""
        return min(1.0, step / self.total_steps)

    def training_state(self) -> dict[str, torch.Tensor]:
        """Training state that is neither a parameter, a buffer nor optimizer state, as
        tensors (saved in checkpoints so a resumed run continues exactly). Default: none."""
        return {}

    def load_training_state(self, state: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`training_state` returned."""

    # -- the declared semi-supervised budget (the bridge's Table 3 protocol) ------------------
    def target_labels_per_class(self) -> int:
        """Labelled target *train* images per class this run asks for (``-1``: all outside the
        selection slice; 0: none, every unsupervised method). ``fit`` hands exactly
        ``pair.evaluation.labelled_subset(n)`` to :meth:`receive_target_labels` once, before
        the first step, and records ``n`` in the run, the zoo index and the benchmark."""
        return 0

    def receive_target_labels(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """The labelled target subset of a declared budget (on the method's device)."""
        raise NotImplementedError(f"{self.name} declares no target label budget")

    def loss(self, x_s: torch.Tensor, y_s: torch.Tensor, x_t: torch.Tensor, step: int,
             y_t: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        """The step's total loss and the metrics to log beside it (a ``"loss"`` entry there
        replaces the logged value of the total). Implemented by the methods that make one
        update per step (source-only, target-only, DANN, CDLM, DFA-ENT); the default
        :meth:`train_step` applies it."""
        raise NotImplementedError(f"{self.name}: implement loss() (one update per step) or "
                                  f"override train_step() (several updates per step)")

    def train_step(self, x_s: torch.Tensor, y_s: torch.Tensor, x_t: torch.Tensor,
                   step: int, y_t: torch.Tensor | None = None) -> dict[str, float]:
        """One optimisation step; returns the metrics to log. Default (the one-update
        methods): :meth:`loss`, then one :meth:`update` of every optimizer, in the order
        ``configure_optimizers`` names them; ``lr`` is the first optimizer's rate for this
        step. Multi-phase methods (DFA-MCD's three steps, LST-Net's discriminators then
        generators, the bridge's two phases) override this and call :meth:`update` per phase."""
        names = tuple(self._optimizers())
        lr = self.lr(names[0])
        loss, metrics = self.loss(x_s, y_s, x_t, step, y_t)
        self.update(names, loss)
        return {"loss": loss.item(), **metrics, "lr": lr}

    # -- inference -----------------------------------------------------------------------
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``(N, K)`` for target-domain inputs."""
        raise NotImplementedError

    def extra_predictors(self) -> dict:
        """Other ways this method can classify target inputs, ``{suffix: fn(x) -> logits}``;
        ``fit`` reports each as ``target_test_<suffix>`` next to ``target_test`` (e.g. CDLM:
        classifier on generated source-style images vs. on the deep features h_t)."""
        return {}

    def encode(self, x: torch.Tensor, domain: str = "target") -> Latent:
        raise NotImplementedError(f"{self.name} cannot encode")

    def predict_numpy(self, x: np.ndarray, batch_size: int = 1000,
                      predict: Callable | None = None) -> np.ndarray:
        """Predicted classes ``(N,)`` of a numpy batch ``x`` (images ``(N, C, H, W)`` in
        [0, 1] or points ``(N, D)``), in eval mode (restored afterwards), on the method's
        device, ``batch_size`` at a time. ``predict`` defaults to :meth:`predict`. Images in
        any layout and size :func:`dalab.pair_from_arrays` accepts are brought to the model's
        ``input_shape`` first (:func:`dalab.data.arrays.model_inputs`)."""
        from ..data.arrays import model_inputs
        x = model_inputs(x, self.input_shape)
        logits = batched(predict or self.predict, x, batch_size, module=self)
        return logits.argmax(1) if len(logits) else np.zeros(0, np.int64)

    def encode_numpy(self, x: np.ndarray, domain: str = "target",
                     batch_size: int = 500) -> dict[str, np.ndarray | None]:
        """:meth:`encode` over a numpy batch: ``{"h", "mu", "sigma"}`` as ``(N, ...)`` numpy
        arrays (``None`` where the method has no such output), batched as ``predict_numpy``."""
        return batched(lambda xb: self.encode(xb, domain), x, batch_size, module=self)

    def predict_proba_numpy(self, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
        """Class probabilities ``(N, K)`` (softmax of :meth:`predict`), as ``predict_numpy``."""
        return batched(lambda xb: torch.softmax(self.predict(xb), 1), x, batch_size,
                       module=self)

    def translate(self, x: torch.Tensor, to: str = "source") -> torch.Tensor:
        """Inputs of the other domain rendered in domain ``to``, same shape as ``x``; defined
        for ``to`` in ``translate_to`` only, ``ValueError`` for any other ``to``."""
        raise ValueError(f"to={to!r}: {self.name} does not translate (its translate_to is empty)")

    # -- description ---------------------------------------------------------------------
    def spec(self) -> dict:
        """Everything needed to rebuild this method (weights aside)."""
        return {"method": self.name, "config": asdict(self.config),
                "input_shape": list(self.input_shape), "num_classes": self.num_classes}


@torch.no_grad()
def batched(fn: Callable[[torch.Tensor], torch.Tensor], x: np.ndarray, batch_size: int = 1000,
            *, module: nn.Module | None = None, device=None) -> np.ndarray:
    """``fn`` over a numpy array in batches, results concatenated on the CPU as numpy: the one
    batched-inference loop of dalab. With ``module`` given, it runs in eval mode (restored
    afterwards) and inputs go to the module's device (else ``device``, default CPU). ``fn`` may
    return a tensor (-> one array) or a :class:`Latent` (-> ``{"h", "mu", "sigma"}`` arrays,
    ``None`` for absent fields)."""
    if module is not None and device is None:
        p = next(module.parameters(), None)
        device = p.device if p is not None else None
    was = module.training if module is not None else None
    if module is not None:
        module.eval()
    try:
        out = []
        for i in range(0, len(x), batch_size):
            xb = torch.from_numpy(np.array(x[i:i + batch_size], np.float32))
            out.append(fn(xb.to(device) if device is not None else xb))
    finally:
        if module is not None:
            module.train(was)

    def cat(parts):
        return np.concatenate([p.float().cpu().numpy() for p in parts])
    if out and isinstance(out[0], Latent):
        return {f: (cat([getattr(o, f) for o in out]) if getattr(out[0], f) is not None
                    else None) for f in ("h", "mu", "sigma")}
    return cat(out) if out else np.zeros((0,), np.float32)
