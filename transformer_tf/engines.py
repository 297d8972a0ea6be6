"""Which engine translates a model folder: :func:`resolve_engine` (``--engine``) and :func:`open_translator`.

Both engines offer the same :class:`~transformer_tf.sentence_translator.SentenceTranslator` API
(``translate``, ``translate_by_sentence``, ``translate_sentences``), so the commands, the web app
and the benchmarks take either: :class:`~transformer_tf.ctranslate2_engine.CTranslate2Translator`
(the default for a Transformer) or :class:`~transformer_tf.translate.Translator` (TensorFlow).
"""

from transformer_tf.config import DEFAULT_CHECKPOINT_DIR, DEFAULT_ENGINE, ENGINES, PLACES, TrainConfig
from transformer_tf.errors import TransformerTFError


def resolve_engine(checkpoint_dir, engine=DEFAULT_ENGINE, exact=False):
    """The engine that decodes: ``"ctranslate2"`` or ``"tensorflow"``.

    ``"auto"`` (the default) is CTranslate2 for a Transformer and TensorFlow for the RNN, or
    with ``exact`` (the float32 reference is TensorFlow's own decoding).

    Raises:
        TransformerTFError: an unknown engine; CTranslate2 asked for the RNN, or with ``exact``.
    """
    if engine not in ENGINES:
        raise TransformerTFError(f"engine {engine!r}: choose one of {', '.join(ENGINES)}.")
    kind = TrainConfig.load(checkpoint_dir).model
    if engine == "ctranslate2" and kind != "transformer":
        raise TransformerTFError(
            f"{checkpoint_dir} holds a {kind!r} model: CTranslate2 runs Transformers only; "
            f"use --engine tensorflow (or auto) for it."
        )
    if engine == "ctranslate2" and exact:
        raise TransformerTFError(
            "--exact is TensorFlow's float32 reference decoding: give --engine tensorflow (or auto) with it."
        )
    if engine == "auto":
        return "ctranslate2" if kind == "transformer" and not exact else "tensorflow"
    return engine


def open_translator(
    checkpoint_dir=DEFAULT_CHECKPOINT_DIR,
    engine=DEFAULT_ENGINE,
    exact=False,
    places=PLACES,
    streams=None,
    converted=None,
):
    """The translator of a model folder on the engine :func:`resolve_engine` picks: a
    :class:`~transformer_tf.ctranslate2_engine.CTranslate2Translator` (which imports no
    TensorFlow when its converted model is cached and fresh) or a
    :class:`~transformer_tf.translate.Translator`. ``exact``, ``places``, ``streams``: as
    :class:`~transformer_tf.translate.Translator`'s (``streams`` is CTranslate2's
    ``inter_threads``); ``converted``: the fresh converted model already found
    (:func:`~transformer_tf.ctranslate2_engine.fresh_model`), so that it is not looked up again."""
    if resolve_engine(checkpoint_dir, engine, exact) == "ctranslate2":
        from transformer_tf.ctranslate2_engine import CTranslate2Translator

        return CTranslate2Translator.from_checkpoint(
            checkpoint_dir, places=places, streams=streams, converted=converted
        )
    from transformer_tf.translate import Translator

    return Translator.from_checkpoint(checkpoint_dir, exact=exact, places=places, streams=streams)
