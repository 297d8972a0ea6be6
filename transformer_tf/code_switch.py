"""Places in their Spanish form at translation time: code-switching of the source, with stand-ins.

The shipped model copies capitalised names well but does not know that Warsaw is Varsovia
in Spanish. Code-switching (Song et al., NAACL 2019, "Code-Switching for Enhancing NMT
with Pre-Specified Translation"; Dinu et al., ACL 2019, "Training Neural Machine
Translation To Apply Terminology Constraints") imposes a known translation at translation
time without retraining: the English term is replaced *in the source* by its Spanish form,
and the model carries it over:

    They live in Warsaw.   →   They live in Varsovia.   →   Viven en Varsovia.

The shipped model copies a Spanish form such as Varsovia, but garbles one whose pieces it
never saw in an English sentence (Berlín → "la sedín", Copenhague → "Co pianhague"). So the
translator (``Translator(places=True)``) goes one step further, as the placeholder methods
do (Crego et al., 2016, "SYSTRAN's Pure Neural Machine Translation Systems"): the place goes
to the model as a **stand-in** city it copies unchanged (:data:`STAND_INS`: Boston, …), and
the stand-in in the output is replaced by the Spanish form (:func:`with_stand_ins`,
:func:`restore_places`):

    from Berlin to Warsaw   →   from Boston to Chicago   →   de Boston a Chicago   →   de Berlín a Varsovia

Where a stand-in does not come back exactly once, the sentence is translated again with
the Spanish forms in the input (:func:`code_switch`).

The model itself still does not know the place; this pre-pass does the work. The Spanish
forms are the gazetteer's (:mod:`transformer_tf.places`), and only where they are safe:

- **Kinds**: cities, countries and regions (continents, subdivisions). Not languages: their
  English form is also the adjective and the nationality ("French food", "She is French"),
  and their Spanish form is a lower-case word that agrees in gender (francés, francesa)
  which a source-side swap cannot choose, nor would the model copy it as a name.
- **Only where Spanish writes it differently**; a copy case (Madrid) needs nothing.
- **Whole words, case-sensitive, longest first**: ``Mexico City`` before ``Mexico``; not
  inside a word or a hyphenated one (``Berlin-based``), not ``warsaw``.
- **Not part of a longer name**: a match followed by a capitalised word (``Paris Hilton``,
  ``London Bridge``), or preceded by one that is not the sentence's first word (``Jack
  London`` in mid-sentence), is left alone: the gazetteer does not know the longer name.
- **Not a place that is also something else** (:func:`find_collisions`): an everyday
  English word (its lower-case form on the English side of the training split:
  ``Canary``) or an English first name (Faker's English locales: ``Jordan``, ``Paris``,
  ``Sydney``), which a case-sensitive match cannot tell from the place at the start of a
  sentence or used alone.
- **Not a place the model already knows**: one that :data:`TAUGHT` or more training pairs
  show with its Spanish form (Japan … Japón, the United States … Estados Unidos); there a
  Spanish word in an English sentence only disturbs a model that had it right.

The places left alone are listed, with the reason, in ``place_collisions.tsv`` beside this
module, written by :func:`write_collisions` from the shipped model's training split (the
lower-case words and the taught places are facts of ``spa.txt``: rewrite the list for a
model trained on another corpus).
"""

import contextlib
import functools
import json
import re
from pathlib import Path

from cli_common import files
from transformer_tf.config import DEFAULT_CHECKPOINT_DIR
from transformer_tf.errors import TransformerTFError
from transformer_tf.places import gazetteer
from transformer_tf.stand_ins import replace_once

SWITCH_KINDS = ("city", "country", "region")
COLLISIONS = Path(__file__).resolve().parent / "place_collisions.tsv"
# Faker's English-language locales: their first names are the person names an English text uses
NAME_LOCALES = ("en_US", "en_GB", "en_CA", "en_AU", "en_NZ", "en_IE", "en_IN")
# a place the training split pairs with its Spanish form this often is left to the model (chosen on
# the validation split: docs/transformer_tf.md#places-that-change-in-spanish)
TAUGHT = 50
# Cities the shipped model copies unchanged (corpus places kept in Spanish, among
# transformer_tf.augment.SAME_IN_SPANISH; Boston is the corpus' most frequent place): the
# stand-ins that carry a place through the model (with_stand_ins)
STAND_INS = ("Boston", "Chicago", "Denver", "Dallas", "Houston", "Miami")
#: :func:`switchable_places`' cache file, in ``$XDG_CACHE_HOME/transformer_tf/``; its format's version
PLACES_CACHE = "places.json"
PLACES_CACHE_VERSION = 1


