"""What every translator does around its decoder, with no TensorFlow: :class:`SentenceTranslator`.

Texts are normalised (NFC), split into sentences (:mod:`transformer_tf.sentences`), a sentence in
capitals or in lower case recased as the corpus writes it (:mod:`transformer_tf.casing`), British
spellings written the American way the corpus writes them (:mod:`transformer_tf.spelling`), symbols
and unit abbreviations spelled out (:mod:`transformer_tf.symbols`), dashes, brackets and ellipses
as commas and full stops (:mod:`transformer_tf.punctuation`), web and e-mail addresses,
handles and tags go as stand-in names (:mod:`transformer_tf.verbatim`), and titled names (Mr. Smith)
too (:mod:`transformer_tf.titles`), May before a day as June (:mod:`transformer_tf.dates`), the emoji
are taken out of each sentence and put back into its translation (:mod:`transformer_tf.pictographs`), quoted
speech goes to the model in parts (:mod:`transformer_tf.quotes`), numbers with separators as
stand-ins (:mod:`transformer_tf.numerals`), the places through the gazetteer pre-pass
(:mod:`transformer_tf.code_switch`), and the sentences are encoded (START … END, cut to the
model's length) for a decoder that a subclass supplies:
:class:`~transformer_tf.translate.Translator` (TensorFlow: the exact and the fast greedy path,
beam search) or :class:`~transformer_tf.ctranslate2_engine.CTranslate2Translator` (the same
model converted to CTranslate2). :func:`transformer_tf.engines.open_translator` picks one for a
model folder.
"""

import collections
import contextlib
import functools
import itertools
import os
import sys
import threading
import unicodedata
import warnings

from transformer_tf import casing, clauses, dates, numerals, punctuation, quotes, spelling, symbols, titles, verbatim
from transformer_tf.errors import TransformerTFError
from transformer_tf.pictographs import put_back, take_out
from transformer_tf.sentences import is_blank, split_sentences
from transformer_tf.text import ArrivingLines
from transformer_tf.tokenizer import END_ID


