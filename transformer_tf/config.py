"""One training run's settings: :class:`TrainConfig`, saved as ``config.json`` beside its checkpoints.

The config is the model's description as much as the run's: inference rebuilds the model
from it (:func:`transformer_tf.checkpoints.restore_model`), so it lives here, before the
model and training stages, and importing it pulls in neither.
"""

import dataclasses
import json
from pathlib import Path

import cli_common
from cli_common.files import file_sha256, write_text_atomically
from transformer_tf.errors import TransformerTFError
from transformer_tf.text import read_text

CONFIG_FILE = "config.json"
#: The lexical shortlist in a model folder (:mod:`transformer_tf.shortlist`); named here so that finding
#: it (the CTranslate2 cache's stamp) needs no NumPy.
SHORTLIST_FILE = "shortlist.npz"
#: The case table in a model folder (:mod:`transformer_tf.casing`).
CASING_FILE = "casing.json"
#: The spelling table in a model folder (:mod:`transformer_tf.spelling`).
SPELLING_FILE = "spelling.json"
TOKENIZER_FINGERPRINTS = "tokenizer_sha256"  # config.json's {tokenizer file: sha256}, written at training
# the splits of a run's corpus it never trains on (val_fraction, test_fraction; transformer_tf.data.split_pairs)
HELD_OUT_SPLITS = ("test", "validation")

# Every choice list of the package, in one place: the CLI's ``choices`` come from here.
MODEL_KINDS = ("transformer", "rnn")  # TrainConfig.model: transformer_tf.model, transformer_tf.seq2seq
RNN_CELLS = ("lstm", "gru", "space_odyssey")  # TrainConfig.rnn_cell (transformer_tf.seq2seq.recurrent_layer)
TOKENIZERS = ("joint", "trained", "bpemb")  # TrainConfig.tokenizer (transformer_tf.train.make_tokenizers)
SPLIT_METHODS = ("hash", "grouped-shuffle")  # TrainConfig.split_method (transformer_tf.corpus)
# what a config.json without "split_method" was split with: the shipped models' folders
SPLIT_METHOD_BEFORE_THE_FIELD = "grouped-shuffle"
STRATEGIES = ("default", "mirrored", "multiworker")  # transformer_tf.train.make_strategy
# the kinds of attention a model has, in the plots' order (transformer_tf.attention_maps.KINDS):
# a Transformer's three in each layer, the RNN's one Bahdanau attention
ATTENTION_KINDS = ("encoder", "decoder_block1", "decoder_block2", "cross")

