"""Feature extractors and classifiers.

Digit tasks use one LeNet-style backbone everywhere: the MNIST architecture of Ganin et al.
(JMLR 2016, DANN, Sec. 5.2.2 / Fig. 4), which MCD and DFA's digit experiments also build on:

    conv 5x5, 32 -> max-pool 2 -> ReLU -> conv 5x5, 48 -> max-pool 2 -> ReLU -> flatten (768)
    label predictor:  FC 100 -> ReLU -> FC 100 -> ReLU -> FC classes
    domain classifier (DANN): FC 100 -> ReLU -> FC 1

Inputs in [0, 1] are centred to [-1, 1] inside the network (``(x - 0.5) / 0.5``), so every
method sees the same data and no method can forget to normalise. 2-D toy domains use a small
MLP instead (``MLPFeatures``).
"""
from __future__ import annotations

from torch import nn

from .pool import MaxPool2d

LENET_FEATURES = 48 * 4 * 4  # 768


class LeNetFeatures(nn.Module):
    """``(N, C, 28, 28)`` -> ``(N, 768)``."""

    def __init__(self, in_channels: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 32, 5)   # 28 -> 24
        self.pool1 = MaxPool2d(2)                    # 24 -> 12
        self.conv2 = nn.Conv2d(32, 48, 5)            # 12 -> 8
        self.pool2 = MaxPool2d(2)                    # 8 -> 4
        self.act = nn.ReLU()
        self.out_features = LENET_FEATURES

    def forward(self, x):
        x = (x - 0.5) / 0.5
        x = self.act(self.pool1(self.conv1(x)))
        x = self.act(self.pool2(self.conv2(x)))
        return x.flatten(1)


class MLPFeatures(nn.Module):
    """``(N, D)`` points -> ``(N, hidden)``; for the 2-D toy domains."""

    def __init__(self, in_features: int = 2, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden), nn.ReLU())
        self.out_features = hidden

    def forward(self, x):
        return self.net(x)


def make_features(input_shape: tuple[int, ...]) -> nn.Module:
    """LeNet for ``(C, 28, 28)`` images, an MLP for ``(D,)`` points."""
    if len(input_shape) == 3:
        return LeNetFeatures(input_shape[0])
    if len(input_shape) == 1:
        return MLPFeatures(input_shape[0])
    raise ValueError(f"unsupported input shape {input_shape}: expected (C, H, W) or (D,)")


def domain_discriminator(in_features: int, hidden: int = 100) -> nn.Sequential:
    """DANN's domain classifier: FC hidden -> ReLU -> FC 1 (a logit: source vs target). The
    one discriminator of features behind gradient reversal (DANN's D, CDLM's Xi)."""
    return nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, 1))


def make_classifier(in_features: int, num_classes: int, hidden: int = 100) -> nn.Sequential:
    """DANN's label predictor: FC hidden -> ReLU -> FC hidden -> ReLU -> FC classes."""
    return nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(),
                         nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, num_classes))
