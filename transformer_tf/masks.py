"""Padding and look-ahead masks, in the TensorFlow tutorial's convention.

Convention: **1.0 means "masked"** (do not attend), 0.0 means "attend". The mask is
added to the attention logits as ``logits += mask * -1e9`` (see
:func:`transformer_tf.attention.scaled_dot_product_attention`), so a masked position
gets a softmax weight of ~0.

Keras' own ``keras.layers.MultiHeadAttention`` uses the *opposite* convention: its
``attention_mask`` is ``True``/1 where attention is **allowed**. Convert with
``keras_mask = 1 - mask``; ``tests/test_attention.py`` pins this down.
"""

import tensorflow as tf

# The padding id is the tokenizers' (their id layout is its one home); every mask below is derived from it.
from transformer_tf.tokenizer import PAD_ID


def check_token_ids(ids, name="ids"):
    """``ids`` as token ids: an integer tensor with no negative value (0 is padding; ids at or
    above the vocabulary already fail in the embedding's lookup).

    Raises:
        TypeError: floating-point ids, when running eagerly (an embedding would silently
            truncate 4.7 to 4).
        ValueError: a negative id, when running eagerly. Inside a ``tf.function`` the checks are
            assertions that fail with the same message (``InvalidArgumentError``) when run; there
            float ids that are whole numbers are cast to int64 (Keras traces the default
            signature of a saved model with float32 inputs), and a fraction fails.

    Returns:
        ``ids`` (in a graph, a tensor that depends on the check).
    """
    ids = tf.convert_to_tensor(ids)
    message = f"{name}: token ids must be ≥ 0 (0 is padding); got a negative id."
    if tf.executing_eagerly():
        if not ids.dtype.is_integer:
            raise TypeError(f"{name}: token ids must be integers (int32 or int64); got {ids.dtype.name}.")
        if tf.size(ids) > 0 and tf.reduce_min(ids) < 0:
            raise ValueError(message)
        return ids
    checks = [tf.debugging.assert_non_negative(ids, message=message)]
    if not ids.dtype.is_integer:  # Keras traces a saved model's default signature with float32 inputs
        whole = f"{name}: token ids must be whole numbers; got a fraction."
        checks.append(tf.debugging.assert_equal(ids, tf.floor(ids), message=whole))
    with tf.control_dependencies(checks):
        return tf.cast(ids, tf.int64) if not ids.dtype.is_integer else tf.identity(ids)


def create_padding_mask(seq):
    """Mask the padding tokens (id 0) of a batch of token ids.

    Args:
        seq: ``(batch, seq_len)`` integer token ids.

    Returns:
        ``(batch, 1, 1, seq_len)`` float32, 1.0 where ``seq == 0``. The two singleton
        axes broadcast over heads and query positions of the attention logits
        ``(batch, num_heads, seq_q, seq_len)``.
    """
    mask = tf.cast(tf.math.equal(seq, PAD_ID), tf.float32)
    return mask[:, tf.newaxis, tf.newaxis, :]


def create_look_ahead_mask(size):
    """Mask the future: position ``t`` may only attend to positions ``t' <= t``.

    Args:
        size: sequence length (Python int or scalar tensor).

    Returns:
        ``(size, size)`` float32, 1.0 strictly above the diagonal.
    """
    return 1.0 - tf.linalg.band_part(tf.ones((size, size)), -1, 0)


def create_masks(inp, tar):
    """All three masks the Transformer needs, from source and target token ids.

    Args:
        inp: ``(batch, inp_len)`` source token ids.
        tar: ``(batch, tar_len)`` target token ids (the decoder input).

    Returns:
        ``(enc_padding_mask, combined_mask, dec_padding_mask)``:

        - ``enc_padding_mask``: ``(batch, 1, 1, inp_len)``, for encoder self-attention.
        - ``combined_mask``: ``(batch, 1, tar_len, tar_len)``, the look-ahead mask
          combined (element-wise max) with the target padding mask, for the
          decoder's masked self-attention (block 1).
        - ``dec_padding_mask``: ``(batch, 1, 1, inp_len)``, masks the *source*
          padding in encoder-decoder attention (block 2).
    """
    enc_padding_mask = create_padding_mask(inp)
    dec_padding_mask = create_padding_mask(inp)
    look_ahead_mask = create_look_ahead_mask(tf.shape(tar)[1])
    dec_target_padding_mask = create_padding_mask(tar)
    combined_mask = tf.maximum(dec_target_padding_mask, look_ahead_mask)
    return enc_padding_mask, combined_mask, dec_padding_mask


def decoder_rows(tar):
    """The decoder positions that hold a real input token: the rows whose logits training needs.

    Args:
        tar: ``(batch, tar_len)`` decoder-input ids, ``tar_full[:, :-1]``.

    Returns:
        ``(batch, tar_len)`` bool, True where ``tar != 0``. These rows are every position with a
        real label (``tar_full[:, 1:] != 0``) plus, in a sentence shorter than the batch's
        longest, the one after its end, whose label is padding (the loss masks it).
    """
    return tf.not_equal(tar, PAD_ID)


def decoder_rows_of_labels(labels):
    """:func:`decoder_rows` of the decoder input, from the labels alone (teacher forcing:
    ``tar = tar_full[:, :-1]``, ``labels = tar_full[:, 1:]``, so ``tar[:, t] = labels[:, t−1]``
    for t ≥ 1, and ``tar[:, 0]`` is START wherever ``labels[:, 0]`` is a real token, at least END).

    Args:
        labels: ``(batch, tar_len)`` target ids.

    Returns:
        ``(batch, tar_len)`` bool, equal to ``decoder_rows(tar)`` for every batch the data
        pipeline makes (a row of padding only included).
    """
    return tf.not_equal(tf.concat([labels[:, :1], labels[:, :-1]], axis=1), PAD_ID)
