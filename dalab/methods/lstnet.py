"""LST-Net: the Latent Space Translation Network.

Friedjungová, Vašata, Chobola & Jiřina, "Unsupervised Latent Space Translation Network",
ESANN 2020. UNIT (Liu et al., NeurIPS 2017) without the VAE: a latent discriminator ``D_l``
makes the two encoders' latent distributions match instead of a Gaussian prior.

Networks (Sec. 2, Table 1); ``x_1`` = source images (labelled), ``x_2`` = target images::

    E_1 = E_s o E_1*      E_2 = E_s o E_2*       (E_s: encoder layers 5-6, ONE module)
    G_1 = G_1* o G_s      G_2 = G_2* o G_s       (G_s: generator layers 1-2, ONE module)
    D_1, D_2: image discriminators;  D_l: latent discriminator

Objective (Eq. 1), minimised by the encoders/generators and maximised by the discriminators::

    J = w_1 J_AN1(E_2, G_1, D_1) + w_2 J_AN2(E_1, G_2, D_2) + w_l J_ANl(E_1, E_2, D_l)
      + w_3 |x_1 - G_1(E_1(x_1))|_1 + w_4 |x_2 - G_2(E_2(x_2))|_1                  (CC_1, CC_2)
      + w_5 |x_1 - G_1(E_2(G_2(E_1(x_1))))|_1 + w_6 |x_2 - G_2(E_1(G_1(E_2(x_2))))|_1  (CC_3, CC_4)

    J_AN1 = E log D_1(x_1) + E log(1 - D_1(G_1(E_2(x_2))))      (real source vs x_2 -> X_1)
    J_AN2 = E log D_2(x_2) + E log(1 - D_2(G_2(E_1(x_1))))      (real target vs x_1 -> X_2)
    J_ANl = E log D_l(E_1(x_1)) + E log(1 - D_l(E_2(x_2)))      (latent: source 1, target 0)

Per step (Sec. 2.1): discriminators first (``D_1, D_2, D_l`` on detached fakes), then the
encoders and generators against the updated discriminators. Sec. 3: Adam, lr 1e-4, betas
(0.8, 0.999), 64 images per domain, w_1 = w_2 = 20, w_l = 30, w_3..w_6 = 100. Our defaults
differ in two measured places (docs/methods-lstnet.md, "Defaults, and why"): lr 1e-3 (at 1e-4
neither autoencoder learns in a CPU budget and D_2 wins against grey blobs) and the three
adversarial weights divided by 10 (w_1 = w_2 = 2, w_l = 3: with lr 1e-3 the discriminators
otherwise outrun the translator and the adversarial gradients swamp the cycle terms).

Classification (Sec. 2 and 3): ``f = h o g`` with ``g = G_1 o E_2`` (target -> source) and
``h`` a classifier trained on labelled source images. ``h`` is ``C_s`` here, DANN's LeNet
trained on real source images only, inside ``train_step`` but apart from the translator (its
own optimizer, no gradient from or to it: exactly the source-only baseline, so "LST-Net minus
source-only" measures the translation alone; ``cls_on_cycle=True`` was our earlier reading), and
``predict(x_t) = C_s(translate(x_t, to="source"))``. The paper's reverse direction (translate
domain-1 test images into domain 2, classify with a classifier trained on *labelled domain-2*
images) needs target labels inside one run; it is the swapped pair (``digits -> mnist``) or
:func:`dalab.analysis.evaluate.evaluate_reverse` (an evaluation-only classifier fitted on the
target *train* labels, as the paper did). ``extra_predictors`` adds ``"target_style"``: a classifier ``C_t`` trained
on source images translated into the target style, ``G_2(E_1(x_1))``, with the source labels,
applied to raw target images (our addition; no target label is used).

Choices where the paper is silent (all in docs/methods-lstnet.md): the width multiplier;
encoder layer 6 with stride 1 (a 7 x 7 latent, the only size Table 1's generators and D_l fit);
``||.||_1`` as a per-pixel mean (Keras' MAE; ``cycle_reduction``); LeakyReLU slope 0.2;
non-saturating generator losses; one forward call per path with BatchNorm running statistics
kept per origin domain (:class:`DomainBatchNorm2d`); optionally (``cls_on_cycle``, off) the
classifier ``C_s`` also learning the source images' cycle images ``G_1(E_2(G_2(E_1(x_1))))``.

Shapes (inputs are ``(N, C, 28, 28)`` in [0, 1]; ``w`` = ``config.width``)::

    E_d*:  (N, C, 28, 28) -> (N, 512w, 7, 7)       E_s: -> z (N, 128w, 7, 7)
    G_s:   z -> (N, 256w, 7, 7)                      G_d*: -> (N, C, 28, 28) in (-1, 1)
    D_d:   (N, C, 28, 28) -> (N,) logits             D_l: z -> (N,) logits
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..nn import (DomainBatchNorm2d, MaxPool2d, bn_domain, dann_annealing, make_classifier,
                  make_features, random_affine)
from .base import Latent, Method

DOMAINS = ("source", "target")


@dataclass
class LSTNetConfig:
    batch_size: int = 64        # images per domain per step (Sec. 3: "64 images from each domain")
    lr: float = 1e-3            # Adam learning rate; Sec. 3 says 1e-4, at which neither
    #                             autoencoder trains in a CPU budget (docs/methods-lstnet.md)
    adam_beta1: float = 0.8     # Adam first-moment decay (Sec. 3; was `beta1`, which names
    adam_beta2: float = 0.999   # CDLM's loss weights; issue 23) / second-moment decay (Sec. 3)
    w1: float = 2.0             # weight of J_AN1, x_2 -> X_1 vs real x_1 (Sec. 3: 20; /10
    #                             throttles the discriminators, docs/methods-lstnet.md)
    w2: float = 2.0             # weight of J_AN2, x_1 -> X_2 vs real x_2 (Sec. 3: 20; /10)
    wl: float = 3.0             # weight of J_ANl, the latent discriminator (Sec. 3: 30; /10)
    w3: float = 100.0           # weight of CC_1, x_1 = G_1(E_1(x_1)) (Sec. 3)
    w4: float = 100.0           # weight of CC_2, x_2 = G_2(E_2(x_2)) (Sec. 3)
    w5: float = 100.0           # weight of CC_3, x_1 = G_1(E_2(G_2(E_1(x_1)))) (Sec. 3)
    w6: float = 100.0           # weight of CC_4, x_2 = G_2(E_1(G_1(E_2(x_2)))) (Sec. 3)
    cycle_reduction: Literal["sum", "mean"] = "mean"  # ||.||_1 of Eq. 1: per-image sum over
    #                             pixels (as written) or Keras-style per-pixel mean (see docs)
    width: float = 0.125        # our choice: Table 1's channel counts times this (1 = the paper);
    #                             1/8 costs ~0.9 CPU-s per step on one thread, the paper's width
    #                             ~64x that (docs/methods-lstnet.md, "Cost")
    leaky_slope: float = 0.2    # our choice: Table 1 says LeakyReLU without a slope; UNIT's 0.2
    paper_augment: bool = False  # Sec. 3: rotate <= 10 deg, scale 0.9-1.1, shift <= 2 px; a switch,
    #                             off by default (held-out accuracy gave no reason either way)
    rotate_deg: float = 10.0    # augmentation: max rotation in degrees (Sec. 3)
    scale_min: float = 0.9      # augmentation: scale range (Sec. 3)
    scale_max: float = 1.1      # augmentation: scale range (Sec. 3)
    shift_px: float = 2.0       # augmentation: max shift in pixels per axis (Sec. 3)
    cls_lr: float = 0.01        # C_s, C_t: the source-only baseline's SGD, mu_0 (DANN JMLR 2016;
    #                             LST-Net does not describe its classifier)
    cls_momentum: float = 0.9   # C_s, C_t: SGD momentum (DANN JMLR 2016)
    cls_weight_decay: float = 5e-4  # C_s, C_t: as dalab's source-only baseline
    adv_warmup: float = 0.0     # our addition (0 = the paper): share of training over which the
    #                             E/G side's adversarial weights w1, w2, wl ramp linearly from 0,
    #                             so the autoencoders learn to reconstruct before the GANs pull
    target_style_classifier: bool = True  # our addition: train C_t on G_2(E_1(x_1)) for the
    #                                       "target_style" readout (extra_predictors)
    cls_on_cycle: bool = False  # False = the paper's protocol (issue 22): h = C_s learns real
    #                             labelled source images only, a source classifier trained apart
    #                             from the translator, so "LST-Net minus source-only" is the
    #                             translation's gain. True (our earlier addition): C_s also
    #                             learns the cycle images G_1(E_2(G_2(E_1(x_1)))); it then is no
    #                             longer the source-only baseline (0.833 on raw targets vs 0.789)

    # renamed in issue 23 (runs saved under the old names load): `augment` collided with fit's
    # --augment (both on: images jittered twice), `beta1/beta2` with CDLM's loss weights
    RENAMED = {"augment": "paper_augment", "beta1": "adam_beta1", "beta2": "adam_beta2"}


# -- pure pieces ----------------------------------------------------------------------------
def to_tanh(x: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] -> the generators' range [-1, 1] (tanh output, Table 1)."""
    return x * 2.0 - 1.0


