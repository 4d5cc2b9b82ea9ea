"""The `kerasflows` command end to end, and its one-line errors on bad input."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import kerasflows as kf
from kerasflows.cli import _optimizer, _parser, main

SMALL = ["--epochs", "2", "--num-flows", "2", "--hidden-units", "16,16", "--batch-size", "128"]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> Path:
    """A MAF fitted by the CLI on a small two-moons file."""
    root = tmp_path_factory.mktemp("cli")
    np.save(root / "moons.npy", kf.datasets.two_moons(600, seed=3))
    assert main(["fit", "--data", str(root / "moons.npy"), "--out", str(root / "run"), *SMALL]) == 0
    return root


def test_fit_writes_every_artifact(fitted):
    run = fitted / "run"
    names = {path.name for path in run.iterdir()}
    assert names == {"model.keras", "saved_model", "metrics.json", "history.csv", "samples.png", "density.png"}
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["num_train"] == 480 and metrics["num_validation"] == 120
    assert metrics["epochs_run"] == 2 and metrics["early_stopping"] is True and metrics["jit_compile"] is True
    assert np.isfinite(metrics["validation_nll"]) and metrics["train_samples_per_second"] > 0
    rows = list(csv.reader((run / "history.csv").open()))
    assert rows[0] == ["epoch", "loss", "val_loss"] and len(rows) == 3
    assert float(rows[-1][2]) < float(rows[1][2])  # validation NLL fell
    assert (run / "saved_model" / "saved_model.pb").is_file()


@pytest.mark.parametrize(("argv", "clipnorm"), [([], 1.0), (["--clip-norm", "0.5"], 0.5), (["--clip-norm", "0"], None)])
def test_fit_clips_the_gradients_global_norm(argv, clipnorm):
    optimizer = _optimizer(_parser().parse_args(["fit", "--learning-rate", "0.01", *argv]))
    assert isinstance(optimizer, keras.optimizers.Adam)
    assert optimizer.global_clipnorm == clipnorm and optimizer.clipnorm is None
    assert float(optimizer.learning_rate) == pytest.approx(0.01)


def test_saved_model_keeps_the_clipped_optimizer(fitted):
    model = keras.saving.load_model(fitted / "run" / "model.keras")
    assert model.optimizer.global_clipnorm == 1.0


def test_sample_and_score_use_the_fitted_model(fitted, tmp_path):
    assert (
        main(["sample", "--model", str(fitted / "run"), "-n", "50", "--seed", "4", "--out", str(tmp_path / "s.npy")])
        == 0
    )
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (50, 2) and np.isfinite(samples).all()
    table = tmp_path / "points.csv"
    table.write_text("a,b\n0.5,0.25\n1.0,-0.5\n-3,9\n")
    assert (
        main(["score", "--model", str(fitted / "run"), "--data", str(table), "--out", str(tmp_path / "scores.csv")])
        == 0
    )
    rows = list(csv.reader((tmp_path / "scores.csv").open()))
    assert rows[0] == ["log_prob"] and len(rows) == 4
    model = keras.saving.load_model(fitted / "run" / "model.keras")
    expected = model.log_prob(np.array([[0.5, 0.25], [1.0, -0.5], [-3, 9]], "float32")).numpy()
    np.testing.assert_allclose([float(r[0]) for r in rows[1:]], expected, rtol=1e-6)
    assert float(rows[3][0]) < float(rows[1][0])  # a far-away point scores low


def _bad(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


BAD_DATA = {
    "missing file": (lambda d: str(d / "nope.csv"), "does not exist"),
    "unknown suffix": (lambda d: _bad(d, "x.txt", "1,2\n"), "ending in .npy, .npz, .csv"),
    "non-numeric": (lambda d: _bad(d, "x.csv", "a,b\n1,2\n3,oops\n"), "numbers in column 'b'"),
    "ragged rows": (lambda d: _bad(d, "x.csv", "a,b\n1,2\n3\n"), "Expected 2 columns"),
    "NaN row": (lambda d: _bad(d, "x.csv", "a,b\n1,2\nnan,2\n3,4\n"), "NaN or inf in 1 row"),
    "inf row": (lambda d: _bad(d, "x.csv", "a,b\n1,inf\n"), "NaN or inf"),
    "empty data": (lambda d: _bad(d, "x.csv", "a,b\n"), "at least one data row"),
    "empty file": (lambda d: _bad(d, "x.csv", ""), "header row"),
    "unreadable npy": (lambda d: _bad(d, "x.npy", "not numpy"), "readable .npy"),
}


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_bad_data_files_exit_2_with_a_message(case, tmp_path, capsys):
    make, message = BAD_DATA[case]
    out = tmp_path / "run"
    assert main(["fit", "--data", make(tmp_path), "--out", str(out), *SMALL]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kerasflows fit: error: ") and message in err and err.count("\n") == 1
    assert not out.exists()


def test_score_refuses_the_wrong_number_of_columns(fitted, tmp_path, capsys):
    table = _bad(tmp_path, "three.csv", "a,b,c\n1,2,3\n")
    out = tmp_path / "scores.csv"
    assert main(["score", "--model", str(fitted / "run"), "--data", table, "--out", str(out)]) == 2
    assert "Expected 2 columns (the model's features)" in capsys.readouterr().err
    assert not out.exists()


def test_missing_model_directory(tmp_path, capsys):
    assert main(["sample", "--model", str(tmp_path), "-n", "3", "--out", str(tmp_path / "s.npy")]) == 2
    assert "holding model.keras" in capsys.readouterr().err


def test_coupling_flows_need_two_features(tmp_path, capsys):
    data = _bad(tmp_path, "one.csv", "a\n1\n2\n3\n4\n5\n")
    assert main(["fit", "--data", data, "--flow", "nsf", "--out", str(tmp_path / "run"), *SMALL]) == 2
    assert "Expected at least 2 features for --flow nsf, Received: 1" in capsys.readouterr().err


def test_failed_run_keeps_the_previous_output(fitted, tmp_path):
    before = (fitted / "run" / "metrics.json").read_text()
    bad = _bad(tmp_path, "x.csv", "a,b\n1,nan\n")
    assert main(["fit", "--data", bad, "--out", str(fitted / "run"), *SMALL]) == 2
    assert (fitted / "run" / "metrics.json").read_text() == before
    assert not [p for p in fitted.iterdir() if ".partial-" in p.name]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fit", "--flow", "glowish"], "invalid choice: 'glowish'"),
        (["fit", "--epochs", "0"], "expected a positive int"),
        (["fit", "--validation-split", "1.5"], "expected a fraction"),
        (["fit", "--hidden-units", "a,b"], "comma-separated integers"),
        (["fit", "--clip-norm", "-1"], "expected a non-negative float"),
        (["sample", "-n", "3"], "required: --model"),
    ],
)
def test_bad_options_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_console_script_prints_no_traceback(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "kerasflows.cli", "fit", "--data", str(tmp_path / "none.npy")]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("kerasflows fit: error: Expected an existing data file")
