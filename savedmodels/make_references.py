"""Regenerates the reference SavedModels and their manifests: `python savedmodels/make_references.py`.

Each reference is a small flow trained briefly from fixed seeds, exported to
`savedmodels/<name>/1/` (the version folder TensorFlow Serving expects), with
`savedmodels/<name>/manifest.json`: library versions, the signatures, fixed
probe inputs and what the SavedModel returns for them. tests/test_export.py
loads every reference with plain TensorFlow and checks the manifest. These
files are a compatibility promise: see savedmodels/README.md before
regenerating them.
"""

import json
import os
import platform
import shutil
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_probability as tfp  # noqa: E402

import kerasflows as kf  # noqa: E402

HERE = Path(__file__).resolve().parent
VERSION = "1"
SAMPLE_PROBE = {"num_samples": 3, "seed": [1, 2]}
TOL = 1e-5


def _maf_two_moons():
    """MAF, 4 steps of MADE (32, 32), 20 epochs on 4096 two-moons points."""
    x = kf.datasets.two_moons(4096, seed=0)
    model = kf.MAF([2], num_flows=4, hidden_units=(32, 32))
    model.compile(keras.optimizers.Adam(3e-3))
    model.fit(x, batch_size=256, epochs=20, verbose=0)
    probe = np.array([[0.0, 0.5], [1.0, 0.0], [-1.0, 0.2], [0.5, -0.3], [2.0, 0.5], [0.5, 0.25]], "float32")
    return model, probe


def correlated_gaussian(num_samples: int, size: int = 16, rho: float = 0.8, seed: int = 0) -> np.ndarray:
    """`N(mu, S)` with `S_ij = rho^|i-j|` and `mu_i = sin(i)`, float32 `[num_samples, size]`."""
    index = np.arange(size)
    cholesky = np.linalg.cholesky(rho ** np.abs(index[:, None] - index[None, :]))
    noise = np.random.default_rng(seed).standard_normal((num_samples, size))
    return (np.sin(index) + noise @ cholesky.T).astype("float32")


def _realnvp_gaussian_16d():
    """RealNVP, 6 couplings of MLP (64, 64), 20 epochs on a 16-D correlated Gaussian."""
    model = kf.RealNVP([16], num_flows=6, hidden_units=(64, 64))
    model.compile(keras.optimizers.Adam(1e-3))
    model.fit(correlated_gaussian(8192), batch_size=256, epochs=20, verbose=0)
    return model, correlated_gaussian(4, seed=1)


def _moons_probe():
    return np.array([[0.0, 0.5], [1.0, 0.0], [-1.0, 0.2], [0.5, -0.3], [2.0, 0.5], [0.5, 0.25]], "float32")


def _fit_moons(model, learning_rate=3e-3):
    model.compile(keras.optimizers.Adam(learning_rate))
    model.fit(kf.datasets.two_moons(4096, seed=0), batch_size=256, epochs=20, verbose=0)
    return model, _moons_probe()


def _iaf_two_moons():
    """IAF, 4 steps of MADE (32, 32), 20 epochs on 4096 two-moons points."""
    return _fit_moons(kf.IAF([2], num_flows=4, hidden_units=(32, 32)))


def _nice_two_moons():
    """NICE, 4 additive couplings of MLP (32, 32) and a diagonal scale, 20 epochs on two-moons."""
    return _fit_moons(kf.NICE([2], num_flows=4, hidden_units=(32, 32)))


def _nsf_two_moons():
    """NSF (spline couplings, 8 bins on [-3, 3]), 2 layers of MLP (32, 32), 20 epochs on two-moons."""
    # Spline graphs are large (about 0.4 MB per layer in the export of the time, which traced the flow once per
    # signature): 2 layers kept it under 2 MB.
    return _fit_moons(kf.NSF([2], num_flows=2, hidden_units=(32, 32)))


def _nsf_autoregressive_gaussian_16d():
    """NSF (autoregressive splines, 8 bins), 1 MADE (32, 32), 10 epochs on a 16-D correlated Gaussian."""
    model = kf.NSF([16], num_flows=1, hidden_units=(32, 32), autoregressive=True)
    model.compile(keras.optimizers.Adam(1e-3))
    model.fit(correlated_gaussian(4096), batch_size=256, epochs=10, verbose=0)
    return model, correlated_gaussian(4, seed=1)


def _glow_digits():
    """Glow, 2 levels of 2 steps with 16 hidden channels, 6 epochs on scikit-learn's 8x8 digits (17 grey levels)."""
    model = kf.Glow([8, 8, 1], num_levels=2, steps_per_level=2, hidden_channels=16, num_bins=17)
    model.compile(keras.optimizers.Adam(2e-3))
    model.fit(kf.datasets.digits("train"), batch_size=50, epochs=6, verbose=0)
    return model, kf.datasets.digits("test")[:4]


