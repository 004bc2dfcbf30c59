"""DFA: discriminative feature alignment, with DFA-ENT and DFA-MCD.

Wang, Chen, Lin, Sigal & de Silva, "Discriminative Feature Alignment: Improving Transferability
of Unsupervised Domain Adaptation by Gaussian-guided Latent Alignment" (the paper); official
code: github.com/JingWang18/Discriminative-Feature-Alignment (the official code). Details, the
choices where the paper is silent, and where paper and code differ: ``docs/methods-dfa.md``.

Networks (digits: MCD's LeNet, which DFA's digit experiments reuse, Sec. 4.2.1)::

    G  x (B, C, 28, 28) -> conv 5x5 32 -> BN -> ReLU -> max-pool 2 (indices i1)
                        -> conv 5x5 48 -> BN -> ReLU -> max-pool 2 (indices i2) -> h (B, 768)
    D  z (B, 768) = (B, 48, 4, 4) -> max-unpool(i2) -> conv_transpose(W_conv2) -> BN -> ReLU
                        -> max-unpool(i1) -> conv_transpose(W_conv1) -> BN -> ReLU -> (B, C, 28, 28)
    F  h -> dropout -> FC 100 -> BN -> ReLU -> dropout -> FC 100 -> BN -> ReLU -> dropout -> FC K

``D`` is ``G`` inverted with tied weights (Sec. 3.2.2, Eqs. 13-15): the transposed convolutions
use *the same tensors* as G's convolutions, so D owns no weights of its own. ``D(z_n)`` is
decoded with the max-pool indices of the target batch, as the official code does (its
``decode`` reuses the indices stored by the last forward pass, which is ``G(x_t)``); sample i of
``z_n`` is decoded with the indices of target sample i. 2-D points use Table 1's MLPs (tied the
same way: D's FC layers use G's weight matrices transposed).

D's batch norms are non-affine by default (``decoder_bn="fixed"``, our choice): the official
decoder's affine BN + ReLU can decode everything to zeros, which makes L_dal exactly 0 (we
reproduced that collapse; ``decoder_bn="affine"`` keeps the official behaviour for study).

Losses, per batch of M source and M target samples (``h = G(x)``)::

    L_cls  Eq. 16   cross-entropy of F(h_s) on y_s
    L_kld  Eq. 17   KL between the source features and the prior N(0, 1); two readings:
                    "gaussian" (feature_prior_kl): KL(N(0,1) || N(mu_d, sigma_d^2)) on the batch
                    statistics of each
                    feature d (Eq. 17's direction, prior first), mean over d
                    "softmax" (official code): kl_div(log_softmax(h_s), softmax(z_n)) on 48-d
                    chunks of the flattened features, averaged over all elements
    L_dal  Eq. 18   mean |D(G(x_t)) - D(z_n)|, z_n ~ N(0, 1) shaped like h_t
    L_ent  Eq. 19   mean entropy of softmax(F(h_t))

DFA-ENT (Eq. 20): ``L = L_cls + lambda_ent L_ent + alpha L_kld + beta L_dal``, one SGD step.
DFA-MCD (Algorithm 1): two classifiers F1, F2; per batch step 1 (G, F1, F2: L_cls + alpha L_kld),
step 2 (F1, F2: L_cls - L_adv), step 3 repeated ``num_k`` times (G: L_adv + beta L_dal), with
``L_adv = mean |softmax(F1(h_t)) - softmax(F2(h_t))|``.

Table 8 ablations are config switches: ``tied=False`` (decoder with its own weights),
``alignment="dal_direct"`` (``|D(G(x_s)) - D(G(x_t))|``), ``alignment="kl_only"`` (KL of the
target features to the prior instead of L_dal).

The 2-D experiment of Sec. 4.1 (Table 1's G and D, DAL alone) is ``dalab.experiments.dal_toy``,
an ordinary ``fit`` run on an array pair.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..losses import entropy, gaussian_kl
from ..nn import DomainBatchNorm, DomainBatchNorm2d, bn_domain, dann_annealing, max_pool2d
from .base import Latent, Method

KL_FORMS = ("gaussian", "softmax")
ALIGNMENTS = ("dal", "dal_direct", "kl_only")
DECODER_BN = ("fixed", "affine", "none")
BN_STATS = ("per_domain", "shared")
PAIRINGS = ("fixed", "shuffle")  # the 2-D experiment (dalab.experiments.dal_toy)
SOFTMAX_KL_CHUNK = 48  # official code: feat_s.view(-1, 48) for MNIST/USPS features


def check_choice(name: str, value, choices) -> None:
    """Raise ``ValueError`` naming the valid choices when ``value`` is not one of them."""
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not valid; choose one of {', '.join(choices)}")


# -- pure losses (the app calls these too) -------------------------------------------------------

def distribution_alignment_loss(x_hat_a: torch.Tensor, x_hat_b: torch.Tensor) -> torch.Tensor:
    """DAL, Eq. 18: ``mean |x_hat_a - x_hat_b|`` over every element.

    The paper sums the L1 norm over each decoded sample and averages over the M samples; the
    official code uses ``nn.L1Loss()`` (mean over all elements), for which beta = 10 was set.
    We follow the code, so the loss is per pixel. Samples are paired by position: sample i of
    one batch with sample i of the other (an unpaired distance: the pairing is random).
    Shapes: two equal tensors, e.g. ``(M, C, 28, 28)``; returns a scalar.
    """
    if x_hat_a.shape != x_hat_b.shape:
        raise ValueError(f"DAL needs equal shapes, got {tuple(x_hat_a.shape)} and "
                         f"{tuple(x_hat_b.shape)}")
    return (x_hat_a - x_hat_b).abs().mean()


def feature_prior_kl(h: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Eq. 17 read as a Gaussian KL on feature statistics: ``KL(N(0,1) || N(mu_d, sigma_d^2))``.

    ``mu_d, sigma_d^2`` are the batch mean and variance of feature d of ``h`` ``(M, d)``; the KL
    is taken in Eq. 17's direction (the prior q(z_n) first, ``sum q log q/p``) and averaged over
    the features: ``mean_d [log sigma_d + (1 + mu_d^2) / (2 sigma_d^2) - 1/2]``
    (:func:`dalab.losses.gaussian_kl` per feature). ``eps`` floors the variance (our choice) so
    a dead ReLU feature gives a large but finite value.
    """
    h = h.flatten(1)
    sigma = (h.var(0, unbiased=False) + eps).sqrt()[:, None]  # (d, 1): one KL per feature
    return gaussian_kl(torch.zeros_like(sigma), torch.ones_like(sigma), h.mean(0)[:, None],
                       sigma).mean()


