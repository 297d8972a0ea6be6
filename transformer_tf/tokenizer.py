"""Subword tokenizers: SentencePiece models with reserved ids.

Three ways to get the translator's tokenizers (``TrainConfig.tokenizer``):

- ``"joint"`` (the default): ONE BPE model trained with ``sentencepiece`` on the English
  and Spanish training sides together, with byte fallback and digits split one by one.
  Both languages share its ids, so a name or a number can be copied piece by piece from
  the source to the output, and no input character is ever unknown (an unseen character
  becomes its UTF-8 bytes, ``<0xE5>`` …);
- ``"trained"`` (the blog's setup): one BPE model per language, trained the same way
  without byte fallback;
- ``"bpemb"``: the articles' choice, a pretrained BPEmb model (``vs=10000``) per language
  through the ``bpemb`` package; offline only the English one exists.

Both give the same id layout, so the model never has to know which it got:

==== =========== =====================================================
id   meaning     note
==== =========== =====================================================
0    padding     never produced by ``encode``; masks are built from it
1    unknown     a piece the model has never seen
2    start       prepended by ``encode``
3    end         appended by ``encode``
==== =========== =====================================================

BPEmb's own model numbers ``<unk>, <s>, </s>`` as 0, 1, 2; every BPEmb id is shifted
up by one, so that — unlike the blog's code — unknown pieces are not mistaken for padding.
"""

import io
import itertools
import json
import re
import struct
import unicodedata
from pathlib import Path

from transformer_tf.errors import TransformerTFError

PAD_ID, UNK_ID, START_ID, END_ID = 0, 1, 2, 3
INVALID_BYTES = "\ufffd"  # what SentencePiece decodes an incomplete UTF-8 byte sequence to
#: Space after an opening ¡ or ¿, which no Spanish text has; the tokenizer writes one where the model
#: puts ▁¡ before a word's first piece ("¡ Gracias, Tom!"). Replaced by the mark alone (``\1``): RE2,
#: the export's regular expressions, has no look-behind.
SPACE_AFTER_OPENING = r"([¡¿])\s+"
SPECIAL_PIECES = {PAD_ID: "<pad>", UNK_ID: "<unk>", START_ID: "<start>", END_ID: "<end>"}
#: Fewer texts than this are encoded with one SentencePiece call each. Its call on a list starts a thread
#: pool and holds the GIL until the pool is done: 16 corpus sentences took 0.15 ms that way against
#: 0.07 ms one by one, and from about 32 texts the pool pays (256: 0.92 against 1.62 ms; a ``timeit``
#: of ``sp.encode``, 2026-12-07). A server's batches of 16 no longer stall its event loop on it.
BATCH_ENCODE_FROM = 32


def _bpemb_preprocess(text):
    """What BPEmb does before encoding: lower-case, every digit → 0."""
    return re.sub(r"\d", "0", text.lower())


