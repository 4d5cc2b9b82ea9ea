"""SavedModel export: every preset and reference export runs on plain TensorFlow and matches the live model."""

import json
import re
import subprocess
import sys
from pathlib import Path

import _tf_only
import numpy as np
import pytest
import tensorflow as tf
from flows import build, eager, inputs, latents
from registry import PRESETS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "savedmodels"))
import make_references  # noqa: E402

# One worker builds the shared fixtures once; session-scoped, so tests of other modules run between
# them on that worker do not tear them down.
pytestmark = pytest.mark.xdist_group("exports")

NAMES = sorted(PRESETS)
CONDITIONAL = [name for name in NAMES if PRESETS[name][2] is not None]
BATCHES = (0, 1, 7)
SEED, OTHER_SEED = [1, 2], [3, 4]
CONTEXT_ROWS = 3
TOL = 1e-5
DATA_SIGNATURES = {"log_prob": "x", "forward": "z", "inverse": "x"}
REFERENCES = sorted(path.parent.name for path in make_references.HERE.glob("*/manifest.json"))
SAVED_MODEL_CLI = [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]


def _data(name: str, batch: int, input_name: str, model=None) -> dict:
    """A signature's inputs: data `x`, or latents `z` for `model`'s forward."""
    x, context = latents(model, name, batch=batch) if input_name == "z" else inputs(name, batch=batch)
    return {input_name: x.numpy()} | ({} if context is None else {"context": context.numpy()})


def _sample_inputs(name: str, num_samples: int, seed, rows: int = CONTEXT_ROWS) -> dict:
    context = inputs(name, batch=rows)[1]
    request = {"num_samples": np.int32(num_samples), "seed": np.array(seed, "int32")}
    return request | ({} if context is None else {"context": context.numpy()})


def _sample_calls(name: str) -> dict:
    calls = {}
    for num_samples in BATCHES:
        for tag, seed in (("seed", SEED), ("again", SEED), ("other", OTHER_SEED)):
            calls[("sample", name, num_samples, tag)] = (name, "sample", _sample_inputs(name, num_samples, seed))
    if name in CONDITIONAL:
        calls[("sample", name, "no rows")] = (name, "sample", _sample_inputs(name, 2, SEED, rows=0))
    return calls


@pytest.fixture(scope="session")
def exports(tmp_path_factory) -> dict:
    """Preset name -> (eager model with random weights, its SavedModel directory).

    Eager, to skip XLA compiling every batch size: the contract tests check that XLA matches eager.
    """
    folder = tmp_path_factory.mktemp("exports")
    result = {}
    for name in NAMES:
        model = eager(build(name))
        model.export(str(folder / name / "1"), verbose=False)
        result[name] = (model, folder / name / "1")
    return result


@pytest.fixture(scope="session")
def reloaded(exports) -> dict:
    return {name: tf.saved_model.load(str(path)) for name, (_, path) in exports.items()}


@pytest.fixture(scope="session")
def tf_only(exports) -> dict:
    """Every preset and reference export, loaded and called in one process without kerasflows and TFP."""
    models = {name: path for name, (_, path) in exports.items()}
    calls = {}
    for name in NAMES:
        for signature, input_name in DATA_SIGNATURES.items():
            for batch in BATCHES:
                calls[(signature, name, batch)] = (name, signature, _data(name, batch, input_name, exports[name][0]))
        calls |= _sample_calls(name)
    for reference in REFERENCES:
        models[reference] = make_references.HERE / reference / make_references.VERSION
        for signature, probe in _manifest(reference)["probes"].items():
            calls[("reference", reference, signature)] = (reference, signature, _typed(reference, signature, probe))
    return _tf_only.run(models, calls)


def _manifest(reference: str) -> dict:
    return json.loads((make_references.HERE / reference / "manifest.json").read_text())


def _typed(reference: str, signature: str, probe: dict) -> dict:
    specs = _manifest(reference)["signatures"][signature]["inputs"]
    return {key: np.asarray(value, specs[key]["dtype"]) for key, value in probe["inputs"].items()}