def softmax_kl(h: torch.Tensor, z_n: torch.Tensor, chunk: int = SOFTMAX_KL_CHUNK) -> torch.Tensor:
    """The official code's KL term: ``F.kl_div(log_softmax(h.view(-1, chunk)),
    softmax(z_n.view(-1, chunk)))`` = ``KL(softmax(z_n) || softmax(h))`` per chunk, averaged
    over all elements (torch's legacy ``reduction="mean"``, i.e. divided by ``chunk`` too).

    ``h`` and ``z_n`` ``(M, d)`` with ``d`` a multiple of ``chunk``; chunks are consecutive
    blocks of the flattened ``(48, 4, 4)`` features (not channel vectors), as in the code.
    """
    if h.shape != z_n.shape:
        raise ValueError(f"softmax_kl needs equal shapes, got {tuple(h.shape)} and "
                         f"{tuple(z_n.shape)}")
    log_q = F.log_softmax(h.reshape(-1, chunk), dim=1)
    log_p = F.log_softmax(z_n.reshape(-1, chunk), dim=1)
    return (log_p.exp() * (log_p - log_q)).mean()


def classifier_discrepancy(logits_1: torch.Tensor, logits_2: torch.Tensor) -> torch.Tensor:
    """MCD's L_adv: ``mean |softmax(F1) - softmax(F2)|`` over samples and classes ``(M, K)``."""
    return (F.softmax(logits_1, dim=1) - F.softmax(logits_2, dim=1)).abs().mean()


