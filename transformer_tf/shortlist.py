"""A lexical shortlist for the output layer (Marian / Bergamot style), built from the training data.

The output layer scores every piece of the 12,000-piece vocabulary at every decoding step:
at batch 512 it cost as much as the four decoder layers together. But a sentence can only
translate to a few hundred of those pieces. A *lexical shortlist* keeps, for each batch,

- the ``frequent`` most frequent target pieces (articles, prepositions, punctuation …);
- for each source piece of the batch, the ``per_source`` target pieces that most often
  appear in the translations of training sentences holding it (``p(t | s)`` estimated from
  co-occurrence counts, the frequent pieces excepted);
- the source pieces themselves (a joint vocabulary copies names and numbers piece by piece),
  and END;

and the decoder scores only those (:func:`transformer_tf.model.output_logits`). Greedy
decoding then differs from the full vocabulary only where the full argmax lies outside the
shortlist. ``transformer-tf shortlist`` builds it from a model's training split and saves it
in the model's folder as ``shortlist.npz``; :class:`~transformer_tf.translate.Translator` uses
it when it is there.
"""

import json
from pathlib import Path

import numpy as np

from transformer_tf.config import SHORTLIST_FILE
from transformer_tf.errors import TransformerTFError
from transformer_tf.tokenizer import END_ID, PAD_ID, START_ID, UNK_ID

_NEVER = np.array([PAD_ID, UNK_ID, START_ID], np.int64)  # as translate's _NEVER_GENERATED


class LexicalShortlist:
    """The target pieces each source piece may translate to, and the always-allowed ones.

    Args:
        frequent: ``(k,)`` target ids always in the shortlist.
        offsets: ``(vocab + 1,)``: source id ``s``'s candidates are ``candidates[offsets[s]:offsets[s + 1]]``.
        candidates: the candidate target ids of every source id, one after the other.
    """

    def __init__(self, frequent, offsets, candidates):
        self.frequent = np.asarray(frequent, np.int64)
        self.offsets = np.asarray(offsets, np.int64)
        self.candidates = np.asarray(candidates, np.int64)

    @property
    def source_vocab_size(self):
        return len(self.offsets) - 1

    def batch_vocabulary(self, source_ids):
        """The sorted target ids the decoder may produce for a batch.

        Args:
            source_ids: ``(batch, inp_len)`` source ids (padding 0 is ignored), or any iterable of ids.

        Returns:
            ``(n,)`` int32, sorted, without padding, ``<unk>`` or START (never generated), END included.
        """
        sources = np.unique(np.asarray(source_ids, np.int64))
        sources = sources[(sources >= 0) & (sources < self.source_vocab_size)]
        starts, ends = self.offsets[sources], self.offsets[sources + 1]
        lengths = ends - starts
        # the candidate slices of all the batch's source ids, gathered without a Python loop
        within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        picked = self.candidates[np.repeat(starts, lengths) + within]
        ids = np.unique(np.concatenate([self.frequent, picked, sources, [END_ID]]))
        return ids[~np.isin(ids, _NEVER)].astype(np.int32)

    def save(self, directory, **about):
        """Write ``<directory>/shortlist.npz`` (with ``about``, how it was built, as JSON); returns the path."""
        path = Path(directory) / SHORTLIST_FILE
        dtype = np.uint16 if self.source_vocab_size <= 2**16 else np.int32
        np.savez_compressed(
            path,
            frequent=self.frequent.astype(dtype),
            offsets=self.offsets.astype(np.int32),
            candidates=self.candidates.astype(dtype),
            about=np.asarray(json.dumps(about)),
        )
        return path

    @classmethod
    def load(cls, directory, vocab_size=None):
        """The shortlist saved in ``directory``, or None when it has none.

        Raises:
            TransformerTFError: the file is unreadable or made for another vocabulary size.
        """
        path = Path(directory) / SHORTLIST_FILE
        if not path.is_file():
            return None
        try:
            with np.load(path) as saved:
                shortlist = cls(saved["frequent"], saved["offsets"], saved["candidates"])
        except (OSError, ValueError, KeyError) as err:
            raise TransformerTFError(
                f"{path}: unreadable shortlist ({type(err).__name__}: {err}); rebuild it with "
                f"transformer-tf shortlist --checkpoint-dir {directory}, or delete it to decode without one."
            ) from None
        if vocab_size is not None and shortlist.source_vocab_size != vocab_size:
            raise TransformerTFError(
                f"{path} was built for a vocabulary of {shortlist.source_vocab_size} pieces, the model has "
                f"{vocab_size}: rebuild it with transformer-tf shortlist --checkpoint-dir {directory}."
            )
        return shortlist


