"""The Transformer on CTranslate2: :class:`CTranslate2Translator`, and where its converted model lives.

CTranslate2 (https://opennmt.net/CTranslate2) is the inference engine OpenNMT's own models export
to: C++ kernels with int8 weights, its own beam search, threads that decode batches side by side.
:mod:`transformer_tf.ctranslate2_convert` maps our Keras model onto its spec, once per trained
model; the result is cached in ``<model folder>/ctranslate2/`` (git-ignored) with
``stamp.json``, the SHA-256 of every file it was made from (config, tokenizer, the weights that
:func:`~transformer_tf.checkpoints.restore_model` reads: the newest training checkpoint, else the
released ``weights/model``), with each file's size, time and inode so that an unchanged file is
not read at every start. A retrained or released model changes the stamp and is converted
again on its next use. A model folder that cannot be written keeps its converted copy in the
user's cache instead (``$XDG_CACHE_HOME/transformer_tf/ctranslate2/``, ``~/.cache`` by default).

With a fresh cached model nothing here imports TensorFlow: ``transformer-tf translate`` then
starts in a fraction of ``import tensorflow``'s time. Converting imports it (once).

Decoding is the Keras model's: the same sentences in the same length-sorted batches, each capped
at ``min(max_tokens, 2·width + 10)`` tokens as :func:`~transformer_tf.decoding.decode_length`
caps it, padding/``<unk>``/START never emitted, beam search with the same GNMT length penalty
(α = 0.6); in float32 and without a shortlist, id for id the Keras model's greedy and beam output
(``tests/test_ctranslate2.py``). By default it runs as the TensorFlow fast path does: int8 weights
(:data:`COMPUTE_TYPE`) and the model folder's lexical shortlist as CTranslate2's vocabulary map
(:func:`vocabulary_map`); both chosen by measurement (docs/benchmarks.md, "Translation speed").
"""

import hashlib
import json
import os
import re
import threading
import warnings
from pathlib import Path

import cli_common
from cli_common import files
from cli_common.files import file_sha256
from transformer_tf.config import CONFIG_FILE, DEFAULT_CHECKPOINT_DIR, PLACES, SHORTLIST_FILE, TrainConfig
from transformer_tf.errors import TransformerTFError, os_cause
from transformer_tf.sentence_translator import SentenceTranslator, check_beam, check_streams, default_streams
from transformer_tf.tokenizer import END_ID, JOINT_NAME, PAD_ID, PER_LANGUAGE_NAMES, START_ID, UNK_ID, load_tokenizers

#: The converted model's folder inside a model folder.
CACHE_NAME = "ctranslate2"
STAMP_FILE = "stamp.json"
#: The lexical shortlist as CTranslate2's vocabulary map (:func:`vocabulary_map`), where the model has one.
VMAP_FILE = "vmap.txt"
#: Raised when the conversion changes, so that every cached model is converted again.
CONVERTER_VERSION = 1
#: CTranslate2's weight type on CPU: int8 matrices (``int8_float32``: activations float32). The CPUs
#: of this project have no bfloat16 kernels in CTranslate2's CPU build (float32, int8, int8_float32).
COMPUTE_TYPE = "int8"
#: CTranslate2's own kernels (quantization, softmax, layer norm, ...) on AVX-512 where the CPU has it:
#: CTranslate2 picks AVX2 on AMD CPUs, and AVX-512 took ~8% less CPU to decode 3,000 test sentences
#: on this project's AMD EPYC (9 of the test split's 5,945 translations change, BLEU/chrF the same;
#: docs/benchmarks.md). A ``CT2_FORCE_CPU_ISA`` the user set is kept.
AVX512_FLAGS = {"avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"}  # what CTranslate2 requires
#: The GNMT length penalty exponent of beam search, as :func:`transformer_tf.decoding.beam_search_decode`'s.
LENGTH_PENALTY = 0.6
#: CTranslate2's names of the reserved ids (its defaults for unk/bos/eos).
RESERVED_TOKENS = {PAD_ID: "<pad>", UNK_ID: "<unk>", START_ID: "<s>", END_ID: "</s>"}