# -- networks -------------------------------------------------------------------------------------

def _decoder_norm(mode: str, channels: int, dims: int) -> nn.Module:
    if mode == "none":
        return nn.Identity()
    bn = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
    return bn(channels, affine=(mode == "affine"))


class ConvAutoencoder(nn.Module):
    """G (MCD's LeNet for digits) and its inverse D, tied or not. ``(B, C, 28, 28)`` images.

    ``encode(x) -> (h (B, 768), (i1, i2))``; ``decode(z, (i1, i2)) -> (B, C, 28, 28)``.
    With ``tied=True`` D's transposed convolutions use ``conv1.weight``/``conv2.weight`` and no
    bias (official code: ``F.conv_transpose2d(x, weight=self.conv2.weight)``), so D owns only
    its batch norms' affine parameters, and only when ``decoder_bn="affine"``. With
    ``tied=False`` (Table 8, theta_d != theta_g) D has its own weights and biases.
    """

    feature_shape = (48, 4, 4)

    def __init__(self, in_channels: int = 1, *, tied: bool = True, decoder_bn: str = "fixed",
                 bn_stats: str = "shared"):
        super().__init__()
        check_choice("decoder_bn", decoder_bn, DECODER_BN)
        check_choice("bn_stats", bn_stats, BN_STATS)
        self.tied = bool(tied)
        bn = DomainBatchNorm2d if bn_stats == "per_domain" else nn.BatchNorm2d
        self.conv1 = nn.Conv2d(in_channels, 32, 5)   # 28 -> 24, pool -> 12
        self.bn1 = bn(32)
        self.conv2 = nn.Conv2d(32, 48, 5)            # 12 -> 8, pool -> 4
        self.bn2 = bn(48)
        self.dec_bn2 = _decoder_norm(decoder_bn, 32, 2)           # after W_conv2^T
        self.dec_bn1 = _decoder_norm(decoder_bn, in_channels, 2)  # after W_conv1^T
        if not self.tied:
            self.dec_conv2 = nn.ConvTranspose2d(48, 32, 5)
            self.dec_conv1 = nn.ConvTranspose2d(32, in_channels, 5)
        self.out_features = 48 * 4 * 4
        self.kl_chunk = SOFTMAX_KL_CHUNK

    def encoder_parameters(self):
        return [*self.conv1.parameters(), *self.bn1.parameters(), *self.conv2.parameters(),
                *self.bn2.parameters()]

    def decoder_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The weight tensors D uses for its two transposed convolutions (W1^T, W2^T)."""
        if self.tied:
            return self.conv1.weight, self.conv2.weight
        return self.dec_conv1.weight, self.dec_conv2.weight

    def encode(self, x):
        x = (x - 0.5) / 0.5  # [0, 1] -> [-1, 1], as dalab's LeNetFeatures
        a1 = F.relu(self.bn1(self.conv1(x)), inplace=True)  # BN keeps its input
        p1, i1 = max_pool2d(a1, 2, return_indices=True)  # = F.max_pool2d, faster
        a2 = F.relu(self.bn2(self.conv2(p1)), inplace=True)
        p2, i2 = max_pool2d(a2, 2, return_indices=True)
        return p2.flatten(1), (i1, i2)

    def forward(self, x):
        return self.encode(x)[0]

    def decode(self, z, indices):
        i1, i2 = indices
        if len(z) != len(i2):
            raise ValueError(f"decode: {len(z)} codes but indices for {len(i2)} samples")
        w1, w2 = self.decoder_weights()
        b1 = b2 = None
        if not self.tied:
            b1, b2 = self.dec_conv1.bias, self.dec_conv2.bias
        u = F.max_unpool2d(z.reshape(len(z), *self.feature_shape), i2, 2, output_size=(8, 8))
        u = F.relu(self.dec_bn2(F.conv_transpose2d(u, w2, b2)), inplace=True)  # (B, 32, 12, 12)
        u = F.max_unpool2d(u, i1, 2, output_size=(24, 24))
        return F.relu(self.dec_bn1(F.conv_transpose2d(u, w1, b1)), inplace=True)  # (B, C, 28, 28)


class MLPAutoencoder(nn.Module):
    """Table 1's encoder G and decoder D for 2-D points, tied or not.

    G: FC-56, ReLU, FC-128, ReLU, FC-256, ReLU, BatchNorm.
    D: FC-128, ReLU, BatchNorm, FC-56, ReLU, FC-2, ReLU.
    D mirrors G's sizes, so with ``tied=True`` its FC layers are G's weight matrices transposed
    (no biases, as the tied image decoder); ``tied=False`` gives D its own ``nn.Linear`` layers
    (the official toy scripts, whose G and D are separate networks). ``encode`` returns no
    pooling indices; ``decode`` ignores them.
    """

    def __init__(self, in_features: int = 2, *, tied: bool = True, decoder_bn: str = "fixed",
                 bn_stats: str = "shared"):
        super().__init__()
        check_choice("decoder_bn", decoder_bn, DECODER_BN)
        check_choice("bn_stats", bn_stats, BN_STATS)
        self.tied = bool(tied)
        self.fc1, self.fc2, self.fc3 = (nn.Linear(in_features, 56), nn.Linear(56, 128),
                                        nn.Linear(128, 256))
        self.bn = DomainBatchNorm(256) if bn_stats == "per_domain" else nn.BatchNorm1d(256)
        self.dec_bn = _decoder_norm(decoder_bn, 128, 1)
        if not self.tied:
            self.dec_fc3, self.dec_fc2, self.dec_fc1 = (nn.Linear(256, 128), nn.Linear(128, 56),
                                                        nn.Linear(56, in_features))
        self.out_features = 256
        self.kl_chunk = 256

    def encoder_parameters(self):
        return [*self.fc1.parameters(), *self.fc2.parameters(), *self.fc3.parameters(),
                *self.bn.parameters()]

    def decoder_weights(self) -> tuple[torch.Tensor, ...]:
        """D's weight matrices in the orientation of G's (``W1, W2, W3``); tied: G's own."""
        if self.tied:
            return self.fc1.weight, self.fc2.weight, self.fc3.weight
        return self.dec_fc1.weight.t(), self.dec_fc2.weight.t(), self.dec_fc3.weight.t()

    def encode(self, x):
        h = F.relu(self.fc3(F.relu(self.fc2(F.relu(self.fc1(x))))))
        return self.bn(h), None

    def forward(self, x):
        return self.encode(x)[0]

    def decode(self, z, indices=None):
        if self.tied:
            w1, w2, w3 = self.fc1.weight, self.fc2.weight, self.fc3.weight
            u = self.dec_bn(F.relu(F.linear(z, w3.t())))
            u = F.relu(F.linear(u, w2.t()))
            return F.relu(F.linear(u, w1.t()))
        u = self.dec_bn(F.relu(self.dec_fc3(z)))
        u = F.relu(self.dec_fc2(u))
        return F.relu(self.dec_fc1(u))