def _outputs(result) -> dict:
    if isinstance(result, str):
        pytest.fail(f"The signature failed in the TF-only process: {result}")
    return result


def test_the_process_cannot_import_kerasflows_or_tfp(tf_only):
    assert tf_only["preloaded"] == []
    assert all(error is not None for error in tf_only["blocked"].values()), tf_only["blocked"]


@pytest.mark.parametrize("name", NAMES + REFERENCES)
def test_graph_holds_only_registered_core_ops(tf_only, name):
    ops = tf_only["ops"][name]
    assert not set(ops) & _tf_only.PY_FUNC_OPS
    assert [op for op, registered in ops.items() if not registered] == []


@pytest.mark.parametrize("name", NAMES)
def test_signatures_match_the_live_model(exports, tf_only, name):
    model, _ = exports[name]
    for batch in BATCHES:
        x, context = inputs(name, batch=batch)
        z = latents(model, name, batch=batch)[0]
        expected = {
            "log_prob": {"log_prob": model.log_prob(x, context)},
            "forward": dict(zip(("x", "log_det_jacobian"), model.forward(z, context), strict=True)),
            "inverse": dict(zip(("z", "log_det_jacobian"), model.inverse(x, context), strict=True)),
        }
        for signature, outputs in expected.items():
            result = _outputs(tf_only["outputs"][(signature, name, batch)])
            assert set(result) == set(outputs)
            for key, value in outputs.items():
                assert result[key].shape == tuple(value.shape) and result[key].dtype == np.float32
                np.testing.assert_allclose(result[key], value, rtol=TOL, atol=TOL, err_msg=f"{signature} {key}")


@pytest.mark.parametrize("name", NAMES)
def test_sampling_is_stateless_and_matches_the_live_model(exports, reloaded, tf_only, name):
    model, _ = exports[name]
    for num_samples in BATCHES:
        request = _sample_inputs(name, num_samples, SEED)
        samples = _outputs(tf_only["outputs"][("sample", name, num_samples, "seed")])["samples"]
        again = _outputs(tf_only["outputs"][("sample", name, num_samples, "again")])["samples"]
        other = _outputs(tf_only["outputs"][("sample", name, num_samples, "other")])["samples"]
        in_process = reloaded[name].signatures["sample"](**request)["samples"].numpy()
        live = model.sample(num_samples, context=request.get("context"), seed=SEED)
        rows = () if name not in CONDITIONAL else (CONTEXT_ROWS,)
        assert samples.shape == (num_samples, *rows, *model.event_shape)
        np.testing.assert_array_equal(samples, again)
        np.testing.assert_array_equal(samples, in_process)
        np.testing.assert_allclose(samples, live, rtol=TOL, atol=TOL)
        if num_samples:
            assert not np.allclose(samples, other)


@pytest.mark.parametrize("name", CONDITIONAL)
def test_sampling_with_an_empty_context(tf_only, name):
    samples = _outputs(tf_only["outputs"][("sample", name, "no rows")])["samples"]
    assert samples.shape == (2, 0, *PRESETS[name][1])


@pytest.mark.parametrize("name", NAMES)
def test_wrong_shapes_fail_with_the_expected_shape(reloaded, name):
    _, event_shape, context_shape = PRESETS[name]
    expected = re.escape(f"expected shape [?,{','.join(map(str, event_shape))}]")
    good = {key: tf.constant(value) for key, value in _data(name, 2, "x").items()}
    for bad in (tf.zeros((2, *event_shape[:-1], event_shape[-1] + 1)), tf.zeros((2,))):
        with pytest.raises(tf.errors.InvalidArgumentError, match=expected):
            reloaded[name].signatures["log_prob"](**good | {"x": bad})
        with pytest.raises(TypeError, match=re.escape(f"shape=(None, {', '.join(map(str, event_shape))})")):
            reloaded[name].log_prob(*(good | {"x": bad}).values())
    if context_shape is not None:
        wider = tf.zeros((2, *context_shape[:-1], context_shape[-1] + 1))
        with pytest.raises(
            tf.errors.InvalidArgumentError, match=re.escape(f"expected shape [?,{','.join(map(str, context_shape))}]")
        ):
            reloaded[name].signatures["log_prob"](**good | {"context": wider})


