"""The model a config describes: :func:`model_from_config`, above both model kinds.

It sits above :mod:`transformer_tf.model` (the Transformer) and :mod:`transformer_tf.seq2seq`
(the RNN), so that neither model module imports the other; training builds its model here,
inference (:mod:`transformer_tf.checkpoints`) rebuilds a saved one.
"""

from transformer_tf.model import Transformer
from transformer_tf.seq2seq import RNNTranslator


def model_from_config(config, input_vocab_size, target_vocab_size):
    """The (unbuilt) model a :class:`~transformer_tf.config.TrainConfig` describes (its
    ``model``: ``"transformer"`` or ``"rnn"``), under the caller's dtype policy; training
    compiles it, inference restores weights into it. The Transformer leaves the padding rows
    out of its output layer in training (``skip_padding_rows``), for the loss of
    :mod:`transformer_tf.losses`."""
    if config.model == "rnn":
        return RNNTranslator(
            input_vocab_size,
            target_vocab_size,
            embedding_dim=config.rnn_embedding,
            units=config.rnn_units,
            cell=config.rnn_cell,
            variant=config.rnn_variant,
            rate=config.dropout,
            share_embeddings=config.share_embeddings,
        )
    return Transformer(
        config.num_layers,
        config.d_model,
        config.num_heads,
        config.dff,
        input_vocab_size,
        target_vocab_size,
        pe_input=config.max_tokens,
        pe_target=config.max_tokens,
        rate=config.dropout,
        share_embeddings=config.share_embeddings,
        skip_padding_rows=True,  # training's loss (transformer_tf.losses) takes the decoder's real rows only
    )
