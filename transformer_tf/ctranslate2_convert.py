"""Our Keras :class:`~transformer_tf.Transformer` as a CTranslate2 ``TransformerSpec``.

CTranslate2 (OpenNMT's inference engine for Transformers, https://opennmt.net/CTranslate2) runs
the same equations as the model of :mod:`transformer_tf.layers` in its own C++ kernels, with
its own batching, beam search and int8 weights. It needs no TensorFlow at run time; this module
(run once per trained model, :mod:`transformer_tf.ctranslate2_engine` caches its output) maps
our weights onto its spec, as its own converters (``ctranslate2/converters/opennmt_py.py``,
``marian.py``) do for theirs:

=========================================  ==============================================
ours (Keras, ``kernel`` is ``(in, out)``)  CTranslate2 spec (``weight`` is ``(out, in)``)
=========================================  ==============================================
``Embedding`` ``E`` (vocab, d_model)       ``encoder.embeddings`` and ``decoder.embeddings``
  ``x·√d_model`` (:meth:`_Stack.embed`)      ``scale_embeddings = True``
``positional_encoding(max_tokens, d)``     ``position_encodings.encodings``: the same
  (interleaved sin/cos columns)              ``(max_tokens, d_model)`` table, given explicitly
``EncoderLayer.mha``: wq, wk, wv           ``self_attention.linear[0]``: ``[Wq; Wk; Wv]`` fused
``EncoderLayer.mha.dense`` (W^O)           ``self_attention.linear[1]``
``layernorm1`` (after the residual)        ``self_attention.layer_norm`` (``pre_norm=False``)
``ffn`` Dense(dff, relu), Dense(d_model)   ``ffn.linear_0``, ``ffn.linear_1`` (ReLU)
``layernorm2``                             ``ffn.layer_norm``
``DecoderLayer.mha1`` / ``layernorm1``     ``self_attention`` (fused q/k/v) / its norm
``DecoderLayer.mha2``: wq; wk, wv; dense   ``attention.linear[0]``; ``[1]`` fused k/v; ``[2]``
``DecoderLayer.layernorm2`` / ``ffn``,     ``attention.layer_norm`` / ``ffn`` and
  ``layernorm3``                             ``ffn.layer_norm``
``TiedOutput``: ``x Eᵀ + b``               ``decoder.projection``: weight ``E`` (the same
                                             array: saved once), bias ``b``
=========================================  ==============================================

Post-norm "Add & Norm", ``LayerNorm(x + Sublayer(x))`` with ε = 1e-6, is CTranslate2's
``pre_norm=False`` (no final norm) with ``layer_norm_epsilon = 1e-6``; its attention scales
``Q Kᵀ`` by ``1/√depth`` as :func:`~transformer_tf.attention.scaled_dot_product_attention` does.

Vocabulary: the SentencePiece pieces, one token per model id (id 0 ``<pad>``, 1 ``<unk>``,
2 ``<s>`` = START, 3 ``</s>`` = END). Our decoders never emit padding, ``<unk>`` or START
(:data:`transformer_tf.decoding._NEVER_GENERATED`); the converted projection gives those three
ids a bias of :data:`NEVER_BIAS`, so no decoding of the converted model emits them either.
"""

import numpy as np

from transformer_tf.layers import TiedOutput, positional_encoding
from transformer_tf.tokenizer import PAD_ID, START_ID, UNK_ID

#: The projection bias of the ids never generated: ``exp(-1e9)`` is 0 in float32, as −∞ would be,
#: without the NaN that an all −∞ row would give.
NEVER_BIAS = -1e9

#: Layer-norm epsilon of :mod:`transformer_tf.layers` (``LayerNormalization(epsilon=1e-6)``).
LAYER_NORM_EPSILON = 1e-6


def _linear(spec, dense, transpose=True):
    """A Keras ``Dense`` (kernel ``(in, out)``) into a CTranslate2 ``LinearSpec`` (``(out, in)``)."""
    spec.weight = np.ascontiguousarray(dense.kernel.numpy().T) if transpose else dense.kernel.numpy()
    spec.bias = dense.bias.numpy()


def _fused(spec, denses):
    """Several ``Dense`` of one input as one ``LinearSpec``: weights stacked on the output axis."""
    spec.weight = np.concatenate([d.kernel.numpy().T for d in denses], axis=0)
    spec.bias = np.concatenate([d.bias.numpy() for d in denses])


