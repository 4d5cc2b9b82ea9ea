"""Makes sure Keras runs on the TensorFlow backend before anything else is imported."""

import os
import sys


def require_tensorflow_backend() -> None:
    """Selects the TensorFlow backend, or raises if another one was asked for.

    Raises:
        ImportError: if `KERAS_BACKEND` names another backend, or Keras was
            already imported with one.
    """
    requested = os.environ.get("KERAS_BACKEND")
    if requested is not None and requested != "tensorflow":
        raise ImportError(
            "kerasflows runs on Keras' TensorFlow backend only. Expected "
            f"KERAS_BACKEND='tensorflow' (or unset), Received: KERAS_BACKEND={requested!r}."
        )
    os.environ["KERAS_BACKEND"] = "tensorflow"
    if "keras" in sys.modules:
        import keras

        active = keras.backend.backend()
        if active != "tensorflow":
            raise ImportError(
                "kerasflows runs on Keras' TensorFlow backend only. Expected the "
                f"'tensorflow' backend, Received: Keras already imported with {active!r}."
            )
