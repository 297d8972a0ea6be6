"""Restore a trained translator and translate: :class:`Translator`.

``Translator.from_checkpoint()`` rebuilds the model from its folder
(:func:`transformer_tf.checkpoints.restore_model`; by default the shipped model), and
``translate`` (:class:`~transformer_tf.sentence_translator.SentenceTranslator`: sentences,
places) batches the sentences by length and decodes them greedily or with beam search
(:mod:`transformer_tf.decoding`, :mod:`transformer_tf.fast_decode`) in TensorFlow. The same
model converted to CTranslate2 is :class:`~transformer_tf.ctranslate2_engine.CTranslate2Translator`.
"""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import tensorflow as tf

from transformer_tf.checkpoints import restore_model
from transformer_tf.config import DEFAULT_CHECKPOINT_DIR, PLACES
from transformer_tf.decoding import beam_search_decode, decode_length, greedy_decode
from transformer_tf.masks import PAD_ID
from transformer_tf.sentence_translator import SentenceTranslator, check_beam, check_streams, default_streams


class Translator(SentenceTranslator):
    """A restored model with its tokenizers: ``Translator.from_checkpoint().translate([...])``.

    Args:
        model: a trained :class:`~transformer_tf.Transformer` or
            :class:`~transformer_tf.seq2seq.RNNTranslator` (``config.json``'s ``model`` says which).
        source_tokenizer, target_tokenizer: the :class:`SubwordTokenizer` it was trained with.
        max_tokens: longest sequence the model accepts (its positional-encoding length).
        shortlist: a :class:`~transformer_tf.shortlist.LexicalShortlist` for greedy decoding
            (:mod:`transformer_tf.fast_decode`), or None.
        exact: decode greedily over the whole vocabulary with every sentence kept to the
            end of its batch (:func:`greedy_decode`, the reference) instead of the fast path
            (:class:`~transformer_tf.fast_decode.FastGreedy`: the shortlist, finished
            sentences leaving the batch). Beam search is the same either way.
        places: impose the gazetteer's Spanish form of the places in the input
            (:mod:`transformer_tf.code_switch`: "in Warsaw" → "en Varsovia"): the model sees
            a stand-in city it copies (Boston), which is replaced by the Spanish form in its
            output; the model itself does not know the places. On by default
            (:data:`~transformer_tf.config.PLACES`); the gazetteer is loaded on the first
            translation (~0.5 s).
        streams: batches decoded at once, each by its own thread running the compiled
            decoder (TensorFlow releases the GIL while a graph runs): one decode stream of
            small per-step ops keeps only one core busy. None: one per CPU core this process
            may use (:func:`default_streams`). Every batch is decoded as it would be alone, so
            the translations do not depend on it; TensorFlow's thread settings are left as they are.
    """

    def __init__(
        self,
        model,
        source_tokenizer,
        target_tokenizer,
        max_tokens,
        shortlist=None,
        exact=False,
        places=PLACES,
        streams=None,
    ):
        self.model = model
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.max_tokens = max_tokens
        self.shortlist = shortlist
        self.exact = exact
        self.places = places
        self.streams = check_streams(streams)
        self._decoders = {}  # beam size → compiled decoder
        self.checkpoint_dir = None  # the folder it was restored from (export never writes there)

    @classmethod
    def from_checkpoint(cls, checkpoint_dir=DEFAULT_CHECKPOINT_DIR, exact=False, places=PLACES, streams=None):
        """Rebuild the model from ``config.json`` and restore the newest training
        checkpoint's weights, or else the shipped weights-only checkpoint; a Transformer's
        ``shortlist.npz`` there (``transformer-tf shortlist``) is used unless ``exact``. The
        default folder is the shipped model, ``checkpoints/en_es`` of the repository, from any
        working directory. ``places``, ``streams``: as the constructor's.

        Raises:
            TransformerTFError: no trained model there, or the checkpoint does not fill
                every weight of the model its config describes.
        """
        check_streams(streams)  # before the minutes a restore can take under load
        checkpoint_dir = Path(checkpoint_dir)
        config, model, source, target = restore_model(checkpoint_dir)
        shortlist = None
        if config.model == "transformer" and not exact:
            from transformer_tf.shortlist import LexicalShortlist

            shortlist = LexicalShortlist.load(checkpoint_dir, target.vocab_size)
        translator = cls(model, source, target, config.max_tokens, shortlist, exact, places, streams)
        translator.checkpoint_dir = checkpoint_dir
        return translator

    def _decoder(self, beam):
        check_beam(beam)
        if beam == 1 and not self.exact:
            if "fast" not in self._decoders:
                from transformer_tf.fast_decode import FastGreedy

                self._decoders["fast"] = FastGreedy(self.model, self.max_tokens, self.shortlist)
            return self._decoders["fast"]
        if beam not in self._decoders:
            model, length = self.model, self.max_tokens
            fn = (
                (lambda inp: greedy_decode(model, inp, decode_length(inp, length)))
                if beam == 1
                else (lambda inp: beam_search_decode(model, inp, decode_length(inp, length), beam_size=beam))
            )
            self._decoders[beam] = tf.function(fn, input_signature=[tf.TensorSpec((None, None), tf.int64)])
        return self._decoders[beam]

    def generate(self, inp, beam=1):
        """Token ids in, token ids out: ``(batch, inp_len)`` int64 → ``(batch, steps)``
        generated ids (END included, 0 after it)."""
        return self._decoder(beam)(tf.convert_to_tensor(inp, tf.int64)).numpy()

    def _decode_sentences(self, sentences, batch_size, beam, progress):
        """:meth:`translate_sentences` of the sentences as given (no place pre-pass).

        The sentences are sorted by length into batches of ``batch_size`` (less padding), and
        up to ``streams`` batches are decoded at once, each in its own thread."""
        self._decoder(beam)  # a bad beam size fails before any work (and the decoder is built once)
        results = [""] * len(sentences)
        ids, batches = self.length_batches(sentences, batch_size)

        def decode(chunk):  # one batch: (rows of `sentences`, their translations)
            width = max(len(ids[i]) for i in chunk)
            inp = tf.constant([ids[i] + [PAD_ID] * (width - len(ids[i])) for i in chunk], tf.int64)
            return chunk, [self.target_tokenizer.decode(row) for row in self.generate(inp, beam)]

        streams = min(self.streams or default_streams(), len(batches))
        with self.progress_bar(batches, progress) as bar:
            for chunk, spanish in in_streams(decode, batches, streams):
                for i, text in zip(chunk, spanish):
                    results[i] = text
                bar.update(1)
        return results


def in_streams(fn, items, streams):
    """``map(fn, items)``, with up to ``streams`` calls running at once in threads (1: in this thread).

    Results come in the order of ``items``. On an error or Ctrl-C the calls not yet started are
    dropped; those running finish first (a running graph cannot be stopped)."""
    if streams <= 1:
        yield from map(fn, items)
        return
    pool = ThreadPoolExecutor(streams, thread_name_prefix="decode")
    try:
        yield from pool.map(fn, items)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