def from_tanh(a: torch.Tensor) -> torch.Tensor:
    """Generator output in (-1, 1) -> images in [0, 1]."""
    return ((a + 1.0) * 0.5).clamp(0.0, 1.0)


def cycle_loss(x: torch.Tensor, x_rec: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """``J_CC = E_x ||x - x_rec||_1`` (Eq. 1): ``"sum"`` takes the L1 norm of each image (sum
    over pixels and channels) and averages over images, as the equation is written;
    ``"mean"`` averages over pixels too (Keras' MAE), which makes the adversarial terms
    ~C*H*W times heavier relative to w_3..w_6."""
    if reduction == "sum":
        return (x - x_rec).abs().flatten(1).sum(1).mean()
    if reduction == "mean":
        return (x - x_rec).abs().mean()
    raise ValueError(f"reduction={reduction!r} is not valid; choose one of sum, mean")


def adversarial_loss(logits: torch.Tensor, label: float) -> torch.Tensor:
    """``-E log D`` (label 1) or ``-E log(1 - D)`` (label 0) for logits ``(N,)``; the paper's
    sigmoid is folded into the binary cross-entropy for numerical stability."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(label)))


def lstnet_objectives(x1: torch.Tensor, x2: torch.Tensor, out: dict,
                      reduction: str = "mean") -> dict[str, torch.Tensor]:
    """The four cycle-consistency terms of Eq. 1 from a :meth:`LSTNet.forward_all` output;
    ``x1, x2`` in [-1, 1]. Returns ``{"cc1": ..., "cc2": ..., "cc3": ..., "cc4": ...}``."""
    return {"cc1": cycle_loss(x1, out["x11"], reduction),
            "cc2": cycle_loss(x2, out["x22"], reduction),
            "cc3": cycle_loss(x1, out["x121"], reduction),
            "cc4": cycle_loss(x2, out["x212"], reduction)}


# -- networks (Table 1) ---------------------------------------------------------------------
def _ch(n: int, width: float) -> int:
    return max(1, int(round(n * width)))


def _act(slope):
    # in place (no new tensor): it follows a convolution or a batch norm, whose backward
    # needs their inputs, not their outputs; the in-place backward reads the sign from the
    # output, which is the input's for a slope >= 0, so the gradients are the same
    return nn.LeakyReLU(slope, inplace=slope >= 0)


def _conv(cin, cout, k, s, slope, bn=True):
    return [nn.Conv2d(cin, cout, k, s, padding=k // 2), *([DomainBatchNorm2d(cout)] if bn else []),
            _act(slope)]


def _dconv(cin, cout, k, s, slope):
    # "same" transposed convolution: out = in * s
    return [nn.ConvTranspose2d(cin, cout, k, s, padding=k // 2, output_padding=s - 1),
            DomainBatchNorm2d(cout), _act(slope)]


def make_private_encoder(c: int, width: float, slope: float) -> nn.Sequential:
    """E_d*: Table 1 encoder layers 1-4 (28 x 28 variant): (N, c, 28, 28) -> (N, 512w, 7, 7)."""
    w = lambda n: _ch(n, width)  # noqa: E731
    return nn.Sequential(*_conv(c, w(64), 7, 1, slope), *_conv(w(64), w(128), 5, 2, slope),
                         *_conv(w(128), w(256), 3, 2, slope), *_conv(w(256), w(512), 3, 1, slope))


def make_shared_encoder(width: float, slope: float) -> nn.Sequential:
    """E_s: Table 1 encoder layers 5-6: (N, 512w, 7, 7) -> z (N, 128w, 7, 7). Layer 6 uses
    stride 1, not the printed S3: only a 7 x 7 latent fits the generators and D_l of Table 1."""
    w = lambda n: _ch(n, width)  # noqa: E731
    return nn.Sequential(*_conv(w(512), w(256), 3, 1, slope), *_conv(w(256), w(128), 3, 1, slope))


def make_shared_generator(width: float, slope: float) -> nn.Sequential:
    """G_s: Table 1 generator layers 1-2: z (N, 128w, 7, 7) -> (N, 256w, 7, 7)."""
    w = lambda n: _ch(n, width)  # noqa: E731
    return nn.Sequential(*_dconv(w(128), w(128), 3, 1, slope), *_dconv(w(128), w(256), 3, 1, slope))


def make_private_generator(c: int, width: float, slope: float) -> nn.Sequential:
    """G_d*: Table 1 generator layers 3-7: (N, 256w, 7, 7) -> (N, c, 28, 28) in (-1, 1)."""
    w = lambda n: _ch(n, width)  # noqa: E731
    return nn.Sequential(*_dconv(w(256), w(512), 3, 1, slope), *_dconv(w(512), w(256), 3, 2, slope),
                         *_dconv(w(256), w(128), 5, 2, slope), *_dconv(w(128), w(64), 7, 1, slope),
                         nn.ConvTranspose2d(w(64), c, 1, 1), nn.Tanh())


def make_image_discriminator(c: int, width: float, slope: float) -> nn.Sequential:
    """D_d: Table 1 discriminator (28 x 28 variant), no normalisation, logits ``(N,)``:
    28 -pool s1-> 27 -s2-> 13 -s2-> 6 -s2-> 3, FC 512w*9 -> 1 (sigmoid in the loss)."""
    w = lambda n: _ch(n, width)  # noqa: E731
    return nn.Sequential(
        *_conv(c, w(64), 3, 1, slope, bn=False), MaxPool2d(2, 1),
        *_conv(w(64), w(128), 3, 1, slope, bn=False), MaxPool2d(2, 2),
        *_conv(w(128), w(256), 5, 1, slope, bn=False), MaxPool2d(2, 2),
        *_conv(w(256), w(512), 3, 1, slope, bn=False), MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(w(512) * 9, 1), nn.Flatten(0))


def make_latent_discriminator(width: float, slope: float) -> nn.Sequential:
    """D_l: Table 1 latent discriminator on z (N, 128w, 7, 7): 7 -pool s1-> 6 -s2-> 3 -s1-> 2,
    FC 256w*4 -> 1, logits ``(N,)``."""
    w = lambda n: _ch(n, width)  # noqa: E731
    return nn.Sequential(
        *_conv(w(128), w(256), 3, 1, slope, bn=False), MaxPool2d(2, 1),
        *_conv(w(256), w(512), 3, 1, slope, bn=False), MaxPool2d(2, 2),
        *_conv(w(512), w(256), 3, 1, slope, bn=False), MaxPool2d(2, 1),
        nn.Flatten(), nn.Linear(w(256) * 4, 1), nn.Flatten(0))


def _lenet(input_shape, num_classes: int) -> nn.Sequential:
    """dalab's source-only LeNet (features + label predictor) as one module."""
    g = make_features(input_shape)
    return nn.Sequential(g, make_classifier(g.out_features, num_classes))


class LSTNet(Method):
    """LST-Net (ESANN 2020). See the module docstring for networks, Eq. 1 and the protocol.

    Example::

        model, result, _ = train("lstnet", "mnist", "digits")
        x_src_style = model.translate(x_t, to="source")      # (N, C, 28, 28) in [0, 1]
        logits = model.predict(x_t)                            # C_s(G_1(E_2(x_t)))
    """

    name = "lstnet"
    paper_results = (
        {"task": "USPS->MNIST (full sets)", "accuracy": 0.9701, "source": "LST-Net, Table 2"},
        {"task": "MNIST->USPS (full sets)", "accuracy": 0.9761, "source": "LST-Net, Table 2"})
    paper = ("Friedjungová, Vašata, Chobola & Jiřina, Unsupervised Latent Space Translation "
             "Network, ESANN 2020")
    summary = ("Translate target images into the source domain through a shared latent space "
               "(cycle losses + image and latent discriminators), classify with a source model.")
    Config = LSTNetConfig
    capabilities = frozenset({"encode", "translate", "reconstruct"})
    translate_to = frozenset({"source", "target"})  # G_1(E_2(x)) and G_2(E_1(x))
    equation = r"f(x_2)=h(G_1(E_2(x_2))),\quad CC_4=|x_2-G_2(E_1(G_1(E_2(x_2))))|_1"
    input_kinds = frozenset({"image"})  # Table 1 is a 28 x 28 image network
    default_steps = 2000  # ~25 min on one CPU thread at width 1/8 (docs: "Cost")

    def __init__(self, config=None, *, input_shape, num_classes):
        super().__init__(config, input_shape=input_shape, num_classes=num_classes)
        if len(self.input_shape) != 3 or self.input_shape[1:] != (28, 28):
            raise ValueError(f"lstnet translates 28 x 28 images (C, 28, 28); got input shape "
                             f"{self.input_shape} (2-D point domains are not supported)")
        cfg = self.config
        if cfg.width <= 0:
            raise ValueError(f"width must be > 0, got {cfg.width}")
        c, wd, sl = self.input_shape[0], cfg.width, cfg.leaky_slope
        self.E1_star = make_private_encoder(c, wd, sl)   # source-specific encoder layers 1-4
        self.E2_star = make_private_encoder(c, wd, sl)   # target-specific encoder layers 1-4
        self.E_s = make_shared_encoder(wd, sl)           # shared by E_1 and E_2
        self.G_s = make_shared_generator(wd, sl)         # shared by G_1 and G_2
        self.G1_star = make_private_generator(c, wd, sl)
        self.G2_star = make_private_generator(c, wd, sl)
        self.D1 = make_image_discriminator(c, wd, sl)
        self.D2 = make_image_discriminator(c, wd, sl)
        self.D_l = make_latent_discriminator(wd, sl)
        self.C_s = _lenet(self.input_shape, self.num_classes)  # h: the source classifier
        self.C_t = _lenet(self.input_shape, self.num_classes)  # on source -> target style

    def configure_optimizers(self):
        """Adam (Sec. 3) for the discriminators and for the encoder/generator team; the
        classifiers C_s, C_t use the source-only baseline's SGD (our choice, see ``cls_lr``)."""
        cfg = self.config
        betas = (cfg.adam_beta1, cfg.adam_beta2)
        return {"D": torch.optim.Adam(self.discriminators(), lr=cfg.lr, betas=betas),
                "EG": torch.optim.Adam(self.translator(), lr=cfg.lr, betas=betas),
                "C": torch.optim.SGD([*self.C_s.parameters(), *self.C_t.parameters()],
                                     lr=cfg.cls_lr, momentum=cfg.cls_momentum,
                                     weight_decay=cfg.cls_weight_decay)}

    def lr_schedules(self):
        """The classifiers anneal as the source-only baseline, ``mu_0 / (1 + 10 p)^0.75``
        (DANN JMLR 2016); the translator's Adam rate is constant (Sec. 3)."""
        return {"C": dann_annealing}

    # -- composed networks (views over the same modules; nothing new is registered) ---------
    @property
    def E1(self) -> nn.Sequential:
        """E_1 = E_s o E_1*."""
        return nn.Sequential(self.E1_star, self.E_s)

    @property
    def E2(self) -> nn.Sequential:
        """E_2 = E_s o E_2*."""
        return nn.Sequential(self.E2_star, self.E_s)

    @property
    def G1(self) -> nn.Sequential:
        """G_1 = G_1* o G_s (latent -> source images in (-1, 1))."""
        return nn.Sequential(self.G_s, self.G1_star)

    @property
    def G2(self) -> nn.Sequential:
        """G_2 = G_2* o G_s (latent -> target images in (-1, 1))."""
        return nn.Sequential(self.G_s, self.G2_star)

    def translator(self) -> list[nn.Parameter]:
        """Parameters of the encoder/generator team (each shared tensor once)."""
        mods = (self.E1_star, self.E2_star, self.E_s, self.G_s, self.G1_star, self.G2_star)
        return [p for m in mods for p in m.parameters()]

    def discriminators(self) -> list[nn.Parameter]:
        return [p for m in (self.D1, self.D2, self.D_l) for p in m.parameters()]

    # -- the forward passes of one step -------------------------------------------------------
    def _enc(self, a: torch.Tensor, domain: int) -> torch.Tensor:
        """``E_1`` (domain 0) or ``E_2`` (domain 1) on images in [-1, 1]."""
        return self.E_s((self.E1_star if domain == 0 else self.E2_star)(a))

    def _gen(self, z: torch.Tensor, domain: int) -> torch.Tensor:
        """``G_1`` (domain 0) or ``G_2`` (domain 1): latent -> image in (-1, 1)."""
        return (self.G1_star if domain == 0 else self.G2_star)(self.G_s(z))

    def forward_all(self, a1: torch.Tensor, a2: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every image Eq. 1 needs, from ``a1`` (source) and ``a2`` (target) in [-1, 1].

        One call per path, so BatchNorm normalises each path's batch on its own, with the
        running statistics of the path's origin domain (:class:`DomainBatchNorm2d`); the cycle
        pass, whose inputs are generated, leaves the running statistics alone. Returns ``z1,
        z2`` (latents), ``x11, x22`` (reconstructions), ``x21 = G_1(E_2(x_2))``, ``x12 =
        G_2(E_1(x_1))`` (translations) and ``x121, x212`` (cycles), all in [-1, 1]."""
        with bn_domain(self, 0):
            z1 = self._enc(a1, 0)
            x11, x12 = self._gen(z1, 0), self._gen(z1, 1)
        with bn_domain(self, 1):
            z2 = self._enc(a2, 1)
            x22, x21 = self._gen(z2, 1), self._gen(z2, 0)
        with bn_domain(self, 1, track=False):   # x_12 lives in domain 2, but came from x_1
            x121 = self._gen(self._enc(x12, 1), 0)
        with bn_domain(self, 0, track=False):
            x212 = self._gen(self._enc(x21, 0), 1)
        return {"z1": z1, "z2": z2, "x11": x11, "x22": x22, "x21": x21, "x12": x12,
                "x121": x121, "x212": x212}

    def _augment(self, x):
        c = self.config
        return random_affine(x, c.rotate_deg, (c.scale_min, c.scale_max), c.shift_px)

    def train_step(self, x_s, y_s, x_t, step, y_t=None):
        """Discriminators first, then encoders/generators (Sec. 2.1), then the classifiers."""
        cfg = self.config
        if cfg.paper_augment:
            x_s, x_t = self._augment(x_s), self._augment(x_t)
        a1, a2 = to_tanh(x_s), to_tanh(x_t)
        out = self.forward_all(a1, a2)

        # 1) discriminators D_1, D_2, D_l ascend Eq. 1 (BCE: real / source = 1)
        x21, x12 = out["x21"].detach(), out["x12"].detach()
        z1, z2 = out["z1"].detach(), out["z2"].detach()
        loss_d1 = adversarial_loss(self.D1(a1), 1) + adversarial_loss(self.D1(x21), 0)
        loss_d2 = adversarial_loss(self.D2(a2), 1) + adversarial_loss(self.D2(x12), 0)
        loss_dl = adversarial_loss(self.D_l(z1), 1) + adversarial_loss(self.D_l(z2), 0)
        loss_d = cfg.w1 * loss_d1 + cfg.w2 * loss_d2 + cfg.wl * loss_dl
        self.update("D", loss_d)

        # 2) encoders and generators descend Eq. 1 against the updated discriminators
        #    (non-saturating form: the fakes' labels flipped); update("EG") backpropagates
        #    through D_1, D_2, D_l into the translator only (no discriminator gradients)
        adv1 = adversarial_loss(self.D1(out["x21"]), 1)
        adv2 = adversarial_loss(self.D2(out["x12"]), 1)
        advl = adversarial_loss(self.D_l(out["z1"]), 0) + adversarial_loss(self.D_l(out["z2"]), 1)
        cc = lstnet_objectives(a1, a2, out, cfg.cycle_reduction)
        ramp = (min(1.0, self.progress(step) / cfg.adv_warmup) if cfg.adv_warmup > 0 else 1.0)
        loss_eg = (ramp * (cfg.w1 * adv1 + cfg.w2 * adv2 + cfg.wl * advl) + cfg.w3 * cc["cc1"]
                   + cfg.w4 * cc["cc2"] + cfg.w5 * cc["cc3"] + cfg.w6 * cc["cc4"])
        self.update("EG", loss_eg)

        # 3) h = C_s on labelled source images; C_t on source translated to target style
        lr_c = self.lr("C")
        loss_cls = F.cross_entropy(self.C_s(x_s), y_s)
        loss_c = loss_cls
        metrics = {}
        if cfg.cls_on_cycle:
            loss_cyc = F.cross_entropy(self.C_s(from_tanh(out["x121"].detach())), y_s)
            loss_c = loss_c + loss_cyc
            metrics["loss_cls_cycle"] = loss_cyc.item()
        if cfg.target_style_classifier:
            loss_cls_t = F.cross_entropy(self.C_t(from_tanh(x12)), y_s)
            loss_c = loss_c + loss_cls_t
            metrics["loss_cls_target_style"] = loss_cls_t.item()
        self.update("C", loss_c)

        return {"loss": loss_eg.item(), "loss_d": loss_d.item(), "loss_d1": loss_d1.item(),
                "loss_d2": loss_d2.item(), "loss_dl": loss_dl.item(), "adv1": adv1.item(),
                "adv2": adv2.item(), "advl": advl.item(),
                **{k: v.item() for k, v in cc.items()},
                "loss_cls": loss_cls.item(), **metrics, "lr_cls": lr_c, "adv_ramp": ramp}

    # -- inference -------------------------------------------------------------------------
    @staticmethod
    def _check_domain(domain: str, arg: str) -> None:
        if domain not in DOMAINS:
            raise ValueError(f"{arg}={domain!r} is not valid; choose one of {', '.join(DOMAINS)}")

    def encode(self, x, domain="target"):
        """``z = E_1(x)`` (source) or ``E_2(x)`` (target), flattened: ``h`` ``(N, 128w*49)``."""
        self._check_domain(domain, "domain")
        d = DOMAINS.index(domain)
        with bn_domain(self, d):
            return Latent(h=self._enc(to_tanh(x), d).flatten(1))

    def translate(self, x, to="source"):
        """``to="source"``: target images -> ``G_1(E_2(x))``; ``to="target"``: source images ->
        ``G_2(E_1(x))``. ``(N, C, 28, 28)`` in [0, 1] -> same shape, in [0, 1]."""
        self._check_domain(to, "to")
        d_out = DOMAINS.index(to)
        d_in = 1 - d_out
        with bn_domain(self, d_in):
            return from_tanh(self._gen(self._enc(to_tanh(x), d_in), d_out))

    def reconstruct(self, x, domain="target"):
        """``G_1(E_1(x))`` (source) or ``G_2(E_2(x))`` (target), in [0, 1]."""
        self._check_domain(domain, "domain")
        d = DOMAINS.index(domain)
        with bn_domain(self, d):
            return from_tanh(self._gen(self._enc(to_tanh(x), d), d))

    def predict(self, x):
        """``f = h o g``: the source classifier on target images translated into the source
        domain, ``C_s(G_1(E_2(x)))`` (Sec. 2). Logits ``(N, K)``."""
        return self.C_s(self.translate(x, to="source"))

    def predict_target_style(self, x):
        """``C_t(x)``: a classifier trained on ``G_2(E_1(x_s))`` with source labels, applied to
        raw target images (our addition; the unsupervised counterpart of the reverse)."""
        return self.C_t(x)

    def predict_source_only(self, x):
        """``C_s(x)`` without translation: the source-only baseline inside the same run."""
        return self.C_s(x)

    def extra_predictors(self):
        out = {"no_translation": self.predict_source_only}
        if self.config.target_style_classifier:
            out["target_style"] = self.predict_target_style
        return out