def make_autoencoder(input_shape, *, tied: bool, decoder_bn: str,
                     bn_stats: str = "shared") -> nn.Module:
    """``ConvAutoencoder`` for ``(C, 28, 28)`` images, ``MLPAutoencoder`` for ``(D,)`` points."""
    shape = tuple(int(s) for s in input_shape)
    if len(shape) == 3 and shape[1:] == (28, 28):
        return ConvAutoencoder(shape[0], tied=tied, decoder_bn=decoder_bn, bn_stats=bn_stats)
    if len(shape) == 1:
        return MLPAutoencoder(shape[0], tied=tied, decoder_bn=decoder_bn, bn_stats=bn_stats)
    raise ValueError(f"DFA supports (C, 28, 28) images (its tied decoder inverts a LeNet built "
                     f"for 28x28) and (D,) points; got input shape {shape}")


def make_dfa_classifier(in_features: int, num_classes: int, dropout: float = 0.5,
                        bn_stats: str = "shared") -> nn.Sequential:
    """MCD's digit classifier F, used by DFA (official ``Predictor``): dropout, FC 100, BN, ReLU,
    dropout, FC 100, BN, ReLU, dropout, FC K. ``bn_stats="per_domain"``: its batch norms keep
    running statistics per domain (:class:`dalab.nn.DomainBatchNorm`)."""
    check_choice("bn_stats", bn_stats, BN_STATS)
    bn = DomainBatchNorm if bn_stats == "per_domain" else nn.BatchNorm1d
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(in_features, 100), bn(100),
                         nn.ReLU(), nn.Dropout(dropout), nn.Linear(100, 100),
                         bn(100), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(100, num_classes))


