"""CDLM: cross-domain latent modulation for variational transfer learning.

Hou, Deng, Ding & Cranefield, "Variational Transfer Learning using Cross-Domain Latent
Modulation" (journal version of the WACV 2021 paper "Cross-domain latent modulation for
variational transfer learning"). Equation numbers below are the journal paper's.

A unified encoder ``E_phi`` maps an image to the Gaussian parameters ``(mu, sigma)`` and to a
deep representation ``h`` (Sec. 3.2.1); the reparameterisation of one domain is driven by the
*other* domain's ``h`` (Eq. 1-2)::

    z_st = mu_s + sigma_s * (gamma1 h_t + gamma2 eps)        (Eq. 1)
    z_ts = mu_t + sigma_t * (gamma1 h_s + gamma2 eps)        (Eq. 2)

One decoder ``D_theta`` renders the *source* domain. Losses (Sec. 3.3): the reconstruction of
``x_s`` from ``z_st`` (Eq. 18, first term), the KL of ``z_st`` and ``z_ts`` to N(0, I) (Eq. 18),
the adversarial loss on ``h`` behind gradient reversal (Eq. 19, 24) and the consistency loss
(Eq. 20) between ``D(z_st)`` and ``D(gamma1 h_s + gamma2 eps)`` and between ``D(z_ts)`` and
``D(gamma1 h_t + gamma2 eps)``. The parameters are updated in two groups (Eq. 21-22)::

    phi   <- phi   - eta1 grad(L_adv + lambda1 L_KL + lambda2 L_Rec)    SGD with momentum
    theta <- theta - eta2 grad(L_Rec + L_c)                             Adam

plus a joint task classifier trained on source labels (Sec. 4.2). A target image is classified
the paper's way (Sec. 3.2.4): it is encoded to ``h_t``, rendered in source style as
``x~_ts = D(gamma1 h_t + gamma2 eps)`` and that image is classified by the source classifier.

Shapes (``B`` batch, ``C`` channels, ``d`` = ``Config.latent_dim``): ``x`` ``(B, C, 28, 28)``
in [0, 1]; ``h'`` ``(B, 768)``; ``mu, sigma, h, z`` ``(B, d)``; logits ``(B, K)``.

Choices where the paper is silent are marked "our choice" and collected in
docs/methods-cdlm.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..losses import domain_adversarial_loss, gaussian_kl  # noqa: F401 (gaussian_kl: Eq. 7)
from ..nn import (LeNetFeatures, dann_annealing, domain_discriminator, grad_reverse, grl_lambda,
                  make_classifier)
from .base import Latent, Method

MODES = ("full", "pm1", "pm2", "none")
CONSISTENCY = ("both", "source", "target", "none")
CLASSIFIERS = ("h", "image")
LOG_SIGMA_MIN, LOG_SIGMA_MAX = -6.0, 4.0  # our choice: keeps exp(log sigma) finite early on


# ---------------------------------------------------------------------------------------------
# pure functions: the modulation and its analysis (the app calls these, the tests check them)
# ---------------------------------------------------------------------------------------------

def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"unknown modulation mode {mode!r}; valid: {', '.join(MODES)}")


def modulate(mu: torch.Tensor, sigma: torch.Tensor, h_other: torch.Tensor | None,
             eps: torch.Tensor, gamma1: float = 1.0, gamma2: float = 0.1,
             mode: str = "full", sigma_other: torch.Tensor | None = None) -> torch.Tensor:
    """The modulated reparameterisation ``G`` of the transfer latent space (Sec. 3.2).

    For ``z_st`` pass the source's ``mu, sigma`` and the target's ``h_other`` / ``sigma_other``
    (and the other way round for ``z_ts``). All tensors ``(..., d)``, broadcastable.

    - ``"full"`` (Eq. 1-2): ``mu + sigma * (gamma1 h_other + gamma2 eps)``
    - ``"pm1"``  (Eq. 11):  ``mu + (sigma + sigma_other) / 2 * eps``  (partial modulation 1)
    - ``"pm2"``  (Eq. 15):  ``mu + sigma_other * eps``                 (partial modulation 2)
    - ``"none"`` (plain VAE, for comparison): ``mu + sigma * eps``

    ``gamma1, gamma2`` are used by ``"full"`` only; ``h_other`` may be ``None`` for the other
    modes, ``sigma_other`` is required by ``"pm1"`` and ``"pm2"``.
    """
    _check_mode(mode)
    if mode == "full":
        if h_other is None:
            raise ValueError("mode 'full' (Eq. 1-2) needs h_other, the other domain's h")
        return mu + sigma * (gamma1 * h_other + gamma2 * eps)
    if mode == "none":
        return mu + sigma * eps
    if sigma_other is None:
        raise ValueError(f"mode {mode!r} (Eq. {11 if mode == 'pm1' else 15}) needs sigma_other, "
                         "the other domain's sigma")
    if mode == "pm1":
        return mu + 0.5 * (sigma + sigma_other) * eps
    return mu + sigma_other * eps


def modulation_moments(mu: torch.Tensor, sigma: torch.Tensor, mu_h: torch.Tensor | None,
                       sigma_h: torch.Tensor | None, gamma1: float = 1.0, gamma2: float = 0.1,
                       mode: str = "full", sigma_other: torch.Tensor | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation of the modulated code, element-wise ``(..., d)``.

    ``"full"``: Eq. 3-4 with ``h_other ~ N(mu_h, sigma_h^2)`` independent of ``eps``::

        mean = mu + gamma1 sigma mu_h              (Eq. 3; the paper's last line writes
                                                    mu_{h_s}, a typo for the other domain)
        std  = sigma sqrt(gamma1^2 sigma_h^2 + gamma2^2)                         (Eq. 4)

    ``"pm1"``: ``(mu, (sigma + sigma_other) / 2)``; ``"pm2"``: ``(mu, sigma_other)``;
    ``"none"``: ``(mu, sigma)`` (Sec. 3.2.3).
    """
    _check_mode(mode)
    if mode == "full":
        if mu_h is None or sigma_h is None:
            raise ValueError("mode 'full' needs mu_h and sigma_h, the moments of the other "
                             "domain's h (Eq. 3-4)")
        mean = mu + gamma1 * sigma * mu_h
        std = sigma * torch.sqrt(gamma1 ** 2 * sigma_h ** 2 + gamma2 ** 2)
        return mean, std
    if mode == "none":
        return mu, sigma
    if sigma_other is None:
        raise ValueError(f"mode {mode!r} needs sigma_other, the other domain's sigma")
    if mode == "pm1":
        return mu, 0.5 * (sigma + sigma_other)
    return mu, sigma_other