class SentenceTranslator:
    """Texts in, Spanish out; a subclass decodes: ``_decode_sentences(sentences, batch_size, beam, progress)``
    → one Spanish string per sentence (``""`` for a blank one, :func:`~transformer_tf.sentences.is_blank`).
    A subclass whose decoder works in the background (CTranslate2's threads) also overrides
    ``_start_decode`` (same arguments; returns the function that waits for the result), so that
    :meth:`translate_lines` overlaps it with the Python work of the next chunk.

    Attributes a subclass sets: ``source_tokenizer``, ``target_tokenizer``, ``max_tokens`` (the
    longest sequence the model reads), ``places`` (the gazetteer pre-pass on or off) and
    ``checkpoint_dir`` (the folder it was loaded from, or None).
    """

    checkpoint_dir = None  # no folder: no case table but "i" (transformer_tf.casing)
    max_tokens = None  # no limit (a stand-in model's): every sentence read whole (transformer_tf.clauses)

    @functools.cached_property
    def case_table(self):
        """The :class:`~transformer_tf.casing.CaseTable` of the model folder (read once, at the first use)."""
        return casing.CaseTable.load(self.checkpoint_dir)

    @functools.cached_property
    def spellings(self):
        """The :class:`~transformer_tf.spelling.Spellings` of the model folder (read once, at the first use)."""
        return spelling.Spellings.load(self.checkpoint_dir)

    def rewritten(self, sentence):
        """``sentence`` as the first passes give it on to the stand-in passes: recased
        (:mod:`~transformer_tf.casing`), its British spellings American (:mod:`~transformer_tf.spelling`),
        its symbols spelled out (:mod:`~transformer_tf.symbols`) and its dashes, brackets and ellipses as
        commas and full stops (:mod:`~transformer_tf.punctuation`)."""
        return self._rewrite(sentence)[0]

    def _rewrite(self, sentence):
        """``(text, case, ending)``: :meth:`rewritten`'s text, and what gives its translation back the
        sentence's case (:func:`~transformer_tf.casing.put_back`) and final ellipsis
        (:func:`~transformer_tf.punctuation.put_back`)."""
        text, case = self.case_table.take_out(sentence)
        text, ending = punctuation.take_out(symbols.spelled_out(self.spellings.respelled(text)))
        return text, case, ending

    def encode_sources(self, sentences):
        """Source ids per sentence, cut to ``max_tokens`` (START … END kept), with a warning; inside
        :func:`cuts_recorded` (on this thread) the cut sentences are recorded there instead."""
        sentences = list(sentences)
        encoded = self.source_tokenizer.encode(sentences)
        too_long = [i for i, ids in enumerate(encoded) if len(ids) > self.max_tokens]
        if too_long:
            recorded = getattr(_recording, "cuts", None)
            if recorded is not None:
                recorded.update((sentences[i], len(encoded[i])) for i in too_long)
            else:
                warnings.warn(
                    f"{len(too_long)} sentence(s) longer than the {self.max_tokens} tokens the model reads "
                    f"(e.g. #{too_long[0] + 1}, {len(encoded[too_long[0]])} tokens): only the start is "
                    f"translated.",
                    stacklevel=3,
                )
        return [ids if len(ids) <= self.max_tokens else ids[: self.max_tokens - 1] + [END_ID] for ids in encoded]

    def source_texts(self, sentence):
        """The texts the model may have read for ``sentence`` (:meth:`translate_sentences`): the sentence
        :meth:`rewritten`, with its addresses', titled names' and May's stand-ins (:mod:`~transformer_tf.verbatim`,
        :mod:`~transformer_tf.titles`, :mod:`~transformer_tf.dates`) or without, without its emoji, or its parts
        where it holds quotations (:mod:`~transformer_tf.quotes`), each with its numbers' stand-ins or without
        (the rare second tries); with ``places``, each in its places' stand-in form and its code-switched one;
        and the pieces of each that is read in clauses (:mod:`~transformer_tf.clauses`)."""
        rewritten = self.rewritten(sentence)
        parts = []
        addressed = verbatim.take_out(rewritten)[0]
        candidates = (titles.take_out(addressed)[0], addressed, titles.take_out(rewritten)[0], rewritten)
        for text in dict.fromkeys(t for c in candidates for t in (dates.take_out(c)[0], c)):  # then the retries
            text = take_out(text).text
            apart = quotes.take_apart(text)
            parts += [*(apart.texts if apart else ()), text]
        texts = dict.fromkeys(t for part in parts for t in (numerals.take_out(part)[0], part))
        if self.places:
            from transformer_tf.code_switch import code_switch, with_stand_ins

            texts = dict.fromkeys(t for text in texts for t in (with_stand_ins(text)[0], code_switch(text)))
        tokens, limit = clauses.measure(self)  # and a long one's pieces (transformer_tf.clauses)
        return tuple(texts | dict.fromkeys(p for text in texts for p in clauses.take_apart(text, tokens, limit) or ()))

    def cut_tokens(self, sentences, cuts):
        """``{row: tokens}`` of the ``sentences`` (as :meth:`translate_by_sentence` returned them) whose
        text for the model is among ``cuts`` (``{text: tokens}``, :func:`cuts_recorded`)."""
        found = {}
        for row, sentence in enumerate(sentences):
            tokens = next((cuts[text] for text in self.source_texts(sentence) if text in cuts), None)
            if tokens is not None:
                found[row] = tokens
        return found

    def translate(self, texts, batch_size=64, beam=1, progress=True):
        """Translate English text: one string, or a list of strings.

        Each text may hold several sentences: it is split with :func:`split_sentences`,
        all sentences of all texts are translated as one batch, and each text's
        translations are joined with a space. ``beam=1`` is greedy decoding, ``beam > 1``
        beam search with that many beams. Empty (or blank) texts translate to ``""``
        without running the model. ``progress``: a bar on standard error while it works (shown
        only on a terminal, for more than one batch); False for none (a caller showing its own).

        Returns:
            a Spanish string for a string, else a list of them in the same order.
        """
        if isinstance(texts, str):
            return self.translate([texts], batch_size, beam, progress)[0]
        return _joined(self.translate_by_sentence(texts, batch_size, beam, progress))

    def translate_lines(self, lines, batch_size=64, beam=1, chunk=1024):
        """:meth:`translate` of many texts (a file's lines, any iterable of strings): yields each
        text's Spanish, in order, as :meth:`translate_chunks` translates it."""
        for _, translations in self.translate_chunks(lines, batch_size, beam, chunk):
            yield from translations

    def translate_chunks(self, lines, batch_size=64, beam=1, chunk=1024):
        """:meth:`translate` of many texts, ``chunk`` texts at a time: yields ``(texts, translations)``
        per chunk, in order, so that memory and the wait for the first line stay bounded. The
        translations are those of :meth:`translate` on each chunk.

        ``lines``: any iterable of strings, or a :class:`~transformer_tf.text.ArrivingLines` (a pipe):
        then a chunk is what has arrived, up to ``chunk`` texts, and a source that stalls (a program
        that waits for the answer to the line it wrote) gets its answer instead of a wait for the
        chunk to fill; the reader is let two chunks ahead.

        An engine that decodes in the background (CTranslate2) is handed the next chunk while it
        decodes one, when that chunk has all arrived: its threads do not wait while Python splits,
        pre-passes and tokenizes the next chunk, nor while the caller writes out the last.
        """
        check_batch_size(batch_size)
        if isinstance(lines, ArrivingLines):
            source = lines
            source.read_ahead(2 * chunk)
        else:
            remaining = iter(lines)
            source = ArrivingLines(iter(lambda: list(itertools.islice(remaining, chunk)), []), background=False)
        pending = collections.deque()  # at most two chunks: one decoding, one being handed over
        while True:
            texts = source.take(chunk, wait=not pending)
            if texts is None:  # the next chunk is still arriving: the one decoding is answered first
                yield pending.popleft()()
                continue
            if not texts:
                break
            pending.append(self._start_chunk(texts, batch_size, beam))
            if len(pending) > 1:
                yield pending.popleft()()
        while pending:
            yield pending.popleft()()

    def _start_chunk(self, texts, batch_size, beam):
        """:meth:`translate_chunks`' chunk ``texts`` started; returns the function that waits for it and
        returns ``(texts, translations)``."""
        finish = self._start_texts(texts, batch_size, beam, False)
        return lambda: (texts, _joined(finish()))

    def translate_by_sentence(self, texts, batch_size=64, beam=1, progress=True):
        """:meth:`translate` keeping each text's sentences apart (the web app shows them one by one).

        Returns:
            one list per text of ``(sentence, translation)`` pairs (``[]`` for a blank text).
        """
        check_batch_size(batch_size)
        return self._start_texts(texts, batch_size, beam, progress)()

    def _start_texts(self, texts, batch_size, beam, progress):
        """:meth:`translate_by_sentence` started: its sentences split and handed to the decoder
        (:meth:`_start_decode`); returns the function that waits for it and returns the result."""
        texts = [unicodedata.normalize("NFC", t) for t in texts]  # as the training corpus
        sentences = [split_sentences(t) for t in texts]
        finish = self._start_sentences([s for group in sentences for s in group], batch_size, beam, progress)

        def by_text():
            flat, results, start = finish(), [], 0
            for group in sentences:
                results.append(list(zip(group, flat[start : start + len(group)])))
                start += len(group)
            return results

        return by_text

    def translate_sentences(self, sentences, batch_size=64, beam=1, progress=True):
        """Translate a list of single sentences (no splitting); Spanish strings in order.
        ``progress``: as :meth:`translate`'s. The model reads each sentence without its emoji, and
        they come back at their places in its translation (:mod:`transformer_tf.pictographs`; a
        sentence of only emoji comes back as it is, undecoded). With ``places``, each place goes to the model as a
        stand-in it copies and comes back in its Spanish form; where the stand-in does not come
        back once, the sentence is translated again with the Spanish form in the input
        (:mod:`transformer_tf.code_switch`)."""
        return self._start_sentences(sentences, batch_size, beam, progress)()

    def _start_sentences(self, sentences, batch_size, beam, progress):
        """:meth:`translate_sentences` started; returns the function that finishes it. A sentence in
        capitals or in lower case goes on recased, and the translation of one in capitals comes back
        in capitals (:mod:`transformer_tf.casing`); symbols and units go on spelled out
        (:mod:`transformer_tf.symbols`), dashes, brackets and ellipses as commas and full stops, and a
        final ellipsis comes back (:mod:`transformer_tf.punctuation`)."""
        rewritten = [self._rewrite(s) for s in sentences]
        finish = self._start_addresses([text for text, _, _ in rewritten], batch_size, beam, progress)
        if not any(case or ending for _, case, ending in rewritten):  # the common case
            return finish

        def restored():
            return [
                casing.put_back(punctuation.put_back(translation, ending), case)
                for translation, (_, case, ending) in zip(finish(), rewritten, strict=True)
            ]

        return restored

    def _start_addresses(self, sentences, batch_size, beam, progress):
        """:meth:`_start_sentences` of the sentences in their case. Web and e-mail addresses, handles
        and tags go to the model as stand-in names and come back as typed (:mod:`transformer_tf.verbatim`);
        where a name does not come back once, the sentence is translated again as it was."""
        return self._around(
            self._start_titles, sentences, verbatim.take_out, verbatim.put_back, str, batch_size, beam, progress
        )

    def _start_titles(self, sentences, batch_size, beam, progress):
        """:meth:`_start_addresses` of the sentences with their stand-ins. A title and its name (Mr. Smith)
        go to the model as a stand-in first name and come back in Spanish form, with the article Spanish
        needs there (:mod:`transformer_tf.titles`); where a name does not come back once, the sentence is
        translated again as it was."""
        return self._around(
            self._start_dates, sentences, titles.take_out, titles.put_back, str, batch_size, beam, progress
        )

    def _start_dates(self, sentences, batch_size, beam, progress):
        """:meth:`_start_titles` of the sentences with their stand-ins. A date in May goes to the model as one in
        June and comes back in May (:mod:`transformer_tf.dates`); where "junio" does not come back as often,
        the sentence is translated again as it was."""
        return self._around(
            self._start_pictographs, sentences, dates.take_out, dates.put_back, str, batch_size, beam, progress
        )

    def _start_pictographs(self, sentences, batch_size, beam, progress):
        """:meth:`_start_dates` of the sentences with their stand-ins. The emoji are taken out of each
        sentence before, and put back after (:mod:`transformer_tf.pictographs`); a sentence without any
        is translated as it is."""
        taken = [take_out(s) for s in sentences]
        finish = self._start_quoted([t.text for t in taken], batch_size, beam, progress)
        if not any(t.runs for t in taken):
            return finish

        def put_back_each():
            return [put_back(translation, t) for translation, t in zip(finish(), taken, strict=True)]

        return put_back_each

    def _start_quoted(self, sentences, batch_size, beam, progress):
        """:meth:`_start_pictographs` of the sentences without their emoji. A sentence with quotations
        goes to the next stage in parts, each quotation alone and the words around them with
        stand-ins, and its translation is put together from theirs (:mod:`transformer_tf.quotes`);
        where a stand-in does not come back once, the sentence is translated again as it was."""
        apart = [quotes.take_apart(s) for s in sentences]
        if not any(apart):  # the common case
            return self._start_numbered(sentences, batch_size, beam, progress)
        texts = [a.texts if a else [s] for s, a in zip(sentences, apart)]
        decoding = self._start_numbered([t for group in texts for t in group], batch_size, beam, progress)

        def together():
            flat, results = iter(decoding()), []
            for a, group in zip(apart, texts):
                translations = list(itertools.islice(flat, len(group)))
                results.append(a.put_together(translations) if a else translations[0])
            return self._again(self._start_numbered, results, sentences, str, batch_size, beam)

        return together

    def _start_numbered(self, sentences, batch_size, beam, progress):
        """:meth:`_start_quoted` of the sentences, or of their parts. A number with a separator,
        a decimal point or hyphens goes to the model as a stand-in and comes back whole
        (:mod:`transformer_tf.numerals`); where its stand-in does not come back once, the
        sentence is translated again as it was."""
        return self._around(
            self._start_repeated, sentences, numerals.take_out, numerals.put_back, str, batch_size, beam, progress
        )

    def _start_repeated(self, sentences, batch_size, beam, progress):
        """:meth:`_start_numbered` of the sentences with their stand-ins. A sentence
        that repeats is decoded once and its translation given to every copy, in place (a file or
        a corpus split repeats short sentences: 75 of 3,000 test sentences, 13% of the whole split)."""
        distinct = list(dict.fromkeys(sentences))
        if len(distinct) == len(sentences):
            return self._start_distinct(sentences, batch_size, beam, progress)
        finish = self._start_distinct(distinct, batch_size, beam, progress)

        def copied():
            translated = dict(zip(distinct, finish()))
            return [translated[s] for s in sentences]

        return copied

    def _start_distinct(self, sentences, batch_size, beam, progress):
        """:meth:`_start_repeated` of sentences that do not repeat: the places pre-pass around
        :meth:`_start_decode`, which reads a long sentence in clauses (:mod:`transformer_tf.clauses`)."""
        decode = functools.partial(clauses.around, self._start_decode, *clauses.measure(self))
        if not self.places:
            return decode(sentences, batch_size, beam, progress)
        from transformer_tf.code_switch import code_switch, restore_places, with_stand_ins

        # where a stand-in does not come back once (rare: none in the test split), the Spanish form goes in
        return self._around(decode, sentences, with_stand_ins, restore_places, code_switch, batch_size, beam, progress)

    def _around(self, start, sentences, take_out, put_back, retry, batch_size, beam, progress):
        """A stand-in pass (addresses, numbers, places) around the next stage ``start`` (a ``_start_…`` method):
        the stage reads each sentence as ``take_out(sentence) → (text, stand_ins)`` writes it, and
        ``put_back(translation, stand_ins)`` gives its translation, or None where a stand-in did not
        come back once: that sentence goes through ``start`` again as ``retry(sentence)`` writes it
        (after the others, no progress bar). Where no text changed, the stage reads the sentences."""
        prepared = [take_out(s) for s in sentences]
        if all(text == sentence for (text, _), sentence in zip(prepared, sentences)):  # the common case
            return start(sentences, batch_size, beam, progress)
        decoding = start([text for text, _ in prepared], batch_size, beam, progress)

        def restored():
            results = [put_back(out, stand_ins) for out, (_, stand_ins) in zip(decoding(), prepared)]
            return self._again(start, results, sentences, retry, batch_size, beam)

        return restored

    @staticmethod
    def _again(start, results, sentences, retry, batch_size, beam):
        """``results`` with each None filled in: those ``sentences`` through the stage ``start`` again,
        as ``retry(sentence)`` writes them (after the others, no progress bar)."""
        missed = [i for i, result in enumerate(results) if result is None]
        if missed:
            again = start([retry(sentences[i]) for i in missed], batch_size, beam, False)()
            for i, result in zip(missed, again):
                results[i] = result
        return results

    def _start_decode(self, sentences, batch_size, beam, progress):
        """:meth:`_decode_sentences` started; returns the function that waits for it and returns its
        result. Here the decoding runs when that function is called; an engine that decodes in the
        background (CTranslate2) starts it at once."""
        return functools.partial(self._decode_sentences, sentences, batch_size, beam, progress)

    def length_batches(self, sentences, batch_size):
        """The non-blank ``sentences`` encoded (:meth:`encode_sources`) and sorted by length into batches
        of ``batch_size`` (similar lengths together: less padding).

        Returns:
            ``(ids, batches)``: ``{row: source ids}`` and lists of rows of ``sentences``, shortest first.
        """
        todo = [i for i, s in enumerate(sentences) if not is_blank(s)]
        ids = dict(zip(todo, self.encode_sources([sentences[i] for i in todo])))
        todo.sort(key=lambda i: len(ids[i]))
        return ids, [todo[start : start + batch_size] for start in range(0, len(todo), batch_size)]

    @staticmethod
    def progress_bar(batches, progress):
        """The batches' progress bar on standard error, shown only on a terminal and for more
        than one batch (``progress=False``: never)."""
        return progress_bar(len(batches), progress and len(batches) > 1, desc="translating", unit="batch")

    def _decode_sentences(self, sentences, batch_size, beam, progress):
        """One Spanish string per sentence (``""`` for a blank one), in order: the engine's decoding."""
        raise NotImplementedError