def vocabulary(tokenizer):
    """One token a model id: the reserved names, then the SentencePiece pieces (``id - offset``).

    Raises:
        TransformerTFError: two ids have the same piece (CTranslate2 maps tokens to ids by name).
    """
    pieces = tokenizer.sp.id_to_piece(list(range(tokenizer.vocab_size - tokenizer.offset)))  # one call
    tokens = [RESERVED_TOKENS.get(i) or pieces[i - tokenizer.offset] for i in range(tokenizer.vocab_size)]
    if len(set(tokens)) != len(tokens):
        raise TransformerTFError(
            f"tokenizer {tokenizer.source}: some pieces repeat a reserved name "
            f"({', '.join(RESERVED_TOKENS.values())}); CTranslate2 needs one name per id: use --engine tensorflow."
        )
    return tokens


def vocabulary_map(shortlist, source_tokens, target_tokens):
    """The lexical shortlist (:mod:`transformer_tf.shortlist`) as CTranslate2's vocabulary map
    (``vmap.txt``, ``use_vmap``): a first line ``<TAB>`` + the frequent pieces and END (always
    allowed), then one line a source piece: the piece, ``<TAB>``, its candidate target pieces and
    itself (a joint vocabulary copies names and numbers). Per batch, CTranslate2 scores only the
    union of the lines of the batch's source pieces, as :meth:`LexicalShortlist.batch_vocabulary
    <transformer_tf.shortlist.LexicalShortlist.batch_vocabulary>` does for the TensorFlow path.

    Args:
        shortlist: a :class:`~transformer_tf.shortlist.LexicalShortlist`.
        source_tokens, target_tokens: one token a model id (:func:`vocabulary`), each side's.

    Returns:
        the file's text.
    """
    reserved = len(RESERVED_TOKENS)
    always = sorted({*shortlist.frequent.tolist(), END_ID} - {PAD_ID, UNK_ID, START_ID})
    lines = ["\t" + " ".join(target_tokens[i] for i in always)]
    for source in range(reserved, shortlist.source_vocab_size):
        candidates = shortlist.candidates[shortlist.offsets[source] : shortlist.offsets[source + 1]]
        targets = sorted({*candidates.tolist(), source} - set(range(reserved)))
        lines.append(source_tokens[source] + "\t" + " ".join(target_tokens[i] for i in targets))
    return "\n".join(lines) + "\n"


def weights_files(checkpoint_dir):
    """The files of the weights :func:`~transformer_tf.checkpoints.restore_model` reads, found without
    TensorFlow: the newest training checkpoint named in the ``checkpoint`` state file, else the
    released ``weights/model``; ``[]`` when neither has files (the conversion then says why)."""
    folder = Path(checkpoint_dir)
    prefixes = []
    try:
        state = (folder / "checkpoint").read_text(encoding="utf-8")
        newest = re.search(r'^model_checkpoint_path:\s*"(.*)"', state, re.MULTILINE)
        if newest:
            prefixes.append(folder / newest.group(1))
    except (OSError, UnicodeDecodeError):
        pass
    prefixes.append(folder / "weights" / "model")
    for prefix in prefixes:
        index = prefix.with_name(prefix.name + ".index")
        if index.is_file():
            return [index, *sorted(prefix.parent.glob(prefix.name + ".data-*"))]
    return []