def _scale_grad(x: torch.Tensor, scale: float) -> torch.Tensor:
    """Identity forward; the backward gradient is multiplied by ``scale``. Lets one backward
    pass weigh a loss differently for the two parameter groups of Eq. 21-22."""
    return x * scale + (x * (1.0 - scale)).detach()


# ---------------------------------------------------------------------------------------------
# networks
# ---------------------------------------------------------------------------------------------

class CDLMEncoder(nn.Module):
    """The unified inference model ``E_phi`` (Sec. 3.2.1), ``(B, C, 28, 28)`` -> 3 x ``(B, d)``.

    ``h'`` = the flattened activations of the last conv layer of the project's LeNet backbone
    (768 = 48 x 4 x 4; our choice, the paper uses UNIT's encoder), then
    ``mu = W_mu h' + b_mu``, ``log sigma = W_sigma h' + b_sigma``, ``h = sigmoid(W_h h' + b_h)``.
    ``h`` and ``mu`` must have the same size ``d`` since Eq. 1-2 multiply them element-wise.
    """

    def __init__(self, in_channels: int, latent_dim: int):
        super().__init__()
        self.features = LeNetFeatures(in_channels)
        n = self.features.out_features
        self.mu = nn.Linear(n, latent_dim)         # W_mu, b_mu
        self.log_sigma = nn.Linear(n, latent_dim)  # W_sigma, b_sigma
        self.h = nn.Linear(n, latent_dim)          # W_h, b_h

    def forward(self, x):
        hp = self.features(x)
        log_sigma = self.log_sigma(hp).clamp(LOG_SIGMA_MIN, LOG_SIGMA_MAX)
        return self.mu(hp), log_sigma.exp(), torch.sigmoid(self.h(hp))


