"""Networks that follow the model protocol, one module per architecture.

* ``tensorlib.networks.simple`` -- products of linear forms and sums of them (the CP model).
"""

from .base import Network
from .simple import ProductOfLinearForms, SumOfProducts

# Architecture modules register their classes below (one import line each).
from .attention import SelfAttention
from .convac import DeepConvAC, ShallowConvAC
from .rac import RAC

__all__ = ["RAC", "SelfAttention", "DeepConvAC", "ShallowConvAC", "Network", "ProductOfLinearForms", "SumOfProducts"]
