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
    "InverseAutoregressive": (lambda dtype: layers.InverseAutoregressive((8,), dtype=dtype), (3,), None),
    "InverseAutoregressive-context": (
        lambda dtype: layers.InverseAutoregressive((8, 8), context_shape=(2,), dtype=dtype),
        (3,),
        (2,),
    ),
    "AdditiveCoupling": (lambda dtype: layers.AdditiveCoupling((8,), reverse_mask=True, dtype=dtype), (3,), None),
    "AdditiveCoupling-context": (
        lambda dtype: layers.AdditiveCoupling((8,), context_shape=(2,), dtype=dtype),
        (4,),
        (2,),
    ),
    "Affine": (lambda dtype: layers.Affine(dtype=dtype), (3,), None),
    "LULinear": (lambda dtype: layers.LULinear(dtype=dtype), (4,), None),
    "LULinear-permuted": (lambda dtype: layers.LULinear(permutation=[1, 2, 0], dtype=dtype), (3,), None),
    "SplineCoupling": (lambda dtype: layers.SplineCoupling((8,), num_bins=4, bound=2.0, dtype=dtype), (3,), None),
    "SplineCoupling-context": (
        lambda dtype: layers.SplineCoupling((8,), reverse_mask=True, num_bins=3, context_shape=(2,), dtype=dtype),
        (4,),
        (2,),
    ),
    "MaskedSplineAutoregressive": (
        lambda dtype: layers.MaskedSplineAutoregressive((8,), num_bins=4, bound=2.0, dtype=dtype),
        (3,),
        None,
    ),
    "MaskedSplineAutoregressive-context": (
        lambda dtype: layers.MaskedSplineAutoregressive((8,), num_bins=3, context_shape=(1,), dtype=dtype),
        (2,),
        (1,),
    ),
    "Permute": (lambda dtype: layers.Permute([2, 0, 1], dtype=dtype), (3,), None),
    "Reverse": (lambda dtype: layers.Reverse(dtype=dtype), (3,), None),
}

# Entries whose inverse or log-det comes from a numerical solver: the absolute and relative
# tolerance they meet in the contract tests (exact entries meet 1e-9 in float64, 2e-4 in float32).
TOLERANCES: dict[str, float] = {}

# Entries that start as a fixed permutation rather than the identity.
PERMUTATIONS = {"Permute", "Reverse", "LULinear-permuted"}

PRESETS = {
    "MAF": (lambda dtype: kf.MAF([3], num_flows=2, hidden_units=(8, 8), dtype=dtype), (3,), None),
    "MAF-context": (
        lambda dtype: kf.MAF([2], num_flows=2, hidden_units=(8,), context_shape=[3], dtype=dtype),
        (2,),
        (3,),
    ),
    "IAF": (lambda dtype: kf.IAF([3], num_flows=2, hidden_units=(8,), dtype=dtype), (3,), None),
    "NICE": (lambda dtype: kf.NICE([4], num_flows=2, hidden_units=(8,), dtype=dtype), (4,), None),
    "NSF": (lambda dtype: kf.NSF([3], num_flows=2, hidden_units=(8,), num_bins=4, dtype=dtype), (3,), None),
    "NSF-autoregressive": (
        lambda dtype: kf.NSF([3], num_flows=2, hidden_units=(8,), num_bins=4, autoregressive=True, dtype=dtype),
        (3,),
        None,
    ),
    "RealNVP": (lambda dtype: kf.RealNVP([4], num_flows=3, hidden_units=(8, 8), dtype=dtype), (4,), None),
    "RealNVP-context": (
        lambda dtype: kf.RealNVP([3], num_flows=2, hidden_units=(8,), context_shape=[1], dtype=dtype),
        (3,),
        (1,),
    ),
}