class CDLMDecoder(nn.Module):
    """The source generator ``D_theta``, ``(B, d)`` -> ``(B, C, 28, 28)`` in (0, 1).

    Our choice (the paper uses UNIT's decoder): a small DCGAN-style generator,
    FC d -> 32x7x7 -> ReLU -> ConvT 4x4/2 -> 16x14x14 -> ReLU -> ConvT 4x4/2 -> Cx28x28 ->
    sigmoid (about 2 M multiply-adds per image, less than the encoder: the decoder runs on
    five batches per step). No batch norm: a BN + ReLU decoder can collapse to constant images
    (DESIGN.md, "Known pitfalls").
    """

    def __init__(self, latent_dim: int, out_channels: int):
        super().__init__()
        self.fc = nn.Linear(latent_dim, 32 * 7 * 7)
        self.net = nn.Sequential(
            nn.ReLU(),
            nn.Unflatten(1, (32, 7, 7)),
            nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1),            # 7 -> 14
            nn.ReLU(),
            nn.ConvTranspose2d(16, out_channels, 4, stride=2, padding=1),  # 14 -> 28
        )

    def logits(self, z):
        return self.net(self.fc(z))

    def forward(self, z):
        return torch.sigmoid(self.logits(z))


# ---------------------------------------------------------------------------------------------
# the method
# ---------------------------------------------------------------------------------------------

@dataclass
class CDLMConfig:
    batch_size: int = 64            # per domain (paper, Sec. 4: "The batch size is set to 64")
    latent_dim: int = 64            # d = dim of mu, sigma, h (our choice; the paper gives none)
    gamma1: float = 1.0             # weight of h_other in Eq. 1-2 (paper, Sec. 4)
    gamma2: float = 0.1             # weight of eps in Eq. 1-2 (paper, Sec. 4)
    lambda1: float = 1e-4           # weight of L_KL in the phi update, Eq. 21 (paper, Sec. 4)
    lambda2: float = 1e-4           # weight of L_Rec in the phi update, Eq. 21 (paper, Sec. 4)
    beta1: float = 1.0              # weight of L_c^s, Eq. 20. Paper (Sec. 4): 0.1 with its own,
                                    # unstated loss scales; x10 chosen on held-out target-train
                                    # with ours (0.836 vs 0.826 at the paper's; docs/methods-cdlm.md,
                                    # "Issue 13 ablations")
    beta2: float = 0.1              # weight of L_c^t, Eq. 20. Paper: 0.01; x10 as beta1
    mode: Literal["full", "pm1", "pm2", "none"] = "full"  # modulation: Eq. 1-2 / 11 / 15 / VAE
    consistency: Literal["both", "source", "target", "none"] = "both"  # L_c terms (Table 3)
    lc_to_phi: bool = False         # L_c (Eq. 20) also reaches the encoder phi through z_st,
                                    # z_ts and h (our reading test, docs/methods-cdlm.md;
                                    # False = Eq. 21-22 as printed: L_c updates theta only)
    classifier: Literal["h", "image"] = "h"  # the joint task classifier theta_T (Sec. 4.2):
                                    # "h" = a softmax layer C on h (our earlier reading);
                                    # "image" = a separate LeNet image classifier T on real
                                    # source images and on the generations x~_s, the target
                                    # read out as T(D(gamma1 h_t)) (Sec. 3.2.4, "a supervised
                                    # classifier trained on the source images ... can also be
                                    # applied"; UNIT's digit classifier is an image classifier;
                                    # issue 22's reading (a), docs/methods-cdlm.md)
    lambda_cls: float = 1.0         # weight of the task classifier's CE on the real source
                                    # images (on h_s for "h", on x_s for "image"; our choice)
    lambda_gen: float = 1.0         # weight of its CE on the generation x~_s = D(gamma1 h_s +
                                    # gamma2 eps), reaching phi and theta ("joint", Sec. 4.2;
                                    # our reading; 0 = classifier on h_s only)
    lambda_adv: float = 1.0         # weight of L_adv in Eq. 21 (paper: 1, no weight written)
    grl_gamma: float = 10.0         # GRL warm-up 2/(1+exp(-g p))-1 (our choice: DANN, JMLR 2016)
    disc_hidden: int = 100          # width of the 2-layer MLP discriminator (paper: 2 layers;
                                    # width ours, as DANN)
    lr_phi: float = 0.01            # eta1, SGD (paper: SGD with momentum, no value; DANN's)
    lr_alpha: float = 10.0          # eta1 annealing mu0/(1+alpha p)^beta (our choice: DANN's)
    lr_beta: float = 0.75           # (our choice: DANN's)
    momentum: float = 0.9           # SGD momentum for phi (our choice: DANN's value)
    weight_decay: float = 5e-4      # for phi (our choice, as the source_only baseline)
    lr_theta: float = 1e-3          # eta2, Adam (paper: Adam, no value; our choice)
    h_mean_decay: float = 0.95      # decay of the running means of h_s, h_t kept for inference
                                    # (was `ema`, which collided with fit's --ema; issue 23)

    RENAMED = {"ema": "h_mean_decay"}  # runs saved under the old name load


