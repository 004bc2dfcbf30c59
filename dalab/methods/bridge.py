"""Bridging VAE: latent transfer between two pre-trained generative models.

Tian, Engel et al., "Latent Domain Transfer: Crossing Modalities with Bridging Autoencoders"
(ICLR 2019 submission; also circulated as "Latent Translation: Crossing Modalities by Bridging
Generative Models"). The paper numbers no equations; we number the loss terms of its Sec. 2 in
order and use those numbers everywhere (docstrings, ``docs/methods-bridge.md``)::

    (1) L_ELBO^d = E[ ||z_d - g(z'_d, D=d)||^2 ] + beta_KL * KL(q(z'|z_d, D=d) || N(0, I))
    (2) L_SWD    = 1/|Omega| sum_{w in Omega} W_2^2(Proj(Z'_1, w), Proj(Z'_2, w))
    (3) L_Cls^d  = E_{z' in Z'_d} H(f(z'), y)                 f: one linear layer
    (4) L        = (L_ELBO^1 + L_ELBO^2) + beta_SWD L_SWD + beta_Cls (L_Cls^1 + L_Cls^2)

Two levels of models (Fig. 1):

- **Base VAEs**, one per domain, trained independently and then frozen: ``x_d -> z_d``
  (``n_latent``-d). MLP encoder/decoder as in the authors' code (``nn.EncoderMNIST``: 3 ReLU
  layers, a softplus sigma, a Gaussian likelihood with sigma_x = 0.1 on the sigmoid mean, KL
  weight 1, which is the paper's "we penalize the KL-divergence to be less than 1" read as a
  KL weight below the unit-variance likelihood's). For 2-D point domains (Fig. 2, where the
  "data" *is* the latent space) the base models are the identity.
- **The bridge**: one conditional VAE shared by both domains over their latents,
  ``q(z'|z_d, D=d)`` and ``g(z|z', D=d)``, with the domain as a one-hot ``D`` concatenated to
  the input (App. B), 4 x 512 ReLU layers and Gated Mixing Layers (GML, App. B, Fig. 8)
  producing every output: ``out = (1 - g) * W_z u + g * dz``, ``[dz, g_logit] = W_h h``,
  ``g = sigmoid(g_logit)``; ``u`` is the layer's input (latent + one-hot) and ``h`` the last
  hidden layer. A linear classifier ``f`` on the shared code ``z'`` (``n_latent_shared = 8``).

Transfer source -> target: ``x_s -> z_s = E_s(x_s) -> z' = q(z'|z_s, D=s) -> z_t = g(z|z', D=t)
-> x_t = G_t(z_t)``. At inference every step takes the mean.

dalab fit (phases by step, ``Bridge.from_base`` to skip phase 1):

- steps ``1 .. round(base_fraction * steps)``: train the two base VAEs, source VAE on ``x_s``
  and target VAE on ``x_t`` (unsupervised, separate initialisations: the paper's "two
  lower-level VAEs from different initial conditions" for MNIST <-> MNIST);
- the remaining steps: the bridge (Eq. 4) with the base VAEs frozen.

Labels (Sec. 4.4, Table 3): the paper's classifier loss uses labels of *both* domains. Source
side: ``L_Cls^1`` with ``n_sup`` labelled source images per class (``-1``: all). Target side:
a *declared* semi-supervised budget, ``target_labels_per_class`` (default 0: none, the
unsupervised setting). With ``n != 0`` ``fit`` hands the method exactly ``n`` labelled target
*train* images per class (seeded, disjoint from the held-out selection slice, never the test
split; :meth:`dalab.data.pair.TargetEvaluation.labelled_subset`) and ``L_Cls^2`` is on; the run,
the zoo and the benchmark show "n target labels per class". As in the authors' code the two
labelled batches are paired by class: the target labelled batch has the source labelled
batch's labels, image for image. ``predict(x_t) = f(mean q(z'|E_t(x_t), D=t))``.

Shapes: images ``(N, C, 28, 28)`` in [0, 1] (or points ``(N, D)``); ``z_s, z_t``
``(N, n_latent)``; ``z'`` ``(N, n_latent_shared)``; logits ``(N, K)``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..losses import gaussian_kl, random_projections, sliced_wasserstein
from .base import Latent, Method

DOMAINS = ("source", "target")
INTERPOLATIONS = ("slerp", "lerp")


# ---------------------------------------------------------------------------------------
# Pure functions (the app calls these too)
# ---------------------------------------------------------------------------------------
def lerp(z_a: torch.Tensor, z_b: torch.Tensor, t) -> torch.Tensor:
    """Linear interpolation ``(1 - t) z_a + t z_b``.

    ``z_a, z_b``: ``(D,)`` or ``(N, D)``; ``t``: a sequence / 1-D tensor of ``T`` values in
    [0, 1]. Returns ``(T, D)`` or ``(T, N, D)``. Between two independent Gaussian vectors the
    norm dips towards the middle (to ``1/sqrt(2)`` of it for orthogonal equal-norm endpoints),
    off the Gaussian shell: the reason the paper interpolates spherically (Sec. 4.3).
    """
    z_a, z_b, t = _interp_args(z_a, z_b, t)
    return (1 - t) * z_a + t * z_b


def slerp(z_a: torch.Tensor, z_b: torch.Tensor, t) -> torch.Tensor:
    """Spherical linear interpolation (Shoemake 1985), Sec. 4.3 of the paper.

    ``sin((1 - t) W) / sin W * z_a + sin(t W) / sin W * z_b`` with ``W`` the angle between
    ``z_a`` and ``z_b``. For equal-norm endpoints the norm stays constant along the path. The
    paper writes ``sqrt(p) v1 + sqrt(1 - p) v2``, which has the same norm profile for orthogonal
    endpoints (independent high-dimensional Gaussians are nearly orthogonal) but is not a great
    circle otherwise; we use the exact form. Parallel endpoints (``sin W < 1e-6``) fall back to
    ``lerp`` (the two coincide there); antipodal ones also fall back to ``lerp`` (the great
    circle is undefined).

    ``z_a, z_b``: ``(D,)`` or ``(N, D)``; ``t``: ``T`` values. Returns ``(T, D)`` / ``(T, N, D)``.
    """
    z_a, z_b, t = _interp_args(z_a, z_b, t)
    na = z_a.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    nb = z_b.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    cos = ((z_a / na) * (z_b / nb)).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.acos(cos)
    so = torch.sin(omega)
    ok = so > 1e-6
    safe = torch.where(ok, so, torch.ones_like(so))
    ca = torch.where(ok, torch.sin((1 - t) * omega) / safe, 1 - t)
    cb = torch.where(ok, torch.sin(t * omega) / safe, t)
    return ca * z_a + cb * z_b


def _interp_args(z_a, z_b, t):
    z_a, z_b = torch.as_tensor(z_a), torch.as_tensor(z_b)
    if z_a.shape != z_b.shape or z_a.dim() not in (1, 2):
        raise ValueError(f"endpoints must share a shape (D,) or (N, D); got {tuple(z_a.shape)} "
                         f"and {tuple(z_b.shape)}")
    t = torch.as_tensor(t, dtype=z_a.dtype, device=z_a.device).reshape(-1)
    return z_a.unsqueeze(0), z_b.unsqueeze(0), t.view(-1, *([1] * z_a.dim()))


def interpolate_latents(z_a, z_b, t, kind: str = "slerp") -> torch.Tensor:
    """``slerp`` or ``lerp`` by name; a bad ``kind`` raises ValueError naming the choices."""
    if kind == "slerp":
        return slerp(z_a, z_b, t)
    if kind == "lerp":
        return lerp(z_a, z_b, t)
    raise ValueError(f"kind={kind!r} is not valid; choose one of {', '.join(INTERPOLATIONS)}")


# ---------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------
class GatedMixing(nn.Module):
    """Gated Mixing Layer (App. B, Fig. 8a): ``out = (1 - g) * W_z u + g * dz``.

    ``[dz, g_logit] = W_h h`` (one linear layer on the hidden features ``h``),
    ``g = sigmoid(g_logit)``, and ``W_z u`` a linear map of the block's input ``u`` (the
    authors' code: ``snt.Linear(output_size)(z)``). The paper credits GML with "starting with a
    good initialization" because both sides are Gaussian latents; the initialisation is not
    given, so we make it explicit (our choice): ``W_z`` starts as the identity on the first
    ``min(in, out)`` coordinates (zero elsewhere, zero bias) and the gate bias at
    ``gate_bias`` (-2: g ~ 0.12), so a fresh layer passes ``u`` through almost unchanged.
    ``identity=False`` keeps PyTorch's default init for ``W_z`` (used for the sigma heads).

    ``h``: ``(N, hidden)``, ``u``: ``(N, in_features)`` -> ``(N, out_features)``.
    """

    def __init__(self, hidden: int, in_features: int, out_features: int,
                 gate_bias: float = -2.0, identity: bool = True):
        super().__init__()
        self.out_features = out_features
        self.mix = nn.Linear(hidden, 2 * out_features)
        self.skip = nn.Linear(in_features, out_features)
        with torch.no_grad():
            self.mix.bias[out_features:].fill_(gate_bias)
            if identity:
                self.skip.weight.copy_(torch.eye(out_features, in_features))
                self.skip.bias.zero_()

    def gate(self, h: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.mix(h)[:, self.out_features:])

    def forward(self, h: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        dz, g_logit = self.mix(h).split(self.out_features, dim=1)
        g = torch.sigmoid(g_logit)
        return (1 - g) * self.skip(u) + g * dz


class LatentCoder(nn.Module):
    """The bridge's encoder or decoder (App. B, Fig. 8b): ``u = [z, one-hot D]`` ->
    ``layers`` x ``hidden`` ReLU -> GML head(s). With ``with_sigma`` it returns
    ``(mu, sigma)`` (sigma = softplus of a second GML, as in the authors' code), else ``mu``.
    ``conditional=False`` drops the one-hot (Table 4's "unconditional VAE")."""

    def __init__(self, in_features: int, out_features: int, *, hidden: int, layers: int,
                 conditional: bool, gate_bias: float, with_sigma: bool):
        super().__init__()
        self.conditional = conditional
        u_dim = in_features + (2 if conditional else 0)
        mlp, d = [], u_dim
        for _ in range(layers):
            mlp += [nn.Linear(d, hidden), nn.ReLU()]
            d = hidden
        self.mlp = nn.Sequential(*mlp)
        self.mu = GatedMixing(d, u_dim, out_features, gate_bias, identity=True)
        self.sigma = (GatedMixing(d, u_dim, out_features, gate_bias, identity=False)
                      if with_sigma else None)

    def forward(self, z: torch.Tensor, domain: int):
        u = z
        if self.conditional:
            onehot = torch.zeros(len(z), 2, device=z.device, dtype=z.dtype)
            onehot[:, domain] = 1.0
            u = torch.cat([z, onehot], dim=1)
        h = self.mlp(u)
        mu = self.mu(h, u)
        if self.sigma is None:
            return mu
        return mu, F.softplus(self.sigma(h, u)) + 1e-6


class BaseVAE(nn.Module):
    """A per-domain base VAE (the paper's pre-trained models; MLP as in the authors'
    ``nn.EncoderMNIST`` / ``nn.DecoderMNIST``).

    Encoder ``x -> layers x hidden ReLU -> (mu, softplus sigma)``; decoder ``z -> layers x
    hidden ReLU -> sigmoid`` mean. Loss per image (negative ELBO up to a constant):
    ``0.5 ||x - x_hat||^2 / x_sigma^2 + KL(q(z|x) || N(0, I))`` (authors' config: Gaussian
    likelihood, ``x_sigma = 0.1``, KL weight 1). ``x``: ``(N, *input_shape)`` in [0, 1].
    """

    def __init__(self, input_shape, n_latent: int = 64, hidden: int = 512, layers: int = 3,
                 x_sigma: float = 0.1):
        super().__init__()
        self.input_shape = tuple(int(s) for s in input_shape)
        self.n_latent, self.hidden, self.layers, self.x_sigma = n_latent, hidden, layers, x_sigma
        d_in = int(np.prod(self.input_shape))
        enc, d = [], d_in
        for _ in range(layers):
            enc += [nn.Linear(d, hidden), nn.ReLU()]
            d = hidden
        self.enc = nn.Sequential(*enc, nn.Linear(d, 2 * n_latent))
        dec, d = [], n_latent
        for _ in range(layers):
            dec += [nn.Linear(d, hidden), nn.ReLU()]
            d = hidden
        self.dec = nn.Sequential(*dec, nn.Linear(d, d_in))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, s = self.enc(x.flatten(1)).chunk(2, dim=1)
        return mu, F.softplus(s) + 1e-6

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.dec(z)).view(len(z), *self.input_shape)

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict]:
        mu, sigma = self.encode(x)
        x_hat = self.decode(mu + sigma * torch.randn_like(mu))
        recon = 0.5 * (x_hat - x).pow(2).flatten(1).sum(1) / self.x_sigma ** 2
        kl = gaussian_kl(mu, sigma)
        return (recon + kl).mean(), {"recon": recon.mean().item(), "kl": kl.mean().item()}


