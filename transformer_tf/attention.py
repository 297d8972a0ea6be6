"""Scaled dot-product attention and multi-head attention with ``split_heads``.

The article's walk-through, in code: the sentence representation ``x`` of shape
``(batch, seq_len, d_model)`` is projected to queries, keys and values, each is *split*
into ``num_heads`` heads of ``depth = d_model / num_heads`` columns, every head runs
scaled dot-product attention on its own slice, and the heads are concatenated back
and projected once more.
"""

import keras
import tensorflow as tf


def scaled_dot_product_attention(q, k, v, mask=None):
    """Attention(Q, K, V) = softmax(Q Kᵀ / √d_k + mask · (−1e9)) V.

    Args:
        q: queries ``(..., seq_q, depth)``.
        k: keys ``(..., seq_k, depth)``.
        v: values ``(..., seq_k, depth_v)``; ``seq_k`` must match ``k``.
        mask: optional float tensor broadcastable to ``(..., seq_q, seq_k)``,
            **1.0 = masked** (the tutorial convention, see :mod:`transformer_tf.masks`).

    Returns:
        ``(output, attention_weights)``:
        ``output`` ``(..., seq_q, depth_v)`` and
        ``attention_weights`` ``(..., seq_q, seq_k)``, each row summing to 1.
    """
    matmul_qk = tf.matmul(q, k, transpose_b=True)  # (..., seq_q, seq_k)

    # Scale by √d_k: for unit-variance q and k the dot product has variance d_k;
    # unscaled, large d_k pushes the softmax into regions with vanishing gradients.
    d_k = tf.cast(tf.shape(k)[-1], matmul_qk.dtype)
    scaled_attention_logits = matmul_qk / tf.math.sqrt(d_k)

    if mask is not None:
        # A masked logit becomes ~-1e9, so exp() of it is 0 in float32.
        scaled_attention_logits += tf.cast(mask, scaled_attention_logits.dtype) * -1e9

    # The softmax runs in float32 even under mixed precision (bfloat16 keeps 8 bits of
    # mantissa: too few for weights that must sum to 1 over long rows).
    attention_weights = tf.nn.softmax(tf.cast(scaled_attention_logits, tf.float32), axis=-1)  # (..., seq_q, seq_k)
    output = tf.matmul(tf.cast(attention_weights, v.dtype), v)  # (..., seq_q, depth_v)
    return output, attention_weights


class AttentionMaskConsumer(keras.layers.Layer):
    """Base of every layer here that takes a tutorial-style attention ``mask``.

    Keras 3 treats a call argument named ``mask`` as its own propagating mask and,
    for a layer that does not "support masking", warns that the mask is dropped.
    These layers *consume* the attention mask; their outputs carry no Keras mask.
    """

    def compute_mask(self, inputs, previous_mask=None):
        return None


def _check_rank(x, name):
    """Refuse a ``MultiHeadAttention`` input that is not ``(batch, seq, d_model)``: a 2-D one
    would be read as one-token sequences, a 4-D one flattened into one long sequence."""
    rank = x.shape.rank
    if rank is not None and rank != 3:
        shape = tuple(x.shape)
        raise ValueError(
            f"MultiHeadAttention {name}: expected a 3-D tensor (batch, seq, d_model); got a {rank}-D "
            f"one of shape {shape}. One sequence: add the batch axis (x[tf.newaxis]); several "
            f"batch axes: reshape to (batch, seq, d_model) first."
        )


