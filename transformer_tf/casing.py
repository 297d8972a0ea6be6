"""Text in capitals or in lower case goes to the model in the corpus's case; a translation of
capitals comes back in capitals.

The corpus's English is written in sentence case, and the tokenizer cuts a word it saw in that
case only into pieces it rarely saw otherwise: the shipped model made "WHERE ARE YOU?" "¿HHER
AREEOU?" and "i am very happy." "Los me alegro son muy felices.". So a sentence with no lower-case
letter, or whose first letter is in lower case, goes to the model *recased*: each word in the form
the training corpus writes it most often where it does not start a sentence (:class:`CaseTable`:
"tom" → "Tom", "i" → "I", "paris" → "Paris", any word the table does not hold in lower case), and
its first letter a capital. The translation of a sentence in capitals is put in capitals
(:func:`put_back`: "¿DÓNDE ESTÁS?"); that of a sentence in lower case stays as the model writes it.

A sentence whose words the table writes in capitals anyway ("OK.", "USA!") is left as it is, and
so is every sentence that starts with a capital and holds lower case: its case is the writer's
choice ("I met Will.", "Turkey is big."). ``transformer-tf casing`` builds the table from a model's
training split into its folder (``casing.json``); a folder without one recases "i" and its
contractions alone. ``bench/casing_pass.py`` measures the pass on held-out sentences.
"""

import collections
import json
import re
from pathlib import Path

from cli_common.files import write_text_atomically
from transformer_tf.config import CASING_FILE
from transformer_tf.errors import TransformerTFError
from transformer_tf.text import read_text

#: A word: a run of letters, with what follows an apostrophe in it ("Mary's", "don't", "I'm"); the
#: table holds the part before the apostrophe (its stem: "Mary", "don", "I"). "Coca-Cola" is two words.
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_APOSTROPHE = re.compile(r"['’]")
#: What is left as typed, and not looked at: a token with ``@``, ``#``, ``/`` or ``www.`` in it (an
#: address, a handle, a tag: :mod:`~transformer_tf.verbatim` takes it around the model as it is).
AS_TYPED = re.compile(r"[^\s\"“”«»()]*(?:[@#/]|www\.)[^\s\"“”«»()]*")
_MAYBE_AS_TYPED = re.compile(r"[@#/]|www\.")  # what such a token holds: a sentence without it has none
#: Where a word starts a sentence, a quotation or a bracket: its capital tells nothing of the word.
_STARTS_HERE = re.compile(r"(?:^|[.!?…:;]\s+|[\"“«¿¡(\[]\s*)$")
#: A first letter to write as a capital: the first of a quotation; the text's, then those.
_QUOTATION_START = re.compile(r"(?<=[\s(])[\"“«¿¡]\W*?([^\W\d_])")
_STARTS = re.compile(rf"^\W*?([^\W\d_])|{_QUOTATION_START.pattern}")
#: What a folder without ``casing.json`` knows: the pronoun "I", alone and in contractions ("I'm").
I_ONLY = {"i": "I"}