# -- the methods ----------------------------------------------------------------------------------

@dataclass
class DFAConfig:
    """Fields shared by DFA-ENT and DFA-MCD."""
    batch_size: int = 64        # per domain; paper: 256 (DFA-ENT), official MCD code 128; ours for CPU
    alpha: float = 0.01         # weight of L_kld (Sec. 4.2.1: alpha = 0.01 for digits)
    beta: float = 10.0          # weight of L_dal (Sec. 4.2.1: beta = 10)
    kl_form: Literal["gaussian", "softmax"] = "softmax"  # Eq. 17 reading; "softmax" = official code
    alignment: Literal["dal", "dal_direct", "kl_only"] = "dal"  # Table 8: ours / L_daldir / L_kld
    tied: bool = True           # Sec. 3.2.2 weight tying; False = Table 8's theta_d != theta_g
    decoder_bn: Literal["fixed", "affine", "none"] = "fixed"  # ours: see docs (official: affine)
    dropout: float = 0.5        # MCD's digit classifier (official Predictor, prob=0.5)
    weight_decay: float = 5e-4  # official code (SGD and Adam alike)
    bn_stats: Literal["per_domain", "shared"] = "per_domain"  # ours: G's and F's batch norms
                                # keep running statistics per domain, and a target image is
                                # evaluated with the target's (the official code, "shared",
                                # mixes the domains' statistics at evaluation; docs/methods-dfa.md)

    SAVED_BEFORE = {"bn_stats": "shared"}  # runs saved before the field existed were "shared"


@dataclass
class DFAEntConfig(DFAConfig):
    batch_size: int = 128       # per domain; paper 256 (Sec. 4.2.1). Ours 128: held-out val
                                # 0.871 vs 0.857 at 64 (1,000 steps, docs/methods-dfa.md)
    lr: float = 0.02            # Sec. 4.2.1: 0.02 for every digit task except SVHN->MNIST (0.1)
    momentum: float = 0.9       # official code (optimizer 'momentum', momentum=0.9)
    lambda_ent: float = 1.0     # weight of L_ent: Eq. 20 uses 1 (the official code scales it by 0.1)
    lr_anneal: bool = True      # ours (held-out target-train): lr / (1 + 10 p)^0.75 (DANN's
                                # schedule); the code keeps lr constant (false)


@dataclass
class DFAMCDConfig(DFAConfig):
    lr: float = 1e-3            # Adam as the code; ours 1e-3 (held-out target-train: 2e-4, the
                                # code's and MCD's, is too slow for a few-minute CPU run)
    num_k: int = 4              # Algorithm 1 step 3 repeats (official num_k = 4, as MCD)
    lr_anneal: bool = False     # official code: constant lr (true: lr / (1 + 10 p)^0.75)


