"""The training objective: label-smoothed cross-entropy and accuracy over the target's real tokens.

One home for both, imported by the single-device loop (:mod:`transformer_tf.train`, through
``model.compile``) and the multi-worker loop (:mod:`transformer_tf.distributed`).

Both take the logits either of every position, ``(batch, tar_len, vocab)``, or, as the
Transformer returns them in training, of the decoder's real rows only, ``(rows, vocab)``
(:func:`transformer_tf.masks.decoder_rows`: the padding positions are left out of the output
layer and the loss, about 40% of a batch of the corpus's sentence lengths); the labels are
then taken at the same rows.
"""

import tensorflow as tf

from transformer_tf.fused_loss import smoothed_cross_entropy
from transformer_tf.masks import PAD_ID, decoder_rows_of_labels


def labels_for(y_true, logits):
    """``y_true`` ``(batch, tar_len)`` as int64, at the rows of ``logits``: all of them for
    ``(batch, tar_len, vocab)`` logits, the :func:`~transformer_tf.masks.decoder_rows` (in
    row-major order) for ``(rows, vocab)`` logits."""
    y_true = tf.cast(y_true, tf.int64)  # under tf.distribute Keras may hand labels over as floats
    if logits.shape.rank == 2:
        return tf.boolean_mask(y_true, decoder_rows_of_labels(y_true))  # (rows,)
    return y_true


def masked_accuracy(y_true, y_pred):
    """Share of non-padding target positions whose arg-max prediction is right."""
    y_true = labels_for(y_true, y_pred)
    pred = tf.argmax(y_pred, axis=-1, output_type=tf.int64)
    mask = tf.cast(y_true != PAD_ID, tf.float32)
    return tf.reduce_sum(tf.cast(pred == y_true, tf.float32) * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)


def masked_loss(label_smoothing=0.0):
    """Cross-entropy over non-padding target positions, with label smoothing.

    With smoothing ε the target distribution is ``(1 − ε)`` on the right token plus
    ``ε / vocab`` everywhere (Szegedy et al. 2016; "Attention Is All You Need" §5.4 uses
    ε = 0.1), so per position

        loss = (1 − ε) · (−log p(y)) + ε · mean_v(−log p(v)).

    Returns:
        ``loss(labels (batch, tar_len), logits) → scalar``, logits ``(batch, tar_len, vocab)``
        or the decoder rows' ``(rows, vocab)``: the mean over positions whose label is not
        padding (``ε = 0``: plain cross-entropy).
    """

    def loss(y_true, logits):
        y_true = labels_for(y_true, logits)
        # one fused softmax pass and gradient over the vocabulary (transformer_tf.fused_loss)
        per_token = smoothed_cross_entropy(tf.maximum(y_true, 0), logits, label_smoothing)  # like y_true
        mask = tf.cast(y_true != PAD_ID, tf.float32)
        return tf.reduce_sum(per_token * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)

    loss.__name__ = "masked_loss"
    return loss
