"""Label-smoothed cross-entropy over a large vocabulary, with a hand-written (fused) gradient.

The loss of :func:`transformer_tf.train.masked_loss` is, per position, with smoothing ε and
a vocabulary of V pieces ("Attention Is All You Need" §5.4, ε = 0.1):

    loss = (1 − ε) · (−log p(y)) + ε · mean_v(−log p(v))
         = logsumexp(z) − (1 − ε) · z_y − ε · mean_v(z_v)

and its gradient with respect to the logits z is

    ∂loss/∂z = softmax(z) − ε / V − (1 − ε) · onehot(y).

Written with ``tf.nn.log_softmax`` and ``tf.gather`` (as the tutorial does), TensorFlow
builds that gradient from pieces: the gather's gradient scatters into a dense
``(positions, V)`` float32 tensor with ``UnsortedSegmentSum`` (the largest single op of a
training step at V = 12,000, by ``bench/profile_train_step.py``), the mean and the
log-softmax each add their own ``(positions, V)`` passes. Here the forward pass keeps
``exp(z − max)``, and the backward pass is one scaled copy of it with ``(1 − ε)``
subtracted at the label's column (``tf.tensor_scatter_nd_sub``, one element a row):
no one-hot or scattered ``(positions, V)`` tensor is made.

The logits may come in bfloat16/float16 (mixed precision); the softmax is computed in
float32 and the gradient is returned in the logits' dtype.
"""

import tensorflow as tf


def smoothed_cross_entropy(labels, logits, label_smoothing=0.0):
    """Per-position label-smoothed cross-entropy, ``−Σ_v q(v) log softmax(z)_v``.

    Args:
        labels: ``(...)`` integer ids in ``0 … V−1`` (padding positions included: the
            caller masks them).
        logits: ``(..., V)``, any float dtype.
        label_smoothing: ε in ``[0, 1)``; the target puts ``1 − ε + ε/V`` on the label
            and ``ε/V`` everywhere else (ε = 0: plain sparse cross-entropy).

    Returns:
        ``(...)`` float32 losses; differentiable with respect to ``logits`` only.
    """
    labels = tf.cast(labels, tf.int64)
    in_dtype = logits.dtype
    vocab = tf.shape(logits, out_type=tf.int64)[-1]
    rows_shape = tf.shape(labels, out_type=tf.int64)
    flat_labels = tf.reshape(labels, [-1])  # (N,)
    # (N, 2): the (row, label) cell of every position; the gradient's only one-hot entries
    cells = tf.stack([tf.range(tf.size(flat_labels, out_type=tf.int64)), flat_labels], axis=1)
    eps = tf.constant(label_smoothing, tf.float32)

    @tf.custom_gradient
    def fused(logits):
        z = tf.reshape(tf.cast(logits, tf.float32), tf.stack([-1, vocab]))  # (N, V)
        shift = tf.reduce_max(z, axis=-1, keepdims=True)  # (N, 1), for a stable exp
        exp = tf.exp(z - shift)  # (N, V), kept for the gradient
        total = tf.reduce_sum(exp, axis=-1)  # (N,)
        logsumexp = shift[:, 0] + tf.math.log(total)
        label_logit = tf.gather_nd(z, cells)  # (N,)
        loss = logsumexp - (1.0 - eps) * label_logit - eps * tf.reduce_mean(z, axis=-1)

        def grad(upstream):  # upstream: (...) → (..., V)
            g = tf.reshape(tf.cast(upstream, tf.float32), [-1])  # (N,)
            d = exp * (g / total)[:, None] - (g * eps / tf.cast(vocab, tf.float32))[:, None]  # softmax − ε/V
            d = tf.tensor_scatter_nd_sub(d, cells, (1.0 - eps) * g)  # − (1 − ε) · onehot(y)
            return tf.cast(tf.reshape(d, tf.shape(logits)), in_dtype)

        return tf.reshape(loss, rows_shape), grad

    return fused(logits)
