"""Building blocks shared by the methods (torch only)."""
from .backbones import LeNetFeatures, MLPFeatures, make_classifier, make_features
from .grl import GradientReversal, grl_lambda, grad_reverse

__all__ = ["GradientReversal", "LeNetFeatures", "MLPFeatures", "grad_reverse", "grl_lambda",
           "make_classifier", "make_features"]