class _DFABase(Method):
    """Shared by DFA-ENT and DFA-MCD: the autoencoder, L_kld and the alignment term."""

    capabilities = frozenset({"encode", "reconstruct"})

    def __init__(self, config=None, *, input_shape, num_classes):
        super().__init__(config, input_shape=input_shape, num_classes=num_classes)
        cfg = self.config
        check_choice("kl_form", cfg.kl_form, KL_FORMS)
        check_choice("alignment", cfg.alignment, ALIGNMENTS)
        check_choice("decoder_bn", cfg.decoder_bn, DECODER_BN)
        check_choice("bn_stats", cfg.bn_stats, BN_STATS)
        self.ae = make_autoencoder(self.input_shape, tied=cfg.tied, decoder_bn=cfg.decoder_bn,
                                   bn_stats=cfg.bn_stats)

    def _encode(self, x, domain: int):
        """``G(x)`` with the batch-norm statistics of ``domain`` (0 source, 1 target)."""
        with bn_domain(self, domain):
            return self.ae.encode(x)

    def _head(self, f: nn.Module, h, domain: int):
        """A classifier ``f(h)`` with the batch-norm statistics of ``domain``."""
        with bn_domain(self, domain):
            return f(h)

    def _target(self, fn, x):
        """``fn(x)`` for target images: the target's batch-norm statistics."""
        with bn_domain(self, 1, track=False):
            return fn(x)

    def lr_schedules(self):
        """``lr_anneal``: every optimizer anneals as ``lr / (1 + 10 p)^0.75`` (Ganin et al.,
        JMLR 2016, Sec. 5.2.2); else constant (the official code)."""
        if not self.config.lr_anneal:
            return {}
        return {name: dann_annealing for name in self.optimizer_names}

    def _kld(self, h: torch.Tensor, z_n: torch.Tensor) -> torch.Tensor:
        """L_kld (Eq. 17) of features ``h`` (M, d) to the prior; ``z_n`` for the softmax form."""
        if self.config.kl_form == "gaussian":
            return feature_prior_kl(h)
        return softmax_kl(h, z_n, self.ae.kl_chunk)

    def _alignment(self, h_s, idx_s, h_t, idx_t, z_n) -> tuple[torch.Tensor, dict]:
        """The alignment term and what to log. ``"dal"``: L_dal = |D(h_t) - D(z_n)| (Eq. 18),
        D(z_n) unpooled with the target indices; ``"dal_direct"``: |D(h_s) - D(h_t)|, each with
        its own indices; ``"kl_only"``: L_kld of the target features. Returns the *weighted*
        term (beta for DAL, alpha for KL)."""
        cfg = self.config
        if cfg.alignment == "kl_only":
            kl_t = self._kld(h_t, z_n)
            return cfg.alpha * kl_t, {"loss_kld_t": kl_t.item()}
        x_hat_t = self.ae.decode(h_t, idx_t)
        if cfg.alignment == "dal":
            x_hat_other = self.ae.decode(z_n, idx_t)
        else:
            x_hat_other = self.ae.decode(h_s, idx_s)
        dal = distribution_alignment_loss(x_hat_t, x_hat_other)
        return cfg.beta * dal, {"loss_dal": dal.item(),
                                "dec_std_t": x_hat_t.detach().std().item(),
                                "dec_std_other": x_hat_other.detach().std().item()}

    def encode(self, x, domain="target"):
        with bn_domain(self, 0 if domain == "source" else 1, track=False):
            return Latent(h=self.ae(x))

    def reconstruct(self, x, domain="target"):
        """``D(G(x))``, decoded with ``x``'s own pooling indices: ``(B, C, 28, 28)``."""
        with bn_domain(self, 0 if domain == "source" else 1, track=False):
            h, idx = self.ae.encode(x)
            return self.ae.decode(h, idx)


