import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same Python/NumPy/TensorFlow random state."""
    keras.utils.set_random_seed(1234)
