"""The fused label-smoothed cross-entropy equals the tutorial's log-softmax form, value and gradient."""

import numpy as np
import pytest
import tensorflow as tf

from transformer_tf.fused_loss import smoothed_cross_entropy


def tutorial_form(labels, logits, eps):
    """(1 − ε) · (−log p(y)) + ε · mean_v(−log p(v)), by autodiff through log_softmax and gather."""
    log_p = tf.nn.log_softmax(tf.cast(logits, tf.float32))
    return (1.0 - eps) * -tf.gather(log_p, labels, batch_dims=labels.shape.rank) - eps * tf.reduce_mean(log_p, -1)


def value_and_gradient(loss_fn, labels, logits, eps, weights):
    with tf.GradientTape() as tape:
        tape.watch(logits)
        per_position = loss_fn(labels, logits, eps)
        total = tf.reduce_sum(per_position * weights)
    return per_position, tape.gradient(total, logits)


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_fused_loss_and_gradient_equal_the_log_softmax_form_in_float32(eps):
    rng = np.random.default_rng(0)
    logits = tf.constant(rng.normal(size=(3, 5, 50)) * 4, tf.float32)
    labels = tf.constant(rng.integers(0, 50, (3, 5)))
    weights = tf.constant(rng.random((3, 5)), tf.float32)  # an upstream gradient that differs per position
    fused, fused_grad = value_and_gradient(smoothed_cross_entropy, labels, logits, eps, weights)
    ref, ref_grad = value_and_gradient(tutorial_form, labels, logits, eps, weights)
    assert fused.shape == (3, 5) and fused.dtype == tf.float32
    np.testing.assert_allclose(fused, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fused_grad, ref_grad, rtol=1e-5, atol=1e-6)


def test_bfloat16_logits_get_a_float32_softmax_and_a_bfloat16_gradient():
    rng = np.random.default_rng(1)
    logits = tf.cast(tf.constant(rng.normal(size=(4, 30)) * 3, tf.float32), tf.bfloat16)
    labels = tf.constant(rng.integers(0, 30, 4))
    weights = tf.ones(4)
    fused, fused_grad = value_and_gradient(smoothed_cross_entropy, labels, logits, 0.1, weights)
    ref, ref_grad = value_and_gradient(tutorial_form, labels, logits, 0.1, weights)
    assert fused.dtype == tf.float32 and fused_grad.dtype == tf.bfloat16
    np.testing.assert_allclose(fused, ref, rtol=1e-5)  # the same float32 arithmetic on the same inputs
    np.testing.assert_allclose(tf.cast(fused_grad, tf.float32), tf.cast(ref_grad, tf.float32), atol=1e-2)


def test_the_gradient_of_a_row_sums_to_zero_and_is_negative_only_at_the_label():
    """softmax − ε/V − (1 − ε)·onehot(y): each row sums to 0; only the label's entry can be below −ε/V."""
    logits = tf.zeros((2, 8))
    labels = tf.constant([3, 5])
    _, grad = value_and_gradient(smoothed_cross_entropy, labels, logits, 0.1, tf.ones(2))
    np.testing.assert_allclose(tf.reduce_sum(grad, -1), 0.0, atol=1e-6)
    expected = np.full((2, 8), 1 / 8 - 0.1 / 8, np.float32)
    expected[0, 3] -= 0.9
    expected[1, 5] -= 0.9
    np.testing.assert_allclose(grad, expected, atol=1e-6)
