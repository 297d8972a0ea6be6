"""A parallel corpus of any size, read as a stream: formats, the hash split, cleaning.

``--data`` names the corpus in one of these forms (:func:`open_corpus`):

=============================== ===========================================================
``spa.txt`` / ``spa.txt.gz``    a TSV, ``English<TAB>Spanish[<TAB>anything]`` a line (today's)
``corpus``                      a Moses pair by its common prefix: ``corpus.en`` + ``corpus.es``
                                (or ``corpus.en.gz`` + ``corpus.es.gz``), line-aligned
``train.de,train.fr``           a Moses pair by its two paths, source first (any languages)
``tfds:NAME[/CONFIG]``          a TensorFlow Datasets translation dataset prepared locally (in
                                ``$TFDS_DATA_DIR``, default ``~/tensorflow_datasets``): its
                                ``supervised_keys`` give source and target, all splits read
=============================== ===========================================================

Nothing here holds the corpus: :func:`pair_blocks` yields NFC-normalised, stripped
``(source, target)`` pairs a block of lines at a time, and every decision is taken per line:

- **the split** (:func:`split_of`): a seeded 64-bit hash of the English sentence picks
  train, validation or test. Every pair of one English sentence lands in the same split
  (grouped), a line keeps its split when the corpus grows, and every worker computes the
  same split without talking to the others;
- **cleaning** (:class:`Cleaning`): empty or whitespace-only sides, a length ratio far off,
  exact duplicates are counted and dropped, and the counts are reported, never silent.
  Duplicates are found with one 8-byte digest a pair (16 MB for 2 M pairs), sorted once.
"""

import array
import bisect
import contextlib
import dataclasses
import gzip
import hashlib
import itertools
import os
import random
import struct
import unicodedata
import zlib
from pathlib import Path

import numpy as np

from cli_common.files import file_sha256
from transformer_tf.errors import TransformerTFError
from transformer_tf.text import decode_utf8

TFDS_PREFIX = "tfds:"
# A side longer than 3× the other plus 12 characters is no translation of it (a shifted line
# of a Moses pair, a paragraph against a title): "Go." / "Vete." passes, a page against a word does not.
LENGTH_RATIO, LENGTH_SLACK = 3, 12


@dataclasses.dataclass(frozen=True)
class CorpusSource:
    """Where the pairs come from: ``kind`` ``"tsv"`` (one path), ``"moses"`` (two paths,
    source first) or ``"tfds"`` (``name``, read from ``data_dir``)."""

    kind: str
    paths: tuple = ()
    name: str = ""
    data_dir: str | None = None

    def describe(self):
        return f"tfds:{self.name}" if self.kind == "tfds" else " + ".join(str(p) for p in self.paths)


def _opener(path):
    return gzip.open if str(path).endswith(".gz") else open


@contextlib.contextmanager
def _whole_gzip(path):
    """Around reading ``path``: a damaged or cut-off gzip file (a download that stopped) is named,
    with the fix, instead of gzip's bare error or traceback."""
    try:
        yield
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise TransformerTFError(
            f"{path}: not a whole gzip file ({err}); check it with gzip -t, download or compress it again, "
            f"or give it uncompressed (without .gz)."
        ) from None


def open_corpus(spec):
    """The :class:`CorpusSource` that ``--data SPEC`` names (see the module's table).

    A Moses pair whose files have different line counts is refused here, naming both
    files and their counts. ``None`` is today's default: the cached or downloaded ``spa.txt``.

    Raises:
        TransformerTFError: nothing found under ``spec``, with the forms it may take.
    """
    from transformer_tf.data import resolve_corpus  # spa.txt's cache and download live there

    if spec is None:
        return CorpusSource("tsv", (resolve_corpus(None),))
    spec = str(spec)
    if spec.startswith(TFDS_PREFIX):
        return _tfds_source(spec[len(TFDS_PREFIX) :])
    if "," in spec:
        paths = tuple(Path(p).expanduser() for p in spec.split(","))
        missing = [str(p) for p in paths if not p.is_file()]
        if len(paths) != 2 or missing:
            raise TransformerTFError(
                f"data {spec}: a Moses pair is two existing files SOURCE,TARGET"
                + (f" ({', '.join(missing)} not found)" if missing else f", not {len(paths)}")
                + "."
            )
        return _checked_moses(paths)
    path = Path(spec).expanduser()
    if path.is_file():
        return CorpusSource("tsv", (resolve_corpus(path),))
    for suffix in ("", ".gz"):
        pair = (Path(f"{path}.en{suffix}"), Path(f"{path}.es{suffix}"))
        if all(p.is_file() for p in pair):
            return _checked_moses(pair)
    if path.is_dir():
        resolve_corpus(path)  # its message: give the file itself
    raise TransformerTFError(
        f"data {spec}: no such file, and no Moses pair {spec}.en + {spec}.es; give a TSV (spa.txt, .gz too), "
        f"a Moses prefix, two paths SOURCE,TARGET, or tfds:NAME of a prepared TensorFlow Datasets dataset."
    )


