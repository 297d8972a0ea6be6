"""The series' previous step: an RNN encoder–decoder with Bahdanau (additive) attention.

The multi-head attention article opens with "In the last article, I explained how attention
mechanism works in simple seq2seq models with RNNs". This is that model, in the names of the
TensorFlow tutorial "Neural machine translation with attention", which trains it on the same
spa-eng corpus: :class:`RNNEncoder`, :class:`BahdanauAttention` (the additive score) inside the
tutorial's :class:`CrossAttention`, :class:`RNNDecoder` (teacher forcing in training), and the
tutorial's ``Translator`` model, here :class:`RNNTranslator` (``transformer_tf.translate.Translator``
is the inference wrapper that restores and runs either model kind).

The attention, for a decoder state ``h_t`` and the encoder outputs ``h_s`` (s = 1..S)::

    score(h_t, h_s) = vᵀ tanh(W₁ h_s + W₂ h_t)                 additive (Bahdanau et al. 2015)
    α_ts = exp(score(h_t, h_s)) / Σ_s' exp(score(h_t, h_s'))   softmax over the source positions,
                                                                padding excluded (α = 0 there)
    c_t = Σ_s α_ts h_s                                          the context vector

One query per target position, one weight per source position: the picture is a single
target × source heatmap, the ancestor of the Transformer's ``num_heads`` of them per layer.

The recurrent unit is selectable (``cell``): ``keras.layers.LSTM``, ``keras.layers.GRU``, or
the LSTM articles' own :class:`lstm_tf.SpaceOdysseyLSTM` in any of its nine variants, so the
LSTM articles and the attention article meet in one model. (``transformer_tf`` imports
``lstm_tf``; never the reverse.)

The encoder and decoder are :class:`RNNEncoder` and :class:`RNNDecoder`: names of their own,
apart from the Transformer's ``Encoder`` and ``Decoder`` stacks. The module is the way in::

    from transformer_tf import seq2seq
    model = seq2seq.RNNTranslator(input_vocab_size=8000, target_vocab_size=8000, cell="gru")

The model kind is recorded in ``config.json`` (``TrainConfig.model = "rnn"``), and the whole
stack (train, translate with greedy or beam search, evaluate, export, plot-attention) serves it
through :meth:`RNNTranslator.start_decoding` / :meth:`RNNTranslator.decode_step`, which carry
the recurrent state from step to step instead of recomputing the prefix.
"""

import keras
import tensorflow as tf

from transformer_tf.config import RNN_CELLS
from transformer_tf.layers import TiedOutput, check_tied_vocabularies
from transformer_tf.masks import PAD_ID, check_token_ids

ATTENTION_NAME = "cross_attention"  # the key of the weights in ``return_attention``'s dict


def recurrent_layer(cell, units, variant="vanilla", name=None):
    """A recurrent layer over a whole sequence that returns every step and its final states.

    Args:
        cell: ``"lstm"`` (``keras.layers.LSTM``), ``"gru"`` (``keras.layers.GRU``) or
            ``"space_odyssey"`` (:class:`lstm_tf.SpaceOdysseyLSTM`).
        units: state width.
        variant: the Space Odyssey variant (``vanilla``, ``NIG``, ..., ``FGR``).

    Returns:
        a layer mapping ``(batch, time, features)`` (and ``initial_state``, a list of
        ``(batch, size)``) to ``[outputs (batch, time, units), *final_states]``; its ``cell``
        runs one step: ``cell(x_t, states) → (y_t, new_states)``.
    """
    if cell == "lstm":
        return keras.layers.LSTM(units, return_sequences=True, return_state=True, name=name)
    if cell == "gru":
        return keras.layers.GRU(units, return_sequences=True, return_state=True, name=name)
    if cell == "space_odyssey":
        from lstm_tf.layer import SpaceOdysseyLSTM

        return SpaceOdysseyLSTM(units, variant=variant, return_sequences=True, return_state=True, name=name)
    raise ValueError(f"cell {cell!r}: choose one of {', '.join(RNN_CELLS)}")


def state_sizes(layer):
    """The widths of a :func:`recurrent_layer`'s states: LSTM ``[units, units]`` (h, c), GRU
    ``[units]``, Space Odyssey ``[units, units]`` (FGR adds ``3·units``, the previous gates)."""
    return [int(size) for size in tf.nest.flatten(layer.cell.state_size)]


