"""The full Transformer translator: encoder, decoder and the final linear layer."""

import keras
import tensorflow as tf

from transformer_tf.layers import Decoder, Encoder, TiedOutput, check_tied_vocabularies
from transformer_tf.masks import check_token_ids, create_masks, create_padding_mask, decoder_rows


def shortlist_output(final_layer, vocab):
    """The output layer (a :class:`TiedOutput` or a ``Dense``) cut to the ids ``vocab`` (a lexical
    shortlist, :mod:`transformer_tf.shortlist`): taken once per batch, it makes every decoding
    step's output layer cost ``len(vocab) / vocab_size`` of its full price.

    Args:
        vocab: ``(n,)`` int ids.

    Returns:
        ``(kernel, bias)``: ``(d_model, n)`` and ``(n,)``, the rows of ``E`` transposed once
        (or columns of the ``Dense`` kernel) and of the bias, for :func:`output_logits`. The
        transpose is taken here, once a batch: a step's ``matmul(x, kernel)`` was then 11–30%
        cheaper than ``matmul(x, rows, transpose_b=True)``, with the same values.
    """
    if isinstance(final_layer, TiedOutput):
        return tf.transpose(tf.gather(final_layer.embedding.embeddings, vocab)), tf.gather(final_layer.bias, vocab)
    return tf.gather(final_layer.kernel, vocab, axis=1), tf.gather(final_layer.bias, vocab)


def output_logits(x, output):
    """Logits ``(rows, n)`` of ``x`` ``(rows, d_model)`` over the ids of a :func:`shortlist_output`
    only (column j: ``vocab[j]``), computed in the output's dtype (float32 from a float32
    model, also when ``x`` comes from a bfloat16 copy of it), returned in float32."""
    kernel, bias = output
    logits = tf.matmul(tf.cast(x, kernel.dtype), kernel) + bias
    return tf.cast(logits, tf.float32)