def count_lines(path):
    """Lines of a text file (gzip too), counted in 1 MiB blocks; a last line without a newline counts."""
    lines, last = 0, b"\n"
    with _opener(path)(path, "rb") as f, _whole_gzip(path):
        for block in iter(lambda: f.read(1 << 20), b""):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last != b"\n")


def _checked_moses(paths):
    counts = [count_lines(p) for p in paths]
    if counts[0] != counts[1]:
        raise TransformerTFError(
            f"the Moses pair is not line-aligned: {paths[0]} has {counts[0]:,} lines, {paths[1]} has "
            f"{counts[1]:,}; give two files with one sentence a line, translation on the same line."
        )
    return CorpusSource("moses", tuple(paths))


def _tfds_builder(name, data_dir):
    import tensorflow_datasets as tfds  # only this format needs it (and TensorFlow)

    try:
        return tfds.builder(name, data_dir=data_dir)
    except Exception as err:  # DatasetNotFoundError, a bad config name, ...
        raise TransformerTFError(
            f"data tfds:{name}: no such TensorFlow Datasets dataset ({type(err).__name__}: "
            f"{str(err).splitlines()[0]}); give NAME/CONFIG, e.g. tfds:ted_hrlr_translate/pt_to_en."
        ) from None


def _tfds_source(name):
    data_dir = os.environ.get("TFDS_DATA_DIR")
    builder = _tfds_builder(name, data_dir)
    if not builder.is_prepared():  # never download: offline that retries for minutes
        raise TransformerTFError(
            f"data tfds:{name} is not prepared in {builder.data_dir_root}; prepare it once where the network "
            f"is reachable (tfds build {name} --data_dir DIR) and set TFDS_DATA_DIR=DIR, or give a TSV or Moses pair."
        )
    if not builder.info.supervised_keys or len(builder.info.supervised_keys) != 2:
        raise TransformerTFError(f"data tfds:{name} has no (source, target) supervised keys: not a translation set.")
    return CorpusSource("tfds", name=name, data_dir=data_dir)


BLOCK_LINES = 8192  # lines decoded, cleaned and split at once


def _line_blocks(path):
    """The decoded lines of a text file without their line ends, :data:`BLOCK_LINES` at a
    time, each block as ``(lines, nfc)``: ``nfc`` says the block is NFC-normalised already
    (most corpora: then no line needs normalising). Not UTF-8 is refused naming the file,
    the byte and its offset (:func:`~transformer_tf.text.decode_utf8`)."""
    offset = 0
    with _opener(path)(path, "rb") as f, _whole_gzip(path):
        while raw := list(itertools.islice(f, BLOCK_LINES)):
            data = b"".join(raw)
            try:
                text = data.decode("utf-8-sig" if offset == 0 else "utf-8")
            except UnicodeDecodeError:
                for line in raw:  # line by line, for the message's offset
                    decode_utf8(line, str(path), offset)
                    offset += len(line)
                raise
            lines = text.split("\n")
            if text.endswith("\n"):
                lines.pop()
            if "\r" in text:
                lines = [line.rstrip("\r") for line in lines]
            yield lines, unicodedata.is_normalized("NFC", text)
            offset += len(data)


def _clean(text):
    return unicodedata.normalize("NFC", text.strip())


def _stripped(fields, nfc):
    """``fields`` (two sides) stripped, and NFC-normalised unless ``nfc`` says they are."""
    return (fields[0].strip(), fields[1].strip()) if nfc else (_clean(fields[0]), _clean(fields[1]))


