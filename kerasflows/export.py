"""SavedModel export: a FlowModel as named signatures that run on plain TensorFlow."""

import keras
import tensorflow as tf

SIGNATURES = ("log_prob", "sample", "forward", "inverse")


def _signature_functions(model) -> dict:
    """The four signature functions of `model`, each returning a dict of named outputs."""

    def log_prob(x, context=None):
        return {"log_prob": model._log_prob(x, context)}

    def sample(num_samples, seed, context=None):
        return {"samples": model._sample(num_samples, seed, context)}

    def forward(z, context=None):
        x, log_det = model._transform(z, context, inverse=False)
        return {"x": x, "log_det_jacobian": log_det}

    def inverse(x, context=None):
        z, log_det = model._transform(x, context, inverse=True)
        return {"z": z, "log_det_jacobian": log_det}

    return {"log_prob": log_prob, "sample": sample, "forward": forward, "inverse": inverse}


def _input_signatures(model) -> dict:
    """`tf.TensorSpec`s of each signature's inputs, named as the signature's input keys."""
    dtype = model.compute_dtype
    context = [] if model.context_shape is None else [tf.TensorSpec([None, *model.context_shape], dtype, "context")]
    sample = [tf.TensorSpec([], tf.int32, "num_samples"), tf.TensorSpec([2], tf.int32, "seed")]
    return {
        "log_prob": [tf.TensorSpec([None, *model.event_shape], dtype, "x"), *context],
        "sample": [*sample, *context],
        "forward": [tf.TensorSpec([None, *model.event_shape], dtype, "z"), *context],
        "inverse": [tf.TensorSpec([None, *model.event_shape], dtype, "x"), *context],
    }


def export_saved_model(
    model,
    filepath,
    format: str = "tf_saved_model",
    verbose: bool | None = None,
    jit_compile: bool = False,
    options: tf.saved_model.SaveOptions | None = None,
) -> None:
    """Writes `model` as a SavedModel with `log_prob`, `sample`, `forward` and `inverse` signatures.

    `log_prob(x[, context]) -> {log_prob}`, `sample(num_samples, seed[, context]) -> {samples}`,
    `forward(z[, context]) -> {x, log_det_jacobian}`, `inverse(x[, context]) -> {z, log_det_jacobian}`;
    `serving_default` is `log_prob`. Inputs are `[batch, *event_shape]` (and
    `[batch, *context_shape]`) in the model's dtype, any batch size, 0
    included; `num_samples` is an int32 scalar and `seed` an int32 `[2]`:
    sampling is stateless, the same seed gives the same samples. The graph
    holds only core TensorFlow ops, so loading and serving need neither
    kerasflows nor TFP (`tf.saved_model.load`, TF Serving).

    Args:
        model: a `kf.FlowModel`.
        filepath: directory to write.
        format: only "tf_saved_model".
        verbose: print the signatures; True when None.
        jit_compile: mark the signature functions for XLA compilation.
            Loading then needs a TensorFlow built with XLA.
        options: `tf.saved_model.SaveOptions` for the writer.

    Raises:
        ValueError: for another `format`.

    Example:
        >>> model.export("flow/1")
        >>> tf.saved_model.load("flow/1").signatures["log_prob"](x=x)["log_prob"]
    """
    if format != "tf_saved_model":
        raise ValueError(f"Expected format='tf_saved_model', Received: format={format!r}.")
    archive = keras.export.ExportArchive()
    # The layers, not the model: tracking a Model traces its `call`, which needs a context when conditional.
    for layer in (*model.flows, model.base):
        archive.track(layer)
    specs = _input_signatures(model)
    for name, function in _signature_functions(model).items():
        endpoint = tf.function(function, input_signature=specs[name], jit_compile=jit_compile, autograph=False)
        endpoint.get_concrete_function()
        archive.add_endpoint(name, endpoint)
    archive.write_out(filepath, options=options, verbose=True if verbose is None else verbose)
