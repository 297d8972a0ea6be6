"""The Space Odyssey cell and its fast layer: equations, variants, weights, speed path, saving."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from lstm_tf import VARIANTS, SpaceOdysseyLSTM, SpaceOdysseyLSTMCell, get_variant

UNITS, INPUT_DIM = 5, 3


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def reference_step(variant, w, x, y_prev, c_prev, gates_prev=None):
    """The issue's equations for one step, written independently of the cell, in NumPy."""
    v = get_variant(variant)
    zero = np.zeros(UNITS)

    def pre(b):
        out = x @ w[f"W_{b}"] + y_prev @ w[f"R_{b}"] + w[f"b_{b}"]
        if v.gate_recurrence and b != "z":
            i, f, o = np.split(gates_prev, 3, axis=-1)
            out = out + i @ w[f"R_i{b}"] + f @ w[f"R_f{b}"] + o @ w[f"R_o{b}"]
        return out

    g = (lambda a: a) if variant == "NIAF" else np.tanh
    h = (lambda a: a) if variant == "NOAF" else np.tanh
    z = g(pre("z"))
    i = 1.0 if variant == "NIG" else _sigmoid(pre("i") + w.get("p_i", zero) * c_prev)
    if variant == "CIFG":
        f = 1 - i
    elif variant == "NFG":
        f = 1.0
    else:
        f = _sigmoid(pre("f") + w.get("p_f", zero) * c_prev)
    c = z * i + c_prev * f
    o = 1.0 if variant == "NOG" else _sigmoid(pre("o") + w.get("p_o", zero) * c)
    y = o * h(c)
    return y, c, np.concatenate([i, f, o], axis=-1) if v.gate_recurrence else None


