"""Closed-form statements of the theorems, to assert computed ranks against.

Each function returns the number a theorem gives, with the theorem named in its docstring; a bound
marked *[own derivation]* is not a paper's, and the book says so where it uses it. The functions
work on plain architecture descriptions (widths, windows, depth, tokens), never on network
weights, and the networks take their ``rank_upper_bound`` from here, so no theorem is written twice.

* :mod:`~tensorlib.bounds.formats` -- CP (sums of products), Tucker, tensor trains, power sums;
* :mod:`~tensorlib.bounds.convac` -- depth efficiency (COLT 2016), pooling geometry (ICLR 2017), rectifier networks;
* :mod:`~tensorlib.bounds.mincut` -- the tensor-network min-cut of width allocation (ICLR 2018);
* :mod:`~tensorlib.bounds.mode_trees` -- tilings of binary mode trees (mixed decompositions, ICLR 2018);
* :mod:`~tensorlib.bounds.overlap` -- ConvACs with overlapping receptive fields (our derivations);
* :mod:`~tensorlib.bounds.rac` -- Start--End separation ranks of recurrent arithmetic circuits;
* :mod:`~tensorlib.bounds.attention` -- softmax-free self-attention and the embedding rank.
"""

from .attention import (depth_efficiency_threshold, embedding_rank, one_hot_rank_upper_bound, self_attention_degree,
                        self_attention_depth1_rank, self_attention_rank_upper_bound)
from .convac import (ConvACArchitecture, convac_architecture, depth_efficiency_rank, intermediate_depth_width,
                     pooling_geometry_lower_bound, pooling_geometry_upper_bound, shallow_sum_pooling_rank_bound)
from .formats import (multilinear_rank_bound, power_sum_rank_upper_bound, sum_of_products_rank,
                      tensor_train_rank_upper_bound, tucker_rank_upper_bound)
from .mincut import interleaved_mincut, left_right_mincut, mincut, mincut_lower_bound
from .mode_trees import mode_tree_lower_bound, mode_tree_upper_bound, tiling
from .overlap import input_degrees, layer_positions, overlap_rank_upper_bound, receptive_fields
from .rac import (depth2_rac_start_end_lower_bound, depth2_rac_start_end_upper_bound, rac_cut_upper_bound,
                  rac_start_end_upper_bound, shallow_rac_start_end_rank)

__all__ = [
    "ConvACArchitecture", "convac_architecture", "depth2_rac_start_end_lower_bound", "depth2_rac_start_end_upper_bound",
    "depth_efficiency_rank", "depth_efficiency_threshold", "embedding_rank", "input_degrees", "interleaved_mincut",
    "intermediate_depth_width", "layer_positions", "left_right_mincut", "mincut", "mincut_lower_bound", "mode_tree_lower_bound",
    "mode_tree_upper_bound", "multilinear_rank_bound", "one_hot_rank_upper_bound", "overlap_rank_upper_bound", "pooling_geometry_lower_bound", "pooling_geometry_upper_bound",
    "power_sum_rank_upper_bound", "rac_cut_upper_bound", "receptive_fields", "rac_start_end_upper_bound", "self_attention_degree",
    "self_attention_depth1_rank", "self_attention_rank_upper_bound", "shallow_rac_start_end_rank",
    "shallow_sum_pooling_rank_bound",
    "sum_of_products_rank", "tensor_train_rank_upper_bound", "tucker_rank_upper_bound", "tiling",
]