class IdentityBase(nn.Module):
    """Base "model" for point domains (Fig. 2: the data is the latent space): ``z = x``."""

    def __init__(self, dim: int):
        super().__init__()
        self.n_latent = dim

    def encode(self, x):
        return x, torch.zeros_like(x)

    def decode(self, z):
        return z


# ---------------------------------------------------------------------------------------
# The method
# ---------------------------------------------------------------------------------------
@dataclass
class BridgeConfig:
    MINUS_ONE_MEANS_ALL: ClassVar[tuple[str, ...]] = ("n_sup", "target_labels_per_class")
    # -- bridge (App. B, MNIST <-> MNIST and MNIST <-> Fashion MNIST) --
    batch_size: int = 128          # per domain; App. B: "batch size 128"
    lr: float = 1e-3               # Adam, beta1 0.9, beta2 0.999 (App. B)
    n_latent_shared: int = 8       # shared latent z' (App. B)
    bridge_hidden: int = 512       # "4 layers of FC of size 512 with ReLU" (App. B)
    bridge_layers: int = 4         # (App. B)
    beta_kl: float = 0.05          # App. B (Sec. 2 says 0.1; App. B's MNIST value wins)
    beta_swd: float = 1.0          # App. B
    beta_cls: float = 0.5          # App. B: 0.05, for 50,000 batches; in our 3,000-6,000 the
    #                                class term needs 10x the weight (transfer 0.835 -> 0.925 on
    #                                mnist->mnist, all labels, 3,000 steps; docs/methods-bridge.md)
    n_projections: int = 256       # |Omega|; paper silent; authors' code 128 x 8 = 1024 (CPU)
    gate_bias: float = -2.0        # GML gate bias at init (our choice; g ~ 0.12: near identity)
    # -- ablations (Table 4 / Fig. 7) --
    conditional: bool = True       # one-hot domain into encoder and decoder (App. B)
    swd: bool = True               # the SWD term (Eq. 2); off = Table 4 "Conditional VAE"
    # -- labels (Table 3) --
    n_sup: int = -1                # labelled SOURCE images per class for L_Cls^1; -1 all, 0 none
    target_labels_per_class: int = 0  # declared budget of labelled TARGET train images per
    #                                class for L_Cls^2 (Table 3); 0 none (unsupervised), -1 all
    train_classifier: bool = True  # our choice: optimise f (the authors' code leaves it fixed)
    # -- base VAEs (authors' code: configs/mnist_0_nlatent64.py, nn.EncoderMNIST) --
    base_fraction: float = 0.5     # share of fit's steps that trains the base VAEs (ours)
    n_latent: int = 64             # base latent size (authors' config mnist_0_nlatent64)
    base_hidden: int = 512         # authors: 1024; halved for 2-core CPUs (ours)
    base_layers: int = 3           # authors' EncoderMNIST/DecoderMNIST: 3 ReLU layers
    base_x_sigma: float = 0.1      # Gaussian likelihood scale (authors' config)
    base_lr: float = 3e-4          # Adam lr of the base VAEs (authors' model_dataspace.py)
    base_sample: bool = True       # bridge sees z ~ q(z|x), not the mean (authors' code)