def pair_blocks(source):
    """Every line's ``(source, target)`` pair, NFC-normalised and stripped, in corpus order,
    in lists of up to :data:`BLOCK_LINES` pairs (one block is held at a time).

    Empty sides stay (the cleaning counts them); a TSV line with fewer than two fields
    gives ``("", "")``.
    """
    if source.kind == "tsv":
        for lines, nfc in _line_blocks(source.paths[0]):
            split = [line.split("\t", 2) for line in lines]
            yield [_stripped(fields, nfc) if len(fields) >= 2 else ("", "") for fields in split]
    elif source.kind == "moses":
        for (en, nfc_en), (es, nfc_es) in zip(*(_line_blocks(p) for p in source.paths), strict=True):
            yield [_stripped(pair, nfc_en and nfc_es) for pair in zip(en, es, strict=True)]
    else:
        import tensorflow_datasets as tfds

        builder = _tfds_builder(source.name, source.data_dir)
        src_key, tgt_key = builder.info.supervised_keys
        for split in sorted(builder.info.splits):
            examples = iter(tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False)))
            while block := list(itertools.islice(examples, BLOCK_LINES)):
                yield [_stripped((e[src_key].decode("utf-8"), e[tgt_key].decode("utf-8")), False) for e in block]


def iter_pairs(source):
    """:func:`pair_blocks`, one pair at a time."""
    for block in pair_blocks(source):
        yield from block


def fingerprint(source):
    """``{"file", "bytes", "sha256"}``: what a resume and the shards check the corpus against.

    A TSV's is the file's (what the shipped folders recorded,
    :func:`transformer_tf.config.corpus_fingerprint`); a Moses pair hashes both files; a TFDS
    dataset, its prepared files.
    """
    if source.kind == "tsv":
        path = Path(source.paths[0])
        return {"file": path.name, "bytes": path.stat().st_size, "sha256": file_sha256(path)}
    if source.kind == "moses":
        files = list(source.paths)
    else:
        folder = Path(_tfds_builder(source.name, source.data_dir).data_dir)
        files = sorted(p for p in folder.iterdir() if p.is_file())
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.name}\0".encode())
        with open(path, "rb") as f:
            for block in iter(lambda f=f: f.read(1 << 20), b""):
                digest.update(block)
    return {
        "file": source.describe() if source.kind == "tfds" else "+".join(p.name for p in files),
        "bytes": sum(p.stat().st_size for p in files),
        "sha256": digest.hexdigest(),
    }


SPLITS = ("train", "validation", "test")


def _english_hash(english, key):
    return int.from_bytes(hashlib.blake2b(english.encode(), digest_size=8, key=key).digest(), "little")


def _split_code(h, val_fraction, test_fraction):
    """:func:`split_of` from the English sentence's hash: 1 train, 2 validation, 3 test."""
    u = h / 2.0**64
    return 3 if u < test_fraction else 2 if u < test_fraction + val_fraction else 1


def split_of(english, seed, val_fraction, test_fraction):
    """``"train"``, ``"validation"`` or ``"test"`` for a pair, from its English sentence alone.

    ``u = blake2b_64(english, key=seed) / 2**64`` is uniform in [0, 1): test below
    ``test_fraction``, validation below ``test_fraction + val_fraction``, train above. The
    fractions are therefore shares of distinct English sentences in expectation.
    """
    h = _english_hash(english, struct.pack("<Q", seed))
    return SPLITS[_split_code(h, val_fraction, test_fraction) - 1]


def pair_digest(en, es):
    """8 bytes naming a pair (exact duplicates have the same; others collide with p ≈ n²/2⁶⁵)."""
    return int.from_bytes(hashlib.blake2b(f"{en}\t{es}".encode(), digest_size=8).digest(), "little")


