"""Networks that follow the model protocol (:mod:`tensorlib.models`), one module per architecture.

* :mod:`~tensorlib.networks.base` -- :class:`Network`: seeded weights per field, validated evaluation;
* :mod:`~tensorlib.networks.simple` -- products of linear forms and sums of them (the CP model);
* :mod:`~tensorlib.networks.pair_values` -- the algebra of the fast grid-matrix kernels: hidden values
  on every pair of samples, held one-sided, factored or per pair;
* :mod:`~tensorlib.networks.convac` -- shallow and deep convolutional arithmetic circuits, with the
  fast grid-matrix kernel in :mod:`~tensorlib.networks.convac_grid`;
* :mod:`~tensorlib.networks.overlap` -- ConvACs with overlapping receptive fields;
* :mod:`~tensorlib.networks.rectifier` -- ReLU networks with max or average pooling (float64 only);
* :mod:`~tensorlib.networks.rac` -- recurrent arithmetic circuits of any depth;
* :mod:`~tensorlib.networks.attention` -- softmax-free self-attention.

Every network takes its ``rank_upper_bound`` from :mod:`tensorlib.bounds`.
"""

from .attention import SelfAttention
from .base import Network
from .convac import DeepConvAC, ShallowConvAC
from .overlap import OverlappingConvAC
from .rac import RAC
from .rectifier import DeepRectifierNet, ShallowRectifierNet
from .simple import ProductOfLinearForms, SumOfProducts

__all__ = ["DeepConvAC", "DeepRectifierNet", "Network", "OverlappingConvAC", "ProductOfLinearForms", "RAC", "SelfAttention",
           "ShallowConvAC", "ShallowRectifierNet", "SumOfProducts"]
