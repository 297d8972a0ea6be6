"""Words typed in another spelling go to the model in the one its corpus writes: British spellings in
the American form, contractions typed without their apostrophe with it.

The corpus's English is mostly American ("favorite" 272 times, "favourite" once), and the tokenizer
cuts a spelling it rarely saw into pieces the model cannot read: the shipped model made "What is
your favourite colour?" "¿Cuál es tu colupa de bavupa?", "I realise it's late." "Me gusta que sea
tarde." and "The centre of the city is beautiful." "El siglo de la ciudad es hermosa."; it
translates "favorite color", "realize" and "center". A contraction typed without its apostrophe, as
in chat, fared worse: "I didnt do it." → "Lo hice yo.", "We werent there." → "Nosotros vamos allá.".
So :meth:`Spellings.respelled` writes each such word in the corpus's form before the model, keeping
its case ("Colour" → "Color", "DONT" → "DON'T", "im" → "I'm"); there is no put-back: the Spanish is
the same.

The British pairs come from **Breame** (``breame.data.spelling_constants``: 1,730 British spellings with
their American forms, inflections included: "apologised" → "apologized"; Apache-2.0, pinned in
``setup.cfg``), and are kept only where the model's training split writes the American form more
often than the British one (:func:`american_forms`): 180 pairs for the shipped models. The others
would not help ("buses" → "busses": the corpus writes "buses" 17 times, "busses" never; a pair the
corpus holds in neither form teaches the model nothing either way). The contractions are the
training split's own (:func:`apostrophe_forms`: 45 for the shipped models), each only where the split
never writes its letters without the apostrophe as a word ("its", "ill", "were", "well", "lets"
stay) and not "he'll", "she'd", "we'd" …, whose letters are words ("hell", "shed", "wed").
``transformer-tf casing`` builds the table into the model folder (``spelling.json``) with its case
table; a folder without one respells nothing. ``bench/spelling_pass.py`` measures the pass on
held-out sentences.
"""

import collections
import re
from pathlib import Path

from transformer_tf.casing import as_typed_pieces, load_table, save_table
from transformer_tf.config import SPELLING_FILE

_LETTERS = re.compile(r"[A-Za-z]+")


def breame_pairs():
    """``{british: american}`` of Breame's table, single words in lower case."""
    from breame.data.spelling_constants import BRITISH_ENGLISH_SPELLINGS  # pinned in setup.cfg

    return {b: a for b, a in BRITISH_ENGLISH_SPELLINGS.items() if b.isalpha() and a.isalpha() and b != a}


def american_forms(sentences, pairs=None):
    """The pairs (``pairs``, default :func:`breame_pairs`) whose American form ``sentences`` (a training
    split's English) write more often than the British one, as ``{british: american}`` in lower case."""
    pairs = breame_pairs() if pairs is None else pairs
    wanted = set(pairs) | set(pairs.values())
    counts = collections.Counter(w for s in sentences for w in _LETTERS.findall(s.lower()) if w in wanted)
    return {b: a for b, a in sorted(pairs.items()) if counts[a] > counts[b]}


def build_for_checkpoint(checkpoint_dir, english):
    """Build the spelling table (British spellings, contractions) of a model folder from its training split's
    ``english`` sentences
    (:func:`transformer_tf.casing.build_for_checkpoint` gives them) and save it there; returns
    ``(path, table)``."""
    spellings = Spellings(american_forms(english) | apostrophe_forms(english))
    return spellings.save(checkpoint_dir, training_pairs=len(english)), spellings


#: A contraction the model may have read typed without its apostrophe: a verb's "n't", "'m", "'re",
#: "'ve"; "'ll" and "'d" but after he, she, we (whose letters spell "hell", "shell", "shed", "wed"); "'s"
#: of a pronoun or question word ("that's", not a possessive: "fathers" is a plural too); "o'clock".
_CONTRACTION = re.compile(
    r"\b(?:[A-Za-z]+n['’]t|I['’]m|[A-Za-z]+['’](?:re|ve)|(?!(?:he|she|we)['’])[A-Za-z]+['’](?:ll|d)"
    r"|(?:he|she|it|that|what|who|where|when|why|how|there|here|someone|somebody|everyone|everybody|nobody"
    r"|something|everything|nothing)['’]s|o['’]clock)\b",
    re.IGNORECASE,
)
#: How often the split must write a contraction for the model to know it.
KNOWN = 20


def apostrophe_forms(sentences, known=KNOWN):
    """The contractions (:data:`_CONTRACTION`) that ``sentences`` (a training split's English) write at
    least ``known`` times and never without their apostrophe as a word, as ``{letters: form}``:
    ``{"dont": "don't", "im": "I'm", "whats": "what's"}`` (the form in lower case but "I")."""
    seen = collections.defaultdict(collections.Counter)
    words = collections.Counter()
    for sentence in sentences:
        for found in _CONTRACTION.findall(sentence):
            form = found.replace("’", "'").lower()
            seen[form.replace("'", "")][form] += 1
        words.update(_LETTERS.findall(sentence.lower()))
    forms = {}
    for letters, counts in sorted(seen.items()):
        form, count = counts.most_common(1)[0]
        if sum(counts.values()) >= known and not words[letters]:
            forms[letters] = "I" + form[1:] if form.startswith("i'") else form
    return forms


class Spellings:
    """British spellings and the American forms to write instead.

    Args:
        forms: ``{british word in lower case: American form in lower case}``, e.g. ``{"colour": "color"}``.
    """

    def __init__(self, forms):
        self.forms = dict(forms)
        words = "|".join(map(re.escape, sorted(self.forms, key=len, reverse=True)))
        self._words = re.compile(rf"\b(?:{words})\b", re.IGNORECASE) if words else None

    def count_british(self):
        """How many of :attr:`forms` are British spellings (the others restore an apostrophe)."""
        return sum("'" not in form for form in self.forms.values())

    def respelled(self, sentence):
        """``sentence`` with each British spelling of :attr:`forms` in its American form, in its case:
        ``"My favourite COLOUR."`` → ``"My favorite COLOR."``; the sentence itself where it holds none.
        Addresses, handles and tags (:data:`~transformer_tf.casing.AS_TYPED`) stay as typed."""
        if self._words is None or self.forms.keys().isdisjoint(_LETTERS.findall(sentence.lower())):
            return sentence  # the common case (a set test: the pattern's search would take 20 µs)
        respell = lambda m: _in_case_of(m.group(), self.forms[m.group().lower()])  # noqa: E731
        return "".join(
            piece if typed else self._words.sub(respell, piece) for piece, typed in as_typed_pieces(sentence)
        )

    def save(self, directory, **about):
        """Write ``<directory>/spelling.json`` (``about``: how it was built); returns the path."""
        return save_table(Path(directory) / SPELLING_FILE, about, forms=self.forms)

    @classmethod
    def load(cls, directory):
        """The table saved in ``directory``; an empty one where there is none (or no folder).

        Raises:
            TransformerTFError: the file is there but is not a table.
        """
        found = load_table(directory, SPELLING_FILE, "a spelling table", "respell nothing")
        return cls({} if found is None else found["forms"])


def _in_case_of(typed, form):
    """``form`` in the case of ``typed``: all capitals, a capital first letter, or lower case."""
    if typed.isupper() and len(typed) > 1:
        return form.upper()
    return form[0].upper() + form[1:] if typed[0].isupper() else form