# The shipped model, found from the package's location, not the working directory:
# <repository>/checkpoints/en_es beside the transformer_tf folder.
DEFAULT_CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints" / "en_es"
# Translator(places=...), --places/--no-places: impose the gazetteer's Spanish form of places at
# translation time (transformer_tf.code_switch: a stand-in city through the model, then the Spanish
# form). On: on the challenge set it took the `places` category from 8/37 Spanish forms to 29/37
# (chrF 63.2 → 74.8; Apertium 27/37, 71.5), left numbers, long, multi and news as they were, and the
# test split moved +0.1 BLEU/chrF (docs/transformer_tf.md, places section)
PLACES = True
# Translator engines (--engine): "ctranslate2" runs a Transformer converted to CTranslate2
# (transformer_tf.ctranslate2_engine: int8 weights, no TensorFlow at start-up), "tensorflow" the
# Keras model itself (the only engine of the RNN, and of --exact); "auto" picks CTranslate2 for a
# Transformer, TensorFlow otherwise (docs/benchmarks.md, "Translation speed").
ENGINES = ("auto", "ctranslate2", "tensorflow")
DEFAULT_ENGINE = "auto"
#: Sentences a continuous decode loop decodes at once (:mod:`transformer_tf.continuous_decode`, ``serve --slots``).
DECODE_SLOTS = 64
WORKER_TIMEOUT = 300  # default seconds a multi-worker run waits for every worker to come up
DEFAULT_LOG_DIR = "runs/en_es"  # TensorBoard logs of a training run, relative to where it runs


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
    serves both.
    """

    # model
    model: str = "transformer"  # one of MODEL_KINDS: "rnn" is transformer_tf.seq2seq.RNNTranslator
    num_layers: int = 4
    d_model: int = 128
    num_heads: int = 8
    dff: int = 512
    dropout: float = 0.1
    max_tokens: int = 96  # per side, START and END included; also the positional-encoding length
    share_embeddings: bool = True  # one matrix: encoder input, decoder input, output projection
    # the RNN's (model "rnn"): recurrent unit, its width, its Space Odyssey variant, embedding width
    rnn_cell: str = "lstm"  # of RNN_CELLS: "lstm" (keras.layers.LSTM), "gru", "space_odyssey" (lstm_tf)
    # each encoder direction (summed), the decoder and the attention; 320 (LSTM, embeddings of 128,
    # vocabulary 12,000 tied): 3.52 M parameters, about the default Transformer's 3.40 M
    rnn_units: int = 320
    rnn_variant: str = "vanilla"  # of rnn_cell "space_odyssey": one of lstm_tf.VARIANTS
    rnn_embedding: int = 128
    # tokenizers
    tokenizer: str = "joint"  # of TOKENIZERS: "joint" (one BPE for both sides), "trained" (one per language), "bpemb"
    vocab_size: int = 12000  # of the joint model, or per language for "trained"
    bpemb_cache_dir: str | None = None
    # data
    data: str | None = None  # a TSV, a Moses pair, tfds:NAME (transformer_tf.corpus); None: spa.txt, cached/downloaded
    # how held-out pairs are chosen: "hash" (per line, by a seeded hash of the English sentence:
    # streams, transformer_tf.corpus) or "grouped-shuffle" (GroupShuffleSplit over the whole corpus in
    # memory: the shipped models' split; a config.json without the field has it)
    split_method: str = "hash"
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
        """Refuse values that cannot make a run, naming each field: called before anything is written.

        Each problem starts with the field's name and value (``batch_size 0: ...``); the
        command line shows its flag instead (``--batch-size 0``, :func:`cli_common.parameters_as_flags`).

        Raises:
            TransformerTFError: every problem found, in one message.
        """

        def whole(v):
            return isinstance(v, int) and not isinstance(v, bool)

        def share(v, low, high, closed):
            return isinstance(v, (int, float)) and low <= v and (v <= high if closed else v < high)

        problems = [
            f"{n} {getattr(self, n)!r}: give a whole number ≥ 1"
            for n in self._AT_LEAST_ONE
            if not whole(getattr(self, n)) or getattr(self, n) < 1
        ]
        if not whole(self.max_tokens) or self.max_tokens < self._MIN_MAX_TOKENS:
            problems.append(
                f"max_tokens {self.max_tokens!r}: give at least {self._MIN_MAX_TOKENS} (START, one piece, END)"
            )
        if self.max_pairs is not None and (not whole(self.max_pairs) or self.max_pairs < 1):
            problems.append(f"max_pairs {self.max_pairs!r}: give a whole number ≥ 1 (or None: all pairs)")
        problems.append(cli_common.seed_problem(self.seed, "seed"))
        if not share(self.dropout, 0, 1, closed=False):
            problems.append(f"dropout {self.dropout!r}: give a rate in [0, 1), e.g. 0.1")
        problems += [
            f"{name} {getattr(self, name)!r}: give a share in (0, 1), e.g. 0.05"
            for name in ("val_fraction", "test_fraction")
            if not share(getattr(self, name), 0, 1, closed=False) or getattr(self, name) == 0
        ]
        problems += [
            f"{name} {getattr(self, name)!r}: give a share in [0, 1], e.g. 0.1"
            for name in ("augment_names", "augment_concat", "augment_places")
            if not share(getattr(self, name), 0, 1, closed=True)
        ]
        if not whole(self.augment_numbers) or self.augment_numbers < 0:
            problems.append(f"augment_numbers {self.augment_numbers!r}: give a whole number ≥ 0")
        if self.learning_rate is not None and not (
            share(self.learning_rate, 0, 1, closed=False) and self.learning_rate > 0
        ):
            problems.append(f"learning_rate {self.learning_rate!r}: give a rate in (0, 1), e.g. 1e-4")
        if not share(self.label_smoothing, 0, 1, closed=False):
            problems.append(f"label_smoothing {self.label_smoothing!r}: give a value in [0, 1), e.g. 0.1")
        problems += self._choice_problems()
        problems = [p for p in problems if p]
        if not problems:
            problems = self._combination_problems()
        if problems:
            raise TransformerTFError("; ".join(problems) + ".")

    def _choice_problems(self):
        """The fields whose value must come from a choice list (``MODEL_KINDS``, ``RNN_CELLS``, ...)."""
        problems = []
        for name, choices in (
            ("model", MODEL_KINDS),
            ("rnn_cell", RNN_CELLS),
            ("tokenizer", TOKENIZERS),
            ("split_method", SPLIT_METHODS),
        ):
            if getattr(self, name) not in choices:
                problems.append(f"{name} {getattr(self, name)!r}: choose one of {', '.join(choices)}")
        if self.model == "rnn" and self.rnn_cell == "space_odyssey":
            from lstm_tf.variants import VARIANTS  # imports TensorFlow (lstm_tf's __init__): only when needed

            if self.rnn_variant not in VARIANTS:
                problems.append(f"rnn_variant {self.rnn_variant!r}: choose one of {', '.join(VARIANTS)}")
        if self.share_embeddings and self.tokenizer != "joint":
            problems.append(
                f"share_embeddings=True needs one vocabulary for both languages (tokenizer='joint'), "
                f"not tokenizer={self.tokenizer!r}; or give share_embeddings=False"
            )
        return problems

    def _combination_problems(self):
        """Values each valid alone that do not go together."""
        if self.val_fraction + self.test_fraction >= 1:
            return [
                f"val_fraction {self.val_fraction} + test_fraction {self.test_fraction} "
                f"leave nothing to train on: keep their sum below 1"
            ]
        if self.model == "transformer" and self.d_model % self.num_heads:
            return [
                f"d_model {self.d_model} is not divisible by num_heads {self.num_heads} "
                f"(each head gets d_model / num_heads columns)"
            ]
        return []

    def save(self, directory, corpus=None, tokenizer_files=()):
        """Write ``config.json`` atomically (a temporary file renamed over it), with ``corpus``,
        the :func:`corpus_fingerprint` of the data, when given, and the tokenizer files' names
        and fingerprints (``tokenizer_sha256``: ``{file: sha256}``, checked when the folder is
        loaded: :func:`transformer_tf.checkpoints.check_fingerprints`)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        payload = {
            **dataclasses.asdict(self),
            "tokenizer_files": list(tokenizer_files),
            TOKENIZER_FINGERPRINTS: {name: file_sha256(directory / name) for name in tokenizer_files},
        }
        if corpus:
            payload["corpus"] = corpus
        write_text_atomically(directory / CONFIG_FILE, json.dumps(payload, indent=2) + "\n")

    @classmethod
    def load(cls, directory):
        """Read ``config.json``; a missing, unreadable or invalid one raises TransformerTFError."""
        fields = {f.name for f in dataclasses.fields(cls)}
        path = Path(directory) / CONFIG_FILE
        try:
            saved = {k: v for k, v in read_config_json(directory).items() if k in fields}
            saved.setdefault("split_method", SPLIT_METHOD_BEFORE_THE_FIELD)
            config = cls(**saved)
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
                f"the checkpoint is a {saved.model!r} model and model={self.model!r} asks for a {self.model!r} "
                f"model: resume it with model={saved.model!r}, or train the {self.model} model into another "
                f"checkpoint_dir."
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
                + "). Use the saved values, or another checkpoint_dir for a new run."
            )


