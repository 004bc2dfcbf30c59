"""Source-only baseline: the backbone and label predictor trained on source labels alone.

The lower bound every adaptation method is compared against. It uses exactly DANN's
networks, optimizer and learning-rate schedule (Ganin et al., JMLR 2016, Sec. 5.2.2) with the
domain term removed, so "DANN minus source-only" measures the adversarial term and nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..nn import dann_annealing, make_classifier, make_features
from .base import Latent, Method


@dataclass
class SourceOnlyConfig:
    batch_size: int = 64        # per domain; DANN (JMLR 2016) used 128 = 64 source + 64 target
    lr: float = 0.01            # mu_0 of the annealing mu_p = mu_0 / (1 + alpha p)^beta (JMLR 2016)
    lr_alpha: float = 10.0      # alpha of the annealing (JMLR 2016, Sec. 5.2.2)
    lr_beta: float = 0.75       # beta of the annealing (JMLR 2016, Sec. 5.2.2)
    momentum: float = 0.9       # SGD momentum (JMLR 2016)
    weight_decay: float = 5e-4  # our choice: the paper does not state one; light, standard value


class SourceOnly(Method):
    name = "source_only"
    paper = "Baseline (networks and schedule of Ganin et al., JMLR 2016)"
    summary = "Train on labelled source data only; the lower bound."
    Config = SourceOnlyConfig
    capabilities = frozenset({"encode"})
    equation = r"\min_{f}\ \mathbb{E}_{(x,y)\sim S}\,\mathrm{CE}(f(x), y)"
    paper_results = ({"task": "MNIST->MNIST-M (59k/9k images)", "accuracy": 0.5225,
                      "source": "Ganin et al., JMLR 2016, Table 2, source only"},)

    def __init__(self, config=None, *, input_shape, num_classes):
        super().__init__(config, input_shape=input_shape, num_classes=num_classes)
        self.G = make_features(self.input_shape)  # feature extractor
        self.C = make_classifier(self.G.out_features, self.num_classes)  # label predictor

    def configure_optimizers(self):
        """SGD with momentum over every parameter (JMLR 2016, Sec. 5.2.2)."""
        c = self.config
        return {"sgd": torch.optim.SGD(self.parameters(), lr=c.lr, momentum=c.momentum,
                                       weight_decay=c.weight_decay)}

    def lr_schedules(self):
        """``mu_p = mu_0 / (1 + alpha p)^beta`` (JMLR 2016, Sec. 5.2.2)."""
        c = self.config
        return {"sgd": lambda p: dann_annealing(p, c.lr_alpha, c.lr_beta)}

    def loss(self, x_s, y_s, x_t, step, y_t=None):
        loss = F.cross_entropy(self.C(self.G(x_s)), y_s)
        return loss, {"loss_cls": loss.item()}

    def predict(self, x):
        return self.C(self.G(x))

    def encode(self, x, domain="target"):
        return Latent(h=self.G(x))
