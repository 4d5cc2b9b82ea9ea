"""Reading data tables from `.npy`, `.npz` and `.csv` files, with errors that say what is wrong."""

import csv
from pathlib import Path

import numpy as np

SUFFIXES = (".npy", ".npz", ".csv")


def _from_csv(path: Path) -> np.ndarray:
    with path.open(newline="") as file:
        rows = list(csv.reader(file))
    if not rows:
        raise ValueError(f"Expected a header row and data rows in {path}, Received: an empty file.")
    header, body = rows[0], [row for row in rows[1:] if row]
    values = np.empty((len(body), len(header)), dtype="float64")
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise ValueError(f"Expected {len(header)} columns in {path} line {line}, Received: {len(row)}.")
        for column, cell in enumerate(row):
            try:
                values[line - 2, column] = float(cell)
            except ValueError:
                raise ValueError(
                    f"Expected numbers in column {header[column]!r} of {path}, Received: {cell!r} on line {line}."
                ) from None
    return values


def _from_npz(path: Path) -> np.ndarray:
    with np.load(path, allow_pickle=False) as archive:
        names = list(archive.files)
        if len(names) == 1:
            return archive[names[0]]
        if "x" in names:
            return archive["x"]
    raise ValueError(f"Expected one array, or an array named 'x', in {path}, Received: arrays {names}.")


def load_table(path: str | Path, num_features: int | None = None) -> np.ndarray:
    """Reads a `[rows, features]` float32 table and checks it.

    `.npy` holds one 2-D array; `.npz` one array or one named `x`; `.csv` a
    header row, then one row per data point.

    Args:
        path: the file.
        num_features: the number of columns the caller needs, if known.

    Raises:
        ValueError: for a missing or unreadable file, another suffix, a
            non-numeric cell, a table that is not 2-D, no rows, the wrong
            number of columns, or NaN/inf entries.
    """
    path = Path(path)
    if path.suffix not in SUFFIXES:
        raise ValueError(f"Expected a data file ending in {', '.join(SUFFIXES)}, Received: {str(path)!r}.")
    if not path.is_file():
        raise ValueError(f"Expected an existing data file, Received: {str(path)!r}, which does not exist.")
    try:
        if path.suffix == ".csv":
            values = _from_csv(path)
        elif path.suffix == ".npz":
            values = _from_npz(path)
        else:
            values = np.load(path, allow_pickle=False)
    except (OSError, UnicodeDecodeError, EOFError) as error:
        raise ValueError(f"Expected a readable {path.suffix} file, Received: {path} ({error}).") from None
    except ValueError as error:
        if str(error).startswith("Expected"):
            raise
        raise ValueError(f"Expected a readable {path.suffix} file, Received: {path} ({error}).") from None
    if not np.issubdtype(values.dtype, np.number):
        raise ValueError(f"Expected numeric data in {path}, Received: dtype {values.dtype}.")
    if values.ndim != 2:
        raise ValueError(f"Expected a 2-D table [rows, features] in {path}, Received: shape {values.shape}.")
    if len(values) == 0:
        raise ValueError(f"Expected at least one data row in {path}, Received: none.")
    if num_features is not None and values.shape[1] != num_features:
        raise ValueError(
            f"Expected {num_features} columns (the model's features) in {path}, Received: {values.shape[1]}."
        )
    bad = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if bad.size:
        raise ValueError(
            f"Expected finite values in {path}, Received: NaN or inf in {bad.size} row(s), first data row {bad[0]}."
        )
    return values.astype("float32")
