"""The English–Spanish corpus: find it, read it, split it without leaking sources.

The corpus is the Tatoeba/Anki ``spa.txt`` the TensorFlow tutorials use: one pair a
line, ``English<TAB>Spanish`` (older packaging) or ``English<TAB>Spanish<TAB>attribution``
(newer downloads). Where it comes from, in order:

1. an explicit path (``--data PATH``);
2. the Keras cache (``~/.keras/datasets``, where a previous download landed);
3. a download of the official ``spa-eng.zip`` into that cache, with ``pooch`` (one try,
   bounded by a timeout), unzipped where Keras 3 would unzip it.

Offline, step 3 fails within seconds with a message naming ``data`` (``--data`` on the command line).

Also here: :func:`load_splits`, the corpus a :class:`~transformer_tf.config.TrainConfig`
names, read and split; training and evaluation both start from it.
"""

import random
import socket
import threading
import typing
import unicodedata
import urllib.parse
import warnings
import zipfile
from pathlib import Path

import numpy as np
import tensorflow as tf
from sklearn.model_selection import GroupShuffleSplit

from cli_common import files
from transformer_tf.errors import TransformerTFError
from transformer_tf.text import read_text

SPA_ENG_URL = "http://storage.googleapis.com/download.tensorflow.org/data/spa-eng.zip"

# Where keras.utils.get_file("spa-eng.zip", extract=True) leaves the text: Keras 3
# extracts into "<name>_extracted/", tf.keras 2 extracted into "datasets/" itself. The
# download below unzips into the first, so a cache filled either way is found.
_CACHED_LAYOUTS = ("spa-eng_extracted/spa-eng/spa.txt", "spa-eng/spa.txt")


def unreachable(host, port=80, timeout=3.0):
    """Why ``host:port`` cannot be reached within ``timeout`` seconds, or None if it can.

    :func:`~transformer_tf.embeddings.load_imdb_reviews` asks this before
    tensorflow-datasets' download, which would otherwise retry for minutes offline. Name
    resolution runs in a daemon thread, since ``getaddrinfo`` has no timeout of its own
    and can hang for many seconds behind an unreachable DNS server.
    """
    outcome = {}

    def connect():
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            outcome["error"] = None
        except OSError as err:
            outcome["error"] = f"{type(err).__name__}: {err}"

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome.get("error", f"no answer within {timeout:g} s")