class Bridge(Method):
    name = "bridge"
    paper_results = (
        {"task": "MNIST->MNIST transfer accuracy (labels in both domains; not target "
                 "accuracy)", "accuracy": 0.98, "source": "Bridging, Table 2"},)
    paper = ("Tian, Engel et al., Latent Domain Transfer: Crossing Modalities with Bridging "
             "Autoencoders (Latent Translation), ICLR 2019 submission")
    summary = "Conditional VAE bridging two frozen base VAEs' latents (SWD + latent classifier)."
    Config = BridgeConfig
    capabilities = frozenset({"encode", "translate", "reconstruct"})
    translate_to = frozenset({"source", "target"})  # Fig. 1b, both ways through z'
    equation = (r"\mathcal{L}=\mathcal{L}_{rec}+\beta_{KL}KL+\beta_{SWD}SWD(z'_s,z'_t)"
                r"+\beta_{Cls}\mathrm{CE}(f(z'),y)")  # Eq. 4
    default_steps = 4000

    def __init__(self, config=None, *, input_shape, num_classes):
        super().__init__(config, input_shape=input_shape, num_classes=num_classes)
        cfg = self.config
        if cfg.n_sup < -1:
            raise ValueError(f"n_sup={cfg.n_sup}: use -1 (all labels), 0 (none) or a count "
                             "per class")
        if cfg.target_labels_per_class < -1:
            raise ValueError(f"target_labels_per_class={cfg.target_labels_per_class}: use 0 "
                             "(none), -1 (all) or a count per class")
        if not 0.0 <= cfg.base_fraction <= 1.0:
            raise ValueError(f"base_fraction={cfg.base_fraction} must lie in [0, 1]")
        if len(self.input_shape) == 3:
            self.identity_base = False
            make = lambda: BaseVAE(self.input_shape, cfg.n_latent, cfg.base_hidden,  # noqa
                                   cfg.base_layers, cfg.base_x_sigma)
            self.vae_s, self.vae_t = make(), make()  # separate draws: different initial weights
        elif len(self.input_shape) == 1:
            self.identity_base = True  # Fig. 2: points are the latent space
            self.vae_s = IdentityBase(self.input_shape[0])
            self.vae_t = IdentityBase(self.input_shape[0])
        else:
            raise ValueError(f"bridge supports images (C, H, W) or points (D,); got "
                             f"{self.input_shape}")
        n_lat = self.vae_s.n_latent
        kw = dict(hidden=cfg.bridge_hidden, layers=cfg.bridge_layers,
                  conditional=cfg.conditional, gate_bias=cfg.gate_bias)
        self.E = LatentCoder(n_lat, cfg.n_latent_shared, with_sigma=True, **kw)   # q(z'|z, D)
        self.D = LatentCoder(cfg.n_latent_shared, n_lat, with_sigma=False, **kw)  # g(z|z', D)
        self.f = nn.Linear(cfg.n_latent_shared, self.num_classes)  # classifier on z' (Eq. 3)
        if not cfg.train_classifier:
            self.f.requires_grad_(False)
        self._labelled: dict[int, list[torch.Tensor]] = {}  # n_sup source images per class
        self._target_labelled: tuple[torch.Tensor, torch.Tensor] | None = None  # (x, y)

    def target_labels_per_class(self) -> int:
        """The declared target label budget (``config.target_labels_per_class``)."""
        return int(self.config.target_labels_per_class)

    def receive_target_labels(self, x, y):
        """The labelled target subset ``fit`` hands over for ``L_Cls^2``."""
        if len(y) == 0:
            raise ValueError("the labelled target subset is empty")
        order = torch.argsort(y, stable=True)   # class by class (the pairing relies on it)
        self._target_labelled = (x[order], y[order])

    def configure_optimizers(self):
        """Adam for the bridge (App. B: lr 1e-3, betas 0.9/0.999) and, when the base VAEs are
        trained in the run, Adam for them (authors' ``model_dataspace.py``: 3e-4)."""
        cfg = self.config
        bridge_params = [*self.E.parameters(), *self.D.parameters()]
        if cfg.train_classifier:
            bridge_params += list(self.f.parameters())
        opts = {"bridge": torch.optim.Adam(bridge_params, lr=cfg.lr, betas=(0.9, 0.999))}
        base_params = [*self.vae_s.parameters(), *self.vae_t.parameters()]
        if base_params:
            opts["base"] = torch.optim.Adam(base_params, lr=cfg.base_lr)
        return opts

    def training_state(self):
        """The remembered labelled source subset (``n_sup``): images and labels."""
        xs = [x for c in sorted(self._labelled) for x in self._labelled[c]]
        if not xs:
            return {}
        ys = [c for c in sorted(self._labelled) for _ in self._labelled[c]]
        return {"labelled_x": torch.stack(xs).cpu(), "labelled_y": torch.tensor(ys)}

    def load_training_state(self, state):
        self._labelled = {}
        if "labelled_x" in state:
            dev = next(self.parameters()).device
            for x, y in zip(state["labelled_x"].to(dev), state["labelled_y"].tolist()):
                self._labelled.setdefault(int(y), []).append(x)

    # -- construction from pre-trained base VAEs -------------------------------------------
    @classmethod
    def from_base(cls, vae_s: BaseVAE, vae_t: BaseVAE, config: BridgeConfig | None = None, *,
                  num_classes: int) -> "Bridge":
        """A bridge over two already-trained base VAEs (the paper's setting): their weights
        are copied in, ``base_fraction`` is set to 0 so every ``fit`` step trains the bridge,
        and the base VAEs stay frozen. Both VAEs must have one architecture; the config's
        base fields are taken from them so the saved run rebuilds the same model."""
        for v in (vae_s, vae_t):
            if not isinstance(v, BaseVAE):
                raise TypeError(f"from_base expects BaseVAE instances, got {type(v).__name__}")
        arch = lambda v: (v.input_shape, v.n_latent, v.hidden, v.layers, v.x_sigma)  # noqa
        if arch(vae_s) != arch(vae_t):
            raise ValueError(f"base VAEs differ in architecture: {arch(vae_s)} vs {arch(vae_t)}")
        cfg = dataclasses.replace(config or BridgeConfig(), base_fraction=0.0,
                                  n_latent=vae_s.n_latent, base_hidden=vae_s.hidden,
                                  base_layers=vae_s.layers, base_x_sigma=vae_s.x_sigma)
        model = cls(cfg, input_shape=vae_s.input_shape, num_classes=num_classes)
        model.vae_s.load_state_dict(vae_s.state_dict())
        model.vae_t.load_state_dict(vae_t.state_dict())
        device = next(vae_s.parameters()).device
        return model.to(device)

    # -- phases ----------------------------------------------------------------------------
    def base_steps(self) -> int:
        """Steps of phase 1 (base VAEs) in a run of ``total_steps``; 0 for identity bases."""
        if self.identity_base:
            return 0
        return int(round(self.config.base_fraction * self.total_steps))

    def train_step(self, x_s, y_s, x_t, step, y_t=None):
        """Phase 1 (``step <= base_steps()``): one Adam step on both base VAEs. Phase 2: one
        step of Eq. (4) on the bridge (base VAEs frozen). ``y_t`` is ignored: target labels
        are never used. Returns the phase's losses and ``phase`` (1.0 or 2.0)."""
        self._remember_labels(x_s, y_s)
        if step <= self.base_steps():
            return self._base_step(x_s, x_t)
        with torch.no_grad():
            z_s = self._base_latent("source", x_s, sample=self.config.base_sample)
            z_t = self._base_latent("target", x_t, sample=self.config.base_sample)
            z_l, y_l, z_lt, y_lt = None, None, None, None
            if self.config.n_sup == -1:
                z_l, y_l = z_s, y_s
            elif self.config.n_sup > 0:
                x_l, y_l = self._labelled_batch(len(x_s))
                z_l = self._base_latent("source", x_l, sample=self.config.base_sample)
            if self._target_labelled is not None:
                x_lt, y_lt = self._target_labelled_batch(y_l, len(x_s))
                if len(y_lt):
                    z_lt = self._base_latent("target", x_lt, sample=self.config.base_sample)
                else:
                    y_lt = None
        return self._bridge_step(z_s, z_t, z_l, y_l, z_lt, y_lt)

    def _base_step(self, x_s, x_t) -> dict[str, float]:
        loss_s, parts_s = self.vae_s.loss(x_s)
        loss_t, parts_t = self.vae_t.loss(x_t)
        loss = loss_s + loss_t
        self.update("base", loss)
        return {"loss": loss.item(), "loss_vae_s": loss_s.item(), "loss_vae_t": loss_t.item(),
                "recon_vae_s": parts_s["recon"], "kl_vae_s": parts_s["kl"],
                "recon_vae_t": parts_t["recon"], "kl_vae_t": parts_t["kl"], "phase": 1.0}

    def bridge_loss(self, z_s, z_t, z_l=None, y_l=None, z_lt=None, y_lt=None):
        """Eq. (4) on base latents ``z_s, z_t`` ``(B, n_latent)``; ``(z_l, y_l)`` labelled
        source latents for ``L_Cls^1``; ``(z_lt, y_lt)`` labelled target latents for
        ``L_Cls^2``, which ``train_step`` never passes (only the paper-mode 2-D example,
        :class:`dalab.experiments.ToyBridge`, does). Returns ``(loss, metrics)``. Reconstruction: squared error averaged over
        dimensions and batch; KL: summed over dimensions, averaged over the batch (authors'
        code; the paper does not say)."""
        cfg = self.config
        parts, codes = {}, []
        loss = z_s.new_zeros(())
        for tag, z, d in (("s", z_s, 0), ("t", z_t, 1)):
            mu, sigma = self.E(z, d)
            zp = mu + sigma * torch.randn_like(mu)
            recon = (self.D(zp, d) - z).pow(2).mean()
            kl = gaussian_kl(mu, sigma).mean()
            loss = loss + recon + cfg.beta_kl * kl                       # Eq. (1)
            parts[f"recon_{tag}"], parts[f"kl_{tag}"] = recon.item(), kl.item()
            codes.append(zp)
        if cfg.swd:
            swd = sliced_wasserstein(codes[0], codes[1], cfg.n_projections)  # Eq. (2)
            loss = loss + cfg.beta_swd * swd
            parts["swd"] = swd.item()
        cls_terms = []
        for z, y, d in ((z_l, y_l, 0), (z_lt, y_lt, 1)):
            if z is None:
                continue
            if z is (z_s, z_t)[d]:  # the labelled batch is the unlabelled one: reuse its codes
                zp = codes[d]
            else:
                mu, sigma = self.E(z, d)
                zp = mu + sigma * torch.randn_like(mu)
            logits = self.f(zp)
            cls_terms.append(F.cross_entropy(logits, y))                 # Eq. (3)
            parts["acc_cls" + ("_t" if d else "")] = (logits.argmax(1) == y).float().mean().item()
        if cls_terms:
            cls = sum(cls_terms)
            loss = loss + cfg.beta_cls * cls
            parts["loss_cls"] = cls.item()
        return loss, parts

    def _bridge_step(self, z_s, z_t, z_l=None, y_l=None, z_lt=None, y_lt=None):
        loss, parts = self.bridge_loss(z_s, z_t, z_l, y_l, z_lt, y_lt)
        self.update("bridge", loss)
        return {"loss": loss.item(), **parts, "phase": 2.0}

    # -- the n_sup labelled subset -----------------------------------------------------------
    def _remember_labels(self, x_s, y_s) -> None:
        """Keep the first ``n_sup`` source images of each class that training shows us: the
        labelled subset of Table 3 (our protocol; fit's batches are seeded, so the subset is
        reproducible). Not saved with the weights (it is training state)."""
        n = self.config.n_sup
        if n <= 0:
            return
        for c in range(self.num_classes):
            have = self._labelled.setdefault(c, [])
            room = n - len(have)
            if room > 0:
                have.extend(x_s[y_s == c][:room].detach().clone())

    def _labelled_batch(self, size: int):
        xs = [x for c in range(self.num_classes) for x in self._labelled.get(c, [])]
        ys = [c for c in range(self.num_classes) for _ in self._labelled.get(c, [])]
        idx = torch.randint(len(xs), (size,)).tolist()
        x = torch.stack([xs[i] for i in idx])
        y = torch.tensor([ys[i] for i in idx], dtype=torch.long, device=x.device)
        return x, y

    def _target_labelled_batch(self, y_l, size: int):
        """Labelled target images paired by class with the source labelled batch: row ``i``
        has class ``y_l[i]`` (rows whose class has no labelled target image are dropped);
        without a source labelled batch, ``size`` draws with replacement from the subset."""
        x, y = self._target_labelled
        if y_l is None:
            idx = torch.randint(len(y), (size,), device=y.device)
            return x[idx], y[idx]
        counts = torch.bincount(y, minlength=self.num_classes)
        starts = torch.cumsum(counts, 0) - counts                 # y is sorted by class
        y_l = y_l[counts[y_l] > 0]
        pick = starts[y_l] + (torch.rand(len(y_l), device=y.device)
                              * counts[y_l]).long().clamp_max(counts[y_l] - 1)
        return x[pick], y[pick]

    # -- inference -------------------------------------------------------------------------
    def _domain(self, domain: str) -> int:
        if domain not in DOMAINS:
            raise ValueError(f"domain={domain!r} is not valid; choose one of "
                             f"{', '.join(DOMAINS)}")
        return DOMAINS.index(domain)

    def _vae(self, domain: str):
        return self.vae_s if self._domain(domain) == 0 else self.vae_t

    def _base_latent(self, domain: str, x, sample: bool = False):
        mu, sigma = self._vae(domain).encode(x)
        return mu + sigma * torch.randn_like(mu) if sample else mu

    def predict(self, x):
        """Target logits: ``f`` (trained on source shared codes) on the mean shared code of
        ``x`` through the target base VAE and ``q(z'|z_t, D=target)``."""
        return self.shared_logits(x, "target")

    def shared_logits(self, x, domain: str = "target") -> torch.Tensor:
        """The classifier on the shared latent, ``f(mean q(z'|z, D=domain))`` (Eq. 3), for
        inputs ``x`` of ``domain`` through that domain's base VAE: logits ``(N, K)``. For
        ``domain="target"`` this is :meth:`predict`; with ``"source"`` it labels source inputs
        the same way (transfer accuracy with the bridge's own head, Sec. 4.2)."""
        mu, _ = self.E(self._base_latent(domain, x), self._domain(domain))
        return self.f(mu)

    def encode(self, x, domain="target"):
        """Shared code of ``x`` from ``domain``: ``Latent(h=mu', mu=mu', sigma=sigma')``."""
        mu, sigma = self.E(self._base_latent(domain, x), self._domain(domain))
        return Latent(h=mu, mu=mu, sigma=sigma)

    def decode_shared(self, z_shared: torch.Tensor, domain: str = "target") -> torch.Tensor:
        """``g(z|z', D=domain)``: a shared code ``(N, n_latent_shared)`` decoded to the base
        latent of ``domain`` ``(N, n_latent)`` (for points: the point itself, Fig. 2b)."""
        return self.D(z_shared, self._domain(domain))

    def base_encode(self, x: torch.Tensor, domain: str = "target") -> torch.Tensor:
        """The mean base latent ``E_d(x)`` of ``x`` from ``domain`` ``(N, n_latent)``."""
        return self._base_latent(domain, x)

    def base_decode(self, z: torch.Tensor, domain: str = "target") -> torch.Tensor:
        """The base VAE of ``domain`` decoding a base latent: ``G_d(z)``."""
        return self._vae(domain).decode(z)

    def transfer_latent(self, z: torch.Tensor, to: str = "target") -> torch.Tensor:
        """Base latent of the other domain -> base latent of ``to`` through the mean shared
        code: ``g(mean q(z'|z, D=from), D=to)``. ``(N, n_latent)`` -> ``(N, n_latent)``."""
        d_to = self._domain(to)
        mu, _ = self.E(z, 1 - d_to)
        return self.D(mu, d_to)

    def transfer(self, x: torch.Tensor, to: str = "target") -> torch.Tensor:
        """Fig. 1b: images of the other domain -> images of ``to`` (every step its mean)."""
        d_to = self._domain(to)
        z = self._base_latent(DOMAINS[1 - d_to], x)
        return self._vae(to).decode(self.transfer_latent(z, to))

    translate = transfer  # the dalab capability name

    def reconstruct(self, x, domain="target"):
        """Through the base VAE and the bridge and back into the same domain (Fig. 3)."""
        d = self._domain(domain)
        mu, _ = self.E(self._base_latent(domain, x), d)
        return self._vae(domain).decode(self.D(mu, d))

    @torch.no_grad()
    def interpolate(self, x_a, x_b, steps: int = 8, kind: str = "slerp",
                    domain: str = "source") -> torch.Tensor:
        """The three rows of Fig. 5/6 between ``x_a`` and ``x_b`` (two inputs of ``domain``):

        row 0: interpolation in ``domain``'s base latent, decoded there;
        row 1: both end points transferred to the other domain's base latent, interpolated
        there, decoded there;
        row 2: every point of row 0's latent path transferred to the other domain.

        ``x_a, x_b``: ``(C, H, W)`` or ``(1, C, H, W)`` (points: ``(D,)``); ``kind``:
        ``"slerp"`` (the paper's) or ``"lerp"``. Returns ``(3, steps, *input_shape)``.
        """
        if kind not in INTERPOLATIONS:
            raise ValueError(f"kind={kind!r} is not valid; choose one of "
                             f"{', '.join(INTERPOLATIONS)}")
        if steps < 2:
            raise ValueError(f"steps={steps}: need at least 2 (the two end points)")
        to = DOMAINS[1 - self._domain(domain)]
        x_a = x_a.reshape(1, *self.input_shape)
        x_b = x_b.reshape(1, *self.input_shape)
        t = torch.linspace(0, 1, steps, device=x_a.device)
        z_a, z_b = self._base_latent(domain, x_a)[0], self._base_latent(domain, x_b)[0]
        path = interpolate_latents(z_a, z_b, t, kind)                       # (steps, L)
        row0 = self._vae(domain).decode(path)
        ends = self.transfer_latent(torch.stack([z_a, z_b]), to)
        row1 = self._vae(to).decode(interpolate_latents(ends[0], ends[1], t, kind))
        row2 = self._vae(to).decode(self.transfer_latent(path, to))
        return torch.stack([row0, row1, row2])


__all__ = ["Bridge", "BridgeConfig", "BaseVAE", "GatedMixing", "IdentityBase", "LatentCoder",
           "interpolate_latents", "lerp", "random_projections", "slerp", "sliced_wasserstein"]