class DFAEnt(_DFABase):
    """DFA-ENT (Eq. 20): ``L_cls + lambda_ent L_ent + alpha L_kld + beta L_dal``, one SGD step."""
    name = "dfa_ent"
    paper_results = (
        {"task": "MNIST->USPS (2,000/1,800 images)", "accuracy": 0.965, "source": "DFA, Table 2"},
        {"task": "USPS->MNIST (1,800/2,000 images)", "accuracy": 0.962, "source": "DFA, Table 2"})
    paper = ("Wang et al., Discriminative Feature Alignment: Improving Transferability of "
             "Unsupervised Domain Adaptation by Gaussian-guided Latent Alignment (DFA-ENT, Eq. 20)")
    summary = "Gaussian-guided alignment: decoded target features match decoded N(0,1) noise."
    Config = DFAEntConfig
    equation = (r"\mathcal{L}=\mathcal{L}_{cls}+\lambda\mathcal{L}_{ent}+\alpha\mathcal{L}_{kld}"
                r"+\beta\,\overline{|D(G(x_t))-D(z_n)|},\ z_n\sim\mathcal{N}(0,1)\quad(20)")
    default_steps = 1000

    def __init__(self, config=None, *, input_shape, num_classes):
        super().__init__(config, input_shape=input_shape, num_classes=num_classes)
        self.F = make_dfa_classifier(self.ae.out_features, self.num_classes, self.config.dropout,
                                     self.config.bn_stats)

    optimizer_names = ("sgd",)

    def configure_optimizers(self):
        """SGD with momentum over G (and D: tied, one set) and F (Eq. 20, official code)."""
        c = self.config
        return {"sgd": torch.optim.SGD(self.parameters(), lr=c.lr, momentum=c.momentum,
                                       weight_decay=c.weight_decay)}

    def train_step(self, x_s, y_s, x_t, step, y_t=None):
        cfg = self.config
        lr = self.lr("sgd")
        h_s, idx_s = self._encode(x_s, 0)
        h_t, idx_t = self._encode(x_t, 1)  # separate passes: BN sees each domain alone
        z_n = torch.randn_like(h_t)        # the prior sample, shaped like the features
        loss_cls = F.cross_entropy(self._head(self.F, h_s, 0), y_s)
        loss_ent = entropy(self._head(self.F, h_t, 1))
        loss_kld = self._kld(h_s, z_n if z_n.shape == h_s.shape else torch.randn_like(h_s))
        align, logs = self._alignment(h_s, idx_s, h_t, idx_t, z_n)
        loss = loss_cls + cfg.lambda_ent * loss_ent + cfg.alpha * loss_kld + align
        self.update("sgd", loss)
        return {"loss": loss.item(), "loss_cls": loss_cls.item(), "loss_ent": loss_ent.item(),
                "loss_kld": loss_kld.item(), **logs, "lr": lr}

    def predict(self, x):
        """``F(G(x))`` with the target's batch-norm statistics (``bn_stats="per_domain"``)."""
        return self._target(lambda v: self.F(self.ae(v)), x)