class CDLM(Method):
    """Cross-domain latent modulation (Hou et al.). See the module docstring for the math.

    Sub-networks: ``E`` (:class:`CDLMEncoder`, phi), ``D`` (:class:`CDLMDecoder`, theta),
    ``Xi`` (domain discriminator on ``h``, behind gradient reversal) and ``C`` (the joint task
    classifier on ``h``; as an image classifier it is ``x -> C(h(x))``). ``Xi`` and ``C`` are
    updated with phi by SGD; ``D`` alone by Adam.
    """

    name = "cdlm"
    paper_results = (
        {"task": "MNIST->USPS (full sets)", "accuracy": 0.961, "source": "CDLM, Table 2"},
        {"task": "USPS->MNIST (full sets)", "accuracy": 0.983, "source": "CDLM, Table 2"},
        {"task": "MNIST->MNIST-M (full sets)", "accuracy": 0.987, "source": "CDLM, Table 2"})
    paper = ("Hou, Deng, Ding & Cranefield, Variational Transfer Learning using Cross-Domain "
             "Latent Modulation (journal version of WACV 2021)")
    summary = ("VAE whose reparameterisation is modulated by the other domain's deep features; "
               "targets are rendered in source style and classified.")
    Config = CDLMConfig
    capabilities = frozenset({"encode", "translate", "reconstruct"})
    translate_to = frozenset({"source"})  # one decoder, for the source domain (Sec. 3.2.4)
    equation = r"z_{st}=\mu_s+\sigma_s\odot(\gamma_1 h_t+\gamma_2\epsilon)\quad(1)"
    input_kinds = frozenset({"image"})  # 28x28 images only (raises ValueError otherwise)
    default_steps = 3000

    def __init__(self, config=None, *, input_shape, num_classes):
        super().__init__(config, input_shape=input_shape, num_classes=num_classes)
        cfg = self.config
        if len(self.input_shape) != 3 or self.input_shape[1:] != (28, 28):
            raise ValueError(f"cdlm supports 28x28 images (C, 28, 28) only, got input shape "
                             f"{self.input_shape}: its decoder renders images, so 2-D points "
                             "are not supported")
        if cfg.mode not in MODES:
            raise ValueError(f"mode={cfg.mode!r}; valid: {', '.join(MODES)}")
        if cfg.consistency not in CONSISTENCY:
            raise ValueError(f"consistency={cfg.consistency!r}; valid: {', '.join(CONSISTENCY)}")
        if cfg.classifier not in CLASSIFIERS:
            raise ValueError(f"classifier={cfg.classifier!r}; valid: {', '.join(CLASSIFIERS)}")
        if cfg.gamma1 < 0 or cfg.gamma2 < 0:
            raise ValueError(f"gamma1, gamma2 must be >= 0, got {cfg.gamma1}, {cfg.gamma2}")
        c, d = self.input_shape[0], cfg.latent_dim
        self.E = CDLMEncoder(c, d)
        self.D = CDLMDecoder(d, c)
        self.Xi = domain_discriminator(d, cfg.disc_hidden)
        # a softmax layer on h: the sigmoid layer of h already is the hidden layer (our
        # choice; an MLP behind the sigmoid barely moves in the first hundreds of steps)
        self.C = nn.Linear(d, self.num_classes)
        if cfg.classifier == "image":  # theta_T: an image classifier (DANN's LeNet + MLP)
            self.T = nn.Sequential(LeNetFeatures(c), make_classifier(LeNetFeatures(c)
                                                                     .out_features,
                                                                     self.num_classes))
        # running means of h per domain: inference has no partner image to modulate with
        self.register_buffer("h_mean_s", torch.full((d,), 0.5))
        self.register_buffer("h_mean_t", torch.full((d,), 0.5))

    def configure_optimizers(self):
        """Eq. 21-22: phi (encoder, discriminator, classifier) by SGD with momentum, theta
        (the decoder) by Adam."""
        cfg = self.config
        phi = [*self.E.parameters(), *self.Xi.parameters(), *self.C.parameters()]
        if cfg.classifier == "image":  # theta_T, learned jointly with phi (Sec. 4.2)
            phi += list(self.T.parameters())
        return {"phi": torch.optim.SGD(phi, lr=cfg.lr_phi, momentum=cfg.momentum,
                                       weight_decay=cfg.weight_decay),
                "theta": torch.optim.Adam(self.D.parameters(), lr=cfg.lr_theta)}

    def lr_schedules(self):
        """eta1 anneals as DANN's ``mu_0 / (1 + alpha p)^beta``; eta2 (Adam) is constant."""
        cfg = self.config
        return {"phi": lambda p: dann_annealing(p, cfg.lr_alpha, cfg.lr_beta)}

    # -- training ------------------------------------------------------------------------
    def _gen_code(self, h: torch.Tensor, eps: torch.Tensor | None) -> torch.Tensor:
        """``gamma1 h + gamma2 eps``: the code of the generation ``x~ = D(.)`` (Eq. 20)."""
        cfg = self.config
        return cfg.gamma1 * h if eps is None else cfg.gamma1 * h + cfg.gamma2 * eps

    def _kl(self, mu, sigma, h_other, sigma_other) -> torch.Tensor:
        """``KL(q(z) || N(0, I))`` per sample, with the moments of Eq. 3-4 (full mode: the
        other domain's h enters through its batch mean and std) or of Sec. 3.2.3."""
        cfg = self.config
        mu_h = h_other.mean(0) if h_other is not None else None
        sigma_h = h_other.std(0) if h_other is not None else None
        m, s = modulation_moments(mu, sigma, mu_h, sigma_h, cfg.gamma1, cfg.gamma2, cfg.mode,
                                  sigma_other)
        return gaussian_kl(m, s.clamp_min(1e-6))

    def loss(self, x_s, y_s, x_t, step, y_t=None):
        """Eq. 18-24 and the joint classifier as one loss: the default ``train_step`` makes one
        update of phi (SGD, DANN's annealing) and theta (Adam) by it, Eq. 21-22 in one
        backward pass."""
        cfg = self.config
        p = self.progress(step)
        lambda_p = grl_lambda(p, cfg.grl_gamma)
        n_s = len(x_s)

        mu, sigma, h = self.E(torch.cat([x_s, x_t]))
        mu_s, mu_t, sigma_s, sigma_t = mu[:n_s], mu[n_s:], sigma[:n_s], sigma[n_s:]
        h_s, h_t = h[:n_s], h[n_s:]
        with torch.no_grad():
            self.h_mean_s.lerp_(h_s.mean(0), 1.0 - cfg.h_mean_decay)
            self.h_mean_t.lerp_(h_t.mean(0), 1.0 - cfg.h_mean_decay)

        # Eq. 1-2 (or 11 / 15 / plain VAE): the i-th source image is modulated by the i-th
        # target image of the batch and vice versa (cycled if the two sizes differ)
        i_t = torch.arange(n_s, device=h.device) % len(x_t)
        i_s = torch.arange(len(x_t), device=h.device) % n_s
        eps_st, eps_ts = torch.randn_like(mu_s), torch.randn_like(mu_t)
        z_st = modulate(mu_s, sigma_s, h_t[i_t], eps_st, cfg.gamma1, cfg.gamma2, cfg.mode,
                        sigma_t[i_t])
        z_ts = modulate(mu_t, sigma_t, h_s[i_s], eps_ts, cfg.gamma1, cfg.gamma2, cfg.mode,
                        sigma_s[i_s])

        # Decoder inputs, decoded in one batch. Eq. 21-22 in one backward pass: L_Rec reaches
        # phi scaled by lambda2 (_scale_grad) and theta with weight 1; L_c reaches theta only
        # (its codes are detached) unless lc_to_phi.
        use_s = cfg.consistency in ("both", "source")
        use_t = cfg.consistency in ("both", "target")
        lc = (lambda c: c) if cfg.lc_to_phi else (lambda c: c.detach())  # L_c reaches phi?
        codes = {"rec": _scale_grad(z_st, cfg.lambda2)}
        if use_s:
            codes["st"] = lc(z_st)
        if use_s or cfg.lambda_gen > 0:  # x~_s = D(gamma1 h_s + gamma2 eps)
            codes["gen_s"] = lc(self._gen_code(h_s, torch.randn_like(h_s)))
        if use_t:
            codes["ts"] = lc(z_ts)
            codes["gen_t"] = lc(self._gen_code(h_t, torch.randn_like(h_t)))
        logits = dict(zip(codes, self.D.logits(torch.cat(list(codes.values()))).split(
            [len(c) for c in codes.values()])))
        # Eq. 18, first term: Bernoulli log-likelihood of x_s, summed over pixels
        loss_rec = F.binary_cross_entropy_with_logits(logits["rec"], x_s, reduction="sum") / n_s
        img = {k: torch.sigmoid(v) for k, v in logits.items() if k != "rec"}
        out = {}
        loss_c = loss_rec.new_zeros(())
        if use_s:  # Eq. 20: ||D(z_st) - D(gamma1 h_s + gamma2 eps)||^2, summed over pixels
            loss_c_s = ((img["st"] - img["gen_s"]) ** 2).sum() / n_s
            loss_c = loss_c + cfg.beta1 * loss_c_s
            out["loss_c_s"] = loss_c_s.item()
        if use_t:  # Eq. 20: ||D(z_ts) - D(gamma1 h_t + gamma2 eps)||^2
            loss_c_t = ((img["ts"] - img["gen_t"]) ** 2).sum() / len(x_t)
            loss_c = loss_c + cfg.beta2 * loss_c_t
            out["loss_c_t"] = loss_c_t.item()

        # Eq. 18: KL of z_st and z_ts to N(0, I)
        loss_kl = (self._kl(mu_s, sigma_s, h_t, sigma_t[i_t]).mean()
                   + self._kl(mu_t, sigma_t, h_s, sigma_s[i_s]).mean())
        # Eq. 19 / 24 through gradient reversal: Xi descends, E ascends
        d = self.Xi(grad_reverse(h, lambda_p)).squeeze(1)
        loss_adv = domain_adversarial_loss(d[:n_s], d[n_s:])
        # joint task classifier (Sec. 4.2) on h_s and on the re-encoded generation x~_s: the
        # test mode classifies generations (Sec. 3.2.4), so it learns on them too
        loss_gen = loss_rec.new_zeros(())
        if cfg.classifier == "h":
            loss_cls = F.cross_entropy(self.C(h_s), y_s)
            if cfg.lambda_gen > 0:  # reaches theta (through x~_s) and phi (re-encoding, C)
                loss_gen = F.cross_entropy(self.C(self.E(img["gen_s"])[2]), y_s)
        else:  # theta_T on real source images and on x~_s (reaches theta and phi through h_s)
            logits_t = self.T(torch.cat([x_s, img["gen_s"]]) if cfg.lambda_gen > 0 else x_s)
            loss_cls = F.cross_entropy(logits_t[:n_s], y_s)
            if cfg.lambda_gen > 0:
                loss_gen = F.cross_entropy(logits_t[n_s:], y_s)
        if cfg.lambda_gen > 0:
            out["loss_gen"] = loss_gen.item()

        # one backward pass = Eq. 21 (phi) + Eq. 22 (theta) + the joint classifier
        loss = (cfg.lambda_adv * loss_adv + cfg.lambda1 * loss_kl + loss_rec + loss_c
                + cfg.lambda_cls * loss_cls + cfg.lambda_gen * loss_gen)
        # "loss": the value of that sum, with L_Rec counted once for theta and lambda2 for phi
        total = loss.item() + cfg.lambda2 * loss_rec.item()
        return loss, {"loss": total, "loss_rec": loss_rec.item(), "loss_kl": loss_kl.item(),
                      "loss_adv": loss_adv.item(), "loss_cls": loss_cls.item(), **out,
                      "sigma_mean": sigma.mean().item(), "lambda_p": lambda_p}

    # -- inference -----------------------------------------------------------------------
    def _check_domain(self, domain: str) -> None:
        if domain not in ("source", "target"):
            raise ValueError(f"domain={domain!r}; valid: source, target")

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The source generator ``D_theta``: codes ``(B, d)`` -> source-style images
        ``(B, C, 28, 28)`` in (0, 1); e.g. ``D(z_ts)`` of Eq. 2 or ``D(gamma1 h + gamma2 eps)``
        of Eq. 20."""
        return self.D(z)

    def generate(self, h: torch.Tensor) -> torch.Tensor:
        """``x~ = D(gamma1 h)``: the source-style generation of Eq. 20 at eps = 0 (inference
        is deterministic; Table 6 shows gamma2 = 0 gives the same accuracy)."""
        return self.D(self._gen_code(h, None))

    def translate(self, x: torch.Tensor, to: str = "source", via: str = "h") -> torch.Tensor:
        """Target image -> source-style image ``(B, C, 28, 28)`` (Sec. 3.2.4).

        ``via="h"`` (default, the paper's test mode): ``x~_ts = D(gamma1 h_t)``.
        ``via="z"``: ``x^_ts = D(z_ts)`` with ``z_ts`` from Eq. 2 at eps = 0, where the partner
        ``h_s`` (``sigma_s`` for PM1/PM2) is the running mean over the source training batches.
        ``to="target"`` is refused: CDLM learns a decoder for the source domain only.
        """
        if to != "source":
            raise ValueError(f"to={to!r}: CDLM has a decoder for the source domain only, so it "
                             "translates target images to source style (to='source'); there is "
                             "no target decoder to render to='target'")
        if via not in ("h", "z"):
            raise ValueError(f"via={via!r}; valid: h, z")
        mu, sigma, h = self.E(x)
        if via == "h":
            return self.generate(h)
        return self.D(self._code_with_mean_partner(mu, sigma, self.h_mean_s))

    def _code_with_mean_partner(self, mu, sigma, h_partner):
        cfg = self.config
        # PM1 / PM2 need the partner's sigma; we have no running sigma, use the own one (our
        # choice: at eps = 0 they reduce to mu anyway)
        return modulate(mu, sigma, h_partner.expand_as(mu), torch.zeros_like(mu), cfg.gamma1,
                        cfg.gamma2, cfg.mode, sigma)

    def reconstruct(self, x: torch.Tensor, domain: str = "source") -> torch.Tensor:
        """``D(z)`` with ``z`` from Eq. 1 (source: ``x^_s = D(z_st)``) or Eq. 2 (target:
        ``x^_ts = D(z_ts)``, necessarily in source style), at eps = 0 and with the other
        domain's running-mean ``h`` as the partner."""
        self._check_domain(domain)
        mu, sigma, _ = self.E(x)
        partner = self.h_mean_t if domain == "source" else self.h_mean_s
        return self.D(self._code_with_mean_partner(mu, sigma, partner))

    def encode(self, x: torch.Tensor, domain: str = "target") -> Latent:
        """``Latent(h, mu, sigma)``, each ``(B, d)``; the encoder is shared by both domains."""
        self._check_domain(domain)
        mu, sigma, h = self.E(x)
        return Latent(h=h, mu=mu, sigma=sigma)

    def classify_features(self, h: torch.Tensor) -> torch.Tensor:
        """The task classifier ``C`` on deep features ``h`` ``(B, d)`` (from :meth:`encode`):
        logits ``(B, K)``."""
        return self.C(h)

    def classify_h(self, x: torch.Tensor) -> torch.Tensor:
        """The softmax layer on the deep representation: ``C(h(x))``, logits ``(B, K)``
        (trained only with ``classifier="h"``)."""
        return self.C(self.E(x)[2])

    def classify_image(self, x: torch.Tensor) -> torch.Tensor:
        """The joint task classifier theta_T on images ``(B, C, 28, 28)``: ``T(x)`` with
        ``classifier="image"``, else ``C(h(x))``; logits ``(B, K)``."""
        return self.T(x) if self.config.classifier == "image" else self.classify_h(x)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The paper's test mode (Sec. 3.2.4): the task classifier on ``x~_ts = D(gamma1 h_t)``."""
        return self.classify_image(self.translate(x, "source", via="h"))

    def extra_predictors(self) -> dict:
        """``h``: ``C`` on ``h_t`` directly (``classifier="h"``) or ``T`` on the raw target
        image (``"image"``); ``zts``: the task classifier on ``D(z_ts)`` (Eq. 2)."""
        direct = self.classify_h if self.config.classifier == "h" else self.T
        return {"h": direct,
                "zts": lambda x: self.classify_image(self.translate(x, "source", via="z"))}