def url_unreachable(url, timeout=3.0):
    """:func:`unreachable` for the host of ``url`` (None for ``file:`` URLs).

    No loader needs it since the downloads go through ``pooch`` with a timeout; kept for
    one release for callers that imported it.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        return None
    return unreachable(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), timeout)


def resolve_corpus(path=None, cache_dir=None, url=SPA_ENG_URL, timeout=5.0):
    """Return the path of ``spa.txt``: the given one, a cached one, or a fresh download.

    Args:
        path: explicit path of ``spa.txt``; if given it must exist.
        cache_dir: Keras cache root (default ``~/.keras``, or ``$KERAS_HOME``).
        url: where to download ``spa-eng.zip`` from (http or https).
        timeout: seconds to wait for the server (to connect, and then for each read);
            one try, no retries.

    Raises:
        TransformerTFError: the given path does not exist, or the download is impossible.
    """
    if path is not None:
        path = Path(path).expanduser()
        if path.is_dir():
            raise TransformerTFError(f"data {path} is a folder: give the path of spa.txt itself.")
        if not path.is_file():
            raise TransformerTFError(f"data {path}: no such file; give the path of spa.txt.")
        return path

    datasets = files.keras_datasets_dir(cache_dir)
    for layout in _CACHED_LAYOUTS:
        if (datasets / layout).is_file():
            return datasets / layout

    import pooch  # only a download needs it (and what it imports)

    try:
        extracted = pooch.retrieve(
            url,
            known_hash=None,
            fname="spa-eng.zip",
            path=datasets,
            processor=pooch.Unzip(extract_dir="spa-eng_extracted"),
            downloader=pooch.HTTPDownloader(timeout=timeout),
        )
    except (OSError, ValueError, zipfile.BadZipFile) as err:  # requests' errors are OSErrors
        raise TransformerTFError(
            f"cannot download the English-Spanish corpus from {url} ({type(err).__name__}: {err}). "
            f"If you are offline, pass the path of spa.txt as data=PATH "
            f"(on the project machines: ../shared/data/spa-eng/spa.txt)."
        ) from None
    found = sorted(Path(file) for file in extracted if Path(file).name == "spa.txt")
    if not found:
        raise TransformerTFError(f"the archive from {url} has no spa.txt; pass the file as data=PATH.")
    return found[0]


def read_pairs(path):
    """Read ``(english, spanish)`` pairs, NFC-normalised, from a 2- or 3-column TSV.

    Lines with fewer than two fields, or an empty side, are skipped and counted in one
    warning. Extra columns (the attribution of newer downloads) are ignored.

    Returns:
        list of ``(english, spanish)`` string tuples, in file order.
    """
    pairs, malformed = [], 0
    for line in read_text(path).split("\n"):  # strict UTF-8, as every text input
        fields = line.rstrip("\r").split("\t")
        if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
            malformed += line.strip() != ""  # blank lines are not worth a warning
            continue
        en, es = (unicodedata.normalize("NFC", field.strip()) for field in fields[:2])
        pairs.append((en, es))
    if malformed:
        warnings.warn(f"{path}: skipped {malformed} malformed line(s) (need English<TAB>Spanish).", stacklevel=2)
    if not pairs:
        raise TransformerTFError(f"{path}: no English<TAB>Spanish pairs found; is this the spa.txt corpus?")
    return pairs


def split_pairs(pairs, val_fraction=0.05, test_fraction=0.05, seed=0):
    """Split pairs into train/validation/test, **grouped by the English sentence**.

    One English sentence often has several Spanish translations; all of them go to the
    same split, so no English source seen in training is ever scored in validation or
    test. The fractions count English sentences (groups), not pairs.

    Returns:
        dict ``{"train": [...], "validation": [...], "test": [...]}`` of pair lists.
    """
    if not 0 < val_fraction < 1 or not 0 < test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise TransformerTFError("val and test fractions must be in (0, 1) and sum to less than 1.")
    groups = [en for en, _ in pairs]
    sources = len(set(groups))
    if sources < 3:  # one English sentence for each split, at the very least
        raise TransformerTFError(
            f"the corpus has {len(pairs)} pair(s) with {sources} distinct English sentence(s): too few to split "
            f"into train, validation and test; give a corpus of at least 3 different English sentences."
        )
    try:
        rest_idx, test_idx = next(
            GroupShuffleSplit(1, test_size=test_fraction, random_state=seed).split(pairs, groups=groups)
        )
        rest_groups = [groups[i] for i in rest_idx]
        train_pos, val_pos = next(
            GroupShuffleSplit(1, test_size=val_fraction / (1 - test_fraction), random_state=seed).split(
                rest_idx, groups=rest_groups
            )
        )
    except ValueError as err:  # scikit-learn: a split would be empty
        raise TransformerTFError(
            f"{sources} distinct English sentences cannot be split with validation "
            f"{val_fraction:g} and test {test_fraction:g} ({err})."
        ) from None
    # Keep file order inside each split, so the same seed gives the same lists.
    return {
        "train": [pairs[i] for i in sorted(rest_idx[train_pos])],
        "validation": [pairs[i] for i in sorted(rest_idx[val_pos])],
        "test": [pairs[i] for i in sorted(test_idx)],
    }


def load_splits(config):
    """The corpus ``config`` names, read (optionally a seeded random subset) and split.

    Args:
        config: a :class:`~transformer_tf.config.TrainConfig`; read are ``data``,
            ``max_pairs``, ``seed``, ``val_fraction`` and ``test_fraction``.

    Returns:
        the :func:`split_pairs` dict, grouped by English sentence; the same config gives
        the same splits in training and in evaluation.
    """
    _check_one_plain_tsv(config.data)
    pairs = read_pairs(resolve_corpus(config.data))
    if config.max_pairs and config.max_pairs < len(pairs):
        pairs = random.Random(config.seed).sample(pairs, config.max_pairs)
    return split_pairs(pairs, config.val_fraction, config.test_fraction, config.seed)


def _check_one_plain_tsv(data):
    """The grouped split reads one uncompressed TSV in memory: refuse the other forms of ``data``
    (:mod:`transformer_tf.corpus`), which only the streamed ``"hash"`` split reads."""
    spec = "" if data is None else str(data)
    path = Path(spec).expanduser()
    moses_prefix = spec and not path.exists() and any(Path(f"{path}.en{s}").is_file() for s in ("", ".gz"))
    if spec.startswith("tfds:") or "," in spec or spec.endswith(".gz") or moses_prefix:
        raise TransformerTFError(
            f"data {spec}: split_method 'grouped-shuffle' reads one uncompressed TSV (such as spa.txt) in memory; "
            f"for a .gz file, a Moses pair or a TensorFlow Datasets dataset give split_method='hash' (the default)."
        )


def describe_splits(splits):
    """One line of split sizes (pairs and distinct English sentences), for logs and the CLI."""
    return ", ".join(f"{name} {len(p):,} pairs / {len({en for en, _ in p}):,} sources" for name, p in splits.items())


# Upper bounds (exclusive) of the length buckets batches are formed in: little padding.
BUCKET_BOUNDARIES = (8, 12, 16, 20, 26, 32, 40, 48, 64, 80)


class EncodedPairs(typing.NamedTuple):
    """Tokenized pairs held as tensors: ``(n, max_tokens)`` zero-padded rows and ``(n,)`` lengths."""

    sources: "tf.Tensor"
    source_lengths: "tf.Tensor"
    targets: "tf.Tensor"
    target_lengths: "tf.Tensor"


def encode_pairs(pairs, source_tokenizer, target_tokenizer, max_tokens=40):
    """Tokenize pairs into a dataset of ``(source_ids, target_ids)``, dropping long ones.

    Each side becomes ``[START, …, END]``; pairs with more than ``max_tokens`` ids on
    either side (START and END included, as in the blog's ``filter_max_length``) are
    dropped.

    Returns:
        ``(EncodedPairs, kept)``: the kept pairs as zero-padded ``(n, max_tokens)`` id
        rows with their lengths, and ``n``.
    """
    sources = source_tokenizer.encode([en for en, _ in pairs])
    targets = target_tokenizer.encode([es for _, es in pairs])
    kept = [(s, t) for s, t in zip(sources, targets) if len(s) <= max_tokens and len(t) <= max_tokens]
    if not kept:
        raise TransformerTFError(f"no pair has at most {max_tokens} tokens per side; raise max_tokens.")

    def padded(seqs):  # (n, max_tokens) zero-padded rows and their lengths
        rows = np.zeros((len(seqs), max_tokens), np.int64)
        for i, seq in enumerate(seqs):
            rows[i, : len(seq)] = seq
        return tf.constant(rows), tf.constant([len(seq) for seq in seqs], tf.int32)

    return EncodedPairs(*padded([s for s, _ in kept]), *padded([t for _, t in kept])), len(kept)


def batch_pairs(
    pairs,
    batch_size=64,
    max_tokens=40,
    bucket_boundaries=BUCKET_BOUNDARIES,
    shuffle_seed=None,
    drop_remainder=False,
):
    """One epoch of batches: optional seeded shuffle, bucketing by length, teacher-forcing split.

    Batches group sentences of similar length (``Dataset.bucket_by_sequence_length``) so
    that little is padding. For teacher forcing the target is split into the decoder input
    ``tar[:, :-1]`` and the labels ``tar[:, 1:]``: at position t the decoder has seen
    tokens ≤ t and must predict token t+1.

    Args:
        pairs: the :class:`EncodedPairs` of :func:`encode_pairs`.
        shuffle_seed: None keeps the file order; an int (or int64 scalar tensor) shuffles
            the whole epoch with that seed. The order depends on the seed alone, never on
            how many times the dataset was iterated before.
        drop_remainder: drop each bucket's last, incomplete batch (needed with several
            replicas: a batch smaller than the replica count cannot be split).

    Returns:
        ``((inp, tar_in), tar_out)`` int64 batches, ``(batch, inp_len)``,
        ``(batch, tar_len - 1)`` and ``(batch, tar_len - 1)``, padded with 0.
    """
    order = tf.range(tf.shape(pairs.sources)[0])
    if shuffle_seed is not None:
        # Stateless: the permutation is a pure function of the seed, whatever ran before.
        seed = tf.stack([tf.cast(shuffle_seed, tf.int64), tf.constant(0, tf.int64)])
        order = tf.random.experimental.stateless_shuffle(order, seed=seed)
    ds = tf.data.Dataset.from_tensor_slices(order).map(
        lambda i: (pairs.sources[i, : pairs.source_lengths[i]], pairs.targets[i, : pairs.target_lengths[i]])
    )
    return bucket_and_split(ds, batch_size, max_tokens, bucket_boundaries, drop_remainder)


def bucket_and_split(ds, batch_size=64, max_tokens=40, bucket_boundaries=BUCKET_BOUNDARIES, drop_remainder=False):
    """``(source_ids, target_ids)`` pairs → bucketed, padded teacher-forcing batches (see :func:`batch_pairs`).

    A pair goes to bucket ``i`` when ``boundaries[i-1] <= max(len(source), len(target)) <
    boundaries[i]`` (the boundaries below ``max_tokens``); each bucket is batched on its own,
    its last batch incomplete unless ``drop_remainder``.
    """
    boundaries = bucket_limits(bucket_boundaries, max_tokens)
    ds = ds.bucket_by_sequence_length(
        element_length_func=lambda s, t: tf.maximum(tf.shape(s)[0], tf.shape(t)[0]),
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        padded_shapes=([None], [None]),
        padding_values=(np.int64(0), np.int64(0)),
        drop_remainder=drop_remainder,
    )
    return ds.map(lambda s, t: ((s, t[:, :-1]), t[:, 1:]), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def bucket_limits(bucket_boundaries=BUCKET_BOUNDARIES, max_tokens=40):
    """The bucket boundaries in use for ``max_tokens``: those below it."""
    return [b for b in bucket_boundaries if b < max_tokens]


def make_dataset(
    pairs,
    source_tokenizer,
    target_tokenizer,
    batch_size=64,
    max_tokens=40,
    shuffle_seed=None,
    drop_remainder=False,
):
    """:func:`encode_pairs` then :func:`batch_pairs`: one epoch, ready for ``fit``/``evaluate``.

    Returns:
        ``(dataset, kept)``; ``dataset.cardinality()`` is the number of batches (counted
        once: bucketing hides it from tf.data, and Keras wants to know the epoch length).
    """
    encoded, kept = encode_pairs(pairs, source_tokenizer, target_tokenizer, max_tokens)
    ds = batch_pairs(encoded, batch_size, max_tokens, shuffle_seed=shuffle_seed, drop_remainder=drop_remainder)
    return ds.apply(tf.data.experimental.assert_cardinality(count_batches(ds))).prefetch(tf.data.AUTOTUNE), kept


def count_batches(ds):
    """Batches in one pass over ``ds`` (bucketing hides the count from ``cardinality()``)."""
    return int(ds.reduce(0, lambda n, _: n + 1))


def training_stream(pairs, seed, start_step, steps_per_epoch, batch_size=64, max_tokens=40, drop_remainder=False):
    """The endless training stream from optimizer step ``start_step`` on.

    Epoch ``e`` is ``batch_pairs(pairs, shuffle_seed=f(seed, e))``: a pure function of
    the seed and the epoch number, so a resumed run sees exactly the batches the
    interrupted one would have seen, after skipping only the part of the current epoch
    already done.
    """
    first_epoch, offset = divmod(start_step, steps_per_epoch)
    epochs = tf.data.Dataset.range(first_epoch, 2**62)
    stream = epochs.flat_map(
        lambda e: batch_pairs(
            pairs,
            batch_size,
            max_tokens,
            shuffle_seed=tf.constant(seed, tf.int64) * 1_000_003 + e,
            drop_remainder=drop_remainder,
        )
    )
    return stream.skip(offset).prefetch(tf.data.AUTOTUNE)
