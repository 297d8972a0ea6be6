"""The Transformer's building blocks: positional encoding, feed-forward network,
encoder and decoder layers, the encoder and decoder stacks, and the output projection tied
to the embedding (:class:`TiedOutput`, which the RNN of :mod:`transformer_tf.seq2seq` uses too).

Every block follows the article's "Add & Norm" pattern,
``out = LayerNorm(x + Dropout(Sublayer(x)))`` (post-norm, as in the paper and the
TensorFlow tutorial).

Sub-layer stacks are kept in **tuples**, not lists: in Keras 3, layers held in a list
attribute are invisible to ``tf.train.Checkpoint``, which then silently saves only part
of the model (see ``tests/test_model.py::test_tf_checkpoint_tracks_every_variable``).
"""

import keras
import numpy as np
import tensorflow as tf

from transformer_tf.attention import AttentionMaskConsumer, MultiHeadAttention


def positional_encoding(position, d_model):
    """Sinusoidal positional encoding of the paper.

    PE(pos, 2i)   = sin(pos / 10000^(2i / d_model))
    PE(pos, 2i+1) = cos(pos / 10000^(2i / d_model))

    Args:
        position: number of positions to encode (the longest sequence the model accepts).
        d_model: model width.

    Returns:
        ``(1, position, d_model)`` float32 tensor; the leading 1 broadcasts over the batch.
    """
    pos = np.arange(position)[:, np.newaxis]  # (position, 1)
    i = np.arange(d_model)[np.newaxis, :]  # (1, d_model)
    angle_rads = pos / np.power(10000, (2 * (i // 2)) / np.float32(d_model))
    angle_rads[:, 0::2] = np.sin(angle_rads[:, 0::2])  # even columns: sin
    angle_rads[:, 1::2] = np.cos(angle_rads[:, 1::2])  # odd columns: cos
    return tf.constant(angle_rads[np.newaxis, ...], dtype=tf.float32)


def write_position(cache, x_t, t):
    """The key/value cache with position ``t`` written: a scatter of ``batch · num_heads``
    rows of ``depth`` values, where adding ``one_hot(t) · x_t`` rewrote the whole cache
    every step (3.7× slower, measured at batch 512 and 30 positions).

    Args:
        cache: ``(batch, num_heads, max_len, depth)``.
        x_t: ``(batch, num_heads, 1, depth)``, the keys (or values) of position ``t``.
        t: scalar int, the position.

    Returns:
        ``(batch, num_heads, max_len, depth)``: ``cache`` with ``[:, :, t]`` = ``x_t[:, :, 0]``.
    """
    batch, heads = tf.shape(x_t)[0], tf.shape(x_t)[1]
    rows = tf.stack(tf.meshgrid(tf.range(batch), tf.range(heads), indexing="ij"), axis=-1)  # (batch, heads, 2)
    index = tf.concat([rows, tf.fill((batch, heads, 1), tf.cast(t, tf.int32))], axis=-1)  # (batch, heads, 3)
    return tf.tensor_scatter_nd_update(cache, index, x_t[:, :, 0])


def point_wise_feed_forward_network(d_model, dff):
    """FFN(x) = max(0, x W_1 + b_1) W_2 + b_2, applied to every position alike.

    Returns:
        ``keras.Sequential`` mapping ``(batch, seq_len, d_model)`` →
        ``(batch, seq_len, d_model)`` through a hidden ``(batch, seq_len, dff)``.
    """
    return keras.Sequential([keras.layers.Dense(dff, activation="relu"), keras.layers.Dense(d_model)])


class _Block(AttentionMaskConsumer):
    """Shared constructor arguments and config of the four blocks below."""

    def __init__(self, d_model, num_heads, dff, rate=0.1, **kwargs):
        super().__init__(**kwargs)
        self.d_model = d_model
        self.num_heads = num_heads
        self.dff = dff
        self.rate = rate

    def get_config(self):
        config = super().get_config()
        config.update(d_model=self.d_model, num_heads=self.num_heads, dff=self.dff, rate=self.rate)
        return config


@keras.saving.register_keras_serializable(package="transformer_tf")
class EncoderLayer(_Block):
    """One encoder layer: self-attention, then the feed-forward network.

    out1 = LayerNorm(x + Dropout(MultiHeadAttention(x, x, x)))
    out2 = LayerNorm(out1 + Dropout(FFN(out1)))

    Call args:
        x: ``(batch, inp_len, d_model)``.
        training: enables dropout.
        mask: padding mask ``(batch, 1, 1, inp_len)``, 1.0 = masked.

    Returns:
        ``(out2, attention_weights)``: ``(batch, inp_len, d_model)`` and
        ``(batch, num_heads, inp_len, inp_len)``.
    """

    def __init__(self, d_model, num_heads, dff, rate=0.1, **kwargs):
        super().__init__(d_model, num_heads, dff, rate, **kwargs)
        self.mha = MultiHeadAttention(d_model, num_heads, name="mha")
        self.ffn = point_wise_feed_forward_network(d_model, dff)
        self.layernorm1 = keras.layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = keras.layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = keras.layers.Dropout(rate)
        self.dropout2 = keras.layers.Dropout(rate)

    def build(self, x_shape):
        self.mha.build(x_shape, x_shape, x_shape)
        self.ffn.build(x_shape)
        self.layernorm1.build(x_shape)
        self.layernorm2.build(x_shape)
        self.built = True

    def call(self, x, training=False, mask=None):
        attn_output, attention_weights = self.mha(x, x, x, mask)  # (batch, inp_len, d_model)
        attn_output = self.dropout1(attn_output, training=training)
        out1 = self.layernorm1(x + attn_output)

        ffn_output = self.ffn(out1)  # (batch, inp_len, d_model)
        ffn_output = self.dropout2(ffn_output, training=training)
        out2 = self.layernorm2(out1 + ffn_output)
        return out2, attention_weights


@keras.saving.register_keras_serializable(package="transformer_tf")
class DecoderLayer(_Block):
    """One decoder layer: masked self-attention, encoder-decoder attention, FFN.

    out1 = LayerNorm(x + Dropout(MultiHeadAttention(x, x, x, look_ahead_mask)))       # block 1
    out2 = LayerNorm(out1 + Dropout(MultiHeadAttention(enc, enc, out1, padding_mask)))  # block 2
    out3 = LayerNorm(out2 + Dropout(FFN(out2)))

    In block 2 the *queries* come from the decoder and the *keys and values* from the
    encoder output, so its weights are ``(batch, num_heads, tar_len, inp_len)``.

    Call args:
        x: ``(batch, tar_len, d_model)``.
        enc_output: ``(batch, inp_len, d_model)``.
        training: enables dropout.
        look_ahead_mask: ``(batch, 1, tar_len, tar_len)``, 1.0 = masked.
        padding_mask: ``(batch, 1, 1, inp_len)``, 1.0 = masked.

    Returns:
        ``(out3, block1_weights, block2_weights)``: ``(batch, tar_len, d_model)``,
        ``(batch, num_heads, tar_len, tar_len)``, ``(batch, num_heads, tar_len, inp_len)``.
    """

    def __init__(self, d_model, num_heads, dff, rate=0.1, **kwargs):
        super().__init__(d_model, num_heads, dff, rate, **kwargs)
        self.mha1 = MultiHeadAttention(d_model, num_heads, name="mha1")
        self.mha2 = MultiHeadAttention(d_model, num_heads, name="mha2")
        self.ffn = point_wise_feed_forward_network(d_model, dff)
        self.layernorm1 = keras.layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = keras.layers.LayerNormalization(epsilon=1e-6)
        self.layernorm3 = keras.layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = keras.layers.Dropout(rate)
        self.dropout2 = keras.layers.Dropout(rate)
        self.dropout3 = keras.layers.Dropout(rate)

    def build(self, x_shape, enc_output_shape=None, *args, **kwargs):
        enc_output_shape = x_shape if enc_output_shape is None else enc_output_shape
        self.mha1.build(x_shape, x_shape, x_shape)
        self.mha2.build(enc_output_shape, enc_output_shape, x_shape)
        self.ffn.build(x_shape)
        for norm in (self.layernorm1, self.layernorm2, self.layernorm3):
            norm.build(x_shape)
        self.built = True

    def call(self, x, enc_output, training=False, look_ahead_mask=None, padding_mask=None):
        attn1, block1_weights = self.mha1(x, x, x, look_ahead_mask)
        attn1 = self.dropout1(attn1, training=training)
        out1 = self.layernorm1(attn1 + x)

        attn2, block2_weights = self.mha2(enc_output, enc_output, out1, padding_mask)
        attn2 = self.dropout2(attn2, training=training)
        out2 = self.layernorm2(attn2 + out1)

        return self._feed_forward(out2, training), block1_weights, block2_weights

    def _feed_forward(self, out2, training=False):
        ffn_output = self.ffn(out2)
        ffn_output = self.dropout3(ffn_output, training=training)
        return self.layernorm3(ffn_output + out2)

    def decode_step(self, x_t, t, cache, enc_kv, padding_mask=None, grow=False):
        """One decoding step with cached keys and values (inference, no dropout).

        Block 1 attends over the cached self-attention keys/values of positions
        0..t, written one position per step; block 2 over the encoder's keys/values,
        projected once per sentence. Same result as :meth:`call` on the whole prefix.

        Args:
            x_t: ``(batch, 1, d_model)``, the input at position ``t``.
            t: scalar int, the position.
            cache: ``(k, v)``, each ``(batch, num_heads, max_len, depth)``; rows
                ``> t`` are ignored (masked). With ``grow``: ``(batch, num_heads, t, depth)``,
                positions 0..t-1 only.
            enc_kv: ``mha2.split_kv(enc_output, enc_output)``.
            padding_mask: ``(batch, 1, 1, inp_len)``, 1.0 = padding.
            grow: append position ``t`` to the cache (``tf.concat``) instead of writing it into
                a cache of ``max_len`` positions: no step copies or attends over the positions
                not decoded yet (the fast decoder's choice, :mod:`transformer_tf.fast_decode`).

        Returns:
            ``(out_t (batch, 1, d_model), updated cache)``.
        """
        k_t, v_t = self.mha1.split_kv(x_t, x_t)  # (batch, num_heads, 1, depth)
        if grow:
            cache = (tf.concat([cache[0], k_t], axis=2), tf.concat([cache[1], v_t], axis=2))
            future = None  # the cache holds positions 0..t alone
        else:
            max_len = tf.shape(cache[0])[2]
            cache = (write_position(cache[0], k_t, t), write_position(cache[1], v_t, t))
            future = tf.cast(tf.range(max_len) > t, tf.float32)  # (max_len,), 1.0 = not written yet
        attn1, _ = self.mha1.attend(x_t, cache[0], cache[1], future)
        out1 = self.layernorm1(attn1 + x_t)
        attn2, _ = self.mha2.attend(out1, enc_kv[0], enc_kv[1], padding_mask)
        out2 = self.layernorm2(attn2 + out1)
        return self._feed_forward(out2), cache


class _Stack(AttentionMaskConsumer):
    """Embedding, scaled by √d_model, plus positional encoding, then dropout:
    the shared front of the encoder and the decoder stacks."""

    def __init__(
        self,
        num_layers,
        d_model,
        num_heads,
        dff,
        vocab_size,
        maximum_position_encoding,
        rate=0.1,
        embedding=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_layers = num_layers
        self.d_model = d_model
        self.num_heads = num_heads
        self.dff = dff
        self.vocab_size = vocab_size
        self.maximum_position_encoding = maximum_position_encoding
        self.rate = rate

        # ``embedding``: a layer shared with another stack (weight tying), or a new one.
        self.embedding = embedding or keras.layers.Embedding(vocab_size, d_model)
        self.pos_encoding = positional_encoding(maximum_position_encoding, d_model)
        self.dropout = keras.layers.Dropout(rate)

    def embed(self, x, training, start=0):
        """``(batch, seq_len)`` ids at positions ``start…`` → ``(batch, seq_len, d_model)``
        embeddings + positional encodings."""
        seq_len = tf.shape(x)[1]
        tf.debugging.assert_less_equal(
            start + seq_len,
            self.maximum_position_encoding,
            message=f"{self.name}: sequence longer than the {self.maximum_position_encoding} positions "
            f"this model encodes; truncate the input or build the model with a larger pe_input/pe_target",
        )
        x = self.embedding(x)
        # The paper multiplies the embeddings by √d_model so that they are not
        # drowned by the positional encoding, whose entries are in [-1, 1].
        x *= tf.math.sqrt(tf.cast(self.d_model, x.dtype))
        # Under mixed precision x is bfloat16/float16: the table is cast to match.
        x += tf.cast(self.pos_encoding[:, start : start + seq_len, :], x.dtype)
        return self.dropout(x, training=training)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_layers=self.num_layers,
            d_model=self.d_model,
            num_heads=self.num_heads,
            dff=self.dff,
            vocab_size=self.vocab_size,
            maximum_position_encoding=self.maximum_position_encoding,
            rate=self.rate,
        )
        return config


@keras.saving.register_keras_serializable(package="transformer_tf")
class Encoder(_Stack):
    """Token ids → ``num_layers`` encoder layers.

    Call args:
        x: ``(batch, inp_len)`` source token ids, ``inp_len <= maximum_position_encoding``.
        training: enables dropout.
        mask: padding mask ``(batch, 1, 1, inp_len)``.

    Returns:
        ``(enc_output, attention_weights)``: ``(batch, inp_len, d_model)`` and a dict
        ``{"encoder_layer{i}_block": (batch, num_heads, inp_len, inp_len)}``, i = 1..num_layers.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.enc_layers = tuple(
            EncoderLayer(self.d_model, self.num_heads, self.dff, self.rate, name=f"encoder_layer{i + 1}")
            for i in range(self.num_layers)
        )

    def build(self, x_shape):
        if not self.embedding.built:
            self.embedding.build(x_shape)
        for layer in self.enc_layers:
            layer.build(tuple(x_shape) + (self.d_model,))
        self.built = True

    def call(self, x, training=False, mask=None):
        x = self.embed(x, training)
        attention_weights = {}
        for i, layer in enumerate(self.enc_layers):
            x, weights = layer(x, training=training, mask=mask)
            attention_weights[f"encoder_layer{i + 1}_block"] = weights
        return x, attention_weights


@keras.saving.register_keras_serializable(package="transformer_tf")
class Decoder(_Stack):
    """Target token ids and encoder output → ``num_layers`` decoder layers.

    Call args:
        x: ``(batch, tar_len)`` target token ids.
        enc_output: ``(batch, inp_len, d_model)``.
        training: enables dropout.
        look_ahead_mask: ``(batch, 1, tar_len, tar_len)``.
        padding_mask: ``(batch, 1, 1, inp_len)``.

    Returns:
        ``(dec_output, attention_weights)``: ``(batch, tar_len, d_model)`` and a dict with
        ``decoder_layer{i}_block1`` ``(batch, num_heads, tar_len, tar_len)`` and
        ``decoder_layer{i}_block2`` ``(batch, num_heads, tar_len, inp_len)``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.dec_layers = tuple(
            DecoderLayer(self.d_model, self.num_heads, self.dff, self.rate, name=f"decoder_layer{i + 1}")
            for i in range(self.num_layers)
        )

    def build(self, x_shape, enc_output_shape=None, *args, **kwargs):
        if not self.embedding.built:  # a tied embedding was built by the encoder
            self.embedding.build(x_shape)
        x_model_shape = tuple(x_shape) + (self.d_model,)
        for layer in self.dec_layers:
            layer.build(x_model_shape, enc_output_shape or x_model_shape)
        self.built = True

    def call(self, x, enc_output, training=False, look_ahead_mask=None, padding_mask=None):
        x = self.embed(x, training)
        attention_weights = {}
        for i, layer in enumerate(self.dec_layers):
            x, block1, block2 = layer(
                x, enc_output, training=training, look_ahead_mask=look_ahead_mask, padding_mask=padding_mask
            )
            attention_weights[f"decoder_layer{i + 1}_block1"] = block1
            attention_weights[f"decoder_layer{i + 1}_block2"] = block2
        return x, attention_weights

    def init_decoding(self, enc_output, max_len):
        """What incremental decoding carries: per layer, the encoder keys/values and
        an empty self-attention cache ``(batch, num_heads, max_len, depth)`` (``max_len`` 0:
        one that grows a position a step, :meth:`DecoderLayer.decode_step`'s ``grow``)."""
        batch = tf.shape(enc_output)[0]
        layer = self.dec_layers[0].mha1
        empty = tf.zeros((batch, layer.num_heads, max_len, layer.depth), enc_output.dtype)
        enc_kvs = tuple(lyr.mha2.split_kv(enc_output, enc_output) for lyr in self.dec_layers)
        return enc_kvs, tuple((empty, empty) for _ in self.dec_layers)

    def decode_step(self, token, t, caches, enc_kvs, padding_mask=None, grow=False):
        """Token ids ``(batch, 1)`` at position ``t`` → ``(batch, 1, d_model)``, new caches
        (``grow``: as :meth:`DecoderLayer.decode_step`'s)."""
        x = self.embed(token, training=False, start=t)
        new_caches = []
        for layer, cache, enc_kv in zip(self.dec_layers, caches, enc_kvs):
            x, cache = layer.decode_step(x, t, cache, enc_kv, padding_mask, grow)
            new_caches.append(cache)
        return x, tuple(new_caches)


def check_tied_vocabularies(share_embeddings, input_vocab_size, target_vocab_size):
    """Tied embeddings (one matrix for both languages and the output) need one joint vocabulary."""
    if share_embeddings and input_vocab_size != target_vocab_size:
        raise ValueError(
            f"share_embeddings needs one joint vocabulary; got input_vocab_size="
            f"{input_vocab_size} and target_vocab_size={target_vocab_size}."
        )


@keras.saving.register_keras_serializable(package="transformer_tf")
class TiedOutput(keras.layers.Layer):
    """The output projection that reuses the input embedding ("Attention Is All You Need"
    §3.4: "we share the same weight matrix between the two embedding layers and the
    pre-softmax linear transformation"): ``logits = x Eᵀ + b``.

    Args:
        embedding: the ``keras.layers.Embedding`` whose ``(vocab, d_model)`` matrix ``E``
            is shared; only the bias ``b`` ``(vocab,)`` is this layer's own.

    Call args:
        x: ``(batch, seq_len, d_model)``.

    Returns:
        logits ``(batch, seq_len, vocab)``.
    """

    def __init__(self, embedding, **kwargs):
        super().__init__(**kwargs)
        self.embedding = embedding
        self.units = embedding.input_dim  # the vocabulary size, as Dense(units) would say

    def build(self, input_shape=None):
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
        self.built = True

    def call(self, x):
        # One 2-D product (batch·seq_len, d_model) · (d_model, vocab): a batched matmul
        # against the shared matrix would broadcast it, and its gradient would then be
        # summed over the batch in a separate (batch, vocab, d_model) reduction.
        rows = tf.reshape(x, (-1, tf.shape(x)[-1]))
        logits = tf.matmul(rows, tf.cast(self.embedding.embeddings, x.dtype), transpose_b=True)
        logits = tf.nn.bias_add(logits, tf.cast(self.bias, x.dtype))
        return tf.reshape(logits, tf.concat([tf.shape(x)[:-1], [self.units]], axis=0))