def source_padding_mask(inp):
    """``(batch, inp_len)`` ids → ``(batch, 1, inp_len)`` float, 1.0 where the source is padding
    (broadcast over the target positions of the scores)."""
    return tf.cast(tf.equal(inp, PAD_ID), tf.float32)[:, tf.newaxis, :]


@keras.saving.register_keras_serializable(package="transformer_tf.seq2seq")
class RNNEncoder(keras.layers.Layer):
    """Source ids → one vector per source position, ``h_s``, read in both directions.

    ``h_s = →h_s + ←h_s``: a forward RNN over the sentence and a backward one over its
    reverse, summed (the tutorial's ``Bidirectional(merge_mode="sum")``). Each sentence is
    reversed within its own length (``tf.reverse_sequence``), so the padding stays at the end
    for both directions and, the recurrence being causal, never reaches a real position: no
    mask is needed, so every recurrent layer serves alike (:class:`lstm_tf.SpaceOdysseyLSTM`
    takes masks too, but needs none here).

    Args:
        vocab_size: source vocabulary (id 0 is padding).
        embedding_dim: embedding width.
        units: width of each direction's state, and so of ``h_s``.
        cell, variant: the recurrent unit (:func:`recurrent_layer`).
        rate: dropout on the embeddings.
        embedding: a ``keras.layers.Embedding`` shared with the decoder (tied embeddings), or None.

    Call args:
        x: ``(batch, inp_len)`` source ids, 0-padded at the end.
        training: enables dropout.

    Returns:
        ``h_s`` ``(batch, inp_len, units)`` (zero at padded positions).
    """

    def __init__(
        self, vocab_size, embedding_dim, units, cell="lstm", variant="vanilla", rate=0.1, embedding=None, **kwargs
    ):
        super().__init__(**kwargs)
        self.vocab_size, self.embedding_dim, self.units = vocab_size, embedding_dim, units
        self.cell, self.variant, self.rate = cell, variant, rate
        self.embedding = embedding or keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")
        self.dropout = keras.layers.Dropout(rate)
        self.forward_rnn = recurrent_layer(cell, units, variant, name="forward_rnn")
        self.backward_rnn = recurrent_layer(cell, units, variant, name="backward_rnn")

    def build(self, x_shape):
        if not self.embedding.built:
            self.embedding.build(x_shape)
        embedded = tuple(x_shape) + (self.embedding_dim,)
        self.forward_rnn.build(embedded)
        self.backward_rnn.build(embedded)
        self.built = True

    def call(self, x, training=False):
        lengths = tf.reduce_sum(tf.cast(tf.not_equal(x, PAD_ID), tf.int32), axis=1)  # (batch,)
        e = self.dropout(self.embedding(x), training=training)  # (batch, inp_len, embedding_dim)
        forward = self.forward_rnn(e)[0]  # (batch, inp_len, units)

        def reverse(t):  # each row reversed within its length; the padding stays where it is
            return tf.reverse_sequence(t, lengths, seq_axis=1, batch_axis=0)

        backward = reverse(self.backward_rnn(reverse(e))[0])
        real = tf.cast(tf.not_equal(x, PAD_ID), forward.dtype)[:, :, tf.newaxis]
        return (forward + backward) * real

    def get_config(self):
        config = super().get_config()
        config.update(
            vocab_size=self.vocab_size,
            embedding_dim=self.embedding_dim,
            units=self.units,
            cell=self.cell,
            variant=self.variant,
            rate=self.rate,
        )
        return config