# The starting values of a run: ``transformer-tf train --preset NAME`` (the blog's exact setup: "blog").
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


def keep_split_method(config, directory):
    """``config`` with the ``split_method`` of the run already in ``directory`` (a folder keeps
    its held-out pairs: a new split would put training sentences in its test set); unchanged
    for a new folder. A ``config.json`` without the field is a ``"grouped-shuffle"`` run."""
    if not list(Path(directory).glob("ckpt-*.index")) or not (Path(directory) / CONFIG_FILE).is_file():
        return config
    saved = read_config_json(directory).get("split_method", SPLIT_METHOD_BEFORE_THE_FIELD)
    return dataclasses.replace(config, split_method=saved)


def read_config_json(directory):
    """``config.json`` of ``directory`` as a dict (every key, the corpus fingerprint included)."""
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise TransformerTFError(
            f"no {CONFIG_FILE} in {Path(directory).absolute()} (looked there for a model's folder): "
            f"train a model first (transformer-tf train), or give the folder of a trained one."
        )
    try:
        payload = json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise TransformerTFError(
            f"{path}: invalid JSON ({err}); restore it from the run's copy or train again into a new checkpoint_dir."
        ) from None
    if not isinstance(payload, dict):
        raise TransformerTFError(f"{path}: expected a JSON object of settings, found {type(payload).__name__}.")
    return payload


