"""The models ``transformer-tf serve`` serves: which engine translates each (:func:`serve_engine`)
and their translators, restored once (:func:`load_models`).

A Transformer's ``/api/translate`` goes to the engine ``translate`` uses by default (CTranslate2,
:func:`transformer_tf.engines.open_translator`); its ``/api/attention`` always reads the Keras
model (CTranslate2 gives no per-layer, per-head attention), so a Transformer served on CTranslate2
holds both. With int8 weights the two give the same translation for ~90% of sentences.
"""

import dataclasses
from pathlib import Path

from transformer_tf.config import DEFAULT_ENGINE, PLACES
from transformer_tf.errors import TransformerTFError


@dataclasses.dataclass
class ServedModel:
    """A restored model and what the API says about it.

    Attributes:
        translator: the Keras :class:`~transformer_tf.translate.Translator` (attention, description,
            the continuous decode loop).
        engine: ``"ctranslate2"`` or ``"tensorflow"``: what answers ``/api/translate``.
        engine_translator: the translator of that engine (``translator`` itself on TensorFlow).
        attention_forward: the Keras model's pass that ``/api/attention`` reads, compiled once
            (:func:`~transformer_tf.attention_maps.attention_pass`; None: the model called eagerly).
    """

    name: str
    folder: str
    translator: object
    description: str
    config: dict
    engine: str = "tensorflow"
    engine_translator: object = None
    attention_forward: object = None

    def __post_init__(self):
        self.engine_translator = self.engine_translator or self.translator


def serve_engine(folder, engine=DEFAULT_ENGINE, batching="fixed"):
    """The engine that answers ``/api/translate`` for ``folder``: :func:`~transformer_tf.engines.resolve_engine`'s,
    except that ``batching="continuous"`` (TensorFlow's decode loop) makes ``auto`` TensorFlow.

    Raises:
        TransformerTFError: an unknown engine, CTranslate2 for the RNN or with ``--batching continuous``.
    """
    from transformer_tf.engines import resolve_engine

    if batching == "continuous" and engine == "ctranslate2":
        raise TransformerTFError(
            "--batching continuous is TensorFlow's decode loop: give --engine tensorflow (or auto) with it, "
            "or --batching fixed for CTranslate2."
        )
    return resolve_engine(folder, "tensorflow" if batching == "continuous" else engine)


def convert_once(folders, engine=DEFAULT_ENGINE, batching="fixed"):
    """Convert each of ``folders`` served on CTranslate2 (:func:`serve_engine`) whose cached conversion is
    missing or stale, now: before ``serve --workers`` starts its processes, which would otherwise each
    convert it at once and replace one another's folder while loading it.

    Raises:
        TransformerTFError: as :func:`serve_engine`, or the model cannot be converted.
    """
    from transformer_tf.ctranslate2_engine import converted_model

    for folder in folders:
        if serve_engine(folder, engine, batching) == "ctranslate2":
            converted_model(folder)  # the fresh cache as it is, else a new conversion


def load_models(folders, places=PLACES, engine=DEFAULT_ENGINE, batching="fixed", streams=None):
    """Restore each folder's translators once; ``{name: ServedModel}`` in the folders' order.

    A model's name is its folder's name (``checkpoints/en_es`` → ``en_es``); ``places``: as
    :class:`~transformer_tf.translate.Translator`'s; ``engine``, ``batching``: :func:`serve_engine`'s,
    checked for every folder before any model loads; ``streams``: batches CTranslate2 decodes at once (its
    threads; None: one a core). A CTranslate2 model comes from the cache
    ``translate`` uses (converted here when missing or stale). Each decoder runs once here
    (seconds), so the first request is as fast as the others.

    Raises:
        TransformerTFError: no folder, two folders with one name, a folder without a model, or an
            engine refused (:func:`serve_engine`).
    """
    from transformer_tf.attention_maps import attention_pass, sentence_attention
    from transformer_tf.config import read_config_json
    from transformer_tf.engines import open_translator
    from transformer_tf.explorer import describe_model
    from transformer_tf.translate import Translator

    if not folders:
        raise TransformerTFError("no model to serve: give --checkpoint-dir DIR (repeat it for several).")
    names = {}
    for folder in folders:
        name = Path(folder).resolve().name
        if name in names:
            raise TransformerTFError(
                f"--checkpoint-dir {folder}: a model named {name!r} is already served "
                f"(from {names[name]}); models are named by their folder's name."
            )
        names[name] = folder
    engines = {name: serve_engine(folder, engine, batching) for name, folder in names.items()}
    models = {}
    for name, folder in names.items():
        translator = Translator.from_checkpoint(folder, places=places)
        translator.translate(["Hello."], progress=False)  # traces the greedy decoder now, not on the first request
        forward = attention_pass(translator.model)
        sentence_attention(translator, "Hello.", forward)  # and the attention pass (~1-2 s)
        on_engine = None
        if engines[name] == "ctranslate2":
            on_engine = open_translator(folder, "ctranslate2", places=places, streams=streams)
            on_engine.translate(["Hello."], progress=False)
        models[name] = ServedModel(
            name,
            str(folder),
            translator,
            describe_model(translator),
            read_config_json(Path(folder)),
            engines[name],
            on_engine,
            forward,
        )
    return models