def test_float64_models_export_float64_signatures(tmp_path):
    model = eager(build("RealNVP-context-embedding", "float64"))
    model.export(str(tmp_path), verbose=False)
    loaded = tf.saved_model.load(str(tmp_path))
    table = make_references.describe(loaded)
    assert {
        spec["dtype"] for name in ("log_prob", "forward", "inverse") for spec in table[name]["inputs"].values()
    } == {"float64"}
    assert {spec["dtype"] for signature in table.values() for spec in signature["outputs"].values()} == {"float64"}
    x, context = inputs("RealNVP-context-embedding", "float64")
    result = loaded.signatures["log_prob"](x=x, context=context)["log_prob"]
    np.testing.assert_allclose(result, model.log_prob(x, context), rtol=1e-12, atol=1e-12)


def test_jit_compile_marks_the_math_for_xla(tmp_path):
    from tensorflow.core.protobuf import saved_model_pb2

    name = "RealNVP-context-embedding"
    model = eager(build(name))
    model.export(str(tmp_path), verbose=False, jit_compile=True)
    saved_model = saved_model_pb2.SavedModel.FromString((tmp_path / "saved_model.pb").read_bytes())
    library = saved_model.meta_graphs[0].graph_def.library.function
    assert any(function.attr["_XlaMustCompile"].b for function in library)
    loaded = tf.saved_model.load(str(tmp_path))
    x, context = inputs(name)
    np.testing.assert_allclose(
        loaded.signatures["log_prob"](x=x, context=context)["log_prob"], model.log_prob(x, context), rtol=TOL, atol=TOL
    )
    samples = loaded.signatures["sample"](num_samples=4, seed=SEED, context=context)["samples"]
    np.testing.assert_allclose(samples, model.sample(4, context=context, seed=SEED), rtol=TOL, atol=TOL)


def test_export_rejects_other_formats(exports, tmp_path):
    with pytest.raises(ValueError, match="Expected format='tf_saved_model'"):
        exports["MAF"][0].export(str(tmp_path), format="onnx")


def test_saved_model_cli_shows_and_runs_the_signatures(exports):
    model, path = exports["MAF"]
    shown = subprocess.run([*SAVED_MODEL_CLI, "show", "--dir", str(path), "--all"], capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr[-2000:]
    for signature in ("log_prob", "sample", "forward", "inverse", "serving_default"):
        assert f"signature_def['{signature}']" in shown.stdout
    assert "Method name is: tensorflow/serving/predict" in shown.stdout
    x = np.array([[0.25, -0.5, 0.75], [1.0, 0.5, -1.5]], "float32")
    ran = subprocess.run(
        [*SAVED_MODEL_CLI, "run", "--dir", str(path), "--tag_set", "serve", "--signature_def", "log_prob"]
        + ["--input_exprs", f"x={x.tolist()}"],
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    printed = ran.stdout.split("Result for output key log_prob:")[1]
    values = np.array(re.findall(r"-?\d+\.\d*(?:e[-+]\d+)?", printed), "float32")
    np.testing.assert_allclose(values, model.log_prob(x), rtol=TOL, atol=TOL)


@pytest.mark.parametrize("reference", REFERENCES)
def test_reference_exports_keep_their_promise(tf_only, reference):
    manifest = _manifest(reference)
    folder = make_references.HERE / reference
    assert (folder / make_references.VERSION / "saved_model.pb").is_file()
    assert sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) < 2e6
    assert set(manifest["versions"]) >= {"kerasflows", "tensorflow", "tensorflow_probability", "keras"}
    assert set(manifest["signatures"]) == {"log_prob", "sample", "forward", "inverse", "serving_default"}
    for signature, probe in manifest["probes"].items():
        result = _outputs(tf_only["outputs"][("reference", reference, signature)])
        assert set(result) == set(probe["outputs"])
        for key, expected in probe["outputs"].items():
            np.testing.assert_allclose(result[key], expected, rtol=TOL, atol=TOL, err_msg=f"{signature} {key}")