class CaseTable:
    """The form of each word that the training corpus does not write in lower case.

    Args:
        forms: ``{word in lower case: its most frequent form where it does not start a sentence}``,
            e.g. ``{"tom": "Tom", "i": "I", "tv": "TV"}``; a word missing is written in lower case.
        phrases: ``{name of several words in lower case: its form}``, e.g. ``{"new york": "New York"}``,
            recased before the words.
    """

    def __init__(self, forms, phrases=None):
        self.forms = dict(forms)
        self.phrases = dict(phrases or {})
        names = "|".join(map(re.escape, sorted(self.phrases, key=len, reverse=True)))  # the longest first
        # a name of several words where one starts, else a word
        self._words = re.compile(rf"\b(?:{names})\b|{WORD.pattern}", re.IGNORECASE) if names else WORD

    @classmethod
    def from_sentences(cls, sentences, places=()):
        """The table of English ``sentences`` (the training split's): each word counted in the forms
        it takes outside a sentence's or quotation's start, and the most frequent kept where it is
        not the lower-case one (ties go to lower case). ``places``: names to write as given (the
        gazetteer's, :func:`~transformer_tf.places.gazetteer`: "warsaw" → "Warsaw", "new york" →
        "New York"), each where the sentences never write it in lower case ("Nice", "Reading" and
        "Turkey" stay words)."""
        sentences = list(sentences)
        seen = collections.defaultdict(collections.Counter)
        for sentence in sentences:
            for match in WORD.finditer(sentence):
                if not _STARTS_HERE.search(sentence, 0, match.start()):
                    stem = _APOSTROPHE.split(match.group(), maxsplit=1)[0]
                    seen[stem.lower()][stem] += 1
        forms = {}
        for lower, counts in seen.items():
            best = max(counts, key=lambda form: (counts[form], form == lower))
            if best != lower:
                forms[lower] = best
        names = {name.lower(): name for name in places if name != name.lower()}
        if names:
            written = re.compile(rf"\b(?:{'|'.join(map(re.escape, sorted(names, key=len, reverse=True)))})\b")
            in_lower_case = {found for sentence in sentences for found in written.findall(sentence)}
            names = {k: v for k, v in names.items() if k not in in_lower_case}
        forms.update({k: v for k, v in names.items() if " " not in k and k not in seen})
        return cls(forms, {k: v for k, v in names.items() if " " in k})

    def save(self, directory, **about):
        """Write ``<directory>/casing.json`` (``about``: how it was built); returns the path."""
        return save_table(Path(directory) / CASING_FILE, about, forms=self.forms, phrases=self.phrases)

    @classmethod
    def load(cls, directory):
        """The table saved in ``directory``; :data:`I_ONLY` where there is none (or no folder).

        Raises:
            TransformerTFError: the file is there but is not a table.
        """
        found = load_table(directory, CASING_FILE, "a case table", "recase only 'i'", optional=("phrases",))
        return cls(I_ONLY) if found is None else cls(found["forms"], found["phrases"])

    def take_out(self, sentence):
        """``(text for the model, case)``: ``case`` is ``"upper"`` (no lower-case letter: the words
        recased), ``"lower"`` (its first letter in lower case: its lower-case words recased) or None
        (as typed: the sentence itself).

        ``"WHERE IS TOM?"`` → ``("Where is Tom?", "upper")``; ``"i met tom."`` → ``("I met Tom.", "lower")``.
        """
        if sentence[:1].isupper() and not sentence.isupper() and not _MAYBE_AS_TYPED.search(sentence):
            return sentence, None  # the common case: sentence case, no token left as typed
        words = WORD.findall(AS_TYPED.sub(" ", sentence))
        if not words:
            return sentence, None
        if not any(c.islower() for w in words for c in w):
            if all(len(w) == 1 or self.form(w).isupper() for w in words):
                return sentence, None  # "OK.", "USA!", "I.": written as the corpus writes them
            return self._recased(sentence, lambda word: True), "upper"
        first = next((c for c in sentence if c.isalnum()), "")
        if first.islower() and words[0].islower():  # not "iPhone", not "10 minutes remained."
            return self._recased(sentence, str.islower), "lower"
        return sentence, None

    def form(self, word):
        """``word`` as the table writes it: its stem in the table's form (lower case where the table
        lacks it), the rest in lower case (``"MARY'S"`` → ``"Mary's"``, ``"DON'T"`` → ``"don't"``)."""
        lower = word.lower()
        stem = _APOSTROPHE.split(lower, maxsplit=1)[0]
        return self.forms.get(stem, stem) + lower[len(stem) :]

    def _form(self, words):
        """A name of several words in its form (:attr:`phrases`), or a word's (:meth:`form`)."""
        return self.phrases.get(words.lower()) or self.form(words)

    def _recased(self, sentence, which):
        """``sentence`` with each word that ``which`` picks in the table's form and the first letter of
        the sentence and of each quotation a capital; :data:`AS_TYPED` tokens as they are."""
        out = []
        for text, typed in as_typed_pieces(sentence):
            if not typed:
                text = self._words.sub(lambda m: _picked(m, which, self._form(m.group())), text)
                starts = _QUOTATION_START if any(t.strip() for t in out) else _STARTS
                text = starts.sub(_capital, text)
            out.append(text)
        return "".join(out)