def random_weights(cell, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    return {k: (rng.standard_normal(a.shape) * scale).astype(a.dtype) for k, a in cell.gate_weights().items()}


def built_cell(variant, dtype="float32"):
    cell = SpaceOdysseyLSTMCell(UNITS, variant=variant, dtype=dtype)
    cell.build((None, INPUT_DIM))
    return cell


EXPECTED_BLOCKS = {
    "vanilla": "zifo",
    "NIG": "zfo",
    "NFG": "zio",
    "NOG": "zif",
    "NIAF": "zifo",
    "NOAF": "zifo",
    "NP": "zifo",
    "CIFG": "zio",
    "FGR": "zifo",
}
EXPECTED_PEEPHOLES = {
    "vanilla": "ifo",
    "NIG": "fo",
    "NFG": "io",
    "NOG": "if",
    "NIAF": "ifo",
    "NOAF": "ifo",
    "NP": "",
    "CIFG": "io",
    "FGR": "ifo",
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_has_exactly_the_weights_it_uses(variant):
    cell = built_cell(variant)
    names = set(cell.gate_weights())
    expected = {f"{kind}_{b}" for b in EXPECTED_BLOCKS[variant] for kind in "WRb"}
    expected |= {f"p_{g}" for g in EXPECTED_PEEPHOLES[variant]}
    if variant == "FGR":
        expected |= {f"R_{s}{t}" for s in "ifo" for t in "ifo"}
    assert names == expected
    # and no hidden extra variables: the packed weights hold exactly those numbers
    assert sum(int(np.prod(v.shape)) for v in cell.weights) == sum(a.size for a in cell.gate_weights().values())


@pytest.mark.parametrize("variant", ["vanilla", "FGR"])
def test_gate_weight_shapes_follow_the_articles(variant):
    for name, value in built_cell(variant).gate_weights().items():
        kind = name.split("_")[0]
        expected = {"W": (INPUT_DIM, UNITS), "R": (UNITS, UNITS), "p": (UNITS,), "b": (UNITS,)}[kind]
        assert value.shape == expected, name


def test_set_gate_weights_round_trip_and_clear_errors():
    cell = built_cell("CIFG")
    weights = random_weights(cell)
    cell.set_gate_weights(weights)
    for name, value in cell.gate_weights().items():
        np.testing.assert_array_equal(value, weights[name])
    with pytest.raises(ValueError, match=r"missing \['W_z'\]"):
        cell.set_gate_weights({k: v for k, v in weights.items() if k != "W_z"})
    with pytest.raises(ValueError, match=r"unknown \['W_f'\]"):  # CIFG has no forget-gate weights
        cell.set_gate_weights({**weights, "W_f": weights["W_i"]})
    with pytest.raises(ValueError, match="R_z must have shape"):
        cell.set_gate_weights({**weights, "R_z": np.zeros((2, 2))})


def test_weights_of_a_cell_not_yet_built_are_asked_for_with_the_fix():
    with pytest.raises(ValueError, match=re.escape("no weights yet: call it (or its layer) on an input first")):
        SpaceOdysseyLSTMCell(UNITS).gate_weights()
    with pytest.raises(ValueError, match="no weights yet"):
        SpaceOdysseyLSTM(UNITS).cell.set_gate_weights({})


def test_fast_layer_names_a_missing_time_axis_and_a_change_of_features():
    layer = SpaceOdysseyLSTM(UNITS)
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):  # (batch, features): no time axis
        layer(np.zeros((2, INPUT_DIM), np.float32))
    layer(np.zeros((2, 5, INPUT_DIM), np.float32))
    with pytest.raises(ValueError, match=f"expected axis -1 of input shape to have value {INPUT_DIM}"):
        layer(np.zeros((2, 5, INPUT_DIM + 1), np.float32))


def test_unknown_variant_names_the_choices():
    with pytest.raises(ValueError, match="choose one of vanilla, NIG"):
        SpaceOdysseyLSTMCell(4, variant="peephole")
    assert get_variant("cifg").name == "CIFG"


def test_forget_bias_starts_at_one_like_keras_lstm():
    weights = built_cell("vanilla").gate_weights()
    np.testing.assert_array_equal(weights["b_f"], np.ones(UNITS))
    np.testing.assert_array_equal(weights["b_i"], np.zeros(UNITS))


@pytest.mark.parametrize("variant", VARIANTS)
def test_one_step_matches_the_equations(variant):
    cell = built_cell(variant, dtype="float64")
    weights = random_weights(cell, seed=1)
    cell.set_gate_weights(weights)
    rng = np.random.default_rng(2)
    x, y_prev, c_prev = (
        rng.standard_normal((4, INPUT_DIM)),
        rng.standard_normal((4, UNITS)),
        rng.standard_normal((4, UNITS)),
    )
    states = [y_prev, c_prev]
    gates_prev = None
    if variant == "FGR":
        gates_prev = rng.uniform(size=(4, 3 * UNITS))
        states.append(gates_prev)
    y, new_states = cell(tf.constant(x), [tf.constant(s) for s in states])
    y_ref, c_ref, gates_ref = reference_step(variant, weights, x, y_prev, c_prev, gates_prev)
    np.testing.assert_allclose(y.numpy(), y_ref, atol=1e-12)
    np.testing.assert_allclose(new_states[1].numpy(), c_ref, atol=1e-12)
    if variant == "FGR":
        np.testing.assert_allclose(new_states[2].numpy(), gates_ref, atol=1e-12)


def _pair(variant, jit_compile=True, **rnn_kwargs):
    """The fast layer and keras.layers.RNN over a cell, with the same random weights.

    ``rnn_kwargs``: arguments both take (``go_backwards``, ``zero_output_for_mask``).
    """
    x = tf.random.stateless_normal((3, 9, INPUT_DIM), seed=(0, 1))
    both = dict(return_sequences=True, return_state=True, **rnn_kwargs)
    fast = SpaceOdysseyLSTM(UNITS, variant=variant, jit_compile=jit_compile, **both)
    slow = keras.layers.RNN(SpaceOdysseyLSTMCell(UNITS, variant=variant), **both)
    fast(x), slow(x)
    weights = random_weights(fast.cell, seed=3)
    fast.cell.set_gate_weights(weights)
    slow.cell.set_gate_weights(weights)
    return x, fast, slow


def _outputs_and_gradients(layer, x, **call_kwargs):
    with tf.GradientTape() as tape:
        tape.watch(x)
        outputs = layer(x, **call_kwargs)
        # weight every output (sequence and final states) so every gradient path is exercised
        loss = sum(
            tf.reduce_sum(o * tf.random.stateless_normal(tf.shape(o), seed=(k, 7))) for k, o in enumerate(outputs)
        )
    grads = tape.gradient(loss, [x, *layer.cell.weights])
    return outputs, grads[0], layer.cell.named_gradients(grads[1:])


# rows of 9, 5 and 1 real steps, then padding (masked: False)
LENGTHS_MASK = tf.sequence_mask([9, 5, 1], 9)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("backwards_with_a_mask", [False, True], ids=["forward", "backwards-masked"])
def test_fast_layer_equals_keras_rnn_over_the_cell(variant, backwards_with_a_mask):
    """Also read backwards with a padding mask, as keras.layers.Bidirectional runs its backward copy."""
    extra = dict(go_backwards=True) if backwards_with_a_mask else {}
    call = dict(mask=LENGTHS_MASK) if backwards_with_a_mask else {}
    x, fast, slow = _pair(variant, **extra)
    out_fast, dx_fast, dw_fast = _outputs_and_gradients(fast, x, **call)
    out_slow, dx_slow, dw_slow = _outputs_and_gradients(slow, x, **call)
    for a, b in zip(out_fast, out_slow):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dx_fast.numpy(), dx_slow.numpy(), rtol=1e-4, atol=1e-4)
    assert set(dw_fast) == set(dw_slow)
    for name in dw_fast:
        np.testing.assert_allclose(dw_fast[name], dw_slow[name], rtol=1e-4, atol=1e-4, err_msg=name)


def test_fast_layer_without_xla_and_last_output_only():
    x, fast, _ = _pair("vanilla", jit_compile=False)
    sequence, y_last, c_last = fast(x)
    last_only = SpaceOdysseyLSTM(UNITS)
    last_only(x)
    last_only.cell.set_gate_weights(fast.cell.gate_weights())
    np.testing.assert_allclose(last_only(x).numpy(), sequence[:, -1].numpy(), atol=1e-6)
    np.testing.assert_allclose(y_last.numpy(), sequence[:, -1].numpy(), atol=1e-6)
    assert c_last.shape == (3, UNITS)


