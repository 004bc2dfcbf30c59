"""Target-only upper bound: the source-only networks trained on *target* labels.

Flagged ``uses_target_labels = True``: the one method that is allowed to see target training
labels (``fit`` asks the pair for them and the run records it). It is not domain adaptation;
it shows how far adaptation could go with the same networks and the same budget.
"""
from __future__ import annotations

import torch.nn.functional as F

from .source_only import SourceOnly


class TargetOnly(SourceOnly):
    name = "target_only"
    paper = "Upper bound (uses target labels; networks of Ganin et al., JMLR 2016)"
    summary = "Train on labelled target data: the upper bound (uses target labels)."
    uses_target_labels = True
    equation = r"\min_{f}\ \mathbb{E}_{(x,y)\sim T}\,\mathrm{CE}(f(x), y)"
    paper_results = ({"task": "MNIST->MNIST-M (59k/9k images)", "accuracy": 0.9596,
                      "source": "Ganin et al., JMLR 2016, Table 2, train on target"},)

    def loss(self, x_s, y_s, x_t, step, y_t=None):
        if y_t is None:
            raise ValueError("target_only needs target labels: fit() passes them because the "
                             "method declares uses_target_labels")
        loss = F.cross_entropy(self.C(self.G(x_t)), y_t)
        return loss, {"loss_cls": loss.item()}