class SubwordTokenizer:
    """A SentencePiece model with the reserved ids above.

    Args:
        model_proto: the serialized SentencePiece model (bytes).
        offset: added to SentencePiece ids (0 for trained models, 1 for BPEmb).
        bpemb_preprocess: lower-case and zero digits before encoding, as BPEmb does.
        source: a short description saved with the model (e.g. ``"bpemb:en:10000"``).
    """

    def __init__(self, model_proto, offset=0, bpemb_preprocess=False, source="trained"):
        self.model_proto = bytes(model_proto)
        self.offset = offset
        self.bpemb_preprocess = bpemb_preprocess
        self.source = source
        import sentencepiece as spm  # here: translate starts its model loading while this imports (10 ms)

        self.sp = spm.SentencePieceProcessor(model_proto=self.model_proto)
        if offset == 0 and (self.sp.pad_id(), self.sp.unk_id(), self.sp.bos_id(), self.sp.eos_id()) != (
            PAD_ID,
            UNK_ID,
            START_ID,
            END_ID,
        ):
            raise TransformerTFError("a trained SentencePiece model must use pad 0, unk 1, bos 2, eos 3.")

    # -- constructors ---------------------------------------------------------------

    @classmethod
    def train(cls, sentences, vocab_size=8000, model_type="bpe", max_sentences=200_000, seed=0, byte_fallback=False):
        """Train a BPE model on an iterable of sentences (the training split only).

        Args:
            sentences: iterable of str.
            vocab_size: pieces including the 4 reserved ids (and, with byte fallback,
                the 256 byte pieces).
            model_type: ``"bpe"`` (default) or ``"unigram"``.
            max_sentences: SentencePiece samples at most this many sentences.
            seed: seed of that sample.
            byte_fallback: spell characters outside the vocabulary as UTF-8 byte pieces
                instead of ``<unk>``, and split numbers into single digits (so that
                numbers, too, are copied digit by digit).
        """
        sentences = [s for s in sentences if s.strip()]
        if not sentences:
            raise TransformerTFError("cannot train a tokenizer on no sentences.")
        import sentencepiece as spm

        model = io.BytesIO()
        spm.set_random_generator_seed(seed)
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(sentences),
                model_writer=model,
                vocab_size=vocab_size,
                model_type=model_type,
                character_coverage=1.0,
                input_sentence_size=max_sentences,
                shuffle_input_sentence=True,
                pad_id=PAD_ID,
                unk_id=UNK_ID,
                bos_id=START_ID,
                eos_id=END_ID,
                num_threads=2,
                minloglevel=2,
                byte_fallback=byte_fallback,
                split_digits=byte_fallback,
            )
        except RuntimeError as err:  # e.g. vocab_size larger than the text allows
            hint = (
                " With byte fallback the vocabulary holds the 256 byte pieces and every character of the text"
                " besides the merges."
                if byte_fallback
                else ""
            )
            raise TransformerTFError(f"SentencePiece training failed: {err}; raise vocab_size.{hint}") from None
        kind = "joint" if byte_fallback else "trained"
        return cls(model.getvalue(), offset=0, source=f"{kind}:{model_type}:{vocab_size}")

    @classmethod
    def from_bpemb(cls, lang, vs=10000, cache_dir=None):
        """The pretrained BPEmb model of ``lang`` (the articles' tokenizer).

        ``cache_dir`` is bpemb's cache (``<cache_dir>/<lang>/<lang>.wiki.bpe.vs<vs>.model``);
        a missing model is downloaded by bpemb, which fails at once offline.
        """
        from bpemb import BPEmb  # optional path: import only when asked for

        kwargs = {"cache_dir": Path(cache_dir)} if cache_dir else {}
        try:
            bpemb = BPEmb(lang=lang, vs=vs, segmentation_only=True, vs_fallback=False, **kwargs)
        except Exception as err:  # bpemb raises requests/OS/Value errors alike
            where = Path(cache_dir or Path.home() / ".cache" / "bpemb") / lang / f"{lang}.wiki.bpe.vs{vs}.model"
            raise TransformerTFError(
                f"BPEmb model {lang} vs={vs} is not available ({err.__class__.__name__}); expected {where}. "
                f"Put the file there, or use the default trained tokenizer (tokenizer='trained')."
            ) from None
        return cls(bpemb.spm.serialized_model_proto(), offset=1, bpemb_preprocess=True, source=f"bpemb:{lang}:{vs}")

    # -- encode / decode ------------------------------------------------------------

    @property
    def vocab_size(self):
        """Size of the id space, padding included: the model's embedding size."""
        return self.sp.get_piece_size() + self.offset

    def _prepare(self, text):
        return _bpemb_preprocess(text) if self.bpemb_preprocess else text

    def encode(self, texts, add_start_end=True):
        """Encode a string or a list of strings.

        Returns:
            list of int ids for one string (``[START, …, END]``), or a list of such lists.
        """
        single = isinstance(texts, str)
        batch = [self._prepare(t) for t in ([texts] if single else texts)]
        encoded = []
        for pieces in self.sp.encode(batch) if len(batch) >= BATCH_ENCODE_FROM else map(self.sp.encode, batch):
            ids = [i + self.offset for i in pieces]
            encoded.append([START_ID, *ids, END_ID] if add_start_end else ids)
        return encoded[0] if single else encoded

    def encode_arrays(self, texts, num_threads=1):
        """Encode a list of strings in one SentencePiece call, without a Python list per id.

        What the shards are made of (:mod:`transformer_tf.prepare`): the same ids as
        :meth:`encode`, ``[START, …, END]``, as int32 arrays (SentencePiece adds START and
        END itself when the model's own ids are the reserved ones).

        Returns:
            list of ``(len_i,)`` int32 arrays.
        """
        import numpy as np  # here, not at import: translating with CTranslate2 needs no NumPy (~0.1 s)

        batch = [self._prepare(t) for t in texts] if self.bpemb_preprocess else list(texts)
        if self.offset == 0:  # bos/eos of a trained model are START/END (checked in __init__)
            return self.sp.encode(batch, return_type="numpy", add_bos=True, add_eos=True, num_threads=num_threads)
        ends = np.array([START_ID], np.int32), np.array([END_ID], np.int32)
        return [
            np.concatenate([ends[0], ids + np.int32(self.offset), ends[1]])
            for ids in self.sp.encode(batch, return_type="numpy", num_threads=num_threads)
        ]

    def _piece_ids(self, ids):
        """Model ids → SentencePiece ids: stop at END, drop padding and START."""
        out = []
        for i in (int(i) for i in ids):
            if i == END_ID:
                break
            if i not in (PAD_ID, START_ID):
                out.append(i - self.offset)
        return out

    def decode(self, ids):
        """Ids (one sequence) → text; stops at END, ignores padding and START.

        Byte pieces that do not form valid UTF-8 (a model copying characters it has never
        seen can emit half of one) are dropped instead of shown as U+FFFD, and a space after an
        opening ¡ or ¿ is taken out.
        """
        text = self.sp.decode(self._piece_ids(ids)).replace(INVALID_BYTES, "")
        return re.sub(SPACE_AFTER_OPENING, r"\1", text)

    def id_to_piece(self, ids):
        """Readable labels for every id, special ids included (for plot axes)."""
        return [SPECIAL_PIECES.get(int(i)) or self.sp.id_to_piece(int(i) - self.offset) for i in ids]

    # -- persistence ----------------------------------------------------------------

    def save(self, directory, name):
        """Write ``<name>.model`` (SentencePiece) and ``<name>.json`` (id layout) to ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{name}.model").write_bytes(self.model_proto)
        meta = {
            "offset": self.offset,
            "bpemb_preprocess": self.bpemb_preprocess,
            "source": self.source,
            "vocab_size": self.vocab_size,
        }
        (directory / f"{name}.json").write_text(json.dumps(meta, indent=2) + "\n")

    @classmethod
    def load(cls, directory, name):
        """Read what :meth:`save` wrote."""
        directory = Path(directory)
        try:
            meta = json.loads((directory / f"{name}.json").read_text())
            proto = (directory / f"{name}.model").read_bytes()
        except FileNotFoundError as err:
            raise TransformerTFError(
                f"tokenizer {name!r} missing in {directory}: {err.filename}; copy {name}.model and {name}.json "
                f"from the folder the model was trained in."
            ) from None
        except (ValueError, UnicodeDecodeError) as err:  # JSONDecodeError is a ValueError
            raise TransformerTFError(f"{directory / f'{name}.json'}: not valid JSON ({err}).") from None
        try:
            return cls(proto, offset=meta["offset"], bpemb_preprocess=meta["bpemb_preprocess"], source=meta["source"])
        except (KeyError, TypeError, RuntimeError) as err:  # a field missing; a truncated or foreign .model
            raise TransformerTFError(
                f"tokenizer {name!r} in {directory} is damaged ({type(err).__name__}: {err}); "
                f"restore {name}.model and {name}.json from the run."
            ) from None


# -- encoding a stream: each distinct word once -----------------------------------------
#
# SentencePiece normalises a text (NFKC, spaces → "▁"), then merges pieces that never span a
# "▁" (split_by_whitespace, the trainer's default: no piece holds a "▁" but at its start), so
# a text's ids are its space-separated words' ids back to back, each word encoded alone (the
# dummy prefix gives it its "▁"). That holds where normalisation cannot join or split
# characters across a space: words of "safe" characters (:meth:`WordCache._safe_char`); a
# text with any other word goes to SentencePiece whole. A corpus repeats its words (62,000
# distinct words in 200,000 sentences of the bench's corpus), so most words are looked up.

CACHE_WORDS = 500_000  # distinct words kept (~70 MB); the cache starts afresh past it
_JAMO = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xD7B0, 0xD7FF))  # compose without marks
_START, _END = struct.pack("=i", START_ID), struct.pack("=i", END_ID)  # native int32, as NumPy's tobytes()


def _splits_at_spaces(model_proto):
    """Whether the model is the kind the word cache holds for: BPE trained with pieces split at
    spaces, a dummy prefix, extra spaces removed (the trainer's defaults, what
    :meth:`SubwordTokenizer.train` makes)."""
    from sentencepiece import sentencepiece_model_pb2

    model = sentencepiece_model_pb2.ModelProto()
    model.ParseFromString(model_proto)
    trainer, normalizer = model.trainer_spec, model.normalizer_spec
    return (
        trainer.model_type == trainer.BPE
        and trainer.split_by_whitespace
        and not trainer.treat_whitespace_as_suffix
        and normalizer.add_dummy_prefix
        and normalizer.remove_extra_whitespaces
    )


class WordCache:
    """The ids :meth:`SubwordTokenizer.encode_arrays` gives, as int32 bytes, for a stream of
    chunks of text, each distinct word encoded by SentencePiece once (see the comment above).

    Only for a trained model (``offset`` 0, ``"▁"`` a piece of its own); otherwise, and for
    a text holding a word not made of safe characters, SentencePiece encodes the whole
    text. Not thread-safe: one instance per thread.
    """

    def __init__(self, tokenizer, max_words=CACHE_WORDS):
        self.tokenizer, self.sp, self.max_words = tokenizer, tokenizer.sp, max_words
        self.enabled = (
            tokenizer.offset == 0
            and not tokenizer.bpemb_preprocess
            and self.sp.piece_to_id("▁") != UNK_ID
            and _splits_at_spaces(tokenizer.model_proto)
        )
        self.chars = {}  # char → safe
        self.words = {}  # word → its ids as int32 bytes; None: not made of safe characters

    def _safe_char(self, c):
        """A character SentencePiece's normaliser keeps as it is and never joins to a neighbour."""
        if c not in self.chars:
            code = ord(c)
            self.chars[c] = (
                c.isprintable()
                and not c.isspace()
                and unicodedata.combining(c) == 0
                and unicodedata.category(c)[0] in "LNPS"
                and not any(lo <= code <= hi for lo, hi in _JAMO)
                and unicodedata.normalize("NFKC", c) == c
                and self.sp.normalize(c) == "▁" + c  # the dummy prefix, and c unchanged
            )
        return self.chars[c]

    def _add(self, words):
        """Encode ``words`` (none in the cache) with one SentencePiece call and keep their ids."""
        if len(self.words) + len(words) > self.max_words:
            self.words = {}  # memory stays bounded; the words come back on their next use
        safe = [w for w in words if w and all(map(self._safe_char, w))]
        self.words.update(dict.fromkeys(words))
        self.words.update(zip(safe, (ids.tobytes() for ids in self.sp.encode(safe, return_type="numpy"))))

    def encode_bytes(self, texts):
        """``texts`` (n,) → list of n ``bytes``: each text's ids ``[START, …, END]`` as native
        int32, what ``encode_arrays(texts)[i].tobytes()`` gives."""
        if not self.enabled:
            return [ids.tobytes() for ids in self.tokenizer.encode_arrays(texts)]
        split = [t.split(" ") for t in texts]
        new = set(itertools.chain.from_iterable(split)).difference(self.words)
        if new:
            self._add(sorted(new))
        get, out, whole = self.words.get, [], []
        for i, words in enumerate(split):
            try:
                out.append(_START + b"".join(map(get, words)) + _END)
            except TypeError:  # a word of unsafe characters (None): the text goes whole
                out.append(None)
                whole.append(i)
        if whole:
            for i, ids in zip(whole, self.tokenizer.encode_arrays([texts[i] for i in whole])):
                out[i] = ids.tobytes()
        return out


