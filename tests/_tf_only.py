"""Runs SavedModels in a fresh Python process where kerasflows and TFP cannot be imported.

`run(models, calls)` starts this file as a script. There, a `sys.meta_path`
finder blocks the packages before TensorFlow is imported; each SavedModel
is loaded with `tf.saved_model.load`, its graph is walked for ops unknown to
TensorFlow's op registry, and each call runs a signature on NumPy inputs.
"""

import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

BLOCKED = ("kerasflows", "tensorflow_probability")
PY_FUNC_OPS = {"PyFunc", "PyFuncStateless", "EagerPyFunc"}


class _Blocker:
    """A `sys.meta_path` finder that refuses the `BLOCKED` packages."""

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: this process has plain TensorFlow only.")
        return None


def run(models: dict, calls: dict, timeout: float = 900) -> dict:
    """Loads `models` (name -> SavedModel path) and runs `calls` in a TF-only process.

    Args:
        models: name -> SavedModel directory.
        calls: key -> `(model name, signature name, {input name: array})`.

    Returns:
        `{"preloaded": [blocked modules imported at start-up], "blocked": {package: import error text or
        None}, "ops": {model: {op type: registered}}, "outputs": {key: {output name: array} or the error text}}`.
    """
    with tempfile.TemporaryDirectory() as folder:
        request, response = Path(folder, "request.pkl"), Path(folder, "response.pkl")
        request.write_bytes(pickle.dumps({"models": {k: str(v) for k, v in models.items()}, "calls": calls}))
        process = subprocess.run(
            [sys.executable, __file__, str(request), str(response)], capture_output=True, text=True, timeout=timeout
        )
        if process.returncode != 0:
            raise RuntimeError(f"The TF-only process failed:\n{process.stderr[-4000:]}")
        return pickle.loads(response.read_bytes())


def _op_types(saved_model_dir: str) -> set:
    """Op types of every node of the SavedModel's graph and its function library, less calls of library functions."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel.FromString(Path(saved_model_dir, "saved_model.pb").read_bytes())
    ops, functions = set(), set()
    for meta_graph in saved_model.meta_graphs:
        ops.update(node.op for node in meta_graph.graph_def.node)
        for function in meta_graph.graph_def.library.function:
            functions.add(function.signature.name)
            ops.update(node.op for node in function.node_def)
    return ops - functions


def _main(request_path: str, response_path: str) -> None:
    sys.meta_path.insert(0, _Blocker())
    import numpy as np
    import tensorflow as tf
    from tensorflow.python.framework import op_def_registry

    preloaded = sorted(name for name in sys.modules if name.partition(".")[0] in BLOCKED)
    blocked = {}
    for package in BLOCKED:
        try:
            __import__(package)
            blocked[package] = None
        except ImportError as error:
            blocked[package] = str(error)
    request = pickle.loads(Path(request_path).read_bytes())
    loaded = {name: tf.saved_model.load(path) for name, path in request["models"].items()}
    ops = {
        name: {op: op_def_registry.get(op) is not None for op in _op_types(path)}
        for name, path in request["models"].items()
    }
    outputs = {}
    for key, (model, signature, inputs) in request["calls"].items():
        try:
            result = loaded[model].signatures[signature](**{k: tf.constant(v) for k, v in inputs.items()})
            outputs[key] = {k: np.asarray(v) for k, v in result.items()}
        except Exception as error:  # noqa: BLE001 - the error text is the result
            outputs[key] = f"{type(error).__name__}: {error}"
    response = {"preloaded": preloaded, "blocked": blocked, "ops": ops, "outputs": outputs}
    Path(response_path).write_bytes(pickle.dumps(response))


if __name__ == "__main__":
    _main(*sys.argv[1:])
