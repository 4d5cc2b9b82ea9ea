"""SavedModel export: a FlowModel as named signatures that run on plain TensorFlow."""

import keras
import tensorflow as tf


def _input_specs(model) -> dict:
    """Each signature's inputs as `tf.TensorSpec`s, named as the signature's input keys."""
    dtype = model.compute_dtype
    context = [] if model.context_shape is None else [tf.TensorSpec([None, *model.context_shape], dtype, "context")]
    return {
        "log_prob": [tf.TensorSpec([None, *model.event_shape], dtype, "x"), *context],
        "sample": [tf.TensorSpec([], tf.int32, "num_samples"), tf.TensorSpec([2], tf.int32, "seed"), *context],
        "forward": [tf.TensorSpec([None, *model.latent_shape], dtype, "z"), *context],
        "inverse": [tf.TensorSpec([None, *model.event_shape], dtype, "x"), *context],
    }


def _shared_transform(model, jit_compile: bool):
    """`transform(x, context, inverse)` running one concrete function per direction.

    Every signature calls the same two functions, so the SavedModel's graph
    holds the flow once each way rather than once per signature (half the
    size: FFJORD's ODE solver and Glow's levels are large graphs). They are
    traced here, once: a `tf.function` called inside a signature would be
    traced again each time the signature is (Keras traces the signatures to
    find their variables, then `tf.saved_model.save` does, in its own context).
    """
    specs = _input_specs(model)
    functions = {}
    for inverse, signature in ((False, "forward"), (True, "inverse")):

        def one_way(x, *context, inverse=inverse):
            return model._transform(x, context[0] if context else None, inverse=inverse)

        functions[inverse] = tf.function(one_way, jit_compile=jit_compile, autograph=False).get_concrete_function(
            *specs[signature]
        )

    def transform(x, context, inverse: bool):
        return functions[inverse](x, *([] if context is None else [context]))

    return transform


def _signature_functions(model, jit_compile: bool) -> dict:
    """The signature functions of `model`, each returning a dict of named outputs.

    Inputs are shape-checked in the graph (a signature call skips the
    `tf.function` check) and the base noise is drawn outside XLA, as
    `FlowModel.sample` does, so that the same seed gives the same samples.
    """
    transform = _shared_transform(model, jit_compile)

    def data(value, shape=model.event_shape):
        return tf.ensure_shape(value, [None, *shape])

    def condition(context):
        return None if context is None else tf.ensure_shape(context, [None, *model.context_shape])

    def log_prob(x, context=None):
        return {"log_prob": model._log_prob_through(transform, data(x), condition(context))}

    def sample(num_samples, seed, context=None):
        context = condition(context)
        return {"samples": model._samples_from_noise(model._base_noise(num_samples, seed, context), context, transform)}

    def forward(z, context=None):
        x, log_det = transform(data(z, model.latent_shape), condition(context), inverse=False)
        return {"x": x, "log_det_jacobian": log_det}

    def inverse(x, context=None):
        z, log_det = transform(data(x), condition(context), inverse=True)
        return {"z": z, "log_det_jacobian": log_det}

    return {"log_prob": log_prob, "sample": sample, "forward": forward, "inverse": inverse}


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
    `serving_default` is `log_prob`. Data are `[batch, *event_shape]`, `z` is
    `[batch, *latent_shape]` and contexts `[batch, *context_shape]`, in the model's dtype, any batch size,
    0 included; a wrong shape fails with the expected one. `num_samples` is an
    int32 scalar and `seed` an int32 `[2]`: sampling is stateless and gives
    what `model.sample(num_samples, context, seed)` gives. The graph holds
    only core TensorFlow ops, so loading and serving need neither kerasflows
    nor TFP (`tf.saved_model.load`, TensorFlow Serving).

    Args:
        model: a `kf.FlowModel`.
        filepath: directory to write (`<base>/<version>` for TF Serving).
        format: only "tf_saved_model".
        verbose: print the signatures; True when None.
        jit_compile: compile the flow's math with XLA when served. Loading
            then needs a TensorFlow built with XLA; the default runs anywhere.
        options: `tf.saved_model.SaveOptions` for the writer. By default
            custom gradients are left out (serving never differentiates):
            FFJORD's ODE adjoints would otherwise quadruple the export.

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
    for layer in (*model.flows, model.base, *([] if model.context_embedding is None else [model.context_embedding])):
        archive.track(layer)
    specs = _input_specs(model)
    for name, function in _signature_functions(model, jit_compile).items():
        archive.add_endpoint(name, function, input_signature=specs[name])
    options = options or tf.saved_model.SaveOptions(experimental_custom_gradients=False)
    archive.write_out(filepath, options=options, verbose=True if verbose is None else verbose)
