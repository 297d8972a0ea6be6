"""Training computes the output layer and the loss at the decoder's real rows only: same numbers.

The padding positions of a batch (about 40% at the corpus's sentence lengths) are left out of
the tied output layer and the fused loss (``Transformer(skip_padding_rows=True)``, the
as ``train`` builds it); these tests pin down that the loss, its gradients and the accuracy are those of the
full ``(batch, tar_len, vocab)`` logits.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from transformer_tf import Transformer
from transformer_tf.losses import masked_accuracy, masked_loss
from transformer_tf.masks import decoder_rows, decoder_rows_of_labels

TINY = dict(num_layers=2, d_model=32, num_heads=4, dff=64, pe_input=30, pe_target=30, rate=0.0)


def teacher_forcing_batch(seed=0, batch=5, vocab=50):
    """``((inp, tar_in), labels)`` as the data pipeline makes them: START … END, padded,
    lengths drawn so that one row is the longest; the last row is padding only."""
    rng = np.random.default_rng(seed)

    def side():
        lengths = rng.integers(3, 9, batch)
        ids = np.zeros((batch, lengths.max()), np.int64)
        for row, length in enumerate(lengths[:-1]):
            ids[row, :length] = [2, *rng.integers(4, vocab, length - 2), 3]
        return ids

    inp, tar = side(), side()
    return (tf.constant(inp), tf.constant(tar[:, :-1])), tf.constant(tar[:, 1:])


def test_the_rows_found_from_the_labels_are_the_decoder_inputs_rows():
    for seed in range(5):
        (_, tar_in), labels = teacher_forcing_batch(seed)
        np.testing.assert_array_equal(decoder_rows_of_labels(labels), decoder_rows(tar_in))


def loss_gradients_accuracy(model, x, labels, label_smoothing):
    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        loss = masked_loss(label_smoothing)(labels, logits)
    grads = tape.gradient(loss, model.trainable_variables)
    return logits, loss, [tf.convert_to_tensor(g) for g in grads], masked_accuracy(labels, logits)


@pytest.mark.parametrize("share_embeddings", [True, False])
def test_skipping_the_padding_rows_gives_the_same_loss_gradients_and_accuracy(share_embeddings):
    keras.utils.set_random_seed(0)
    x, labels = teacher_forcing_batch()
    full = Transformer(**TINY, input_vocab_size=50, target_vocab_size=50, share_embeddings=share_embeddings)
    full(x)
    rows = Transformer(
        **TINY, input_vocab_size=50, target_vocab_size=50, share_embeddings=share_embeddings, skip_padding_rows=True
    )
    rows(x)
    rows.set_weights(full.get_weights())

    full_logits, full_loss, full_grads, full_acc = loss_gradients_accuracy(full, x, labels, 0.1)
    row_logits, row_loss, row_grads, row_acc = loss_gradients_accuracy(rows, x, labels, 0.1)
    assert full_logits.shape == (5, x[1].shape[1], 50)
    assert row_logits.shape == (int(tf.math.count_nonzero(x[1])), 50)  # only the decoder's real rows
    np.testing.assert_allclose(row_logits, tf.boolean_mask(full_logits, decoder_rows(x[1])), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(row_loss, full_loss, rtol=1e-6)
    assert float(full_loss) > 0.0
    np.testing.assert_allclose(row_acc, full_acc)
    assert len(row_grads) == len(full_grads)
    for row_grad, full_grad in zip(row_grads, full_grads):
        np.testing.assert_allclose(row_grad, full_grad, rtol=1e-4, atol=1e-7)


def test_inference_and_attention_still_get_every_position():
    x, _ = teacher_forcing_batch()
    model = Transformer(**TINY, input_vocab_size=50, target_vocab_size=50, skip_padding_rows=True)
    assert model(x).shape == (5, x[1].shape[1], 50)
    logits, attention = model(x, training=True, return_attention=True)
    assert logits.shape == (5, x[1].shape[1], 50) and attention


def test_the_model_train_builds_skips_the_padding_rows_and_a_plain_one_does_not():
    from transformer_tf.config import TrainConfig
    from transformer_tf.train import build_model

    config = TrainConfig(num_layers=1, d_model=16, num_heads=2, dff=32, vocab_size=50, dropout=0.0)
    x, _ = teacher_forcing_batch()
    assert build_model(config, 50, 50)(x, training=True).shape == (int(tf.math.count_nonzero(x[1])), 50)
    assert Transformer(**TINY, input_vocab_size=50, target_vocab_size=50)(x, training=True).shape == (
        5,
        x[1].shape[1],
        50,
    )


def test_under_mixed_precision_the_skipped_rows_change_nothing_beyond_bfloat16_rounding():
    x, labels = teacher_forcing_batch(seed=3)
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        keras.utils.set_random_seed(1)
        full = Transformer(**TINY, input_vocab_size=50, target_vocab_size=50, share_embeddings=True)
        rows = Transformer(
            **TINY, input_vocab_size=50, target_vocab_size=50, share_embeddings=True, skip_padding_rows=True
        )
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
    full(x)
    rows(x)
    rows.set_weights(full.get_weights())
    _, full_loss, full_grads, _ = loss_gradients_accuracy(full, x, labels, 0.1)
    row_logits, row_loss, row_grads, _ = loss_gradients_accuracy(rows, x, labels, 0.1)
    assert row_logits.dtype == tf.float32 and row_logits.shape[0] == int(tf.math.count_nonzero(x[1]))
    np.testing.assert_allclose(row_loss, full_loss, rtol=1e-3)
    for row_grad, full_grad in zip(row_grads, full_grads):
        scale = float(tf.reduce_max(tf.abs(full_grad))) + 1e-6
        np.testing.assert_allclose(row_grad / scale, full_grad / scale, atol=2e-2)
