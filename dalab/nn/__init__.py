"""Building blocks shared by the methods (torch only)."""
from .backbones import LeNetFeatures, MLPFeatures, make_classifier, make_features
from .grl import GradientReversal, grl_lambda, grad_reverse
from .pool import MaxPool2d, max_pool2d
from .schedules import dann_annealing

__all__ = ["GradientReversal", "LeNetFeatures", "MLPFeatures", "MaxPool2d", "dann_annealing",
           "grad_reverse", "grl_lambda", "make_classifier", "make_features", "max_pool2d"]