def _incidence(sequences, vocab_size):
    """``(n, vocab_size)`` scipy CSR matrix, 1 where sentence i holds piece j (special ids dropped)."""
    from scipy import sparse

    rows = np.repeat(np.arange(len(sequences)), [len(s) for s in sequences])
    cols = np.fromiter((i for s in sequences for i in s), np.int64, count=len(rows))
    kept = cols > END_ID  # PAD, UNK, START, END are not translations of anything
    matrix = sparse.csr_matrix(
        (np.ones(kept.sum(), np.float32), (rows[kept], cols[kept])), shape=(len(sequences), vocab_size)
    )
    matrix.data[:] = 1.0  # a piece twice in a sentence counts once
    return matrix


def _check_sizes(frequent=500, per_source=30, min_count=2):
    if frequent < 0 or per_source < 0 or min_count < 1:
        raise TransformerTFError(
            f"frequent={frequent}, per_source={per_source}, min_count={min_count}: give sizes ≥ 0 and a min_count ≥ 1."
        )


def build_shortlist(pairs, source_tokenizer, target_tokenizer, frequent=500, per_source=30, min_count=2):
    """A :class:`LexicalShortlist` from training pairs.

    ``p(t | s)`` is the share of the training sentences holding source piece ``s`` whose
    translation holds target piece ``t``; each ``s`` keeps its ``per_source`` most likely
    ``t`` seen together at least ``min_count`` times (the ``frequent`` most frequent target
    pieces, always allowed, are not counted against ``per_source``).

    Args:
        pairs: ``(english, spanish)`` training pairs.
        source_tokenizer, target_tokenizer: the model's :class:`~transformer_tf.tokenizer.SubwordTokenizer`.
    """
    _check_sizes(frequent, per_source, min_count)
    if not pairs:
        raise TransformerTFError("no training pairs to build a shortlist from: check data=PATH.")
    source = _incidence(source_tokenizer.encode([en for en, _ in pairs]), source_tokenizer.vocab_size)
    target = _incidence(target_tokenizer.encode([es for _, es in pairs]), target_tokenizer.vocab_size)
    target_counts = np.asarray(target.sum(axis=0)).ravel()
    frequent_ids = np.argsort(-target_counts, kind="stable")[:frequent]
    frequent_ids = frequent_ids[target_counts[frequent_ids] > 0]
    from scipy import sparse

    rare = np.ones(target.shape[1], np.float32)
    rare[frequent_ids] = 0.0  # the frequent pieces are always allowed: not candidates
    cooccurrence = (source.T @ target @ sparse.diags(rare)).tocsr()  # (source vocab, target vocab) sentence counts
    cooccurrence.data[cooccurrence.data < min_count] = 0
    cooccurrence.eliminate_zeros()
    offsets, candidates = [0], []
    for s in range(cooccurrence.shape[0]):
        row = slice(cooccurrence.indptr[s], cooccurrence.indptr[s + 1])
        ids, counts = cooccurrence.indices[row], cooccurrence.data[row]
        best = ids[np.argsort(-counts, kind="stable")[:per_source]]  # same s: counts rank as p(t|s)
        candidates.extend(np.sort(best).tolist())
        offsets.append(len(candidates))
    return LexicalShortlist(np.sort(frequent_ids), offsets, candidates)


def build_for_checkpoint(checkpoint_dir, data=None, **sizes):
    """Build the shortlist of a model folder from its own training split (rebuilt from
    ``config.json``, as ``evaluate`` rebuilds the test split) and save it there.

    Returns:
        ``(path, shortlist, pairs)``: the file written, the shortlist, how many training pairs.
    """
    from transformer_tf.config import trained_config
    from transformer_tf.corpus import training_split
    from transformer_tf.tokenizer import load_tokenizers

    _check_sizes(**sizes)  # before the corpus is read
    config = trained_config(checkpoint_dir, data)  # the corpus it was trained on, checked
    if config.model != "transformer":  # transformer_tf.translate reads a shortlist for a Transformer only
        raise TransformerTFError(
            f"{checkpoint_dir} holds a {config.model!r} model, which decodes without a shortlist (only a "
            f"Transformer's fast greedy path uses one): there is nothing to build."
        )
    pairs = training_split(config)
    source, target = load_tokenizers(checkpoint_dir)
    shortlist = build_shortlist(pairs, source, target, **sizes)
    path = shortlist.save(checkpoint_dir, training_pairs=len(pairs), **sizes)
    return path, shortlist, len(pairs)
