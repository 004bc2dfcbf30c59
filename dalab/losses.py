"""Pure loss functions (torch only), shared by training, analysis and the app.

One implementation per quantity: the Gaussian KL (:func:`gaussian_kl`, on
``torch.distributions``) and the sliced Wasserstein distance (:func:`sliced_wasserstein`) are
used by the methods for training and by :mod:`dalab.analysis` for the numbers the app shows.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

SOURCE, TARGET = 1.0, 0.0  # domain-label convention (DESIGN.md): source = 1, target = 0


def domain_adversarial_loss(d_s: torch.Tensor, d_t: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of a domain discriminator's logits: source -> 1, target -> 0.

    Mean over the two halves, so equal batch sizes weigh the domains equally (DANN Eq. 9's
    domain term, averaged instead of summed over samples).
    """
    return 0.5 * (F.binary_cross_entropy_with_logits(d_s, torch.full_like(d_s, SOURCE))
                  + F.binary_cross_entropy_with_logits(d_t, torch.full_like(d_t, TARGET)))


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean Shannon entropy (nats) of the softmax of ``logits`` ``(N, K)``."""
    logp = F.log_softmax(logits, dim=1)
    return -(logp.exp() * logp).sum(dim=1).mean()


def gaussian_kl(mu_p: torch.Tensor, sigma_p: torch.Tensor, mu_q: torch.Tensor | float = 0.0,
                sigma_q: torch.Tensor | float = 1.0) -> torch.Tensor:
    """``KL(N(mu_p, sigma_p^2) || N(mu_q, sigma_q^2))`` of diagonal Gaussians, summed over the
    last axis (CDLM Eq. 7); the defaults give the KL to the prior N(0, I) of a VAE (CDLM Eq. 18,
    the bridge's Eq. 1). ``sigma`` is a standard deviation. Differentiable; computed by
    ``torch.distributions.kl_divergence`` of two ``Normal`` (no argument validation, so a
    zero sigma gives inf rather than an exception)."""
    mu_p = torch.as_tensor(mu_p)
    sigma_p = torch.as_tensor(sigma_p, dtype=mu_p.dtype, device=mu_p.device)
    mu_q = torch.as_tensor(mu_q, dtype=mu_p.dtype, device=mu_p.device)
    sigma_q = torch.as_tensor(sigma_q, dtype=mu_p.dtype, device=mu_p.device)
    p = torch.distributions.Normal(mu_p, sigma_p, validate_args=False)
    q = torch.distributions.Normal(mu_q, sigma_q, validate_args=False)
    return torch.distributions.kl_divergence(p, q).sum(-1)


def random_projections(dim: int, n_projections: int, generator: torch.Generator | None = None,
                       device=None, dtype=torch.float32) -> torch.Tensor:
    """``n_projections`` directions uniform on the unit sphere ``S^{dim-1}``: ``(dim, n)``
    (the layout of POT's ``get_random_projections``)."""
    w = torch.randn(dim, n_projections, generator=generator, device=device, dtype=dtype)
    return w / w.norm(dim=0, keepdim=True).clamp_min(1e-12)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, n_projections: int = 1024,
                       generator: torch.Generator | None = None, *, p: int = 2,
                       projections: torch.Tensor | None = None,
                       match_sizes: bool = False) -> torch.Tensor:
    """Sliced Wasserstein distance to the p-th power (Bonneel et al. 2015; Deshpande et al.
    2018; the bridging paper's Eq. 2)::

        SW_p^p = 1/|Omega| sum_w W_p^p(Proj(a, w), Proj(b, w))

    with ``Omega`` random unit directions; in 1-D the optimal coupling pairs sorted values, so
    ``W_p^p = mean_i |sort(a w)_i - sort(b w)_i|^p``. Equal batch sizes pair sorted values
    directly; with ``match_sizes`` unequal ones are compared through ``max(N_a, N_b)``
    linearly interpolated quantiles (analysis), else they are an error (training batches). This is POT's ``ot.sliced_wasserstein_distance(a, b, p=p) ** p`` (POT returns
    the p-th root; the tests check ours against it). Our own rather than POT's because POT is
    not a runtime dependency and this one runs on the training device in the autograd graph.

    ``a, b``: ``(N, D)`` and ``(M, D)``; ``projections``: optional fixed ``(D, n)`` directions
    (then ``n_projections`` and ``generator`` are ignored). Returns a scalar tensor.
    """
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1] or (
            not match_sizes and a.shape != b.shape):
        raise ValueError(f"sliced_wasserstein needs two (N, D) batches of one shape (or "
                         f"match_sizes=True); got {tuple(a.shape)} and {tuple(b.shape)}")
    if projections is None:
        projections = random_projections(a.shape[1], n_projections, generator,
                                         device=a.device, dtype=a.dtype)
    pa = torch.sort(a @ projections, dim=0).values
    pb = torch.sort(b @ projections, dim=0).values
    if len(pa) != len(pb):
        q = torch.linspace(0, 1, max(len(pa), len(pb)), dtype=pa.dtype, device=pa.device)
        pa, pb = torch.quantile(pa, q, dim=0), torch.quantile(pb, q, dim=0)
    return (pa - pb).abs().pow(p).mean()