_recording = threading.local()  # .cuts: the dict cuts_recorded() fills on this thread, else absent


@contextlib.contextmanager
def cuts_recorded():
    """Within it, :meth:`SentenceTranslator.encode_sources` on this thread records each sentence it cuts
    to ``max_tokens`` in the dict it yields (``{text read by the model: its tokens}``) instead of warning.

    For a server, which tells each client in its answer (:func:`cut_message`) rather than on its
    terminal: ``warnings.catch_warnings`` would do it by changing the process's warning filters,
    which the decode threads of other requests share."""
    outer, cuts = getattr(_recording, "cuts", None), {}
    _recording.cuts = cuts
    try:
        yield cuts
    finally:
        _recording.cuts = outer


def cut_message(where, sentence, tokens, max_tokens):
    """What a client is told of a ``sentence`` of ``tokens`` tokens cut to ``max_tokens``; ``where``
    names it (``"sentences[2], sentence 1"``)."""
    start = sentence if len(sentence) <= 40 else sentence[:40].rstrip() + "…"
    return (
        f'{where} ("{start}") has {tokens} tokens, longer than the {max_tokens} tokens the model reads: '
        "only its start is translated."
    )


def progress_bar(total, show, **labels):
    """tqdm's progress bar of ``total`` steps on standard error where ``show`` and standard error is
    a terminal (tqdm's ``disable=None``); else one that shows nothing, without importing tqdm
    (~20 ms of a ``translate`` process's start-up). A context manager with ``update(n)``."""
    if not (show and sys.stderr.isatty()):
        return _NoProgressBar()
    from tqdm import tqdm

    return tqdm(total=total, file=sys.stderr, **labels)


