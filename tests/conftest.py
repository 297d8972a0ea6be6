import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same Python/NumPy/TensorFlow random state."""
    keras.utils.set_random_seed(1234)


SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data():
    """``../shared/data`` beside the checkout (the corpora that cannot be downloaded here).

    In CI (CI=true) a missing folder is a failure; elsewhere the tests that need it skip,
    saying why.
    """
    if not SHARED_DATA.is_dir():
        message = f"{SHARED_DATA} not found: the real-corpus tests need ../shared/data beside the checkout"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_DATA


@pytest.fixture(scope="session")
def trained_dir(shared_data, tmp_path_factory):
    """A tiny model trained for a few epochs on 1,500 real pairs (quality is not the point)."""
    from transformer_tf.train import TrainConfig, train

    folder = tmp_path_factory.mktemp("translator")
    config = TrainConfig(
        data=str(shared_data / "spa-eng" / "spa.txt"),
        max_pairs=1500,
        epochs=1,
        num_layers=1,
        d_model=32,
        num_heads=4,
        dff=64,
        vocab_size=500,
        max_tokens=24,
    )
    train(config, folder / "ckpt", folder / "logs", verbose=0)
    return folder / "ckpt"
