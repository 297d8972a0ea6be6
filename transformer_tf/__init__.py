"""transformer_tf: the Transformer of the article series, in TensorFlow 2 / Keras 3.

Names follow the official TensorFlow tutorial the articles port, so article and code
can be read side by side::

    from transformer_tf import (MultiHeadAttention, scaled_dot_product_attention,
                                create_padding_mask, create_look_ahead_mask, Transformer,
                                CustomSchedule)
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
