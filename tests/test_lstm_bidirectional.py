"""``keras.layers.Bidirectional(SpaceOdysseyLSTM(...))``: the backward direction, masks, saving, merge modes."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from lstm_tf import SpaceOdysseyLSTM, SpaceOdysseyLSTMCell

UNITS, INPUT_DIM, TIME = 4, 3, 7


def _inputs(batch=2, time=TIME, seed=0):
    return tf.random.stateless_normal((batch, time, INPUT_DIM), seed=(seed, 1))


def _one_direction_like(direction, x):
    """A plain forward layer with ``direction``'s weights, built on ``x``."""
    plain = SpaceOdysseyLSTM(
        UNITS, variant=direction.variant.name, return_sequences=direction.return_sequences, return_state=True
    )
    plain(x)
    plain.cell.set_gate_weights(direction.cell.gate_weights())
    return plain


@pytest.mark.parametrize("variant", ["vanilla", "FGR"])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_backward_direction_is_the_layer_on_the_reversed_sequence(variant, return_sequences):
    x = _inputs()
    bidi = keras.layers.Bidirectional(
        SpaceOdysseyLSTM(UNITS, variant=variant, return_sequences=return_sequences, return_state=True),
        merge_mode=None,
    )
    forward, backward, *states = bidi(x)
    n = len(states) // 2
    assert bidi.backward_layer.go_backwards and not bidi.forward_layer.go_backwards
    on_x = _one_direction_like(bidi.forward_layer, x)(x)
    on_reversed = _one_direction_like(bidi.backward_layer, x)(x[:, ::-1])
    expected_backward = on_reversed[0][:, ::-1] if return_sequences else on_reversed[0]
    np.testing.assert_allclose(forward.numpy(), on_x[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(backward.numpy(), expected_backward.numpy(), atol=1e-6)
    for got, want in zip(states, [*on_x[1:], *on_reversed[1:]]):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-6)
    assert n == len(bidi.forward_layer.cell.state_size)


def _same_weights(target, source):
    for a, b in ((target.forward_layer, source.forward_layer), (target.backward_layer, source.backward_layer)):
        a.cell.set_gate_weights(b.cell.gate_weights())


@pytest.mark.parametrize("variant", ["NP", "CIFG"])
def test_padding_with_a_mask_leaves_the_bidirectional_result_unchanged(variant):
    """Each padded row gives what its unpadded sequence alone gives; padded steps output zeros.

    Keras' RNN over the same cell gives the same numbers (the cell path and the fast path)."""
    lengths = [TIME, 4]
    x = _inputs()
    padded = tf.where(tf.sequence_mask(lengths, TIME)[:, :, None], x, 0.0)
    mask = tf.sequence_mask(lengths, TIME)
    kwargs = dict(variant=variant, return_sequences=True, return_state=True)
    fast = keras.layers.Bidirectional(SpaceOdysseyLSTM(UNITS, **kwargs))
    cell_path = keras.layers.Bidirectional(
        keras.layers.RNN(SpaceOdysseyLSTMCell(UNITS, variant=variant), return_sequences=True, return_state=True)
    )
    fast(padded), cell_path(padded)
    _same_weights(cell_path, fast)
    got = fast(padded, mask=mask)
    for a, b in zip(got, cell_path(padded, mask=mask)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)
    for row, length in enumerate(lengths):
        alone = fast(x[row : row + 1, :length])
        np.testing.assert_allclose(got[0][row, :length].numpy(), alone[0][0].numpy(), atol=1e-6)
        np.testing.assert_array_equal(got[0][row, length:].numpy(), 0.0)
        for state, state_alone in zip(got[1:], alone[1:]):
            np.testing.assert_allclose(state[row].numpy(), state_alone[0].numpy(), atol=1e-6)


def _model(mask_value=0.0):
    inputs = keras.Input((None, INPUT_DIM))
    masked = keras.layers.Masking(mask_value)(inputs)
    hidden = keras.layers.Bidirectional(SpaceOdysseyLSTM(UNITS, variant="FGR"), merge_mode="concat")(masked)
    return keras.Model(inputs, keras.layers.Dense(1)(hidden))


def test_bidirectional_model_fits_saves_and_reloads(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, TIME, INPUT_DIM)).astype("float32")
    x[::2, 5:] = 0.0  # half the rows padded: masked by Masking
    y = x.sum(axis=(1, 2))[:, None] / 5
    model = _model()
    model.compile(keras.optimizers.Adam(0.02), "mse")
    losses = model.fit(x, y, epochs=8, batch_size=8, verbose=0).history["loss"]
    assert losses[-1] < losses[0]
    model.save(tmp_path / "bidi.keras")
    restored = keras.saving.load_model(tmp_path / "bidi.keras")
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    bidi = restored.layers[2]
    assert bidi.backward_layer.go_backwards and bidi.backward_layer.variant.name == "FGR"


def test_bidirectional_config_round_trips():
    bidi = keras.layers.Bidirectional(
        SpaceOdysseyLSTM(UNITS, variant="NIAF", return_sequences=True, jit_compile=False), merge_mode="sum"
    )
    config = bidi.get_config()
    again = keras.layers.Bidirectional.from_config(config)
    assert again.get_config() == config
    assert config["backward_layer"]["config"]["go_backwards"] is True
    assert config["layer"]["config"]["go_backwards"] is False
    assert again.backward_layer.variant.name == "NIAF" and not again.backward_layer.jit_compile


@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("merge_mode, width", [("concat", 2 * UNITS), ("sum", UNITS)])
def test_merge_modes_give_the_expected_shapes(merge_mode, width, return_sequences):
    layer = SpaceOdysseyLSTM(UNITS, return_sequences=return_sequences, return_state=True)
    bidi = keras.layers.Bidirectional(layer, merge_mode=merge_mode)
    output_shape = (2, TIME, width) if return_sequences else (2, width)
    expected = [output_shape] + [(2, UNITS)] * 4  # then y, c forward and y, c backward
    assert [tuple(t.shape) for t in bidi(_inputs())] == expected
    symbolic = bidi(keras.Input((TIME, INPUT_DIM), batch_size=2))
    assert [tuple(t.shape) for t in symbolic] == expected
