"""Every flow layer and preset, as small instances for the contract tests.

Add a layer or preset here and it gets the whole contract suite.
Each entry maps a name to `(constructor, event_shape, context_shape)`; the
constructor takes the dtype name.
"""

import kerasflows as kf
from kerasflows import layers

FLOW_LAYERS = {
    "MaskedAutoregressive": (lambda dtype: layers.MaskedAutoregressive((8, 8), dtype=dtype), (3,), None),
    "MaskedAutoregressive-random-order": (
        lambda dtype: layers.MaskedAutoregressive((8,), input_order="random", dtype=dtype),
        (4,),
        None,
    ),
    "MaskedAutoregressive-context": (
        lambda dtype: layers.MaskedAutoregressive((8, 8), context_shape=(2,), dtype=dtype),
        (3,),
        (2,),
    ),
    "AffineCoupling": (lambda dtype: layers.AffineCoupling((8, 8), dtype=dtype), (3,), None),
    "AffineCoupling-reverse-mask": (
        lambda dtype: layers.AffineCoupling((8,), reverse_mask=True, dtype=dtype),
        (5,),
        None,
    ),
    "AffineCoupling-context": (
        lambda dtype: layers.AffineCoupling((8,), context_shape=(2, 2), dtype=dtype),
        (4,),
        (2, 2),
    ),
    "Permute": (lambda dtype: layers.Permute([2, 0, 1], dtype=dtype), (3,), None),
    "Reverse": (lambda dtype: layers.Reverse(dtype=dtype), (3,), None),
}

PRESETS = {
    "MAF": (lambda dtype: kf.MAF([3], num_flows=2, hidden_units=(8, 8), dtype=dtype), (3,), None),
    "MAF-context": (
        lambda dtype: kf.MAF([2], num_flows=2, hidden_units=(8,), context_shape=[3], dtype=dtype),
        (2,),
        (3,),
    ),
    "RealNVP": (lambda dtype: kf.RealNVP([4], num_flows=3, hidden_units=(8, 8), dtype=dtype), (4,), None),
    "RealNVP-context": (
        lambda dtype: kf.RealNVP([3], num_flows=2, hidden_units=(8,), context_shape=[1], dtype=dtype),
        (3,),
        (1,),
    ),
}
