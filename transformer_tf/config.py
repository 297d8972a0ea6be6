"""One training run's settings: :class:`TrainConfig`, saved as ``config.json`` beside its checkpoints.

The config is the model's description as much as the run's: inference rebuilds the model
from it (:func:`transformer_tf.checkpoints.restore_model`), so it lives here, before the
model and training stages, and importing it pulls in neither.
"""

import dataclasses
import hashlib
import json
import os
import uuid
from pathlib import Path

from transformer_tf.errors import TransformerTFError
from transformer_tf.text import read_text

CONFIG_FILE = "config.json"
# the splits of a run's corpus it never trains on (val_fraction, test_fraction; transformer_tf.data.split_pairs)
HELD_OUT_SPLITS = ("test", "validation")


@dataclasses.dataclass
class TrainConfig:
    """Every choice of a training run; saved as ``config.json`` beside the checkpoints.

    The architecture is the blog's model: 4 layers, d_model 128, dff 512, 8 heads,
    dropout 0.1, batch 64, Adam(0.9, 0.98, 1e-9) with ``CustomSchedule(d_model, 4000)``.
    Around it, the defaults go past the blog's toy: one joint vocabulary with byte
    fallback and tied embeddings, augmented training data (names, numbers, joined
    pairs; :mod:`transformer_tf.augment`), inputs of up to 96 tokens and label smoothing
    0.1. ``PRESETS["blog"]`` (``transformer-tf train --preset blog``) is the blog's exact
    setup: two vocabularies of 8,000, no tying, no augmentation, 40 tokens, no smoothing.

    ``model`` picks the architecture: ``"transformer"`` (the fields ``num_layers`` …
    ``dff``) or ``"rnn"``, the series' previous step, an RNN encoder–decoder with Bahdanau
    attention (:mod:`transformer_tf.seq2seq`; the ``rnn_*`` fields). Everything else
    (tokenizers, data, optimisation, ``dropout``, ``max_tokens``, ``share_embeddings``)
    serves both. A ``config.json`` written before the field existed is a Transformer's.
    """

    # model
    model: str = "transformer"  # "transformer" or "rnn" (transformer_tf.seq2seq.RNNTranslator)
    num_layers: int = 4
    d_model: int = 128
    num_heads: int = 8
    dff: int = 512
    dropout: float = 0.1
    max_tokens: int = 96  # per side, START and END included; also the positional-encoding length
    share_embeddings: bool = True  # one matrix: encoder input, decoder input, output projection
    # the RNN's (model "rnn"): recurrent unit, its width, its Space Odyssey variant, embedding width
    rnn_cell: str = "lstm"  # "lstm" (keras.layers.LSTM), "gru", "space_odyssey" (lstm_tf.SpaceOdysseyLSTM)
    # each encoder direction (summed), the decoder and the attention; 320 (LSTM, embeddings of 128,
    # vocabulary 12,000 tied): 3.52 M parameters, about the default Transformer's 3.40 M
    rnn_units: int = 320
    rnn_variant: str = "vanilla"  # of rnn_cell "space_odyssey": one of lstm_tf.VARIANTS
    rnn_embedding: int = 128
    # tokenizers
    tokenizer: str = "joint"  # "joint" (one BPE for both sides), "trained" (one per language), "bpemb"
    vocab_size: int = 12000  # of the joint model, or per language for "trained"
    bpemb_cache_dir: str | None = None
    # data
    data: str | None = None  # path of spa.txt; None: Keras cache, then download
    max_pairs: int | None = None  # random subset of the corpus, for quick runs
    val_fraction: float = 0.05
    test_fraction: float = 0.05
    seed: int = 0
    augment: bool = True  # add name-swapped, number-swapped and joined copies of training pairs
    augment_names: float = 0.2  # name-swapped copies, as a share of the training pairs
    augment_numbers: int = 5  # copies of each pair with the same numbers on both sides
    augment_concat: float = 0.1  # joined 2-3-pair examples, as a share of the training pairs
    # place-swapped copies with the Spanish form (Berlin → Berlín; transformer_tf.augment_places), a share
    augment_places: float = 0.0
    # optimisation
    batch_size: int = 64
    epochs: int = 20
    warmup_steps: int = 4000
    label_smoothing: float = 0.1
    mixed_precision: bool = False  # mixed_bfloat16 on CPU, mixed_float16 on GPU
    checkpoint_every: int = 200  # optimizer steps between checkpoints
    # fine-tuning (transformer_tf.finetune): a model folder whose weights and tokenizer start a new
    # run, and a constant Adam learning rate instead of CustomSchedule (None: the schedule)
    init_from: str | None = None
    learning_rate: float | None = None

    # Changing these would make saved weights or tokenizers meaningless for the run (with
    # the fields of MODEL_FIELDS[model]: the other model's fields do not matter).
    ARCHITECTURE = (
        "model",
        "max_tokens",
        "share_embeddings",
        "tokenizer",
        "vocab_size",
        "max_pairs",
        "val_fraction",
        "test_fraction",
        "seed",
        "augment",
        "augment_names",
        "augment_numbers",
        "augment_concat",
        "augment_places",
        "batch_size",
    )
    MODEL_FIELDS = {
        "transformer": ("num_layers", "d_model", "num_heads", "dff"),
        "rnn": ("rnn_cell", "rnn_units", "rnn_variant", "rnn_embedding"),
    }
    RNN_CELLS = ("lstm", "gru", "space_odyssey")

    # Whole numbers that must be at least 1, and the smallest max_tokens (START, one piece, END).
    _AT_LEAST_ONE = (
        "num_layers",
        "d_model",
        "num_heads",
        "dff",
        "vocab_size",
        "batch_size",
        "epochs",
        "warmup_steps",
        "checkpoint_every",
        "rnn_units",
        "rnn_embedding",
    )
    _MIN_MAX_TOKENS = 3

    def validate(self):
        """Refuse values that cannot make a run, naming each flag: called before anything is written.

        Raises:
            TransformerTFError: every problem found, in one message.
        """

        def flag(name):
            return "--" + name.replace("_", "-")

        def whole(v):
            return isinstance(v, int) and not isinstance(v, bool)

        problems = [
            f"{flag(n)} {getattr(self, n)!r}: give a whole number ≥ 1"
            for n in self._AT_LEAST_ONE
            if not whole(getattr(self, n)) or getattr(self, n) < 1
        ]
        if not whole(self.max_tokens) or self.max_tokens < self._MIN_MAX_TOKENS:
            problems.append(
                f"--max-tokens {self.max_tokens!r}: give at least {self._MIN_MAX_TOKENS} (START, one piece, END)"
            )
        if self.max_pairs is not None and (not whole(self.max_pairs) or self.max_pairs < 1):
            problems.append(f"--max-pairs {self.max_pairs!r}: give a whole number ≥ 1 (or leave it out: all pairs)")
        if not whole(self.seed) or not 0 <= self.seed < 2**32:  # what NumPy's seeding accepts
            problems.append(f"--seed {self.seed!r}: give a whole number from 0 to 2**32 - 1")
        if not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            problems.append(f"--dropout {self.dropout!r}: give a rate in [0, 1), e.g. 0.1")
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 < value < 1:
                problems.append(f"{flag(name)} {value!r}: give a share in (0, 1), e.g. 0.05")
        for name in ("augment_names", "augment_concat", "augment_places"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 <= value <= 1:
                problems.append(f"{flag(name)} {value!r}: give a share in [0, 1], e.g. 0.1")
        if not whole(self.augment_numbers) or self.augment_numbers < 0:
            problems.append(f"--augment-numbers {self.augment_numbers!r}: give a whole number ≥ 0")
        if self.learning_rate is not None and (
            not isinstance(self.learning_rate, (int, float)) or not 0 < self.learning_rate < 1
        ):
            problems.append(f"--learning-rate {self.learning_rate!r}: give a rate in (0, 1), e.g. 1e-4")
        if not isinstance(self.label_smoothing, (int, float)) or not 0 <= self.label_smoothing < 1:
            problems.append(f"--label-smoothing {self.label_smoothing!r}: give a value in [0, 1), e.g. 0.1")
        if self.model not in self.MODEL_FIELDS:
            problems.append(f"--model {self.model!r}: choose {' or '.join(self.MODEL_FIELDS)}")
        if self.rnn_cell not in self.RNN_CELLS:
            problems.append(f"--rnn-cell {self.rnn_cell!r}: choose one of {', '.join(self.RNN_CELLS)}")
        if self.model == "rnn" and self.rnn_cell == "space_odyssey":
            from lstm_tf.variants import VARIANTS  # imports TensorFlow (lstm_tf's __init__): only when needed

            if self.rnn_variant not in VARIANTS:
                problems.append(f"--rnn-variant {self.rnn_variant!r}: choose one of {', '.join(VARIANTS)}")
        if self.share_embeddings and self.tokenizer != "joint":
            problems.append(
                f"--share-embeddings needs one vocabulary for both languages (--tokenizer joint), "
                f"not --tokenizer {self.tokenizer}; or give --no-share-embeddings"
            )
        if not problems and self.val_fraction + self.test_fraction >= 1:
            problems.append(
                f"--val-fraction {self.val_fraction} + --test-fraction {self.test_fraction} "
                f"leave nothing to train on: keep their sum below 1"
            )
        if not problems and self.model == "transformer" and self.d_model % self.num_heads:
            problems.append(
                f"--d-model {self.d_model} is not divisible by --num-heads {self.num_heads} "
                f"(each head gets d_model / num_heads columns)"
            )
        if problems:
            raise TransformerTFError("; ".join(problems) + ".")

    def save(self, directory, corpus=None, tokenizer_files=()):
        """Write ``config.json`` atomically (a temporary file renamed over it), with ``corpus``,
        the :func:`corpus_fingerprint` of the data, when given, and the tokenizer files' names."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        payload = {**dataclasses.asdict(self), "tokenizer_files": list(tokenizer_files)}
        if corpus:
            payload["corpus"] = corpus
        write_atomically(directory / CONFIG_FILE, json.dumps(payload, indent=2) + "\n")

    @classmethod
    def load(cls, directory):
        """Read ``config.json``; a missing, unreadable or invalid one raises TransformerTFError."""
        fields = {f.name for f in dataclasses.fields(cls)}
        path = Path(directory) / CONFIG_FILE
        try:
            saved = {k: v for k, v in read_config_json(directory).items() if k in fields}
            # A config written before a field existed was trained without it: the blog's value.
            config = cls(**{**LEGACY_VALUES, **saved})
            config.validate()
        except TransformerTFError as err:
            if not path.is_file():
                raise
            raise TransformerTFError(f"{path} is not a valid training config: {err}") from None
        return config

    def architecture(self):
        """The fields a resumed run must keep: :attr:`ARCHITECTURE` and its model's fields."""
        return self.ARCHITECTURE + self.MODEL_FIELDS.get(self.model, ())

    def check_compatible(self, saved):
        """Refuse to resume a run whose model kind, architecture or data differ; name every mismatch."""
        if saved.model != self.model:
            raise TransformerTFError(
                f"the checkpoint is a {saved.model!r} model and --model {self.model} asks for a {self.model!r} "
                f"model: resume it with --model {saved.model}, or train the {self.model} model into another "
                f"--checkpoint-dir."
            )
        diffs = [
            f"{k}: saved {getattr(saved, k)!r}, requested {getattr(self, k)!r}"
            for k in self.architecture()
            if getattr(saved, k) != getattr(self, k)
        ]
        if diffs:
            raise TransformerTFError(
                "the checkpoint was trained with a different configuration ("
                + "; ".join(diffs)
                + "). Use the saved values, or another --checkpoint-dir for a new run."
            )


# The blog's exact setup, and the values a config.json written before a field existed had.
PRESETS = {
    "default": TrainConfig(),
    "blog": TrainConfig(
        max_tokens=40,
        share_embeddings=False,
        tokenizer="trained",
        vocab_size=8000,
        augment=False,
        label_smoothing=0.0,
    ),
}
LEGACY_VALUES = {
    "model": "transformer",
    "share_embeddings": False,
    "augment": False,
    "label_smoothing": 0.0,
    "mixed_precision": False,
}


def read_config_json(directory):
    """``config.json`` of ``directory`` as a dict (every key, the corpus fingerprint included)."""
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise TransformerTFError(f"no {CONFIG_FILE} in {directory}: train a model first (transformer-tf train).")
    try:
        payload = json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise TransformerTFError(
            f"{path}: invalid JSON ({err}); restore it from the run's copy or train again into a new --checkpoint-dir."
        ) from None
    if not isinstance(payload, dict):
        raise TransformerTFError(f"{path}: expected a JSON object of settings, found {type(payload).__name__}.")
    return payload


def write_atomically(path, text):
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``:
    a kill leaves the old file or the new one, never half of one."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        partial.write_text(text)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def corpus_fingerprint(path):
    """``{"file", "bytes", "sha256"}`` of the corpus: a resume must read the same text."""
    path = Path(path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": digest.hexdigest()}
