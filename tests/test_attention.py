"""The attention article's worked example and the properties of attention weights."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from transformer_tf import (
    MultiHeadAttention,
    create_look_ahead_mask,
    create_padding_mask,
    scaled_dot_product_attention,
)
from transformer_tf.demo import sequential_sample

# -- the article's worked example ------------------------------------------------------


def test_sequential_sample_splits_into_eight_heads_of_64_columns():
    x = sequential_sample()  # 1..4608 as (1, 9, 512)
    assert x.shape == (1, 9, 512)
    assert x[0, 0, 0] == 1 and x[0, -1, -1] == 4608
    mha = MultiHeadAttention(d_model=512, num_heads=8)
    heads = mha.split_heads(x, batch_size=1)
    assert heads.shape == (1, 8, 9, 64)
    for h in range(8):
        np.testing.assert_array_equal(heads[0, h], x[0, :, h * 64 : (h + 1) * 64])
    np.testing.assert_array_equal(mha.combine_heads(heads, 1), x)


def test_self_attention_keeps_the_sentence_shape():
    x = sequential_sample()
    out, weights = MultiHeadAttention(512, 8)(x, x, x)
    assert out.shape == (1, 9, 512)
    assert weights.shape == (1, 8, 9, 9)


def test_cross_attention_with_12_queries_over_9_keys():
    source = tf.random.normal((1, 9, 512))
    target = tf.random.normal((1, 12, 512))
    out, weights = MultiHeadAttention(512, 8)(source, source, target)
    assert out.shape == (1, 12, 512)
    assert weights.shape == (1, 8, 12, 9)


def test_d_model_not_divisible_by_heads_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(d_model=100, num_heads=8)


@pytest.mark.parametrize("num_heads", [0, -2])
def test_a_head_count_below_one_is_refused_with_a_reason(num_heads):
    with pytest.raises(ValueError, match="at least 1"):
        MultiHeadAttention(d_model=128, num_heads=num_heads)


# -- properties of the weights -----------------------------------------------------------


def test_scaled_dot_product_matches_the_formula():
    q, k, v = (tf.random.normal((2, 3, 5, 4)), tf.random.normal((2, 3, 6, 4)), tf.random.normal((2, 3, 6, 7)))
    out, weights = scaled_dot_product_attention(q, k, v)
    logits = np.einsum("bhqd,bhkd->bhqk", q, k) / np.sqrt(4)
    expected_w = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(weights, expected_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, expected_w @ v.numpy(), rtol=1e-5, atol=1e-5)


def test_attention_rows_sum_to_one():
    x = tf.random.normal((3, 7, 32))
    _, weights = MultiHeadAttention(32, 4)(x, x, x)
    np.testing.assert_allclose(tf.reduce_sum(weights, -1), np.ones((3, 4, 7)), atol=1e-6)


def test_padded_keys_get_no_attention():
    ids = tf.constant([[4, 5, 6, 0, 0], [7, 8, 0, 0, 0]])
    x = tf.random.normal((2, 5, 32)) * 10.0  # large inputs: a sharp softmax would still leak if unmasked
    _, weights = MultiHeadAttention(32, 4)(x, x, x, create_padding_mask(ids))
    padded = (ids.numpy() == 0)[:, None, None, :]  # (batch, 1, 1, seq_k)
    assert np.all(np.where(np.broadcast_to(padded, weights.shape), weights, 0.0) < 1e-6)
    np.testing.assert_allclose(tf.reduce_sum(weights, -1), np.ones((2, 4, 5)), atol=1e-6)


def test_look_ahead_mask_never_attends_to_the_future():
    x = tf.random.normal((2, 6, 32))
    _, weights = MultiHeadAttention(32, 4)(x, x, x, create_look_ahead_mask(6))
    future = np.triu(np.ones((6, 6), bool), k=1)
    assert np.all(weights.numpy()[..., future] < 1e-6)
    assert np.all(weights.numpy()[..., ~future] > 0)  # the past and present do get weight


# -- equivalence with keras.layers.MultiHeadAttention -----------------------------------


def _keras_twin(ours, d_model, num_heads):
    """A keras.layers.MultiHeadAttention holding exactly our weights."""
    depth = d_model // num_heads
    twin = keras.layers.MultiHeadAttention(num_heads=num_heads, key_dim=depth)
    q = tf.random.normal((1, 2, d_model))
    twin(q, q)  # build
    # Our Dense(d_model) columns h*depth .. (h+1)*depth-1 are head h: reshape, don't permute.
    for theirs, mine in (
        (twin._query_dense, ours.wq),
        (twin._key_dense, ours.wk),
        (twin._value_dense, ours.wv),
    ):
        kernel, bias = mine.get_weights()
        theirs.set_weights([kernel.reshape(d_model, num_heads, depth), bias.reshape(num_heads, depth)])
    kernel, bias = ours.dense.get_weights()
    twin._output_dense.set_weights([kernel.reshape(num_heads, depth, d_model), bias])
    return twin


@pytest.fixture
def twins():
    d_model, num_heads = 64, 8
    ours = MultiHeadAttention(d_model, num_heads)
    source = tf.random.normal((2, 9, d_model))
    target = tf.random.normal((2, 12, d_model))
    ours(source, source, target)  # build
    return ours, _keras_twin(ours, d_model, num_heads), source, target


def test_equals_keras_multi_head_attention_with_the_same_weights(twins):
    ours, keras_mha, source, target = twins
    out, weights = ours(source, source, target)
    k_out, k_weights = keras_mha(target, source, return_attention_scores=True)  # (query, value)
    np.testing.assert_allclose(out, k_out, atol=1e-5)
    np.testing.assert_allclose(weights, k_weights, atol=1e-5)


def test_keras_masks_mean_attend_so_ours_must_be_inverted(twins):
    """Tutorial masks: 1.0 = masked. Keras attention_mask: True = attend. Convert with 1 - mask."""
    ours, keras_mha, source, target = twins
    ids = tf.constant([[3, 4, 5, 6, 0, 0, 0, 0, 0], [3, 4, 5, 6, 7, 8, 9, 0, 0]])
    our_mask = create_padding_mask(ids)  # (2, 1, 1, 9), 1 = padding
    out, weights = ours(source, source, target, our_mask)

    keras_mask = tf.cast(1.0 - our_mask[:, 0], tf.bool)  # (2, 1, 9), True = attend; broadcasts over queries
    k_out, k_weights = keras_mha(target, source, attention_mask=keras_mask, return_attention_scores=True)
    np.testing.assert_allclose(out, k_out, atol=1e-5)
    np.testing.assert_allclose(weights, k_weights, atol=1e-5)

    # Passing our mask unconverted attends *only* to the padding: a different, wrong result.
    _, swapped = keras_mha(
        target, source, attention_mask=tf.cast(our_mask[:, 0], tf.bool), return_attention_scores=True
    )
    assert np.abs(swapped.numpy() - weights.numpy()).max() > 0.5
    np.testing.assert_array_less(swapped.numpy()[..., :4], 1e-6)  # the real tokens get nothing