def _ffjord_two_moons():
    """FFJORD with the exact trace (a deterministic log_prob), vector field MLP (32, 32), 3 epochs on two-moons."""
    model = kf.FFJORD([2], hidden_units=(32, 32), trace="exact", rtol=1e-4, atol=1e-4)
    model.compile(keras.optimizers.Adam(1e-2))
    model.fit(kf.datasets.two_moons(2048, seed=0), batch_size=256, epochs=3, verbose=0)
    return model, _moons_probe()


REFERENCES = {
    "maf-two-moons": _maf_two_moons,
    "realnvp-gaussian-16d": _realnvp_gaussian_16d,
    "iaf-two-moons": _iaf_two_moons,
    "nice-two-moons": _nice_two_moons,
    "nsf-two-moons": _nsf_two_moons,
    "nsf-autoregressive-gaussian-16d": _nsf_autoregressive_gaussian_16d,
    "glow-digits": _glow_digits,
    "ffjord-two-moons": _ffjord_two_moons,
}


def describe(loaded) -> dict:
    """Each signature's inputs and outputs: `{name: {"inputs": {key: {dtype, shape}}, "outputs": ...}}`."""

    def specs(structure):
        return {
            key: {"dtype": spec.dtype.name, "shape": spec.shape.as_list()} for key, spec in sorted(structure.items())
        }

    return {
        name: {"inputs": specs(function.structured_input_signature[1]), "outputs": specs(function.structured_outputs)}
        for name, function in sorted(loaded.signatures.items())
    }


def call(loaded, signature: str, inputs: dict) -> dict:
    """Runs a signature on JSON-style inputs, cast to the signature's dtypes; returns NumPy outputs."""
    specs = loaded.signatures[signature].structured_input_signature[1]
    tensors = {key: tf.constant(value, specs[key].dtype) for key, value in inputs.items()}
    return {key: value.numpy() for key, value in loaded.signatures[signature](**tensors).items()}


def _probes(model, x: np.ndarray) -> dict:
    z = np.random.default_rng(2).standard_normal((len(x), *model.latent_shape)).astype(x.dtype)
    return {
        "log_prob": {"x": x.tolist()},
        "sample": SAMPLE_PROBE,
        "forward": {"z": z.tolist()},
        "inverse": {"x": x.tolist()},
    }


def _live(model, signature: str, inputs: dict) -> dict:
    """What the Keras model returns for a probe, to check the export against."""
    if signature == "sample":
        return {"samples": model.sample(inputs["num_samples"], seed=inputs["seed"])}
    if signature == "log_prob":
        return {"log_prob": model.log_prob(inputs["x"])}
    if signature == "forward":
        return dict(zip(("x", "log_det_jacobian"), model.forward(inputs["z"]), strict=True))
    return dict(zip(("z", "log_det_jacobian"), model.inverse(inputs["x"]), strict=True))


def write_reference(name: str, model, x: np.ndarray) -> None:
    """Exports `model` to `savedmodels/<name>/1/` and writes its manifest, checked against the live model."""
    folder = HERE / name
    # Checked against the eager model, which does the export's (non-XLA) arithmetic: XLA's fusions
    # move float32 spline log-dets by up to ~4e-5.
    model.compile(run_eagerly=True, jit_compile=False)
    shutil.rmtree(folder / VERSION, ignore_errors=True)
    model.export(str(folder / VERSION), verbose=False)
    loaded = tf.saved_model.load(str(folder / VERSION))
    probes = {}
    for signature, inputs in _probes(model, x).items():
        outputs = call(loaded, signature, inputs)
        for key, expected in _live(model, signature, inputs).items():
            np.testing.assert_allclose(outputs[key], expected, rtol=TOL, atol=TOL, err_msg=f"{name} {signature}")
        probes[signature] = {"inputs": inputs, "outputs": {k: v.tolist() for k, v in sorted(outputs.items())}}
    manifest = {
        "name": name,
        "description": REFERENCES[name].__doc__,
        "saved_model": f"{name}/{VERSION}",
        "model": {"class": type(model).__name__, "config": model.get_config()},
        "versions": {
            "kerasflows": kf.__version__,
            "tensorflow": tf.__version__,
            "tensorflow_probability": tfp.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "signatures": describe(loaded),
        "probes": probes,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def main(names) -> None:
    """Trains, exports and describes the named references (all when none are named), each from seed 0."""
    for name in names or REFERENCES:
        keras.utils.set_random_seed(0)
        model, x = REFERENCES[name]()
        write_reference(name, model, x)
        size = sum(path.stat().st_size for path in (HERE / name).rglob("*") if path.is_file())
        print(f"{name}: {size / 1e6:.2f} MB, log_prob of the probes {model.log_prob(x).numpy().round(3)}")


if __name__ == "__main__":
    main(sys.argv[1:])