def stamp(checkpoint_dir, known=None):
    """What a converted model was made from: the SHA-256 of the config, tokenizer and weights files,
    the converter's and CTranslate2's versions. A cached model is fresh while this is unchanged.

    Each file's size, modification time (ns) and inode are recorded beside its digest (``"stat"``):
    given the stamp of a cached model as ``known``, a file whose three are the recorded ones keeps
    its recorded digest unread, as Python's own bytecode cache trusts a source's size and time
    (PEP 552's default). Hashing the shipped model's 14 MB took 15 ms of a 0.2 s start-up; a
    retrained, copied or replaced file has another time or inode, and is read again.
    """
    import ctranslate2

    folder = Path(checkpoint_dir)
    tokenizers = [folder / f"{stem}.{ext}" for stem in (JOINT_NAME, *PER_LANGUAGE_NAMES) for ext in ("model", "json")]
    shortlist = [folder / SHORTLIST_FILE] if (folder / SHORTLIST_FILE).is_file() else []
    sources = [folder / CONFIG_FILE, *(p for p in tokenizers if p.is_file()), *weights_files(folder), *shortlist]
    recorded_digests, recorded_stats = _recorded(known)
    digests, stats = {}, {}
    for path in sources:
        name = str(path.relative_to(folder))
        status = path.stat()
        stats[name] = [status.st_size, status.st_mtime_ns, status.st_ino]
        same = stats[name] == recorded_stats.get(name) and isinstance(recorded_digests.get(name), str)
        digests[name] = recorded_digests[name] if same else file_sha256(path)
    return {"converter": CONVERTER_VERSION, "ctranslate2": ctranslate2.__version__, "sha256": digests, "stat": stats}


def _recorded(known):
    """``(digests, stats)`` of a stamp read from disk; empty where it has none (or is not a stamp)."""
    if not isinstance(known, dict):
        return {}, {}
    digests, stats = known.get("sha256"), known.get("stat")
    return (digests if isinstance(digests, dict) else {}), (stats if isinstance(stats, dict) else {})


def _same_sources(now, recorded):
    """Whether a stamp made now says what a recorded one says (the files' times may differ)."""
    keys = ("converter", "ctranslate2", "sha256")
    return isinstance(recorded, dict) and all(now[key] == recorded.get(key) for key in keys)


def cache_folders(checkpoint_dir):
    """Where a model folder's converted model may live: inside it, then in the user's cache."""
    folder = Path(checkpoint_dir).absolute()
    key = hashlib.sha256(str(folder).encode()).hexdigest()[:16]
    return [folder / CACHE_NAME, files.user_cache_dir("transformer_tf") / CACHE_NAME / key]


