"""transformer_tf: the Transformer of the article series, in TensorFlow 2 / Keras 3.

Names follow the official TensorFlow tutorial the articles port, so article and code
can be read side by side::

    from transformer_tf import (MultiHeadAttention, scaled_dot_product_attention,
                                create_padding_mask, create_look_ahead_mask, Transformer,
                                CustomSchedule)

Reading order, the way data flows (no module imports a later stage):

data
    - :mod:`~transformer_tf.text`         one decoding policy for every text read (strict UTF-8)
    - :mod:`~transformer_tf.data`         spa.txt: find (path → Keras cache → download), read, split
      grouped by English (``load_splits``), bucketed ``tf.data`` batches, the resumable stream
    - :mod:`~transformer_tf.augment`      training pairs that teach copying (names, numbers, joins)
    - :mod:`~transformer_tf.tokenizer`    SentencePiece subwords with reserved ids (``PAD_ID`` = 0)
model
    - :mod:`~transformer_tf.masks`        ``create_padding_mask``, ``create_look_ahead_mask``
    - :mod:`~transformer_tf.attention`    ``scaled_dot_product_attention``, ``MultiHeadAttention``
    - :mod:`~transformer_tf.layers`       positional encoding, feed-forward, encoder/decoder layers
    - :mod:`~transformer_tf.seq2seq`      the series' previous step: an RNN encoder–decoder with
      Bahdanau attention (``Encoder``, ``BahdanauAttention``, ``Decoder``, ``RNNTranslator``)
    - :mod:`~transformer_tf.model`        ``Transformer``; ``model_from_config`` (either kind, from its config)
    - :mod:`~transformer_tf.config`       ``TrainConfig``: the architecture and run settings
      (``config.json``), beside the model so inference never imports training
training
    - :mod:`~transformer_tf.schedule`     ``CustomSchedule``, the paper's warm-up learning rate
    - :mod:`~transformer_tf.checkpoints`  what a run leaves in its folder, restored and released
    - :mod:`~transformer_tf.train`        ``train``: resumable training, loss and accuracy
    - :mod:`~transformer_tf.distributed`  the multi-worker loop (``--strategy multiworker``)
inference
    - :mod:`~transformer_tf.translate`    ``Translator``: greedy and beam decoding with a cache
    - :mod:`~transformer_tf.shortlist`    the lexical shortlist of the output layer (``shortlist.npz``)
    - :mod:`~transformer_tf.fast_decode`  fast greedy decoding: the shortlist, finished sentences
      leaving the batch, bfloat16 layers (``--exact``: the reference path)
    - :mod:`~transformer_tf.export`       a SavedModel from string to string
    - :mod:`~transformer_tf.evaluate`     sacreBLEU BLEU and chrF, overall and per category
plots
    - :mod:`~transformer_tf.plot`         attention heatmaps, one panel a head
    - :mod:`~transformer_tf.explorer`     the interactive attention page (``attention.html``)
    - :mod:`~transformer_tf.demo`         the multi-head attention article's worked example

:mod:`~transformer_tf.cli` wires these to ``transformer-tf``; :mod:`~transformer_tf.errors`
has the one exception type for user mistakes.

Where a reader of each article looks:

- multi-head attention: ``attention``, ``masks``, ``demo``, ``plot`` (notebook 01);
- the NLP prerequisites: :mod:`~transformer_tf.embeddings` (one-hot vectors, learned
  embeddings and their maps) and :mod:`~transformer_tf.perplexity` (perplexity, n-gram
  models) (notebook 02);
- the Transformer translator: ``data`` → ``tokenizer`` → ``model`` → ``train`` →
  ``translate``, in the order above.
"""

from transformer_tf.attention import MultiHeadAttention, scaled_dot_product_attention
from transformer_tf.embeddings import embedding_classifier, embedding_map, one_hot_encode
from transformer_tf.layers import (
    Decoder,
    DecoderLayer,
    Encoder,
    EncoderLayer,
    point_wise_feed_forward_network,
    positional_encoding,
)
from transformer_tf.masks import PAD_ID, create_look_ahead_mask, create_masks, create_padding_mask
from transformer_tf.model import Transformer
from transformer_tf.perplexity import perplexity
from transformer_tf.schedule import CustomSchedule

# Plotting pulls in matplotlib, seaborn and plotly: imported on first use, not with the package.
_PLOTTING = (
    "plot_attention_heads",
    "plot_attention_weights",
    "plot_attention_overview",
)
_EXPLORER = ("show_attention",)


def __getattr__(name):
    if name == "sentence_attention":  # inference (transformer_tf.translate), kept importable from here
        from transformer_tf import translate

        return translate.sentence_attention
    if name in _PLOTTING:
        from transformer_tf import plot

        return getattr(plot, name)
    if name in _EXPLORER:
        from transformer_tf import explorer

        return getattr(explorer, name)
    raise AttributeError(f"module 'transformer_tf' has no attribute {name!r}")


__all__ = [
    *_PLOTTING,
    *_EXPLORER,
    "sentence_attention",
    "CustomSchedule",
    "Decoder",
    "DecoderLayer",
    "Encoder",
    "EncoderLayer",
    "MultiHeadAttention",
    "PAD_ID",
    "Transformer",
    "create_look_ahead_mask",
    "create_masks",
    "create_padding_mask",
    "embedding_classifier",
    "embedding_map",
    "one_hot_encode",
    "perplexity",
    "point_wise_feed_forward_network",
    "positional_encoding",
    "scaled_dot_product_attention",
]