@keras.saving.register_keras_serializable(package="transformer_tf")
class MultiHeadAttention(AttentionMaskConsumer):
    """Multi-head attention, MultiHead(Q, K, V) = Concat(head_1, …, head_h) W^O.

    Each ``head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)``. As in the TensorFlow
    tutorial, the per-head projections are done by one ``Dense(d_model)`` each for
    Q, K and V, whose outputs :meth:`split_heads` cuts into ``num_heads`` slices of
    ``depth = d_model // num_heads`` columns (head ``i`` owns columns
    ``i*depth … (i+1)*depth - 1``).

    Args:
        d_model: model width; must be divisible by ``num_heads``.
        num_heads: number of attention heads ``h``.

    Call args (the tutorial's order: values, keys, queries):
        v: ``(batch, seq_k, d_model)``.
        k: ``(batch, seq_k, d_model)``.
        q: ``(batch, seq_q, d_model)``; ``seq_q`` may differ from ``seq_k``
            (cross-attention).
        mask: optional, broadcastable to ``(batch, num_heads, seq_q, seq_k)``,
            1.0 = masked.

    Returns:
        ``(output, attention_weights)``: ``(batch, seq_q, d_model)`` and
        ``(batch, num_heads, seq_q, seq_k)``.
    """

    def __init__(self, d_model, num_heads, **kwargs):
        super().__init__(**kwargs)
        if num_heads < 1 or d_model < 1:
            raise ValueError(f"d_model={d_model} and num_heads={num_heads} must both be at least 1.")
        if d_model % num_heads != 0:
            raise ValueError(
                f"d_model={d_model} must be divisible by num_heads={num_heads}: "
                f"each head gets d_model / num_heads columns."
            )
        self.num_heads = num_heads
        self.d_model = d_model
        self.depth = d_model // num_heads

        self.wq = keras.layers.Dense(d_model, name="wq")
        self.wk = keras.layers.Dense(d_model, name="wk")
        self.wv = keras.layers.Dense(d_model, name="wv")
        self.dense = keras.layers.Dense(d_model, name="dense")  # W^O

    def build(self, v_shape, k_shape=None, q_shape=None, mask_shape=None):
        k_shape = v_shape if k_shape is None else k_shape
        q_shape = v_shape if q_shape is None else q_shape
        self.wv.build(v_shape)
        self.wk.build(k_shape)
        self.wq.build(q_shape)
        self.dense.build(tuple(q_shape[:-1]) + (self.d_model,))
        self.built = True

    def split_heads(self, x, batch_size):
        """Split the last dimension into ``(num_heads, depth)`` and put heads second.

        Args:
            x: ``(batch, seq_len, d_model)``.
            batch_size: ``batch`` (a scalar tensor is fine).

        Returns:
            ``(batch, num_heads, seq_len, depth)``; ``out[:, i]`` is
            ``x[:, :, i*depth:(i+1)*depth]``.
        """
        x = tf.reshape(x, (batch_size, -1, self.num_heads, self.depth))
        return tf.transpose(x, perm=[0, 2, 1, 3])

    def combine_heads(self, x, batch_size):
        """Inverse of :meth:`split_heads`: ``(batch, num_heads, seq, depth)`` → ``(batch, seq, d_model)``."""
        x = tf.transpose(x, perm=[0, 2, 1, 3])  # (batch, seq, num_heads, depth)
        return tf.reshape(x, (batch_size, -1, self.d_model))

    def call(self, v, k, q, mask=None):
        k_heads, v_heads = self.split_kv(k, v)
        return self.attend(q, k_heads, v_heads, mask)

    def split_kv(self, k, v):
        """Project keys and values and split them into heads.

        Incremental decoding computes this once per new token (self-attention) or once
        per sentence (encoder-decoder attention) and caches it.

        Returns:
            ``(k_heads, v_heads)``, each ``(batch, num_heads, seq_k, depth)``.
        """
        _check_rank(k, "k")
        _check_rank(v, "v")
        batch_size = tf.shape(k)[0]
        return (
            self.split_heads(self.wk(k), batch_size),  # (batch, num_heads, seq_k, depth)
            self.split_heads(self.wv(v), batch_size),
        )

    def attend(self, q, k_heads, v_heads, mask=None):
        """Attention of queries ``(batch, seq_q, d_model)`` over already split keys and values.

        Returns:
            ``(output, attention_weights)`` as :meth:`call`.
        """
        _check_rank(q, "q")
        batch_size = tf.shape(q)[0]
        q = self.split_heads(self.wq(q), batch_size)  # (batch, num_heads, seq_q, depth)
        scaled_attention, attention_weights = scaled_dot_product_attention(q, k_heads, v_heads, mask)
        concat_attention = self.combine_heads(scaled_attention, batch_size)  # (batch, seq_q, d_model)
        return self.dense(concat_attention), attention_weights

    def compute_output_shape(self, v_shape, k_shape=None, q_shape=None, mask_shape=None):
        q_shape = v_shape if q_shape is None else q_shape
        k_shape = v_shape if k_shape is None else k_shape
        return (
            tuple(q_shape[:-1]) + (self.d_model,),
            (q_shape[0], self.num_heads, q_shape[1], k_shape[1]),
        )

    def get_config(self):
        config = super().get_config()
        config.update(d_model=self.d_model, num_heads=self.num_heads)
        return config