@keras.saving.register_keras_serializable(package="transformer_tf")
class Transformer(keras.Model):
    """Encoder-decoder Transformer (Vaswani et al. 2017), as in the TensorFlow tutorial.

    Args:
        num_layers: encoder layers = decoder layers ``N``.
        d_model: model width.
        num_heads: attention heads per attention block.
        dff: hidden width of the feed-forward networks.
        input_vocab_size: source vocabulary size (id 0 is padding).
        target_vocab_size: target vocabulary size (id 0 is padding).
        pe_input: longest source sequence (positional encodings precomputed).
        pe_target: longest target sequence.
        rate: dropout rate.
        share_embeddings: one embedding matrix for the encoder input, the decoder
            input and the output projection (needs one joint vocabulary:
            ``input_vocab_size == target_vocab_size``); the blog's model has three.
        skip_padding_rows: in training, compute the output layer only at the decoder's real
            positions (:func:`transformer_tf.masks.decoder_rows`) and return ``(rows, vocab)``
            logits, which :mod:`transformer_tf.losses` takes at the same rows: the padding
            positions, about 40% of a batch, cost nothing in the output layer and the loss
            (same loss and gradients). :func:`transformer_tf.factory.model_from_config` (so
            ``train``) turns it on; off, training returns ``(batch, tar_len, vocab)`` as
            inference does, for any Keras loss.

    Call args:
        inputs: ``(inp, tar)``: ``(batch, inp_len)`` source ids and
            ``(batch, tar_len)`` decoder-input ids; the padding and look-ahead
            masks are built inside from pad id 0 (:func:`transformer_tf.create_masks`).
        training: enables dropout (and, with ``skip_padding_rows``, drops the padding rows).
        return_attention: also return the attention weights.

    Returns:
        float32 logits ``(batch, tar_len, target_vocab_size)`` (also under a mixed
        precision policy, so the loss is computed in float32), ``(rows, target_vocab_size)``
        in training with ``skip_padding_rows``; with ``return_attention=True``
        ``(logits, attention_weights)``, where ``attention_weights`` has, for
        i = 1..num_layers, ``encoder_layer{i}_block`` ``(batch, heads, inp_len, inp_len)``,
        ``decoder_layer{i}_block1`` ``(batch, heads, tar_len, tar_len)`` and
        ``decoder_layer{i}_block2`` ``(batch, heads, tar_len, inp_len)``.
    """

    def __init__(
        self,
        num_layers,
        d_model,
        num_heads,
        dff,
        input_vocab_size,
        target_vocab_size,
        pe_input,
        pe_target,
        rate=0.1,
        share_embeddings=False,
        skip_padding_rows=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_tied_vocabularies(share_embeddings, input_vocab_size, target_vocab_size)
        self.hparams = dict(
            num_layers=num_layers,
            d_model=d_model,
            num_heads=num_heads,
            dff=dff,
            input_vocab_size=input_vocab_size,
            target_vocab_size=target_vocab_size,
            pe_input=pe_input,
            pe_target=pe_target,
            rate=rate,
            share_embeddings=share_embeddings,
            skip_padding_rows=skip_padding_rows,
        )
        self.encoder = Encoder(num_layers, d_model, num_heads, dff, input_vocab_size, pe_input, rate, name="encoder")
        shared = self.encoder.embedding if share_embeddings else None
        self.decoder = Decoder(
            num_layers,
            d_model,
            num_heads,
            dff,
            target_vocab_size,
            pe_target,
            rate,
            embedding=shared,
            name="decoder",
        )
        self.final_layer = (
            TiedOutput(shared, name="final_layer")
            if share_embeddings
            else keras.layers.Dense(target_vocab_size, name="final_layer")
        )

    def build(self, input_shape=None):
        # Create every weight up front (also what `.keras` loading calls), so that
        # checkpoints and weight files see the whole model before its first call.
        inp_shape, tar_shape = input_shape if input_shape else ((None, None), (None, None))
        self.encoder.build(inp_shape)
        d = self.hparams["d_model"]
        self.decoder.build(tar_shape, tuple(inp_shape) + (d,))
        self.final_layer.build(tuple(tar_shape) + (d,))
        self.built = True

    def call(self, inputs, training=False, return_attention=False):
        inp, tar = check_token_ids(inputs[0], "inp"), check_token_ids(inputs[1], "tar")
        enc_padding_mask, look_ahead_mask, dec_padding_mask = create_masks(inp, tar)

        enc_output, enc_attention = self.encoder(inp, training=training, mask=enc_padding_mask)
        dec_output, dec_attention = self.decoder(
            tar,
            enc_output,
            training=training,
            look_ahead_mask=look_ahead_mask,
            padding_mask=dec_padding_mask,
        )
        if training and self.hparams["skip_padding_rows"] and not return_attention:
            dec_output = tf.boolean_mask(dec_output, decoder_rows(tar))  # (rows, d_model)
        logits = tf.cast(self.final_layer(dec_output), tf.float32)  # (batch, tar_len, vocab) or (rows, vocab)
        if return_attention:
            return logits, {**enc_attention, **dec_attention}
        return logits

    # -- incremental decoding: the interface transformer_tf.decoding's decoders use
    def start_decoding(self, inp, max_length, beams=1):
        """Encode once, for :meth:`decode_step`.

        Args:
            inp: ``(batch, inp_len)`` source ids.
            max_length: most positions to decode (the length of the key/value caches; 0 for
                caches that grow, :meth:`decode_step`'s ``grow``).
            beams: repeat every sentence's rows this many times (beam search).

        Returns:
            ``(context, state)``: ``context = (encoder keys/values per layer, padding mask)``,
            fixed per row, and ``state``, the empty self-attention caches
            ``(batch·beams, num_heads, max_length, depth)`` per layer, carried from step to step.
        """
        inp = check_token_ids(inp, "inp")
        padding_mask = create_padding_mask(inp)
        enc_output, _ = self.encoder(inp, training=False, mask=padding_mask)
        if beams > 1:
            enc_output, padding_mask = (tf.repeat(t, beams, axis=0) for t in (enc_output, padding_mask))
        enc_kvs, caches = self.decoder.init_decoding(enc_output, max_length)
        return (enc_kvs, padding_mask), caches

    def decode_step(self, token, t, context, state, output=None, grow=False):
        """``token`` ``(rows, 1)`` fed at position ``t`` → ``(logits (rows, vocab) float32,
        new caches)``; only the new token goes through the decoder. ``output``: a
        :func:`shortlist_output`, for the logits of its ids only. ``grow``: caches that grow a
        position a step, from :meth:`start_decoding` with ``max_length`` 0
        (:meth:`~transformer_tf.layers.DecoderLayer.decode_step`)."""
        enc_kvs, padding_mask = context
        x, state = self.decoder.decode_step(token, t, state, enc_kvs, padding_mask, grow)
        if output is None:
            return tf.cast(self.final_layer(x)[:, 0], tf.float32), state
        return output_logits(x[:, 0], output), state

    def get_config(self):
        config = super().get_config()
        config.update(self.hparams)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