class _NoProgressBar(contextlib.AbstractContextManager):
    """The bar :func:`progress_bar` gives where none is shown (``with`` gives it back, exceptions go on)."""

    def __exit__(self, *exc_info):
        return None

    def update(self, n=1):
        pass


def _joined(by_sentence):
    """Each text's translated sentences joined with a space (:meth:`SentenceTranslator.translate`)."""
    return [" ".join(t for _, t in pairs) for pairs in by_sentence]


def check_batch_size(batch_size):
    """``batch_size`` (a whole number ≥ 1) as given, or a TransformerTFError naming the fix."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise TransformerTFError(f"batch_size {batch_size!r}: give a whole number ≥ 1.")
    return batch_size


# Beam search keeps beam × batch hypotheses and their caches: past a few dozen beams translations
# stop improving, and --beam 5000 on 20 sentences ran over 2 minutes in 4 GB before it was stopped.
MAX_BEAM = 256


def check_beam(beam):
    """``beam`` (a whole number from 1 to :data:`MAX_BEAM`) as given, or a TransformerTFError naming the fix."""
    if isinstance(beam, bool) or not isinstance(beam, int) or beam < 1:
        raise TransformerTFError(f"beam {beam!r}: the beam size must be at least 1.")
    if beam > MAX_BEAM:
        raise TransformerTFError(f"beam {beam}: give at most {MAX_BEAM} (4 to 10 is the usual choice).")
    return beam


def default_streams():
    """The decode streams a :class:`Translator` uses by default: one per CPU core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# More decode streams than cores only wait for a core; CTranslate2 makes a thread (and a model
# replica) per stream, and aborted the process ("terminate called without an active exception")
# when asked for 100,000 after half a minute of work. 1,024 is far past any CPU's core count.
MAX_STREAMS = 1024


def check_streams(streams):
    """``streams`` (None or a whole number from 1 to :data:`MAX_STREAMS`) as given, or a
    TransformerTFError naming the fix."""
    if streams is not None and (isinstance(streams, bool) or not isinstance(streams, int) or streams < 1):
        raise TransformerTFError(f"streams {streams!r}: give a whole number ≥ 1 (or none: one per CPU core).")
    if streams is not None and streams > MAX_STREAMS:
        raise TransformerTFError(
            f"streams {streams}: give at most {MAX_STREAMS:,} (or none: one per CPU core, {default_streams()} here); "
            f"more streams than cores only wait for one."
        )
    return streams