def _norm(spec, layer_norm):
    spec.gamma = layer_norm.gamma.numpy()
    spec.beta = layer_norm.beta.numpy()


def _attention(spec, mha, self_attention):
    """``self_attention``: q/k/v fused in ``linear[0]``; else q in ``linear[0]``, k/v fused in ``linear[1]``."""
    if self_attention:
        _fused(spec.linear[0], (mha.wq, mha.wk, mha.wv))
    else:
        _linear(spec.linear[0], mha.wq)
        _fused(spec.linear[1], (mha.wk, mha.wv))
    _linear(spec.linear[-1], mha.dense)


def _ffn(spec, ffn, layer_norm):
    _linear(spec.linear_0, ffn.layers[0])
    _linear(spec.linear_1, ffn.layers[1])
    _norm(spec.layer_norm, layer_norm)


def _inputs(spec, stack, max_tokens, shared=None):
    """Embeddings (``shared``: the array of a tied embedding already given to the other side, saved
    once) and the positional-encoding table."""
    # the encoder spec holds a list of embeddings (source features), the decoder spec one
    embeddings = spec.embeddings[0] if isinstance(spec.embeddings, list) else spec.embeddings
    embeddings.weight = stack.embedding.embeddings.numpy() if shared is None else shared
    spec.scale_embeddings = True
    spec.position_encodings.encodings = positional_encoding(max_tokens, stack.d_model).numpy()[0]


def transformer_spec(model, source_vocabulary, target_vocabulary, max_tokens):
    """The CTranslate2 spec of a trained :class:`~transformer_tf.Transformer` (float32 weights).

    Args:
        model: the Keras model (built, weights restored).
        source_vocabulary, target_vocabulary: one token a model id
            (:func:`transformer_tf.ctranslate2_engine.vocabulary` of its tokenizers).
        max_tokens: the positions it encodes (``config.max_tokens``).

    Returns:
        a ``ctranslate2.specs.TransformerSpec``; ``spec.save(folder)`` writes ``model.bin`` and the
        vocabularies.
    """
    from ctranslate2.specs import common_spec
    from ctranslate2.specs import transformer_spec as ct2

    hp = model.hparams
    spec = ct2.TransformerSpec.from_config(
        hp["num_layers"], hp["num_heads"], pre_norm=False, activation=common_spec.Activation.RELU
    )
    _inputs(spec.encoder, model.encoder, max_tokens)
    for layer_spec, layer in zip(spec.encoder.layer, model.encoder.enc_layers, strict=True):
        _attention(layer_spec.self_attention, layer.mha, self_attention=True)
        _norm(layer_spec.self_attention.layer_norm, layer.layernorm1)
        _ffn(layer_spec.ffn, layer.ffn, layer.layernorm2)
    tied = model.decoder.embedding is model.encoder.embedding
    _inputs(spec.decoder, model.decoder, max_tokens, spec.encoder.embeddings[0].weight if tied else None)
    for layer_spec, layer in zip(spec.decoder.layer, model.decoder.dec_layers, strict=True):
        _attention(layer_spec.self_attention, layer.mha1, self_attention=True)
        _norm(layer_spec.self_attention.layer_norm, layer.layernorm1)
        _attention(layer_spec.attention, layer.mha2, self_attention=False)
        _norm(layer_spec.attention.layer_norm, layer.layernorm2)
        _ffn(layer_spec.ffn, layer.ffn, layer.layernorm3)
    _projection(spec.decoder.projection, model.final_layer, spec.decoder.embeddings.weight)
    spec.config.layer_norm_epsilon = LAYER_NORM_EPSILON
    spec.config.add_source_bos = spec.config.add_source_eos = False  # encode_sources adds START … END
    spec.register_source_vocabulary(list(source_vocabulary))
    spec.register_target_vocabulary(list(target_vocabulary))
    spec.validate()
    return spec


def _projection(spec, final_layer, decoder_embeddings):
    """The output layer, with :data:`NEVER_BIAS` on padding, ``<unk>`` and START."""
    if isinstance(final_layer, TiedOutput):
        spec.weight = decoder_embeddings  # the same array: CTranslate2 saves it once
        bias = final_layer.bias.numpy().copy()
    else:
        spec.weight = np.ascontiguousarray(final_layer.kernel.numpy().T)
        bias = final_layer.bias.numpy().copy()
    bias[[PAD_ID, UNK_ID, START_ID]] = NEVER_BIAS
    spec.bias = bias
