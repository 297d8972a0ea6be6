"""The Keras MLP's batch_size="auto": small tables keep batches of 64, large ones take at most 100 an epoch."""

import re

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


def test_the_classifier_predicts_the_labels_it_was_fitted_on():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    numbers = KerasMLPClassifier(hidden_units=(4,), epochs=2, seed=0).fit(X, y)
    words = KerasMLPClassifier(hidden_units=(4,), epochs=2, seed=0).fit(X, np.where(y == 1, "yes", "no"))
    assert list(words.classes_) == ["no", "yes"]  # sorted, as scikit-learn's: the second is the positive one
    np.testing.assert_array_equal(words.predict_proba(X), numbers.predict_proba(X))
    np.testing.assert_array_equal(words.predict(X), np.where(numbers.predict(X) == 1, "yes", "no"))
    shifted = KerasMLPClassifier(hidden_units=(4,), epochs=2, seed=0).fit(X, y + 1)  # labels 1 and 2
    np.testing.assert_array_equal(shifted.predict(X), numbers.predict(X) + 1)


@pytest.mark.parametrize(
    "y, expected",
    [(np.arange(200) % 3, "for two classes; y has 3 (0, 1, 2)"), (np.linspace(0, 1, 200), "Unknown label type")],
)
def test_the_classifier_refuses_targets_that_are_not_two_classes(y, expected):
    X = np.random.default_rng(0).normal(size=(200, 2)).astype(np.float32)
    with pytest.raises(ValueError, match=re.escape(expected)):
        KerasMLPClassifier(hidden_units=(4,), epochs=1).fit(X, y)


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"epochs": 0}, "epochs=0: give a whole number ≥ 1"),
        ({"epochs": 2.5}, "epochs=2.5: give a whole number ≥ 1"),
        ({"hidden_units": (8, 0)}, "hidden_units=(8, 0): give the widths of the hidden layers"),
        ({"hidden_units": 2.5}, "hidden_units=2.5: give the widths"),
        ({"hidden_units": ()}, "hidden_units=(): give the widths"),
    ],
)
def test_the_classifier_names_a_bad_width_or_epoch_count_before_it_trains(params, expected):
    # epochs=0 ended in a KeyError 'loss' from Keras' empty history, hidden_units=2.5 in a TypeError
    X = np.random.default_rng(0).normal(size=(40, 2)).astype(np.float32)
    with pytest.raises(ValueError, match=re.escape(expected)):
        KerasMLPClassifier(**{"hidden_units": (4,), "epochs": 1, **params}).fit(X, np.arange(40) % 2)


def test_the_classifier_takes_one_hidden_width_as_a_number():
    X = np.random.default_rng(0).normal(size=(40, 2)).astype(np.float32)
    model = KerasMLPClassifier(hidden_units=4, epochs=1).fit(X, np.arange(40) % 2)
    assert [layer.units for layer in model.model_.layers if hasattr(layer, "units")] == [4, 1]