def _read_stamp(folder):
    try:
        return json.loads((folder / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, unreadable, not JSON: not fresh
        return None


def fresh_model(checkpoint_dir):
    """The cached converted model of ``checkpoint_dir`` whose stamp matches its files now, or None."""
    for folder in cache_folders(checkpoint_dir):
        recorded = _read_stamp(folder)
        if recorded is not None and (folder / "model.bin").is_file():
            now = stamp(checkpoint_dir, known=recorded)
            if _same_sources(now, recorded):
                if now["stat"] != recorded.get("stat"):  # an older stamp, or a file touched but unchanged
                    _refresh_stamp(folder, now)
                return folder
    return None


def _refresh_stamp(folder, now):
    """Rewrite a fresh model's stamp with its files' times now, so that the next start reads none of
    them; atomic (no reader sees half a file), and skipped where the folder cannot be written."""
    try:
        files.write_text_atomically(folder / STAMP_FILE, json.dumps(now, indent=2) + "\n")
    except OSError:  # a read-only folder: the digests are read again next time, nothing worse
        pass


def write_converted(checkpoint_dir, out, check=None):
    """Convert the model of ``checkpoint_dir`` (restored with TensorFlow) into the folder ``out``,
    replaced whole and atomically, with its :func:`stamp`; ``check(out)`` first, as
    :func:`cli_common.files.atomic_folder`'s. Returns ``out``.

    Raises:
        TransformerTFError: not a Transformer, no weights, or ``out`` cannot be written (OSError
            is re-raised for the caller to try elsewhere).
    """
    # TensorFlow restores the model: loaded here with its start-up lines muted as the command line mutes
    # them (cli_common), also where a damaged cache is converted again after translate skipped TensorFlow
    cli_common.import_tensorflow_quietly()
    from transformer_tf.checkpoints import restore_model
    from transformer_tf.ctranslate2_convert import transformer_spec
    from transformer_tf.shortlist import LexicalShortlist

    made_from = stamp(checkpoint_dir)  # before reading: a file replaced meanwhile makes it stale, not wrong
    config, model, source, target = restore_model(checkpoint_dir)
    if config.model != "transformer":
        raise TransformerTFError(
            f"{checkpoint_dir} holds a {config.model!r} model: CTranslate2 runs Transformers only."
        )
    source_tokens, target_tokens = vocabulary(source), vocabulary(target)
    spec = transformer_spec(model, source_tokens, target_tokens, config.max_tokens)
    shortlist = LexicalShortlist.load(checkpoint_dir, target.vocab_size)
    with files.atomic_folder(out, check) as partial:
        spec.optimize()  # the tied embedding and projection: one array, saved once (float32 kept)
        spec.save(str(partial))
        if shortlist is not None:
            vmap = vocabulary_map(shortlist, source_tokens, target_tokens)
            (partial / VMAP_FILE).write_text(vmap, encoding="utf-8")
        (partial / STAMP_FILE).write_text(json.dumps(made_from, indent=2) + "\n", encoding="utf-8")
    return Path(out)


def export_ctranslate2(checkpoint_dir, directory, force=False):
    """``transformer-tf export --format ctranslate2``: the converted model (with its vocabulary and
    shortlist map) written to ``directory``, under the SavedModel export's rules
    (:func:`transformer_tf.export.export_translator`: atomic; an earlier export or an empty folder is
    replaced, anything else only with ``force``; never the model folder). Returns the path.

    Raises:
        TransformerTFError: ``directory`` may not be replaced, or cannot be written.
    """
    from transformer_tf.export import EXPORT_MARKER, check_replaceable

    directory = Path(directory).resolve()
    try:
        write_converted(checkpoint_dir, directory, lambda d: check_replaceable(d, checkpoint_dir, force))
        marker = {"written_by": "transformer-tf export --format ctranslate2", "checkpoint_dir": str(checkpoint_dir)}
        (directory / EXPORT_MARKER).write_text(json.dumps(marker, indent=2) + "\n")
    except OSError as err:
        raise TransformerTFError(f"cannot write the export to {directory}: {os_cause(err)}.") from None
    return directory


def converted_model(checkpoint_dir, reconvert=False):
    """The folder of ``checkpoint_dir``'s converted model: the fresh cached one, else a new conversion
    (into the model folder, or the user's cache where the model folder cannot be written)."""
    found = None if reconvert else fresh_model(checkpoint_dir)
    if found:
        return found
    inside, user_cache = cache_folders(checkpoint_dir)
    try:
        return write_converted(checkpoint_dir, inside)
    except OSError:  # a read-only model folder (the shipped model of a system-wide install)
        try:
            return write_converted(checkpoint_dir, user_cache)
        except OSError as err:
            raise TransformerTFError(
                f"cannot write the CTranslate2 model of {checkpoint_dir} to {inside} nor {user_cache}: "
                f"{os_cause(err)}; free some space or use --engine tensorflow."
            ) from None


def load_engine(model_dir, streams, compute_type=COMPUTE_TYPE):
    """CTranslate2's ``Translator`` of the converted model in ``model_dir``, decoding ``streams``
    batches at once (``inter_threads``, one core each) with ``compute_type`` weights.

    Raises:
        TransformerTFError: the folder holds no loadable CTranslate2 model.
    """
    import ctranslate2

    prefer_avx512()
    try:
        return ctranslate2.Translator(
            str(model_dir),
            device="cpu",
            compute_type=compute_type,
            inter_threads=streams,
            intra_threads=1,
            max_queued_batches=-1,  # a chunk's batches queued at once (_start_decode); translate_chunks: 2 chunks
        )
    except (RuntimeError, ValueError, OSError) as err:
        raise TransformerTFError(
            f"{model_dir}: not a loadable CTranslate2 model ({str(err).splitlines()[0][:200]}); delete the "
            f"folder to convert the model again."
        ) from None


def _in_thread(function, *args):
    """``function(*args)`` started in a thread of its own; returns the future of its result."""
    from concurrent.futures import ThreadPoolExecutor  # imported with ctranslate2 already (its asyncio)

    pool = ThreadPoolExecutor(1, thread_name_prefix="ctranslate2-load")
    future = pool.submit(function, *args)
    pool.shutdown(wait=False)  # the thread ends with its one task
    return future


def prefer_avx512(cpuinfo="/proc/cpuinfo"):
    """Set ``CT2_FORCE_CPU_ISA=AVX512`` (:data:`AVX512_FLAGS`) unless the user chose an ISA or the
    CPU lacks AVX-512 (or is not known: no ``cpuinfo``, as off Linux). CTranslate2 reads it when it
    loads its first model in the process, so :class:`CTranslate2Translator` calls this first."""
    if "CT2_FORCE_CPU_ISA" in os.environ:
        return
    try:
        flags = re.search(r"^flags\s*:(.*)$", Path(cpuinfo).read_text(), re.MULTILINE)
    except OSError:
        return
    if flags and AVX512_FLAGS <= set(flags.group(1).split()):
        os.environ["CT2_FORCE_CPU_ISA"] = "AVX512"


class CTranslate2Translator(SentenceTranslator):
    """:class:`~transformer_tf.translate.Translator`'s API (``translate``, ``translate_by_sentence``,
    ``translate_sentences``, ``encode_sources``) on a Transformer converted to CTranslate2.

    Args:
        model_dir: a converted model (:func:`converted_model`).
        source_tokenizer, target_tokenizer, max_tokens, places: as the Translator's.
        streams: batches decoded at once (CTranslate2's ``inter_threads``, one core each); None: one
            per CPU core this process may use.
        compute_type: CTranslate2's weight type (:data:`COMPUTE_TYPE`; ``"float32"`` reproduces the
            Keras model's float32 decoding).
        loading: the future of :func:`load_engine`'s translator where the caller has started it
            (:meth:`from_checkpoint` does, before the tokenizers load); None: started here.

    Raises:
        TransformerTFError: at the first batch (:attr:`engine`), where the folder holds no loadable
            CTranslate2 model.
    """

    def __init__(
        self,
        model_dir,
        source_tokenizer,
        target_tokenizer,
        max_tokens,
        places=PLACES,
        streams=None,
        compute_type=None,
        loading=None,
    ):
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.max_tokens = max_tokens
        self.places = places
        self.streams = check_streams(streams) or default_streams()
        self.compute_type = compute_type or COMPUTE_TYPE
        self.checkpoint_dir = None
        self._use(model_dir)
        # The model loads in a thread (CTranslate2 releases the GIL while it reads and quantizes the
        # weights, ~35 ms for the shipped model) while this thread builds the vocabularies and the
        # caller reads and tokenizes its first sentences: `engine` waits for it at the first batch.
        self._engine, self._reconvert, self._waiting = None, None, threading.Lock()
        self._loading = loading or _in_thread(load_engine, self.model_dir, self.streams, self.compute_type)
        self._source_tokens = vocabulary(source_tokenizer)
        joint = target_tokenizer is source_tokenizer  # the shipped model's: one vocabulary
        target_tokens = self._source_tokens if joint else vocabulary(target_tokenizer)
        self._target_ids = {token: i for i, token in enumerate(target_tokens)}

    @property
    def engine(self):
        """CTranslate2's ``Translator``, once its model has loaded (waited for here). A cached model
        that does not load (damaged files) is converted again, with a warning, where the translator
        came from :meth:`from_checkpoint`.

        Raises:
            TransformerTFError: the folder holds no loadable CTranslate2 model.
        """
        if self._engine is None:
            with self._waiting:  # decode threads (serve's) may ask at once: one converts again
                if self._engine is None:
                    self._engine = self._loaded()
        return self._engine

    def _loaded(self):
        try:
            return self._loading.result()
        except TransformerTFError as err:
            if self._reconvert is None:
                raise
            warnings.warn(f"{err} Converting it again.", stacklevel=4)
            self._use(self._reconvert())
            return load_engine(self.model_dir, self.streams, self.compute_type)

    def _use(self, model_dir):
        """Decode with the converted model in ``model_dir``, and its lexical shortlist where it has one."""
        self.model_dir = Path(model_dir)
        self.use_vmap = (self.model_dir / VMAP_FILE).is_file()

    @classmethod
    def from_checkpoint(
        cls, checkpoint_dir=DEFAULT_CHECKPOINT_DIR, places=PLACES, streams=None, compute_type=None, converted=None
    ):
        """The model of ``checkpoint_dir`` (default: the shipped one), converted on first use and cached.
        A cached model that does not load (damaged files) is converted again, with a warning, when
        the first batch waits for it (:attr:`engine`). ``converted``: its fresh converted folder when
        the caller has found it (:func:`fresh_model` hashes every file of the model: once is enough)."""
        streams, compute_type = check_streams(streams) or default_streams(), compute_type or COMPUTE_TYPE
        config = TrainConfig.load(checkpoint_dir)
        if config.model != "transformer":
            raise TransformerTFError(
                f"{checkpoint_dir} holds a {config.model!r} model: CTranslate2 runs Transformers only; "
                f"use --engine tensorflow (or auto) for it."
            )
        folder = converted or converted_model(checkpoint_dir)
        loading = _in_thread(load_engine, folder, streams, compute_type)  # first: it loads while the tokenizers do
        source, target = load_tokenizers(checkpoint_dir)
        translator = cls(folder, source, target, config.max_tokens, places, streams, compute_type, loading)
        translator.checkpoint_dir = Path(checkpoint_dir)
        translator._reconvert = lambda: converted_model(checkpoint_dir, reconvert=True)
        return translator

    def generate(self, inputs, beam=1):
        """Token ids in, token ids out, as :meth:`Translator.generate <transformer_tf.translate.Translator.generate>`:
        rows of source ids (START … END, padding allowed) → one list of generated ids per row
        (END included where the decoder produced it), all decoded as one batch."""
        rows = [[int(i) for i in row if int(i) != PAD_ID] for row in inputs]
        width = max((len(row) for row in inputs), default=0)
        return [self._ids(result) for result in self._submit(rows, width, check_beam(beam))]

    def _submit(self, rows, width, beam, asynchronous=False, callback=None):
        """One batch of id rows into CTranslate2; its results (futures with ``asynchronous``).
        ``callback``: CTranslate2's, called with each generated token (greedy only;
        ``bench/serve_early_answers.py`` measures it)."""
        return self.engine.translate_batch(
            [[self._source_tokens[i] for i in row] for row in rows],
            beam_size=beam,
            length_penalty=LENGTH_PENALTY if beam > 1 else 0.0,
            max_decoding_length=min(self.max_tokens, 2 * width + 10),  # decoding.decode_length's cap
            min_decoding_length=0,
            return_end_token=True,
            use_vmap=self.use_vmap,
            asynchronous=asynchronous,
            callback=callback,
        )

    def _ids(self, result):
        """The best hypothesis of a CTranslate2 result as model ids (END included where produced)."""
        return [self._target_ids[token] for token in result.hypotheses[0]]

    def _decode_sentences(self, sentences, batch_size, beam, progress):
        """:meth:`translate_sentences` of the sentences as given: :meth:`_start_decode`, then its result."""
        return self._start_decode(sentences, batch_size, beam, progress)()

    def _start_decode(self, sentences, batch_size, beam, progress):
        """The sentences in length-sorted batches of ``batch_size`` handed to CTranslate2's threads
        (``streams`` batches decoded at once), the longest batches first so that the last ones
        to finish are short; returns the function that waits for them and detokenizes, one
        Spanish string per sentence (``""`` for a blank one), in order. The queue takes every
        batch at once (``max_queued_batches=-1``): this returns while they decode."""
        check_beam(beam)
        ids, batches = self.length_batches(sentences, batch_size)
        pending = [
            (chunk, self._submit([ids[i] for i in chunk], max(len(ids[i]) for i in chunk), beam, asynchronous=True))
            for chunk in reversed(batches)
        ]

        def detokenized():
            results = [""] * len(sentences)
            with self.progress_bar(batches, progress) as bar:
                for chunk, futures in pending:
                    for i, future in zip(chunk, futures):
                        results[i] = self.target_tokenizer.decode(self._ids(future.result()))
                    bar.update(1)
            return results

        return detokenized