def as_typed_pieces(text):
    """``[(piece, typed)]``: ``text`` cut around its :data:`AS_TYPED` tokens (``typed``: True), in order;
    joined, the pieces are ``text``."""
    pieces, last = [], 0
    for token in AS_TYPED.finditer(text):
        pieces += [(text[last : token.start()], False), (token.group(), True)]
        last = token.end()
    return pieces + [(text[last:], False)]


def _picked(match, which, form):
    """``form`` where ``which`` picks the matched text, else the text as it is."""
    return form if which(match.group()) else match.group()


def _capital(match):
    """The match with its last character, a letter, in capitals."""
    return match.group()[:-1] + match.group(match.lastindex).upper()


def put_back(translation, case):
    """The model's ``translation`` of a sentence that :meth:`CaseTable.take_out` found in ``case``:
    in capitals where the sentence was, its :data:`AS_TYPED` tokens as they are (an address keeps its
    case: a web path may need it); else as it is."""
    if case != "upper":
        return translation
    return "".join(piece if typed else piece.upper() for piece, typed in as_typed_pieces(translation))


def save_table(path, about, **tables):
    """Write a model folder's word table (``{name: {text: text}}``, with ``about``: how it was built) to
    ``path`` in one step; returns the path."""
    write_text_atomically(path, json.dumps({"about": about, **tables}, ensure_ascii=False, indent=0))
    return path


def load_table(directory, name, what, without, required=("forms",), optional=()):
    """The tables ``{key: {text: text}}`` (``required`` and ``optional`` keys; an optional one missing is
    ``{}``) of ``<directory>/<name>``, as :func:`save_table` wrote them; None where there is no file.

    Raises:
        TransformerTFError: the file is there but does not hold them; the message names ``what`` it should
            be, the command that rebuilds it, and what deleting it gives (``without``).
    """
    path = Path(directory) / name if directory is not None else None
    if path is None or not path.is_file():
        return None
    try:
        saved = json.loads(read_text(path))
        found = {key: saved[key] for key in required} | {key: saved.get(key, {}) for key in optional}
        if not all(isinstance(k, str) and isinstance(v, str) for d in found.values() for k, v in d.items()):
            raise TypeError("a form that is not text")
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise TransformerTFError(
            f"{path}: not {what} ({type(err).__name__}: {err}); rebuild it with transformer-tf casing "
            f"--checkpoint-dir {directory}, or delete it to {without}."
        ) from None
    return found


def build_for_checkpoint(checkpoint_dir, data=None):
    """Build the case table of a model folder from its own training split (rebuilt from
    ``config.json``, as ``shortlist`` does) and save it there.

    Returns:
        ``(path, table, english)``: the file written, the table, the training split's English sentences
        (``transformer-tf casing`` builds the spelling table from them: :mod:`transformer_tf.spelling`).
    """
    from transformer_tf.config import trained_config
    from transformer_tf.corpus import training_split
    from transformer_tf.places import gazetteer

    pairs = training_split(trained_config(checkpoint_dir, data))  # the corpus it was trained on, checked
    if not pairs:
        raise TransformerTFError(f"{checkpoint_dir}: no training pairs to count the words' case from.")
    english = [en for en, _ in pairs]
    table = CaseTable.from_sentences(english, places=[p.english for p in gazetteer()])
    return table.save(checkpoint_dir, training_pairs=len(pairs)), table, english
