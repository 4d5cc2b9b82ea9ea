"""The `kerasflows` command: fit, sample, score and export flows from the shell."""

import argparse
import contextlib
import csv
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

FLOWS = ("maf", "realnvp", "iaf", "nice", "nsf")
COUPLING_FLOWS = ("realnvp", "nice", "nsf")
DEFAULT_DATA = "two-moons"


class _ArgumentParser(argparse.ArgumentParser):
    """argparse, with the one-line `kerasflows: error: ...` format we use everywhere."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _hidden_units(text: str) -> tuple[int, ...]:
    try:
        units = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 128,128, received {text!r}") from None
    if not units or min(units) < 1:
        raise argparse.ArgumentTypeError(f"expected positive widths, received {text!r}")
    return units


def _positive(kind, or_zero: bool = False):
    expected = f"expected a {'non-negative' if or_zero else 'positive'} {kind.__name__}"

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{expected}, received {text!r}") from None
        if value < 0 or (value == 0 and not or_zero):
            raise argparse.ArgumentTypeError(f"{expected}, received {text!r}")
        return value

    return parse


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1, received {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog="kerasflows", description="Normalizing flows on Keras 3 and TensorFlow Probability.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_ArgumentParser)

    fit = commands.add_parser("fit", help="fit a flow to a data table (default: generated two-moons)")
    fit.add_argument("--data", help="a .npy, .npz or .csv (header row) table; default: two-moons, generated")
    fit.add_argument("--flow", choices=FLOWS, default="maf")
    fit.add_argument("--num-flows", type=_positive(int), default=5)
    fit.add_argument("--hidden-units", type=_hidden_units, default=(128, 128), help="e.g. 128,128")
    fit.add_argument("--epochs", type=_positive(int), default=300)
    fit.add_argument("--batch-size", type=_positive(int), default=256)
    fit.add_argument("--learning-rate", type=_positive(float), default=1e-3)
    fit.add_argument(
        "--clip-norm",
        type=_positive(float, or_zero=True),
        default=1.0,
        help="rescale each step's gradients to at most this global norm; 0: no clipping",
    )
    fit.add_argument("--validation-split", type=_fraction, default=0.2)
    fit.add_argument(
        "--patience", type=_positive(int), default=20, help="epochs without validation gain before stopping"
    )
    fit.add_argument("--no-early-stopping", action="store_true", help="train all epochs and keep the last weights")
    fit.add_argument(
        "--no-jit-compile",
        action="store_true",
        help="train, score and sample in graph mode, without XLA: faster for a few epochs, where compiling costs more",
    )
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--out", help="output directory; default runs/<flow>-<data>")

    sample = commands.add_parser("sample", help="draw samples from a fitted flow")
    sample.add_argument("--model", required=True, help="a directory written by `kerasflows fit`")
    sample.add_argument("-n", "--num-samples", type=_positive(int), required=True)
    sample.add_argument("--seed", type=int, default=None)
    sample.add_argument("--out", required=True, help="a .npy file")

    score = commands.add_parser("score", help="log-density of each row of a data table (anomaly scores)")
    score.add_argument("--model", required=True, help="a directory written by `kerasflows fit`")
    score.add_argument("--data", required=True, help="a .npy, .npz or .csv table")
    score.add_argument("--out", required=True, help="a .csv file with one log_prob per row")

    export = commands.add_parser("export", help="write a SavedModel that plain TensorFlow serves")
    export.add_argument("--model", required=True, help="a directory written by `kerasflows fit`")
    export.add_argument("--out", required=True, help="the SavedModel directory to write")
    export.add_argument("--jit-compile", action="store_true", help="mark the signatures for XLA")
    return parser


@contextlib.contextmanager
def _replaced_atomically(target: Path):
    """Yields a scratch path that replaces `target` only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    staged = scratch / target.name
    try:
        yield staged
        previous = scratch / "previous"
        if target.exists():
            os.replace(target, previous)
        os.replace(staged, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _load_flow(directory: str):
    import keras

    path = Path(directory) / "model.keras"
    if not path.is_file():
        raise ValueError(f"Expected a model directory holding model.keras, Received: {directory!r}.")
    try:
        return keras.saving.load_model(path)
    except Exception as error:  # Keras raises many kinds on a damaged archive.
        raise ValueError(f"Expected a readable kerasflows model in {path}, Received: {type(error).__name__}.") from None


def _optimizer(args):
    """Adam at `--learning-rate`, its gradients clipped to a global norm of `--clip-norm` (0: not clipped)."""
    import keras

    return keras.optimizers.Adam(args.learning_rate, global_clipnorm=args.clip_norm or None)


def _fit(args) -> None:
    import keras
    import numpy as np

    import kerasflows as kf
    from kerasflows.data_files import load_table
    from kerasflows.plots import plot_density, plot_samples

    if args.data is None:
        data, data_name = kf.datasets.two_moons(4000, noise=0.05, seed=args.seed), DEFAULT_DATA
    else:
        data, data_name = load_table(args.data), Path(args.data).stem
    num_validation = int(round(len(data) * args.validation_split))
    if num_validation < 1 or len(data) - num_validation < 1:
        raise ValueError(
            f"Expected enough rows for a training and a validation split of {args.validation_split}, "
            f"Received: {len(data)} row(s)."
        )
    if args.flow in COUPLING_FLOWS and data.shape[1] < 2:
        raise ValueError(f"Expected at least 2 features for --flow {args.flow}, Received: {data.shape[1]}.")
    out = Path(args.out or f"runs/{args.flow}-{data_name}")
    keras.utils.set_random_seed(args.seed)
    data = data[np.random.default_rng(args.seed).permutation(len(data))]
    train, validation = data[num_validation:], data[:num_validation]

    preset = {"maf": kf.MAF, "realnvp": kf.RealNVP, "iaf": kf.IAF, "nice": kf.NICE, "nsf": kf.NSF}[args.flow]
    model = preset([data.shape[1]], num_flows=args.num_flows, hidden_units=args.hidden_units)
    model.compile(_optimizer(args), jit_compile=not args.no_jit_compile)
    guard = kf.callbacks.StopOnNaN()
    callbacks = [guard]
    early_stopping = not args.no_early_stopping
    if early_stopping:
        callbacks.append(keras.callbacks.EarlyStopping(patience=args.patience, restore_best_weights=True))
    print(f"Fitting {preset.__name__} to {data_name}: {len(train)} training and {len(validation)} validation rows.")
    started = time.perf_counter()
    history = model.fit(
        train, validation_data=validation, epochs=args.epochs, batch_size=args.batch_size, callbacks=callbacks
    ).history
    seconds = time.perf_counter() - started
    epochs_run = len(history["loss"])
    best_epoch = int(np.argmin(history["val_loss"])) + 1
    kept_epoch = best_epoch if early_stopping else epochs_run
    if guard.stopped_epoch is not None:
        kept_epoch = min(kept_epoch, guard.restored_epoch + 1)
        print(
            f"Training stopped in epoch {guard.stopped_epoch + 1}: the loss became NaN or infinite. "
            f"Kept the last good weights, from epoch {kept_epoch} (0: the initial weights)."
        )
    elif early_stopping:
        stopped = "stopped early" if epochs_run < args.epochs else "ran all epochs"
        print(
            f"Early stopping on validation NLL {stopped} after {epochs_run} epochs; "
            f"restored the best weights (epoch {best_epoch})."
        )
    metrics = {
        "flow": args.flow,
        "data": data_name,
        "num_features": int(data.shape[1]),
        "num_train": len(train),
        "num_validation": len(validation),
        "train_nll": float(model.evaluate(train, batch_size=4096, verbose=0)),
        "validation_nll": float(model.evaluate(validation, batch_size=4096, verbose=0)),
        "nll_unit": "nats per data point",
        "epochs_run": epochs_run,
        "best_epoch": kept_epoch,
        "early_stopping": early_stopping,
        "stopped_on_nan_in_epoch": None if guard.stopped_epoch is None else guard.stopped_epoch + 1,
        "jit_compile": bool(model.jit_compile),
        "train_seconds": round(seconds, 3),
        "train_samples_per_second": round(len(train) * epochs_run / seconds, 1),
    }
    with _replaced_atomically(out) as staged:
        staged.mkdir()
        model.save(staged / "model.keras")
        model.export(str(staged / "saved_model"), verbose=False)
        (staged / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        with (staged / "history.csv").open("w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["epoch", *history])
            for epoch, values in enumerate(zip(*history.values(), strict=True), start=1):
                writer.writerow([epoch, *values])
        samples = model.sample(min(len(data), 5000), seed=args.seed).numpy()
        plot_samples(data[: len(samples)], samples, staged / "samples.png")
        if data.shape[1] == 2:
            plot_density(lambda points: model.log_prob(points).numpy(), data, staged / "density.png")
    print(
        f"Validation NLL {metrics['validation_nll']:.4f} nats. Wrote {out}/: "
        + ", ".join(sorted(p.name for p in out.iterdir()))
    )


def _sample(args) -> None:
    import numpy as np

    model = _load_flow(args.model)
    out = Path(args.out)
    if out.suffix != ".npy":
        raise ValueError(f"Expected --out to end in .npy, Received: {args.out!r}.")
    samples = model.sample(args.num_samples, seed=args.seed).numpy()
    with _replaced_atomically(out) as staged:
        np.save(staged, samples)
    print(f"Wrote {len(samples)} samples of shape {samples.shape[1:]} to {out}.")


def _score(args) -> None:
    import numpy as np

    from kerasflows.data_files import load_table

    model = _load_flow(args.model)
    data = load_table(args.data, num_features=model.event_shape[0])
    scores = np.concatenate([model.log_prob(chunk).numpy() for chunk in np.array_split(data, -(-len(data) // 65536))])
    with _replaced_atomically(Path(args.out)) as staged:
        with staged.open("w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["log_prob"])
            writer.writerows([[repr(float(score))] for score in scores])
    print(f"Scored {len(scores)} rows into {args.out} (log-density in nats; low means unusual).")


def _export(args) -> None:
    model = _load_flow(args.model)
    with _replaced_atomically(Path(args.out)) as staged:
        model.export(str(staged), verbose=False, jit_compile=args.jit_compile)
    print(f"Wrote a SavedModel with signatures log_prob, sample, forward, inverse to {args.out}.")


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the exit code (2 for bad input)."""
    args = _parser().parse_args(argv)
    command = {"fit": _fit, "sample": _sample, "score": _score, "export": _export}[args.command]
    try:
        command(args)
    except (ValueError, OSError) as error:
        print(f"kerasflows {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
