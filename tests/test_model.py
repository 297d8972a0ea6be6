"""The full Transformer: shapes, attention dict, learning, and every way of saving it."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from transformer_tf import (
    Decoder,
    DecoderLayer,
    Encoder,
    EncoderLayer,
    MultiHeadAttention,
    Transformer,
    positional_encoding,
)

TINY = dict(
    num_layers=2,
    d_model=32,
    num_heads=4,
    dff=64,
    input_vocab_size=40,
    target_vocab_size=50,
    pe_input=30,
    pe_target=30,
)


@pytest.fixture
def batch():
    inp = tf.constant([[5, 6, 7, 8, 9, 2, 0], [3, 4, 2, 0, 0, 0, 0]], tf.int64)  # 0 = padding
    tar = tf.constant([[1, 11, 12, 13, 0], [1, 14, 15, 0, 0]], tf.int64)
    return inp, tar


@pytest.fixture
def model(batch):
    m = Transformer(**TINY)
    m(batch)
    return m


def test_logits_and_attention_shapes(model, batch):
    logits, attention = model(batch, training=False, return_attention=True)
    assert logits.shape == (2, 5, 50)
    expected = {}
    for i in (1, 2):
        expected[f"encoder_layer{i}_block"] = (2, 4, 7, 7)
        expected[f"decoder_layer{i}_block1"] = (2, 4, 5, 5)
        expected[f"decoder_layer{i}_block2"] = (2, 4, 5, 7)
    assert {k: tuple(v.shape) for k, v in attention.items()} == expected
    np.testing.assert_allclose(model(batch, training=False), logits, atol=1e-6)  # same logits without the dict


def test_masks_are_built_inside_from_pad_id_zero(model, batch):
    _, attention = model(batch, return_attention=True)
    inp = batch[0].numpy()
    for name, w in attention.items():
        if name.startswith("encoder") or name.endswith("block2"):  # keys are source tokens
            assert np.all(w.numpy()[1, :, :, inp[1] == 0] < 1e-6), name
        else:  # block 1: causal
            assert np.all(w.numpy()[..., np.triu(np.ones((5, 5), bool), k=1)] < 1e-6), name


def test_padding_does_not_change_the_real_positions(model, batch):
    """A sentence padded with extra zeros gives the same logits on its real tokens."""
    inp, tar = batch
    padded = (tf.pad(inp, [[0, 0], [0, 4]]), tar)
    np.testing.assert_allclose(model(padded)[:, :3], model(batch)[:, :3], atol=1e-5)


def test_too_long_input_is_refused_with_the_limit_named(model):
    too_long = tf.ones((1, TINY["pe_input"] + 1), tf.int64)
    with pytest.raises(tf.errors.InvalidArgumentError, match="longer than the 30 positions"):
        model((too_long, tf.ones((1, 2), tf.int64)))


def test_positional_encoding_matches_the_paper():
    pe = positional_encoding(50, 16).numpy()
    assert pe.shape == (1, 50, 16)
    pos, i = 7, 3
    np.testing.assert_allclose(pe[0, pos, 2 * i], np.sin(pos / 10000 ** (2 * i / 16)), rtol=1e-5)
    np.testing.assert_allclose(pe[0, pos, 2 * i + 1], np.cos(pos / 10000 ** (2 * i / 16)), rtol=1e-5)


@pytest.mark.slow
def test_tiny_transformer_overfits_one_batch(batch):
    inp, tar = batch
    dec_in, dec_target = tar[:, :-1], tar[:, 1:]  # teacher forcing: predict the next token
    model = Transformer(**{**TINY, "num_layers": 1}, rate=0.0)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
    )
    history = model.fit((inp, dec_in), dec_target, epochs=60, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0], losses[::10]
    assert np.array_equal(
        tf.argmax(model((inp, dec_in)), -1).numpy()[dec_target.numpy() > 0],
        dec_target.numpy()[dec_target.numpy() > 0],
    )


def test_keras_file_round_trip_gives_identical_logits(model, batch, tmp_path):
    path = str(tmp_path / "transformer.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert isinstance(restored, Transformer)
    assert restored.get_config() == model.get_config()
    np.testing.assert_array_equal(restored(batch), model(batch))


@pytest.mark.slow
def test_saved_model_export_reloads_with_identical_logits(model, batch, tmp_path):
    path = str(tmp_path / "saved_model")
    # A token model needs an explicit int64 signature: export() would guess float32.
    spec = tf.TensorSpec([None, None], tf.int64)
    model.export(path, input_signature=[(spec, spec)], verbose=False)
    reloaded = tf.saved_model.load(path)
    np.testing.assert_allclose(reloaded.serve(batch), model(batch), atol=1e-5)
    # dynamic shapes: another batch size and lengths go through the same signature
    inp, tar = batch
    np.testing.assert_allclose(reloaded.serve((inp[:1, :4], tar[:1, :2])), model((inp[:1, :4], tar[:1, :2])), atol=1e-5)


def test_tf_checkpoint_tracks_every_variable(model, batch, tmp_path):
    """Keras 3 hides layers kept in lists from tf.train.Checkpoint; ours are in tuples."""
    path = tf.train.Checkpoint(model=model).save(str(tmp_path / "ckpt"))
    saved = [name for name, _ in tf.train.list_variables(path) if name.startswith("model/")]
    assert len(saved) == len(model.weights) == 88  # (`variables` adds dropout RNG states)
    fresh = Transformer(**TINY)
    fresh(batch)
    assert not np.allclose(fresh(batch), model(batch))
    tf.train.Checkpoint(model=fresh).restore(path).assert_existing_objects_matched()
    np.testing.assert_array_equal(fresh(batch), model(batch))


def test_build_creates_every_weight_before_the_first_call():
    model = Transformer(**TINY)
    model.build(((None, None), (None, None)))
    called = Transformer(**TINY)
    called((tf.ones((1, 3), tf.int64), tf.ones((1, 2), tf.int64)))
    assert len(model.weights) == len(called.weights) == 88


# -- every layer: get_config and a `.keras` round trip inside a functional model ----------


def _functional(layer_name):
    """A small functional model around one layer, plus an input for it."""
    rng = np.random.default_rng(0)
    if layer_name == "MultiHeadAttention":
        v, q = keras.Input((6, 16)), keras.Input((4, 16))
        out = MultiHeadAttention(16, 4)(v, v, q)
        data = [rng.normal(size=(2, 6, 16)), rng.normal(size=(2, 4, 16))]
        return keras.Model([v, q], out), data
    if layer_name == "EncoderLayer":
        x = keras.Input((6, 16))
        return keras.Model(x, EncoderLayer(16, 4, 32)(x)), [rng.normal(size=(2, 6, 16))]
    if layer_name == "DecoderLayer":
        x, enc = keras.Input((4, 16)), keras.Input((6, 16))
        out = DecoderLayer(16, 4, 32)(x, enc)
        return keras.Model([x, enc], out), [rng.normal(size=(2, 4, 16)), rng.normal(size=(2, 6, 16))]
    ids = keras.Input((5,), dtype="int32")
    data = [rng.integers(1, 20, size=(2, 5))]
    if layer_name == "Encoder":
        return keras.Model(ids, Encoder(2, 16, 4, 32, 20, 10)(ids)), data
    enc = keras.Input((6, 16))
    out = Decoder(2, 16, 4, 32, 20, 10)(ids, enc)
    return keras.Model([ids, enc], out), data + [rng.normal(size=(2, 6, 16))]


@pytest.mark.parametrize("layer_name", ["MultiHeadAttention", "EncoderLayer", "DecoderLayer", "Encoder", "Decoder"])
def test_every_layer_round_trips_through_keras_saving(layer_name, tmp_path):
    model, data = _functional(layer_name)
    layer = model.layers[-1]
    assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()
    path = str(tmp_path / f"{layer_name}.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert type(restored.layers[-1]) is type(layer)
    data = data[0] if len(data) == 1 else data  # a single-input model takes a tensor, not a list
    for a, b in zip(tf.nest.flatten(model(data)), tf.nest.flatten(restored(data))):
        np.testing.assert_array_equal(a, b)


def test_tied_embeddings_share_one_matrix_for_input_output_and_decoder(batch, tmp_path):
    tied = Transformer(**{**TINY, "target_vocab_size": 40}, share_embeddings=True)
    untied = Transformer(**{**TINY, "target_vocab_size": 40})
    for m in (tied, untied):
        m(batch)
    assert tied.decoder.embedding is tied.encoder.embedding
    assert tied.final_layer.embedding is tied.encoder.embedding
    # two embeddings (40×32 each) and the output kernel (32×40) fewer: 3 matrices become 1
    assert untied.count_params() - tied.count_params() == 2 * 40 * 32
    # the shared matrix moves the output logits: logits = x Eᵀ + b
    before = tied(batch)
    emb = tied.encoder.embedding.embeddings
    emb.assign(emb * 2.0)
    assert not np.allclose(before, tied(batch))
    # it saves and restores once, through every path
    tf.train.Checkpoint(model=tied).write(str(tmp_path / "ck"))
    again = Transformer(**{**TINY, "target_vocab_size": 40}, share_embeddings=True)
    again.build(((None, None), (None, None)))
    tf.train.Checkpoint(model=again).read(str(tmp_path / "ck")).assert_existing_objects_matched()
    np.testing.assert_allclose(again(batch), tied(batch), atol=1e-6)
    tied.save(tmp_path / "tied.keras")
    loaded = keras.models.load_model(tmp_path / "tied.keras")
    np.testing.assert_allclose(loaded(batch), tied(batch), atol=1e-6)
    with pytest.raises(ValueError, match="joint vocabulary"):
        Transformer(**TINY, share_embeddings=True)


def test_mixed_precision_computes_in_bfloat16_with_float32_logits(batch):
    from transformer_tf.config import TrainConfig
    from transformer_tf.train import build_model

    config = TrainConfig(num_layers=1, d_model=32, num_heads=4, dff=64, max_tokens=30, mixed_precision=True)
    before = keras.mixed_precision.dtype_policy().name
    model = build_model(config, 40, 40)
    assert keras.mixed_precision.dtype_policy().name == before  # the global policy is left alone
    assert model.encoder.enc_layers[0].mha.wq.compute_dtype == "bfloat16"
    assert all(w.dtype == "float32" for w in model.weights)
    logits, attention = model(batch, return_attention=True)
    assert logits.dtype == tf.float32
    np.testing.assert_allclose(tf.reduce_sum(attention["encoder_layer1_block"], -1), 1.0, atol=1e-5)
    inp, tar = batch
    loss = model.train_on_batch((inp, tar[:, :-1]), tar[:, 1:])
    assert np.all(np.isfinite(loss))


def test_label_smoothed_loss_matches_its_definition():
    from transformer_tf.losses import masked_loss

    logits = tf.constant(np.random.default_rng(0).normal(size=(2, 3, 7)), tf.float32)
    labels = tf.constant([[4, 2, 0], [1, 0, 0]], tf.int64)  # 0 = padding: 3 real positions
    plain = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)(labels, logits)
    np.testing.assert_allclose(masked_loss(0.0)(labels, logits), plain, rtol=1e-5)
    log_p = tf.nn.log_softmax(logits).numpy()
    expected = np.mean(
        [0.9 * -log_p[b, t, labels[b, t]] + 0.1 * -log_p[b, t].mean() for b, t in [(0, 0), (0, 1), (1, 0)]]
    )
    np.testing.assert_allclose(masked_loss(0.1)(labels, logits), expected, rtol=1e-5)


def test_the_model_modules_layers_are_registered_for_keras_loading():
    """``.keras`` files name these classes as ``transformer_tf>Class``; loading looks them up there."""
    from transformer_tf.layers import TiedOutput

    for cls in (TiedOutput, Transformer):
        name = f"transformer_tf>{cls.__name__}"
        assert keras.saving.get_registered_object(name) is cls, name