def corpus_fingerprint(path):
    """``{"file", "bytes", "sha256"}`` of the corpus: a resume must read the same text."""
    from transformer_tf.corpus import CorpusSource, fingerprint

    return fingerprint(CorpusSource("tsv", (Path(path),)))


def trained_config(directory, data=None):
    """The :class:`TrainConfig` of the model folder ``directory``, its ``data`` the corpus it was
    trained on: ``data`` (where that corpus is on this machine) or the path ``config.json`` names.

    ``evaluate`` rebuilds the held-out splits, and ``shortlist`` the training split, from this
    corpus: another file would give other splits, with training pairs among the "held-out"
    ones. So the file must match the fingerprint training recorded (``"corpus"``: size and
    SHA-256), where there is one.

    Raises:
        TransformerTFError: the corpus is not found (a relative path in ``config.json`` is read
            from the working directory), or is not the one the model was trained on.
    """
    from transformer_tf.corpus import fingerprint, open_corpus

    config, saved = TrainConfig.load(directory), read_config_json(directory).get("corpus")
    if data:
        config.data = str(data)
    try:
        source = open_corpus(config.data)
    except TransformerTFError:
        if data or config.data is None:
            raise
        raise TransformerTFError(
            f"the corpus {directory} was trained on, {config.data} (its {CONFIG_FILE}; a relative path is read "
            f"from the working directory, {Path.cwd()}), is not there: give its path with data=PATH."
        ) from None
    found = fingerprint(source) if saved else None
    if found and (found["bytes"], found["sha256"]) != (saved.get("bytes"), saved.get("sha256")):
        raise TransformerTFError(
            f"data {config.data}: not the corpus {directory} was trained on ({found['file']}: {found['bytes']:,} "
            f"bytes, sha256 {found['sha256'][:12]}…; its {CONFIG_FILE}: {saved.get('file')}: "
            f"{saved.get('bytes', 0):,} bytes, sha256 {str(saved.get('sha256'))[:12]}…). Its splits are rebuilt "
            f"from that corpus, and another one would mix training pairs into the held-out ones: give the file "
            f"it was trained on (to score any other pairs: transformer-tf evaluate --pairs TSV)."
        )
    return config
