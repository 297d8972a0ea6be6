"""The Keras MLP's batch_size="auto": small tables keep batches of 64, large ones take at most 100 an epoch."""

import numpy as np
import pytest

from pipeline.models import MLP_MIN_BATCH, MLP_STEPS_PER_EPOCH, KerasMLPClassifier, auto_batch_size


@pytest.mark.parametrize(
    "n_rows, expected",
    [(527, 64), (6_400, 64), (6_401, 65), (23_637, 237), (100_000, 1_000)],  # Titanic-size … Adult-size
)
def test_auto_batch_size_is_64_or_at_most_100_batches_an_epoch(n_rows, expected):
    batch = auto_batch_size(n_rows)
    assert batch == expected
    assert batch >= MLP_MIN_BATCH
    assert -(-n_rows // batch) <= max(MLP_STEPS_PER_EPOCH, -(-n_rows // MLP_MIN_BATCH))


def test_the_classifier_records_the_batch_size_it_used():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 1)).astype(np.float32)
    y = (X[:, 0] + 0.5 * rng.normal(size=400) > 0).astype(int)
    auto = KerasMLPClassifier(hidden_units=(4,), epochs=2, seed=0).fit(X, y)
    fixed = KerasMLPClassifier(hidden_units=(4,), epochs=2, batch_size=32, seed=0).fit(X, y)
    assert auto.batch_size == "auto" and auto.batch_size_ == 64  # 340 training rows: a small table
    assert fixed.batch_size_ == 32
    assert auto.predict_proba(X).shape == (400, 2)