@keras.saving.register_keras_serializable(package="transformer_tf.seq2seq")
class BahdanauAttention(keras.layers.Layer):
    """Additive attention: ``score(h_t, h_s) = vᵀ tanh(W₁ h_s + W₂ h_t)``, softmax over the
    source positions (padding masked: weight exactly 0), ``c_t = Σ_s α_ts h_s``.

    Args:
        units: width of the hidden layer of the score (rows of ``W₁``, ``W₂``; length of ``v``).

    Call args:
        query: ``h_t``, ``(batch, tar_len, query_dim)`` decoder states.
        values: ``h_s``, ``(batch, inp_len, value_dim)`` encoder outputs.
        padding_mask: ``(batch, 1, inp_len)``, 1.0 = padding (:func:`source_padding_mask`), or None.
        keys: :meth:`project_keys` of ``values``, when already computed (decoding computes
            them once per sentence, as the Transformer caches its encoder keys).

    Returns:
        ``(context, weights)``: ``c_t`` ``(batch, tar_len, value_dim)`` and float32
        ``α`` ``(batch, tar_len, inp_len)``, each row summing to 1 over the real source tokens.
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.W1 = keras.layers.Dense(units, use_bias=False, name="W1")  # applied to h_s
        self.W2 = keras.layers.Dense(units, name="W2")  # applied to h_t
        self.V = keras.layers.Dense(1, use_bias=False, name="V")  # vᵀ

    def build(self, query_shape, values_shape=None):
        self.W1.build(values_shape or query_shape)
        self.W2.build(query_shape)
        self.V.build(tuple(query_shape[:-1]) + (self.units,))
        self.built = True

    def project_keys(self, values):
        """``W₁ h_s``: ``(batch, inp_len, value_dim)`` → ``(batch, inp_len, units)``."""
        return self.W1(values)

    def call(self, query, values, padding_mask=None, keys=None):
        keys = self.project_keys(values) if keys is None else keys
        # (batch, 1, inp_len, units) + (batch, tar_len, 1, units) → every (t, s) pair
        hidden = tf.tanh(keys[:, tf.newaxis] + self.W2(query)[:, :, tf.newaxis])
        score = tf.cast(self.V(hidden)[..., 0], tf.float32)  # (batch, tar_len, inp_len)
        if padding_mask is not None:
            # exp(-1e9) is exactly 0 in float32: padding gets no weight. (Keras hands the mask over
            # in the layer's compute dtype, bfloat16 under mixed precision: 0 and 1 stay exact.)
            score += tf.cast(padding_mask, tf.float32) * -1e9
        weights = tf.nn.softmax(score, axis=-1)
        context = tf.matmul(tf.cast(weights, values.dtype), values)  # (batch, tar_len, value_dim)
        return context, weights

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units)
        return config


@keras.saving.register_keras_serializable(package="transformer_tf.seq2seq")
class CrossAttention(keras.layers.Layer):
    """The tutorial's ``CrossAttention``: the decoder's states attend to the encoder's, and the
    context is added back, ``LayerNorm(h_t + c_t)``, with :class:`BahdanauAttention`'s score.

    Args:
        units: width of ``h_t`` and ``h_s`` (both the RNNs' units), and of the score's hidden layer.

    Call args:
        x: ``(batch, tar_len, units)`` decoder states; context, padding_mask, keys: as
        :class:`BahdanauAttention` (``context`` is its ``values``).

    Returns:
        ``(out (batch, tar_len, units), weights (batch, tar_len, inp_len))``.
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.attention = BahdanauAttention(units, name="bahdanau")
        self.layernorm = keras.layers.LayerNormalization(name="layernorm")

    def build(self, x_shape, context_shape=None):
        self.attention.build(x_shape, context_shape)
        self.layernorm.build(x_shape)
        self.built = True

    def call(self, x, context, padding_mask=None, keys=None):
        attended, weights = self.attention(x, context, padding_mask=padding_mask, keys=keys)
        return self.layernorm(x + attended), weights

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units)
        return config