def candidate_places():
    """``{english: spanish}`` of the gazetteer's entries of :data:`SWITCH_KINDS` whose Spanish form differs."""
    return {p.english: p.spanish for p in gazetteer() if p.kind in SWITCH_KINDS and p.differs}


def _first_names():
    from faker import Faker  # pinned in setup.cfg (the name augmentation's)

    names = set()
    for locale in NAME_LOCALES:
        provider = next(p for p in Faker(locale).providers if type(p).__module__.startswith("faker.providers.person"))
        for attribute in ("first_names", "first_names_male", "first_names_female"):
            names.update(getattr(provider, attribute, ()))
    return names


def _word_pattern(forms):
    """A whole-word, case-sensitive match of any of ``forms``, the longest first (Mexico City before Mexico)."""
    return re.compile(r"(?<![\w'’-])(" + "|".join(map(re.escape, sorted(forms, key=len, reverse=True))) + r")(?![\w-])")


def find_collisions(pairs, taught=TAUGHT):
    """The candidate places to leave alone, read off a model's training pairs.

    Args:
        pairs: the ``(english, spanish)`` pairs a model was trained on (its training split).
        taught: pairs from which on a place counts as known to the model.

    Returns:
        ``{english: reason}``: ``"lower-case word"`` when the place's lower-case form stands
        as a word (or phrase) on the English side (``canary``); ``"first name"`` when it is
        a first name of Faker's English locales (``Jordan``); ``"taught by N pairs"`` when
        ``N ≥ taught`` pairs hold its English form on the English side and its Spanish form
        on the Spanish side (Japan … Japón): the model has learnt it, and a Spanish form in
        an English sentence is input it never saw.
    """
    candidates = candidate_places()
    lower = {english.lower(): english for english in candidates}
    lower_pattern, place_pattern = _word_pattern(lower), _word_pattern(candidates)
    found_lower, counts = set(), dict.fromkeys(candidates, 0)
    for english, spanish in pairs:
        found_lower.update(lower[m] for m in lower_pattern.findall(english))
        for place in set(place_pattern.findall(english)):
            counts[place] += bool(_whole_word(candidates[place]).search(spanish))
    first_names = _first_names()
    found = {}
    for english in candidates:
        if english in found_lower:
            found[english] = "lower-case word"
        elif english in first_names:
            found[english] = "first name"
        elif counts[english] >= taught:
            found[english] = f"taught by {counts[english]} pairs"
    return dict(sorted(found.items()))


def training_pairs(checkpoint_dir):
    """The training split of the model folder's run (:func:`transformer_tf.corpus.training_split`)."""
    from transformer_tf.config import TrainConfig
    from transformer_tf.corpus import training_split

    return training_split(TrainConfig.load(checkpoint_dir))


def write_collisions(checkpoint_dir=DEFAULT_CHECKPOINT_DIR, path=COLLISIONS):
    """Write :func:`find_collisions` of a model folder's training split to ``path``.

    ``python -c "from transformer_tf.code_switch import write_collisions; write_collisions()"``
    writes the shipped list from the shipped model's (``spa.txt`` where its config says).
    """
    found = find_collisions(training_pairs(checkpoint_dir))
    rows = "".join(f"{english}\t{reason}\n" for english, reason in found.items())
    Path(path).write_text("english\treason\n" + rows, encoding="utf-8")
    return found


