"""Every flow layer and preset, as small instances for the contract tests.

Add a layer or preset here and it gets the whole contract suite.
Each entry maps a name to `(constructor, event_shape, context_shape)`; the
constructor takes the dtype name.
"""

import keras

import kerasflows as kf
from kerasflows import layers

IMAGE = (4, 4, 2)


def _ode_tolerances(dtype: str) -> dict:
    """ODE solver tolerances: tight in float64, near the resolution of float32 otherwise."""
    tolerance = 1e-8 if dtype == "float64" else 1e-6
    return {"rtol": tolerance, "atol": tolerance}


def _grouped_made(layer):
    """`layer` with its MADE's outputs held parameter by parameter at any D (by default from 32 features on).

    A `.keras` round trip rebuilds it at the default, interleaved at this D: saved files keep one layout.
    """
    layer.grouped_output_from = 1
    return layer


FLOW_LAYERS = {
    "FFJORD": (lambda dtype: layers.FFJORD((8,), trace="exact", dtype=dtype, **_ode_tolerances(dtype)), (2,), None),
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
    "MaskedAutoregressive-grouped": (
        lambda dtype: _grouped_made(layers.MaskedAutoregressive((8,), context_shape=(2,), dtype=dtype)),
        (3,),
        (2,),
    ),
    "InverseAutoregressive": (lambda dtype: layers.InverseAutoregressive((8,), dtype=dtype), (3,), None),
    "InverseAutoregressive-grouped": (
        lambda dtype: _grouped_made(layers.InverseAutoregressive((8,), dtype=dtype)),
        (4,),
        None,
    ),
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
    # Image layers, on a tiny 4x4x2 image.
    "ActNorm": (lambda dtype: layers.ActNorm(dtype=dtype), IMAGE, None),
    "BatchNorm": (lambda dtype: layers.BatchNorm(dtype=dtype), IMAGE, None),
    "InvertibleConv1x1": (lambda dtype: layers.InvertibleConv1x1(seed=0, dtype=dtype), IMAGE, None),
    "AffineCoupling-image": (lambda dtype: layers.AffineCoupling((8, 8), dtype=dtype), IMAGE, None),
    "AffineCoupling-image-context": (
        lambda dtype: layers.AffineCoupling((8,), reverse_mask=True, context_shape=(3,), dtype=dtype),
        IMAGE,
        (3,),
    ),
    "AffineCoupling-image-checkerboard-context": (
        lambda dtype: layers.AffineCoupling((8,), mask="checkerboard", context_shape=(3,), dtype=dtype),
        IMAGE,
        (3,),
    ),
    "SplineCoupling-checkerboard": (
        lambda dtype: layers.SplineCoupling((8,), reverse_mask=True, num_bins=3, mask="checkerboard", dtype=dtype),
        (5,),
        None,
    ),
    "SplineCoupling-image": (lambda dtype: layers.SplineCoupling((8,), num_bins=3, dtype=dtype), IMAGE, None),
    "Squeeze": (lambda dtype: layers.Squeeze(dtype=dtype), IMAGE, None),
    "FactorOut": (
        lambda dtype: layers.FactorOut(
            [layers.AffineCoupling((8,), dtype=dtype), layers.Squeeze(dtype=dtype)], dtype=dtype
        ),
        IMAGE,
        None,
    ),
    "Dequantize": (lambda dtype: layers.Dequantize(4, dtype=dtype), IMAGE, None),
    "Logit": (lambda dtype: layers.Logit(dtype=dtype), IMAGE, None),
    "Planar": (lambda dtype: layers.Planar(dtype=dtype), (3,), None),
    "Radial": (lambda dtype: layers.Radial(dtype=dtype), (3,), None),
}

# Entries whose inverse or log-det comes from a numerical solver: the absolute and relative
# tolerance they meet in the contract tests (exact entries meet 1e-9 in float64, 2e-4 in float32).
TOLERANCES: dict[str, float] = {"FFJORD": 1e-6, "FFJORD-context": 1e-6}

# Entries that start as a fixed permutation rather than the identity.
PERMUTATIONS = {"Permute", "Reverse", "LULinear-permuted", "Squeeze", "FactorOut"}

# Entries that start as a random rotation (log-det 0, norms kept) rather than the identity.
ROTATIONS = {"InvertibleConv1x1"}

# Entries that are fixed maps other than the identity: the image preprocessing and the
# presets that begin with it (tests/test_images.py checks their formulas).
FIXED_MAPS = {"Dequantize", "Logit", "Glow"}

# Standard deviation of the noise added to each weight for the contract tests (0.3 unless listed): small
# enough that deep image flows stay away from the logit's saturation and sharp float32 splines.
WEIGHT_NOISE = {"Glow": 0.03, "SplineCoupling-image": 0.1}

# Presets whose `sample` rounds to integer pixels in [0, num_bins).
QUANTIZED = {"Glow"}

# Entries whose data side is an interval: contract inputs are drawn uniformly from it.
DATA_RANGES = {"Logit": (0.0, 1.0), "Glow": (-0.5, 3.5)}

PRESETS = {
    "FFJORD-context": (
        lambda dtype: kf.FFJORD(
            [2], hidden_units=(8,), context_shape=[1], trace="exact", dtype=dtype, **_ode_tolerances(dtype)
        ),
        (2,),
        (1,),
    ),
    "Glow": (
        lambda dtype: kf.Glow(IMAGE, num_levels=2, steps_per_level=1, hidden_channels=8, num_bins=4, dtype=dtype),
        IMAGE,
        None,
    ),
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
    "MAF-context-GaussianMixture": (
        lambda dtype: kf.MAF(
            [2],
            num_flows=2,
            hidden_units=(8,),
            context_shape=[2],
            base=kf.distributions.GaussianMixture([2], num_components=3, dtype=dtype),
            dtype=dtype,
        ),
        (2,),
        (2,),
    ),
    "Planar-Radial-DiagonalNormal": (
        lambda dtype: kf.FlowModel(
            [layers.Planar(dtype=dtype), layers.Radial(dtype=dtype), layers.Planar(dtype=dtype)],
            [3],
            base=kf.distributions.DiagonalNormal([3], dtype=dtype),
            dtype=dtype,
        ),
        (3,),
        None,
    ),
    "RealNVP-context-embedding": (
        lambda dtype: kf.RealNVP(
            [3],
            num_flows=2,
            hidden_units=(8,),
            context_shape=[2, 3],
            context_embedding=keras.Sequential(
                [keras.layers.Flatten(dtype=dtype), keras.layers.Dense(4, activation="tanh", dtype=dtype)]
            ),
            dtype=dtype,
        ),
        (3,),
        (2, 3),
    ),
}
