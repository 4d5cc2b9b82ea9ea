"""Mixed and half precision are refused with a clear error rather than failing deep inside a layer."""

import keras
import pytest

import kerasflows as kf


@pytest.fixture
def global_policy():
    """Sets a global dtype policy for one test, then puts float32 back."""
    yield keras.mixed_precision.set_global_policy
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16", "float16", "bfloat16"])
def test_a_global_low_precision_policy_is_refused(policy, global_policy):
    global_policy(policy)
    with pytest.raises(ValueError, match=f"Expected a 'float32' or 'float64' dtype policy, Received: '{policy}'"):
        kf.MAF([2], num_flows=2, hidden_units=(8,))


def test_a_mixed_precision_layer_in_a_float32_flow_is_refused():
    layer = kf.layers.AffineCoupling((8,), dtype="mixed_bfloat16", name="coupling")
    with pytest.raises(ValueError, match="Received: 'mixed_bfloat16' for 'coupling'"):
        kf.FlowModel([layer, kf.layers.Reverse()], event_shape=[2])
    with pytest.raises(ValueError, match="Received: 'mixed_float16' for 'real_nvp"):
        kf.RealNVP([2], num_flows=2, hidden_units=(8,), dtype="mixed_float16")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_full_precision_policies_build_and_score(dtype):
    model = kf.MAF([2], num_flows=2, hidden_units=(8,), dtype=dtype)
    assert model.log_prob(kf.datasets.two_moons(4)).dtype == dtype


def test_layers_in_another_dtype_than_the_model_are_refused():
    with pytest.raises(ValueError, match=r"model's dtype 'float64', Received: \{'coupling': 'float32'\}"):
        kf.FlowModel([kf.layers.AffineCoupling((8,), name="coupling")], event_shape=[2], dtype="float64")
    with pytest.raises(ValueError, match=r"Received: \{'diagonal_normal.*': 'float64'\}"):
        kf.MAF([2], num_flows=1, hidden_units=(8,), base=kf.distributions.DiagonalNormal([2], dtype="float64"))
