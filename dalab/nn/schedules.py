"""Learning-rate schedules shared by the methods, as factors for ``LambdaLR``.

A method's ``lr_schedules()`` maps an optimizer name to ``factor(p)`` with ``p`` the training
progress in [0, 1]; ``Method.setup_optimizers`` wraps each in a
``torch.optim.lr_scheduler.LambdaLR`` whose step ``k`` (1-based, the step ``train_step``
receives) uses ``p = min(1, k / total_steps)``, exactly the rate the methods set by hand before
2026-12.
"""
from __future__ import annotations


def dann_annealing(p: float, alpha: float = 10.0, beta: float = 0.75) -> float:
    """``1 / (1 + alpha p)^beta``: the factor of Ganin et al.'s annealing
    ``mu_p = mu_0 / (1 + alpha p)^beta`` (JMLR 2016, Sec. 5.2.2; alpha 10, beta 0.75)."""
    return 1.0 / (1.0 + alpha * p) ** beta
