"""Building blocks shared by the methods (torch only)."""
from .augment import random_affine
from .averaging import WeightAverage
from .backbones import (LeNetFeatures, MLPFeatures, domain_discriminator, make_classifier,
                        make_features)
from .grl import GradientReversal, grl_lambda, grad_reverse
from .norm import DomainBatchNorm, DomainBatchNorm2d, bn_domain
from .pool import MaxPool2d, max_pool2d
from .schedules import dann_annealing

__all__ = ["DomainBatchNorm", "DomainBatchNorm2d", "GradientReversal", "LeNetFeatures",
           "MLPFeatures", "MaxPool2d", "bn_domain", "dann_annealing", "grad_reverse",
           "grl_lambda", "domain_discriminator", "make_classifier", "make_features", "max_pool2d",
           "random_affine", "WeightAverage"]