def read_collisions(path=COLLISIONS):
    """``{english: reason}`` of a list :func:`write_collisions` wrote."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise TransformerTFError(
            f"place collisions {path}: cannot read it ({err.strerror}); reinstall the package or rebuild it "
            f"with transformer_tf.code_switch.write_collisions(CORPUS)."
        ) from err
    return dict(line.split("\t", 1) for line in lines[1:] if line.strip())


@functools.lru_cache(maxsize=1)
def switchable_places():
    """``{english: spanish}`` that :func:`code_switch` replaces: the candidates less the collisions.

    Built on first use from the gazetteer (CLDR's and iso-codes' names: ~0.15 s, a tenth of a
    ``translate --file`` of 3,000 sentences) and kept in the user's cache (:data:`PLACES_CACHE`)
    with its :func:`places_stamp`: later processes read it in a millisecond. A cache whose stamp
    differs (Babel or pycountry upgraded or reinstalled, the collisions or this code changed), or
    that is damaged, is built again; one that cannot be written is only not kept.
    """
    stamp, path = places_stamp(), files.user_cache_dir("transformer_tf") / PLACES_CACHE
    cached = _read_places_cache(path, stamp)
    if cached is not None:
        return cached
    collisions = read_collisions()
    places = {english: spanish for english, spanish in candidate_places().items() if english not in collisions}
    with contextlib.suppress(OSError):  # a read-only or full cache: the next process builds them again
        path.parent.mkdir(parents=True, exist_ok=True)
        files.write_file_atomically(path, lambda f: json.dump({"stamp": stamp, "places": places}, f))
    return places


def places_stamp():
    """What :func:`switchable_places` is made from: where Babel (CLDR) and pycountry (iso-codes) are
    installed, with their ``__init__.py``'s size and modification time (an upgrade or reinstall
    rewrites it; found without importing them, or ``importlib.metadata``: ~20 ms), and the SHA-256
    of the collisions list and of the two modules that build the places."""
    from importlib.util import find_spec

    def installed(package):
        spec = find_spec(package)
        if spec is None or not spec.origin:
            return None
        where = Path(spec.origin).stat()
        return [spec.origin, where.st_size, where.st_mtime_ns]

    sources = (COLLISIONS, Path(__file__).resolve(), Path(__file__).resolve().with_name("places.py"))
    return {
        "format": PLACES_CACHE_VERSION,
        "babel": installed("babel"),
        "pycountry": installed("pycountry"),
        "sha256": {path.name: files.file_sha256(path) for path in sources},
    }


def _read_places_cache(path, stamp):
    """The places of the cache file ``path`` if it was made from ``stamp``, else None."""
    try:
        cached = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, unreadable, not JSON
        return None
    places = cached.get("places") if isinstance(cached, dict) and cached.get("stamp") == stamp else None
    if not isinstance(places, dict) or not all(isinstance(v, str) for v in places.values()):
        return None
    return places


@functools.lru_cache(maxsize=1)
def _switchable_pattern():
    return _word_pattern(switchable_places())


def _part_of_a_longer_name(sentence, match):
    after = re.match(r" ([A-Z])", sentence[match.end() :])
    before = re.search(r"(?<![\w'’-])([A-Za-z][\w'’-]*) $", sentence[: match.start()])  # a word, no comma
    if after:
        return True
    if not before or not before.group(1)[0].isupper():
        return False
    return bool(sentence[: before.start()].strip())  # capitalised but not the first word: a name


def code_switch(sentence, places=None):
    """``sentence`` with each safe gazetteer place in its Spanish form (the module's rules).

    Args:
        sentence: one English sentence.
        places: ``{english: spanish}`` to switch; None: :func:`switchable_places`.

    Returns:
        the sentence, unchanged when it holds no such place.
    """
    if places is None:
        places, pattern = switchable_places(), _switchable_pattern()
    else:
        pattern = _word_pattern(places) if places else None
    if pattern is None:
        return sentence
    return pattern.sub(
        lambda m: m.group(0) if _part_of_a_longer_name(sentence, m) else places[m.group(1)],
        sentence,
    )


def with_stand_ins(sentence):
    """``sentence`` with each place :func:`code_switch` would switch replaced by a stand-in
    city of :data:`STAND_INS` that the sentence does not hold (past the sixth place, by its
    Spanish form), and which stand-in is which place.

    Returns:
        ``(sentence for the model, {stand_in: spanish})``:
        ``"From Berlin to Warsaw."`` → ``("From Boston to Chicago.", {"Boston": "Berlín", "Chicago": "Varsovia"})``.
    """
    if _switchable_pattern().search(sentence) is None:  # most sentences hold no place: nothing to look for
        return sentence, {}
    places, free, stand_ins = switchable_places(), [c for c in STAND_INS if not _whole_word(c).search(sentence)], {}

    def replace(match):
        if _part_of_a_longer_name(sentence, match):
            return match.group(0)
        spanish = places[match.group(1)]
        if not free:
            return spanish
        stand_ins[free[0]] = spanish
        return free.pop(0)

    return _switchable_pattern().sub(replace, sentence), stand_ins


def restore_places(translation, stand_ins):
    """The model's ``translation`` with each stand-in replaced by its place's Spanish form, or
    None when a stand-in is not in it exactly once (then the caller falls back on
    :func:`code_switch`)."""
    return replace_once(translation, {_whole_word(stand_in): spanish for stand_in, spanish in stand_ins.items()})


@functools.lru_cache(maxsize=1024)
def _whole_word(word):
    """``word`` where it stands as a whole word (not inside a longer or a hyphenated one)."""
    return re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])")