# Files of a model folder: one joint tokenizer, or one per language.
JOINT_NAME = "tokenizer"
PER_LANGUAGE_NAMES = ("tokenizer_en", "tokenizer_es")


def tokenizer_names(source, target):
    """The file stems of a translator's tokenizers: ``("tokenizer",)`` when source and target
    are one joint model, else ``("tokenizer_en", "tokenizer_es")``."""
    return (JOINT_NAME,) if source is target else PER_LANGUAGE_NAMES


def save_tokenizers(directory, source, target):
    """Write a translator's tokenizers under :func:`tokenizer_names` (``.model`` and ``.json``)."""
    for tokenizer, name in zip((source, target), tokenizer_names(source, target)):
        tokenizer.save(directory, name)


def load_tokenizers(directory):
    """``(source, target)`` tokenizers of a model folder (the same object when joint); their files'
    fingerprints are checked by :func:`transformer_tf.checkpoints.check_fingerprints`."""
    if (Path(directory) / f"{JOINT_NAME}.json").is_file():
        joint = SubwordTokenizer.load(directory, JOINT_NAME)
        return joint, joint
    if not any(
        (Path(directory) / f"{name}.{ext}").is_file() for name in PER_LANGUAGE_NAMES for ext in ("json", "model")
    ):
        raise TransformerTFError(
            f"no tokenizer in {directory}: a model's folder holds {JOINT_NAME}.model and {JOINT_NAME}.json (one "
            f"vocabulary for both languages), or {' and '.join(f'{n}.model/.json' for n in PER_LANGUAGE_NAMES)}; "
            f"copy them from the folder the model was trained in."
        )
    return tuple(SubwordTokenizer.load(directory, name) for name in PER_LANGUAGE_NAMES)
