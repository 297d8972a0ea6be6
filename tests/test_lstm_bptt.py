"""Hand-written BPTT against autodiff; the vanishing-gradient study; clipping by global norm."""

import keras
import numpy as np
import pytest

from lstm_tf import SpaceOdysseyLSTMCell
from lstm_tf.bptt import autodiff_gradients, lstm_backward, lstm_forward
from lstm_tf.gradients import clipping_demo, gradient_norms_through_time, vanishing_gradient_study

BATCH, STEPS, INPUT_DIM, UNITS = 3, 7, 4, 5


def _random_problem(variant, seed):
    """Random float64 weights of the variant, inputs, initial states and upstream Δ."""
    rng = np.random.default_rng(seed)
    cell = SpaceOdysseyLSTMCell(UNITS, variant=variant)
    cell.build((None, INPUT_DIM))
    weights = {k: rng.standard_normal(v.shape) * 0.7 for k, v in cell.gate_weights().items()}
    x, y0, c0, upstream = (
        rng.standard_normal(shape)
        for shape in ((BATCH, STEPS, INPUT_DIM), (BATCH, UNITS), (BATCH, UNITS), (BATCH, STEPS, UNITS))
    )
    return x, weights, y0, c0, upstream


@pytest.mark.parametrize("variant", ["vanilla", "NP"])
@pytest.mark.parametrize("seed", [0, 1])
def test_hand_bptt_equals_gradient_tape(variant, seed):
    x, weights, y0, c0, upstream = _random_problem(variant, seed)
    y_keras, expected = autodiff_gradients(x, weights, upstream, y0, c0, variant=variant)
    y, cache = lstm_forward(x, weights, y0, c0)
    np.testing.assert_allclose(y, y_keras, atol=1e-12)
    grads = lstm_backward(upstream, cache)
    assert set(grads) == set(expected)
    for name in grads:
        np.testing.assert_allclose(grads[name], expected[name], atol=1e-8, rtol=0, err_msg=name)
        assert grads[name].shape == expected[name].shape


def test_simple_rnn_gradient_vanishes_much_faster_than_the_forget_free_lstm():
    study = vanishing_gradient_study(units=16, steps=40, variants=("vanilla", "NFG"), seeds=(0,))
    at = study.set_index(["model", "distance"])["relative"]
    assert at["SimpleRNN (tanh)", 39] < 1e-3  # geometric decay
    assert at["LSTM NFG", 39] > 100 * at["SimpleRNN (tanh)", 39]  # f = 1: the carousel keeps it
    assert at["LSTM NFG", 39] > 10 * at["LSTM vanilla", 39]  # f < 1 scales it down every step
    assert set(study["model"]) == {"SimpleRNN (tanh)", "LSTM vanilla", "LSTM NFG"}


def test_gradient_norms_start_at_the_last_step():
    norms = gradient_norms_through_time(keras.layers.SimpleRNNCell(8), steps=12, input_dim=3, batch=4)
    assert norms.shape == (12,)
    assert norms[0] > 0 and np.all(np.isfinite(norms))


def test_clipping_by_global_norm_bounds_the_step():
    demo = clipping_demo(clip_norm=1.0, recurrent_scale=3.0, learning_rate=0.1)
    assert demo["global_norm"] > 1e3  # the exploding case it is meant for
    assert demo["clipped_norm"] == pytest.approx(1.0, rel=1e-5)
    assert demo["cosine"] == pytest.approx(1.0, abs=1e-5)  # same direction, shorter
    assert demo["step_raw"] == pytest.approx(0.1 * demo["global_norm"], rel=1e-4)
    assert demo["step_clipped"] <= 0.1 * 1.0 * (1 + 1e-5)


def test_cli_bptt_with_a_negative_seed_exits_2(capsys):
    from lstm_tf.cli import main

    assert main(["bptt", "--seed", "-1"]) == 2
    err = capsys.readouterr().err
    assert "--seed -1" in err and "Traceback" not in err


def test_cli_an_oserror_without_a_filename_is_shown_as_its_message(capsys, monkeypatch):
    from lstm_tf.cli import main

    def fail(args):
        raise OSError("Cannot save file into a non-existent directory: 'x'")

    monkeypatch.setattr("lstm_tf.cli._bptt", fail)
    assert main(["bptt"]) == 2
    err = capsys.readouterr().err
    assert "non-existent directory: 'x'" in err and "None" not in err