@pytest.mark.parametrize("zero_output_for_mask", [False, True])
def test_masked_steps_and_an_initial_state_match_keras_rnn(zero_output_for_mask):
    """A masked step keeps the states; its output is the previous one (zeros before the first
    real step) or zeros, exactly as keras.layers.RNN gives them. The mask has holes anywhere."""
    x, fast, slow = _pair("FGR", zero_output_for_mask=zero_output_for_mask)
    mask = tf.constant(np.array([[0, 1, 1, 0, 1, 1, 1, 0, 0], [1] * 9, [0] * 9], dtype=bool))
    initial = [tf.random.stateless_normal((3, size), seed=(6, k)) for k, size in enumerate(fast.cell.state_size)]
    out_fast, dx_fast, dw_fast = _outputs_and_gradients(fast, x, mask=mask, initial_state=initial)
    out_slow, dx_slow, dw_slow = _outputs_and_gradients(slow, x, mask=mask, initial_state=initial)
    for a, b in zip(out_fast, out_slow):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dx_fast.numpy(), dx_slow.numpy(), rtol=1e-4, atol=1e-4)
    for name in dw_fast:
        np.testing.assert_allclose(dw_fast[name], dw_slow[name], rtol=1e-4, atol=1e-4, err_msg=name)
    np.testing.assert_array_equal(out_fast[1][2].numpy(), initial[0][2].numpy())  # all masked: y⁽⁰⁾ kept
    if zero_output_for_mask:
        np.testing.assert_array_equal(out_fast[0][0, 3].numpy(), np.zeros(UNITS))
    else:
        np.testing.assert_array_equal(out_fast[0][0, 3].numpy(), out_fast[0][0, 2].numpy())
        np.testing.assert_array_equal(out_fast[0][0, 0].numpy(), np.zeros(UNITS))


def test_padding_at_the_end_leaves_earlier_outputs_unchanged():
    x, fast, _ = _pair("vanilla")
    padded = tf.concat([x, tf.zeros((3, 4, INPUT_DIM))], axis=1)
    np.testing.assert_allclose(fast(padded)[0][:, :9].numpy(), fast(x)[0].numpy(), atol=1e-6)


def _model(variant):
    inputs = keras.Input((None, INPUT_DIM))
    hidden = SpaceOdysseyLSTM(UNITS, variant=variant, return_sequences=True)(inputs)
    return keras.Model(inputs, keras.layers.Dense(2)(hidden))


@pytest.mark.parametrize("variant", ["vanilla", "FGR"])
def test_keras_file_round_trip_gives_identical_outputs(variant, tmp_path):
    model = _model(variant)
    x = np.random.default_rng(0).standard_normal((2, 6, INPUT_DIM)).astype("float32")
    model.save(tmp_path / "m.keras")
    restored = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    assert restored.layers[1].variant.name == variant


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["vanilla", "FGR"])
def test_saved_model_reloads_with_identical_outputs(variant, tmp_path):
    model = _model(variant)
    x = np.random.default_rng(0).standard_normal((2, 6, INPUT_DIM)).astype("float32")
    model.export(str(tmp_path / "sm"), verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "sm"))
    np.testing.assert_allclose(reloaded.serve(x).numpy(), model.predict(x, verbose=0), atol=1e-6)
    longer = np.concatenate([x, x], axis=1)  # other lengths work too: the signature keeps time free
    np.testing.assert_allclose(reloaded.serve(longer).numpy(), model.predict(longer, verbose=0), atol=1e-6)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_model_fit_trains_the_fast_layer(jit_compile):
    """Works inside Keras' own training loop, with and without an outer XLA compilation."""
    x = np.random.default_rng(0).standard_normal((64, 10, INPUT_DIM)).astype("float32")
    y = x.sum(axis=(1, 2), keepdims=False)[:, None] / 5
    model = keras.Sequential(
        [keras.Input((None, INPUT_DIM)), SpaceOdysseyLSTM(8, variant="FGR"), keras.layers.Dense(1)]
    )
    model.compile(keras.optimizers.Adam(0.01), "mse", jit_compile=jit_compile)
    losses = model.fit(x, y, epochs=15, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < 0.5 * losses[0]


def test_initial_state_and_its_gradient_match_keras_rnn():
    x, fast, slow = _pair("vanilla")
    y0 = tf.random.stateless_normal((3, UNITS), seed=(4, 0))
    c0 = tf.random.stateless_normal((3, UNITS), seed=(4, 1))
    results = []
    for layer in (fast, slow):
        with tf.GradientTape() as tape:
            tape.watch([y0, c0])
            sequence = layer(x, initial_state=[y0, c0])[0]
            loss = tf.reduce_sum(sequence * tf.random.stateless_normal(tf.shape(sequence), seed=(5, 0)))
        results.append((sequence, *tape.gradient(loss, [y0, c0])))
    for a, b in zip(*results):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)
