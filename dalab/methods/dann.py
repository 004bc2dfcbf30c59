"""DANN: domain-adversarial training of neural networks.

Ganin & Lempitsky, "Unsupervised Domain Adaptation by Backpropagation", ICML 2015; Ganin et
al., "Domain-Adversarial Training of Neural Networks", JMLR 17, 2016.

Networks (JMLR 2016, MNIST architecture): feature extractor ``G`` (LeNet-style, 768-d),
label predictor ``C`` (100-100-K) and domain classifier ``D`` (100-1) behind a gradient
reversal layer. Per step, with ``f_s = G(x_s)``, ``f_t = G(x_t)``::

    L = CE(C(f_s), y_s) + lambda_w * BCE(D(GRL_lambda_p(f)), d)     d: source 1, target 0

``lambda_p = 2 / (1 + exp(-10 p)) - 1`` ramps the reversal from 0 to 1 over training (the
warm-up of JMLR 2016, Sec. 5.2.2); the learning rate anneals as ``0.01 / (1 + 10 p)^0.75``
with SGD momentum 0.9 (same section). ``lambda_w`` (our name) scales the domain term; the paper
uses 1.

Shapes: ``x_s, x_t`` ``(B, C, 28, 28)``; ``f_s, f_t`` ``(B, 768)``; logits ``(B, K)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..losses import domain_adversarial_loss
from ..nn import domain_discriminator, grad_reverse, grl_lambda
from .source_only import SourceOnly, SourceOnlyConfig


@dataclass
class DANNConfig(SourceOnlyConfig):
    lambda_w: float = 1.0       # weight of the domain loss (JMLR 2016 uses 1)
    grl_gamma: float = 10.0     # gamma of lambda_p = 2/(1+exp(-gamma p)) - 1 (JMLR 2016)
    disc_hidden: int = 100      # domain classifier width (JMLR 2016, MNIST: 100 -> 1)


class DANN(SourceOnly):
    name = "dann"
    paper = "Ganin et al., Domain-Adversarial Training of Neural Networks, JMLR 2016"
    summary = "Gradient reversal makes source and target features indistinguishable."
    Config = DANNConfig
    equation = (r"\min_{F,C}\max_{D}\ \mathcal{L}_{y}(C(F(x_s)),y_s)"
                r"-\lambda\,\mathcal{L}_{d}(D(F(x)),\,d)")
    paper_results = ({"task": "MNIST->MNIST-M (59k/9k images)", "accuracy": 0.7666,
                      "source": "Ganin et al., JMLR 2016, Table 2"},)

    def __init__(self, config=None, *, input_shape, num_classes):
        super().__init__(config, input_shape=input_shape, num_classes=num_classes)
        self.D = domain_discriminator(self.G.out_features, self.config.disc_hidden)

    def loss(self, x_s, y_s, x_t, step, y_t=None):
        lambda_p = grl_lambda(self.progress(step), self.config.grl_gamma)
        f_s, f_t = self.G(x_s), self.G(x_t)
        loss_cls = F.cross_entropy(self.C(f_s), y_s)
        d = self.D(grad_reverse(torch.cat([f_s, f_t]), lambda_p)).squeeze(1)
        loss_dom = domain_adversarial_loss(d[:len(f_s)], d[len(f_s):])
        loss = loss_cls + self.config.lambda_w * loss_dom
        return loss, {"loss_cls": loss_cls.item(), "loss_dom": loss_dom.item(),
                      "lambda_p": lambda_p}