@dataclasses.dataclass
class Cleaning:
    """What cleaning found in the corpus: counts of pairs read, dropped (by reason) and kept by split.

    ``codes`` holds each pair's fate, one byte a pair read: 0 dropped, else 1 + its index in
    :data:`SPLITS` (the first occurrence of a duplicated pair is kept).
    """

    read: int = 0
    empty: int = 0
    length_ratio: int = 0
    duplicate: int = 0
    over_max_tokens: int = 0  # counted by the encoding pass, which knows the token counts
    kept: dict = dataclasses.field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    distinct_english: int = 0
    codes: bytearray = dataclasses.field(default_factory=bytearray, repr=False)  # a byte a pair read

    def reason(self, en, es):
        """Why a pair is dropped before the duplicate check (``"empty"``, ``"length_ratio"``), or None."""
        if not en or not es:
            return "empty"
        if max(len(en), len(es)) > LENGTH_RATIO * min(len(en), len(es)) + LENGTH_SLACK:
            return "length_ratio"
        return None

    def report(self):
        """One line for the start of training."""
        kept = ", ".join(f"{name} {n:,}" for name, n in self.kept.items())
        return (
            f"corpus: {self.read:,} pairs read; dropped {self.empty:,} with an empty side, "
            f"{self.length_ratio:,} with lengths over {LENGTH_RATIO}x + {LENGTH_SLACK} characters apart, "
            f"{self.duplicate:,} duplicates, {self.over_max_tokens:,} over --max-tokens; kept {kept} "
            f"({self.distinct_english:,} distinct English sentences)"
        )

    def to_json(self):
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "codes"}


def selected_lines(source, max_pairs, seed):
    """Line numbers of a seeded random subset of ``max_pairs`` lines (reservoir sampling:
    memory is ``max_pairs`` integers), sorted; None when the corpus has no more lines."""
    rng, chosen = random.Random(seed), []
    n = 0
    for block in pair_blocks(source):
        first, n = n + 1, n + len(block)
        for i in range(first, n + 1):
            if i <= max_pairs:
                chosen.append(i - 1)
            elif (j := rng.randrange(i)) < max_pairs:
                chosen[j] = i - 1
    return None if n <= max_pairs else np.sort(np.array(chosen, np.int64))


def _subset(blocks, lines):
    """The blocks of pairs, keeping only the pairs whose index is in ``lines`` (all when None)."""
    if lines is None:
        yield from blocks
        return
    wanted, start = lines.tolist(), 0
    lo = 0
    for block in blocks:
        hi = bisect.bisect_left(wanted, start + len(block), lo)
        yield [block[i - start] for i in wanted[lo:hi]]
        lo, start = hi, start + len(block)


def survey(source, config, sample_size=100_000, progress=None):
    """Pass one over the corpus: the :class:`Cleaning` counts and a seeded sample of training pairs.

    Every pair's fate (dropped, or its split) is kept, one byte a pair, in
    ``cleaning.codes`` for pass two (:func:`clean_pairs`); duplicates are found from one
    8-byte digest a pair, sorted once, and every occurrence after the first is dropped.

    Args:
        config: a :class:`~transformer_tf.config.TrainConfig` (``seed``, the fractions, ``max_pairs``).
        sample_size: pairs in the reservoir sample the tokenizer and the augmentation's
            statistics are taken from: the memory this pass holds besides 17 bytes a pair.
        progress: a tqdm-like object updated once per block of pairs read, or None.

    Returns:
        ``(cleaning, sample, lines)``: counts, the sampled training pairs (in no useful
        order), and the :func:`selected_lines` for ``max_pairs`` (None: every line).
    """
    lines = selected_lines(source, config.max_pairs, config.seed) if config.max_pairs else None
    cleaning, rng, sample = Cleaning(), random.Random(config.seed), []
    codes, pair_digests, english_hashes = bytearray(), array.array("Q"), array.array("Q")
    key, fractions, reason = (
        struct.pack("<Q", config.seed),
        (config.val_fraction, config.test_fraction),
        cleaning.reason,
    )
    seen_train = 0
    for block in _subset(pair_blocks(source), lines):
        cleaning.read += len(block)
        if progress is not None:
            progress.update(len(block))
        for en, es in block:
            if why := reason(en, es):
                setattr(cleaning, why, getattr(cleaning, why) + 1)
                codes.append(0)
                continue
            pair_digests.append(pair_digest(en, es))
            english_hashes.append(h := _english_hash(en, key))
            codes.append(code := _split_code(h, *fractions))
            if code == 1:
                seen_train += 1
                if len(sample) < sample_size:
                    sample.append((en, es))
                elif (j := rng.randrange(seen_train)) < sample_size:
                    sample[j] = (en, es)
    _drop_duplicates(cleaning, codes, np.frombuffer(pair_digests, np.uint64))
    cleaning.distinct_english = len(np.unique(np.frombuffer(english_hashes, np.uint64)))
    if cleaning.distinct_english < 3:
        raise TransformerTFError(
            f"the corpus has {cleaning.read} line(s) (dropped {cleaning.empty} with an empty side or no TAB, "
            f"{cleaning.length_ratio} with lengths far apart, {cleaning.duplicate} duplicates) and "
            f"{cleaning.distinct_english} distinct English sentence(s): too few to split into train, validation and "
            f"test; give a corpus of at least 3 different English sentences, one English<TAB>Spanish pair a line."
        )
    return cleaning, sample, lines