@keras.saving.register_keras_serializable(package="transformer_tf.seq2seq")
class RNNDecoder(keras.layers.Layer):
    """Target ids, one step behind (teacher forcing), and ``h_s`` → next-token logits.

    ``h_t = RNN(embedding(y_{t-1}), h_{t-1})``; ``a_t = CrossAttention(h_t, h_s)``;
    ``logits_t = output_layer(a_t)``. In training the RNN runs over the whole shifted target
    at once; in decoding :meth:`step` runs its cell one token at a time from the carried state,
    then the same attention and output layer (:meth:`readout`). The first state is zero, as in
    the tutorial.

    Args:
        vocab_size: target vocabulary.
        embedding_dim, units, cell, variant, rate: as :class:`RNNEncoder`.
        embedding: shared ``keras.layers.Embedding``; with it the output layer reuses its matrix
            (``logits = (a_t P) Eᵀ + b``, ``P`` a ``units × embedding_dim`` projection).

    Call args:
        x: ``(batch, tar_len)`` decoder-input ids (``<start>`` first).
        context: ``h_s`` ``(batch, inp_len, units)``.
        padding_mask: ``(batch, 1, inp_len)`` source padding (1.0 = padding).
        training: enables dropout.

    Returns:
        ``(logits, weights)``: float32 ``(batch, tar_len, vocab_size)`` and ``α``
        ``(batch, tar_len, inp_len)``.
    """

    def __init__(
        self, vocab_size, embedding_dim, units, cell="lstm", variant="vanilla", rate=0.1, embedding=None, **kwargs
    ):
        super().__init__(**kwargs)
        self.vocab_size, self.embedding_dim, self.units = vocab_size, embedding_dim, units
        self.cell, self.variant, self.rate = cell, variant, rate
        self.tied = embedding is not None
        self.embedding = embedding or keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")
        self.dropout = keras.layers.Dropout(rate)
        self.rnn = recurrent_layer(cell, units, variant, name="rnn")
        self.attention = CrossAttention(units, name="attention")
        if self.tied:
            self.projection = keras.layers.Dense(embedding_dim, use_bias=False, name="projection")
            self.output_layer = TiedOutput(self.embedding, name="output_layer")
        else:
            self.output_layer = keras.layers.Dense(vocab_size, name="output_layer")

    def build(self, x_shape, context_shape=None):
        if not self.embedding.built:
            self.embedding.build(x_shape)
        self.rnn.build(tuple(x_shape) + (self.embedding_dim,))
        states = tuple(x_shape) + (self.units,)
        self.attention.build(states, context_shape or states)
        if self.tied:
            self.projection.build(states)
            self.output_layer.build(tuple(x_shape) + (self.embedding_dim,))
        else:
            self.output_layer.build(states)
        self.built = True

    def initial_state(self, batch):
        """The zero states ``[(batch, size), ...]`` the decoder starts from."""
        return [tf.zeros((batch, size), self.compute_dtype) for size in state_sizes(self.rnn)]

    def readout(self, h, context, padding_mask=None, keys=None, training=False):
        """Decoder states ``h`` ``(batch, tar_len, units)`` → float32 logits
        ``(batch, tar_len, vocab)`` and ``α`` ``(batch, tar_len, inp_len)``: attention, output layer."""
        attended, weights = self.attention(h, context, padding_mask=padding_mask, keys=keys)
        attended = self.dropout(attended, training=training)
        if self.tied:
            attended = self.projection(attended)
        return tf.cast(self.output_layer(attended), tf.float32), weights

    def call(self, x, context, padding_mask=None, training=False):
        e = self.dropout(self.embedding(x), training=training)  # (batch, tar_len, embedding_dim)
        h = self.rnn(e, initial_state=self.initial_state(tf.shape(x)[0]))[0]  # (batch, tar_len, units)
        return self.readout(h, context, padding_mask, training=training)

    def step(self, token, state, context, padding_mask, keys):
        """One decoding step from the carried state (inference: no dropout).

        Args:
            token: ``(batch, 1)`` the previous token's id.
            state: the RNN's states, a tuple of ``(batch, size)``.
            context, padding_mask, keys: ``h_s``, its padding mask and ``W₁ h_s``.

        Returns:
            ``(logits (batch, vocab) float32, new state)``.
        """
        x_t = self.embedding(token)[:, 0]  # (batch, embedding_dim)
        h_t, state = self.rnn.cell(x_t, list(state))
        logits, _ = self.readout(h_t[:, tf.newaxis], context, padding_mask, keys)
        return logits[:, 0], tuple(tf.nest.flatten(state))

    def get_config(self):
        config = super().get_config()
        config.update(
            vocab_size=self.vocab_size,
            embedding_dim=self.embedding_dim,
            units=self.units,
            cell=self.cell,
            variant=self.variant,
            rate=self.rate,
        )
        return config


