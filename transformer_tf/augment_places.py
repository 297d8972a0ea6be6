"""Training pairs that teach place names whose Spanish form differs (Berlin → Berlín).

:func:`transformer_tf.augment.swap_names` replaces a name by another *kept as it is on
both sides*, which is right for Tom and Sapporo and wrong for Munich. This augmentation
replaces a place (or a language) found on both sides of a pair, in its English form on
the English side and its Spanish form on the Spanish side, by another entry of the same
kind from the gazetteer (:mod:`transformer_tf.places`), again in its English form on the
English side and its Spanish form on the Spanish side:

    I live in Boston.   Vivo en Boston.     →   I live in Warsaw.   Vivo en Varsovia.
    Tom speaks French.  Tom habla francés.  →   Tom speaks Polish.  Tom habla polaco.

What stands in a pair: a gazetteer entry whose English form is in the English side and
whose Spanish form is in the Spanish side as often (Japan … Japón), or a place of the
corpus kept unchanged in Spanish (Boston; :func:`transformer_tf.augment.name_words`),
which counts as a city. A copy case stays possible: a city is drawn from the places that
keep their form (the gazetteer's and :data:`transformer_tf.augment.SAME_IN_SPANISH`)
with probability ``copy_share``.

Countries and regions are drawn only among one-word names: "the United Kingdom" needs an
article in both languages ("el Reino Unido") that a swap cannot fix.
"""

import functools
import re

from transformer_tf.augment import SAME_IN_SPANISH, name_words
from transformer_tf.places import gazetteer


@functools.lru_cache(maxsize=1)
def replacement_pools():
    """``{kind: ((english, spanish), ...)}`` to draw replacements from: ``"city"`` (Spanish form
    differs), ``"city_copy"`` (kept), ``"country"``, ``"region"``, ``"language"``."""
    spanish = {p.english: p.spanish for p in gazetteer()}
    kept = [(c, c) for c in SAME_IN_SPANISH if spanish.get(c, c) == c]  # not Sydney: CLDR writes Sídney
    pools = {"city": [], "city_copy": kept, "country": [], "region": [], "language": []}
    for place in gazetteer():
        if place.kind == "city":
            pools["city" if place.differs else "city_copy"].append((place.english, place.spanish))
        elif place.kind == "language" or " " not in place.english:
            pools[place.kind].append((place.english, place.spanish))
    return {kind: tuple(sorted(set(entries))) for kind, entries in pools.items()}


def _count(form, text):
    return len(re.findall(rf"(?<![\w-]){re.escape(form)}(?![\w-])", text))


def _replace(text, mapping):
    pattern = re.compile(
        r"(?<![\w-])(" + "|".join(map(re.escape, sorted(mapping, key=len, reverse=True))) + r")(?![\w-])"
    )
    return pattern.sub(lambda m: mapping[m.group(1)], text)


def swap_places(pairs, share, rng, names=None, copy_share=0.3):
    """``share × len(pairs)`` copies of the pairs that hold a place or a language on both
    sides, each replaced consistently: English form on the English side, Spanish form on the
    Spanish side. Every such pair is copied once before any is copied twice.

    Args:
        pairs: ``(english, spanish)`` training pairs.
        share: how many copies to add, as a share of ``len(pairs)`` (none when no pair
            holds a place).
        rng: a ``random.Random``; the same state gives the same copies.
        names: :func:`transformer_tf.augment.name_words` of ``pairs`` (computed when None).
        copy_share: probability that a city is replaced by one kept unchanged in Spanish.

    Returns:
        list of new ``(english, spanish)`` pairs.
    """
    names = name_words(pairs) if names is None else names
    corpus_places = {w for w, kind in names.items() if kind == "place"}
    entries = {p.english: (p.spanish, p.kind) for p in gazetteer()}
    pattern = re.compile(
        r"(?<![\w-])("
        + "|".join(map(re.escape, sorted(set(entries) | corpus_places, key=len, reverse=True)))
        + r")(?![\w-])"
    )
    eligible = []
    for en, es in pairs:
        found = {}
        for word in set(pattern.findall(en)):
            spanish, kind = entries.get(word) or (word, "city")  # a corpus place (Boston) is a city
            if _count(word, en) == _count(spanish, es) > 0:
                found[word] = (spanish, kind)
        if found and _no_overlap(found):
            eligible.append((en, es, sorted(found.items())))
    wanted = round(share * len(pairs)) if eligible else 0
    chosen = []  # each eligible pair once before any twice
    while len(chosen) < wanted:
        chosen += rng.sample(eligible, min(len(eligible), wanted - len(chosen)))
    pools = replacement_pools()
    out = []
    for en, es, found in chosen:
        english_map, spanish_map = {}, {}
        for word, (spanish, kind) in found:
            pool = pools["city_copy"] if kind == "city" and rng.random() < copy_share else pools[kind]
            new_english, new_spanish = rng.choice(pool)
            english_map[word], spanish_map[spanish] = new_english, new_spanish
        out.append((_replace(en, english_map), _replace(es, spanish_map)))
    return out


def _no_overlap(found):
    """False when one found form is inside another's (Spanish forms included): a swap could
    not replace both consistently."""
    forms = [w for w in found] + [s for s, _ in found.values()]
    return not any(a != b and re.search(rf"(?<![\w-]){re.escape(a)}(?![\w-])", b) for a in forms for b in forms)