def _drop_duplicates(cleaning, codes, digests):
    """Mark every occurrence of a pair after its first as dropped in ``codes``; count the kept by split."""
    order = np.argsort(digests, kind="stable")  # equal digests stay in corpus order
    ordered = digests[order]
    later = order[1:][ordered[1:] == ordered[:-1]]
    view = np.frombuffer(codes, np.uint8)
    view[np.flatnonzero(view)[later]] = 0
    cleaning.duplicate = len(later)
    counts = np.bincount(view, minlength=4)
    cleaning.kept = {name: int(n) for name, n in zip(SPLITS, counts[1:])}
    cleaning.codes = codes


def clean_blocks(source, cleaning, lines=None):
    """Pass two, a block at a time: ``(pairs read, [(split code, en, es), ...])`` with every
    pair cleaning keeps, in corpus order, from the fate :func:`survey` recorded for each
    (``cleaning.codes``: 1 train, 2 validation, 3 test)."""
    codes, i = cleaning.codes, 0
    for block in _subset(pair_blocks(source), lines):
        yield len(block), [(code, en, es) for (en, es), code in zip(block, codes[i : i + len(block)]) if code]
        i += len(block)


def clean_pairs(source, cleaning, lines=None):
    """:func:`clean_blocks`, one ``(split, en, es)`` at a time."""
    for _, kept in clean_blocks(source, cleaning, lines):
        yield from ((SPLITS[code - 1], en, es) for code, en, es in kept)


def _pairs_by_split(config):
    """``(split, en, es)`` of each pair of a ``"hash"``-split run's corpus that training's
    cleaning keeps (empty sides, length ratio; duplicates are the caller's to drop)."""
    source = open_corpus(config.data)
    lines = selected_lines(source, config.max_pairs, config.seed) if config.max_pairs else None
    probe = Cleaning()
    for en, es in itertools.chain.from_iterable(_subset(pair_blocks(source), lines)):
        if not probe.reason(en, es):
            yield split_of(en, config.seed, config.val_fraction, config.test_fraction), en, es


def held_out_pairs(config):
    """The validation and test pairs of a ``"hash"``-split run, as lists (train is never held).

    The same cleaning as training (empty sides, length ratio, duplicates within the held-out
    pairs, which are all of them: duplicates share their English sentence, hence their split).
    """
    out, seen = {"validation": [], "test": []}, set()
    for split, en, es in _pairs_by_split(config):
        if split != "train" and (en, es) not in seen:
            seen.add((en, es))
            out[split].append((en, es))
    return out


def held_out_splits(config):
    """``{"validation": [...], "test": [...]}`` of the run ``config`` describes, by its own
    ``split_method``: ``"grouped-shuffle"`` (the shipped models') reads the corpus as
    :func:`transformer_tf.data.load_splits` always did; ``"hash"`` streams it."""
    from transformer_tf.data import load_splits

    if config.split_method == "grouped-shuffle":
        return load_splits(config)
    return held_out_pairs(config)


def training_split(config):
    """The training pairs of the run ``config`` describes, by its own ``split_method``, as
    :func:`held_out_splits` gives its held-out ones (a list: the lexical shortlist and the
    place collisions are counted from it)."""
    if config.split_method == "grouped-shuffle":
        from transformer_tf.data import load_splits

        return load_splits(config)["train"]
    return list(dict.fromkeys((en, es) for split, en, es in _pairs_by_split(config) if split == "train"))