class DFAMCD(_DFABase):
    """DFA-MCD (Algorithm 1): MCD's three steps with L_kld in steps 1-2 and L_dal in step 3."""
    name = "dfa_mcd"
    paper_results = (
        {"task": "MNIST->USPS (2,000/1,800 images)", "accuracy": 0.973, "source": "DFA, Table 2"},
        {"task": "USPS->MNIST (1,800/2,000 images)", "accuracy": 0.966, "source": "DFA, Table 2"})
    paper = ("Wang et al., Discriminative Feature Alignment: Improving Transferability of "
             "Unsupervised Domain Adaptation by Gaussian-guided Latent Alignment "
             "(DFA-MCD, Algorithm 1)")
    summary = "MCD's classifier discrepancy plus Gaussian-guided alignment of decoded features."
    Config = DFAMCDConfig
    equation = (r"\max_{F_1,F_2}\mathcal{L}_{adv}\ \text{then}\ \min_G\ \mathcal{L}_{adv}"
                r"+\beta\mathcal{L}_{dal},\ \mathcal{L}_{adv}=|F_1(G(x_t))-F_2(G(x_t))|")  # Alg. 1
    default_steps = 800

    def __init__(self, config=None, *, input_shape, num_classes):
        super().__init__(config, input_shape=input_shape, num_classes=num_classes)
        if self.config.num_k < 1:
            raise ValueError(f"num_k must be >= 1, got {self.config.num_k}")
        c = self.config
        self.F1 = make_dfa_classifier(self.ae.out_features, self.num_classes, c.dropout, c.bn_stats)
        self.F2 = make_dfa_classifier(self.ae.out_features, self.num_classes, c.dropout, c.bn_stats)

    optimizer_names = ("g", "f")

    def configure_optimizers(self):
        """Adam for G (and D: tied, one set) and for F1, F2 (official code)."""
        kw = dict(lr=self.config.lr, weight_decay=self.config.weight_decay)
        return {"g": torch.optim.Adam(self.ae.parameters(), **kw),
                "f": torch.optim.Adam([*self.F1.parameters(), *self.F2.parameters()], **kw)}

    def train_step(self, x_s, y_s, x_t, step, y_t=None):
        cfg = self.config
        lr = self.lr("g")
        # Step 1: sample z_n (once per batch, reused below, as the code); G, F1, F2 minimise
        # L_cls + alpha L_kld on the source batch.
        h_s, _ = self._encode(x_s, 0)
        z_n = torch.randn_like(h_s)
        loss_cls = self._source_ce(h_s, y_s)
        loss_kld = self._kld(h_s, z_n)
        self.update(("g", "f"), loss_cls + cfg.alpha * loss_kld)
        # Step 2: G fixed; F1, F2 minimise L_cls - L_adv (L_kld has no gradient for F: dropped).
        with torch.no_grad():
            h_s, h_t = self._encode(x_s, 0)[0], self._encode(x_t, 1)[0]
        loss_cls2 = self._source_ce(h_s, y_s)
        loss_adv2 = classifier_discrepancy(self._head(self.F1, h_t, 1),
                                           self._head(self.F2, h_t, 1))
        self.update("f", loss_cls2 - loss_adv2)
        # Step 3 (num_k times): F1, F2 fixed; G (and D) minimise L_adv + beta L_dal.
        for _ in range(cfg.num_k):
            h_t, idx_t = self._encode(x_t, 1)
            loss_adv = classifier_discrepancy(self._head(self.F1, h_t, 1),
                                              self._head(self.F2, h_t, 1))
            if cfg.alignment == "dal_direct":
                h_s, idx_s = self._encode(x_s, 0)
            else:
                h_s, idx_s = None, None
            if z_n.shape != h_t.shape:
                z_n = torch.randn_like(h_t)
            align, logs = self._alignment(h_s, idx_s, h_t, idx_t, z_n)
            self.update("g", loss_adv + align)  # through F1, F2 to G; no F gradients
        for o in self.optimizers.values():
            o.zero_grad(set_to_none=True)
        total = loss_cls.item() + cfg.alpha * loss_kld.item() + loss_adv.item() + align.item()
        return {"loss": total, "loss_cls": loss_cls.item(), "loss_kld": loss_kld.item(),
                "loss_adv_f": loss_adv2.item(), "loss_adv": loss_adv.item(), **logs,
                "lr": lr}

    def _source_ce(self, h_s, y_s):
        return (F.cross_entropy(self._head(self.F1, h_s, 0), y_s)
                + F.cross_entropy(self._head(self.F2, h_s, 0), y_s))

    def predict(self, x):
        """The ensemble ``F1(h) + F2(h)`` (the official test's "Accuracy Ensemble"), with the
        target's batch-norm statistics (``bn_stats="per_domain"``)."""
        def ensemble(v):
            h = self.ae(v)
            return self.F1(h) + self.F2(h)
        return self._target(ensemble, x)

    def extra_predictors(self):
        return {"f1": lambda x: self._target(lambda v: self.F1(self.ae(v)), x),
                "f2": lambda x: self._target(lambda v: self.F2(self.ae(v)), x)}


__all__ = ["ALIGNMENTS", "BN_STATS", "DECODER_BN", "KL_FORMS", "PAIRINGS", "ConvAutoencoder", "DFAConfig",
           "DFAEnt", "DFAEntConfig", "DFAMCD", "DFAMCDConfig", "MLPAutoencoder",
           "check_choice", "classifier_discrepancy", "distribution_alignment_loss",
           "feature_prior_kl", "make_autoencoder", "make_dfa_classifier", "softmax_kl"]