@keras.saving.register_keras_serializable(package="transformer_tf.seq2seq")
class RNNTranslator(keras.Model):
    """The tutorial's ``Translator``: :class:`RNNEncoder` → :class:`RNNDecoder` with Bahdanau attention.

    Args:
        input_vocab_size, target_vocab_size: vocabularies (id 0 is padding).
        embedding_dim: embedding width (default 128).
        units: every RNN's state width, ``h_s`` and ``h_t`` (default 256).
        cell: ``"lstm"``, ``"gru"`` or ``"space_odyssey"`` (:func:`recurrent_layer`).
        variant: the Space Odyssey variant, for ``cell="space_odyssey"``.
        rate: dropout rate.
        share_embeddings: one embedding matrix for the source, the target and the output layer
            (needs one joint vocabulary).

    Call args:
        inputs: ``(inp, tar)``: ``(batch, inp_len)`` source ids and ``(batch, tar_len)``
            decoder-input ids, 0-padded.
        training: enables dropout.
        return_attention: also return the attention weights.

    Returns:
        float32 logits ``(batch, tar_len, target_vocab_size)``; with ``return_attention=True``
        ``(logits, {"cross_attention": (batch, 1, tar_len, inp_len)})`` — one "head", so the
        attention pictures and the explorer treat it as the Transformer's kinds.
    """

    def __init__(
        self,
        input_vocab_size,
        target_vocab_size,
        embedding_dim=128,
        units=256,
        cell="lstm",
        variant="vanilla",
        rate=0.1,
        share_embeddings=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if cell not in RNN_CELLS:
            raise ValueError(f"cell {cell!r}: choose one of {', '.join(RNN_CELLS)}")
        check_tied_vocabularies(share_embeddings, input_vocab_size, target_vocab_size)
        self.hparams = dict(
            input_vocab_size=input_vocab_size,
            target_vocab_size=target_vocab_size,
            embedding_dim=embedding_dim,
            units=units,
            cell=cell,
            variant=variant,
            rate=rate,
            share_embeddings=share_embeddings,
        )
        layer_args = dict(embedding_dim=embedding_dim, units=units, cell=cell, variant=variant, rate=rate)
        self.encoder = RNNEncoder(input_vocab_size, name="encoder", **layer_args)
        shared = self.encoder.embedding if share_embeddings else None
        self.decoder = RNNDecoder(target_vocab_size, embedding=shared, name="decoder", **layer_args)

    def build(self, input_shape=None):
        inp_shape, tar_shape = input_shape if input_shape else ((None, None), (None, None))
        self.encoder.build(inp_shape)
        self.decoder.build(tar_shape, tuple(inp_shape) + (self.hparams["units"],))
        self.built = True

    def call(self, inputs, training=False, return_attention=False):
        inp, tar = check_token_ids(inputs[0], "inp"), check_token_ids(inputs[1], "tar")
        context = self.encoder(inp, training=training)
        logits, weights = self.decoder(tar, context, padding_mask=source_padding_mask(inp), training=training)
        if return_attention:
            return logits, {ATTENTION_NAME: weights[:, tf.newaxis]}
        return logits

    # -- incremental decoding: the interface transformer_tf.decoding's decoders use
    def start_decoding(self, inp, max_length=None, beams=1):
        """Encode once, for :meth:`decode_step`.

        Args:
            inp: ``(batch, inp_len)`` source ids.
            max_length: unused (the Transformer sizes its caches with it).
            beams: repeat every sentence's rows this many times (beam search).

        Returns:
            ``(context, state)``: ``context = (h_s, mask, W₁ h_s)``, fixed per row, and the
            decoder's zero ``state``, carried from step to step; rows ``batch·beams``.
        """
        inp = check_token_ids(inp, "inp")
        h_s, mask = self.encoder(inp, training=False), source_padding_mask(inp)
        if beams > 1:
            h_s, mask = (tf.repeat(t, beams, axis=0) for t in (h_s, mask))
        keys = self.decoder.attention.attention.project_keys(h_s)
        return (h_s, mask, keys), tuple(self.decoder.initial_state(tf.shape(h_s)[0]))

    def decode_step(self, token, t, context, state):
        """``token`` ``(rows, 1)`` fed at position ``t`` (unused: the state knows) →
        ``(logits (rows, vocab) float32, new state)``."""
        h_s, padding_mask, keys = context
        return self.decoder.step(token, state, h_s, padding_mask, keys)

    def get_config(self):
        config = super().get_config()
        config.update(self.hparams)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
