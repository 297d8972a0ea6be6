"""Training data that teaches copying: names, numbers and longer inputs.

The corpus is Anki/Tatoeba sentences: short, about Tom and Mary, in Boston. A model
trained on it alone never learns that a name it has not seen must be *copied*, nor that
"July 4, 1986" keeps its digits, nor what a second sentence looks like. Three seeded
augmentations of the **training split only** add what it lacks:

- **names**: where a name stands on both sides of a pair (``Tom`` … ``Tom``), a copy of
  the pair with that name replaced *consistently on both sides* by a name from Faker
  (first names, full names or surnames of many Latin-script locales); a place that stays
  unchanged in Spanish (``Boston``) by another such place;
- **numbers**: where the same numbers stand on both sides (``8:30``, ``1986``, ``30``),
  copies with each number replaced consistently by another of the same shape (a time by
  a time, a year by a year, n digits by n digits);
- **length**: examples made by joining 2–3 random pairs, so the model meets long and
  multi-sentence inputs (``TrainConfig.max_tokens`` is raised to fit them).

Which words are names is read off the corpus, not listed by hand: a word that is written
capitalised inside English sentences (not only at their start), almost never in lower
case, and that stands unchanged in the Spanish translation whenever it is in the English
one. Places among them are those that mostly follow "in/to/from/at".

Every function takes a seed (or a ``random.Random``): the same seed gives the same data.
"""

import collections
import functools
import random
import re

# Latin-script locales of Faker: names from many languages the corpus never has.
NAME_LOCALES = (
    "en_US",
    "en_GB",
    "es_ES",
    "es_MX",
    "fr_FR",
    "de_DE",
    "it_IT",
    "pt_BR",
    "pl_PL",
    "nl_NL",
    "sv_SE",
    "cs_CZ",
    "ro_RO",
    "hu_HU",
    "fi_FI",
    "tr_TR",
    "id_ID",
    "vi_VN",
    "sw",
    "yo_NG",
    "en_IN",
    "fil_PH",
    "et_EE",
    "hr_HR",
    "sk_SK",
    "lt_LT",
    "da_DK",
)
# Cities written the same in Spanish as in English (no accent or Spanish exonym).
SAME_IN_SPANISH = (
    "Boston",
    "Chicago",
    "Madrid",
    "Barcelona",
    "Sevilla",
    "Valencia",
    "Toronto",
    "Sydney",
    "Dallas",
    "Denver",
    "Seattle",
    "Manchester",
    "Liverpool",
    "Glasgow",
    "Oslo",
    "Helsinki",
    "Lima",
    "Santiago",
    "Caracas",
    "Quito",
    "Nairobi",
    "Lagos",
    "Osaka",
    "Sapporo",
    "Nagoya",
    "Yokohama",
    "Bangkok",
    "Manila",
    "Mumbai",
    "Delhi",
    "Melbourne",
    "Auckland",
    "Vancouver",
    "Montreal",
    "Houston",
    "Phoenix",
    "Atlanta",
    "Detroit",
    "Miami",
    "Orlando",
    "Austin",
    "Bilbao",
    "Granada",
    "Zaragoza",
    "Porto",
    "Leeds",
    "Bremen",
    "Dresden",
    "Graz",
    "Verona",
    "Kobe",
    "Busan",
    "Incheon",
    "Tijuana",
    "Monterrey",
    "Guadalajara",
    "Medellín",
    "Cali",
    "Cusco",
    "Valparaíso",
    "Rosario",
    "Córdoba",
    "Mendoza",
    "Asunción",
)
_LATIN_NAME = re.compile(r"^[A-Za-zÀ-ÖØ-öø-ÿĀ-ſ][A-Za-zÀ-ÖØ-öø-ÿĀ-ſ'’ .-]*$")
_WORD = re.compile(r"\b[A-Z][a-z]+\b")
_NUMBER = re.compile(r"(?<![\d.,:])\d{1,2}:\d\d(?![\d.,:]\d)|(?<![\d.,:])\d+(?![\d.,:]?\d)")
_PLACE_PREPOSITIONS = {"in", "to", "from", "at"}


def name_words(pairs, min_count=20):
    """Names of the corpus, read off the pairs: ``{"Tom": "person", "Boston": "place", ...}``.

    A word counts when it is capitalised inside English sentences at least ``min_count``
    times, lower case at most 5% of its uses, rarely after another capitalised word (the
    "York" of "New York" is no name of its own), and stands in the Spanish side of at
    least 80% of the pairs whose English side has it ("Mary" is "María" in the rest).
    """
    inner, lower = collections.Counter(), collections.Counter()
    after_preposition, after_capital = collections.Counter(), collections.Counter()
    for en, _ in pairs:
        words = re.findall(r"[A-Za-z]+", en)
        for i, word in enumerate(words):
            if i > 0 and word[0].isupper() and word[1:].islower():
                inner[word] += 1
                after_preposition[word] += words[i - 1].lower() in _PLACE_PREPOSITIONS
                after_capital[word] += words[i - 1][0].isupper()  # "New York": not a name alone
            elif word.islower():
                lower[word.capitalize()] += 1
    candidates = {
        w
        for w, n in inner.items()
        if n >= min_count and lower[w] <= 0.05 * n and after_capital[w] <= n / 2 and len(w) > 1
    }
    both, english = collections.Counter(), collections.Counter()
    for en, es in pairs:
        for word in candidates.intersection(_WORD.findall(en)):
            english[word] += 1
            both[word] += re.search(rf"\b{word}\b", es) is not None
    return {
        w: "place" if after_preposition[w] > inner[w] / 2 else "person"
        for w in sorted(candidates)
        if both[w] >= 0.8 * english[w]
    }


@functools.lru_cache(maxsize=1)
def _fakers():
    """One Faker per locale (made once: making them is the slow part)."""
    from faker import Faker  # a maintained generator of names in many locales

    return {locale: Faker(locale) for locale in NAME_LOCALES}


def name_generator(rng):
    """Faker's generators, each reseeded from ``rng``: the names drawn next depend on
    ``rng``'s state alone."""
    fakers = _fakers()
    for fake in fakers.values():
        fake.seed_instance(rng.getrandbits(32))
    return fakers


def random_name(rng, fakers, kind="person"):
    """A Latin-script name drawn from Faker: a first name, a full name or a surname
    (``kind="person"``), or a place that stays unchanged in Spanish (``kind="place"``)."""
    if kind == "place":
        return rng.choice(SAME_IN_SPANISH)
    for _ in range(20):
        fake = fakers[rng.choice(NAME_LOCALES)]
        form = rng.random()
        name = fake.first_name() if form < 0.5 else fake.name() if form < 0.8 else fake.last_name()
        name = re.sub(
            r"^((Mr|Mrs|Ms|Miss|Dr|Prof|Sr|Sra|Srta|Herr|Frau|Pan|Pani|Mme|Mlle|M|Ir|Drs|Bapak|Ibu|Bà|Ông)\.? )+",
            "",
            name,
            flags=re.IGNORECASE,
        ).strip()
        if _LATIN_NAME.match(name) and len(name) > 1:
            return name
    return rng.choice(("Ana", "Kofi", "Yuki", "Olga", "Ravi"))


def _replace_words(text, mapping):
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, mapping)) + r")\b")
    return pattern.sub(lambda m: mapping[m.group(1)], text)


def swap_names(pairs, share, rng, names=None):
    """Copies of ``share × len(pairs)`` pairs (at most one per pair) that hold a name on both
    sides, each name replaced consistently on both sides.

    Returns:
        list of new ``(english, spanish)`` pairs.
    """
    names = name_words(pairs) if names is None else names
    if not names:
        return []
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    eligible = []
    for en, es in pairs:
        found = set(pattern.findall(en))
        if found and all(len(re.findall(rf"\b{w}\b", en)) == len(re.findall(rf"\b{w}\b", es)) for w in found):
            eligible.append((en, es, sorted(found)))
    chosen = rng.sample(eligible, min(len(eligible), round(share * len(pairs))))
    fakers = name_generator(rng)
    out = []
    for en, es, found in chosen:
        mapping = {w: random_name(rng, fakers, names[w]) for w in found}
        out.append((_replace_words(en, mapping), _replace_words(es, mapping)))
    return out


def _like(number, rng):
    """A random number of the same shape: a time, a year, or as many digits."""
    if ":" in number:
        hour, minute = number.split(":")
        new_hour = rng.randint(0, 23) if int(hour) > 12 or hour.startswith("0") else rng.randint(1, 12)
        return f"{new_hour:0{len(hour)}d}:{rng.randrange(0, 60, 5):02d}"
    if len(number) == 4 and 1000 <= int(number) <= 2099:
        return str(rng.randint(1900, 2030))
    if len(number) == 1:
        return str(rng.randint(2, 9))  # "1" often agrees with a singular noun: avoid it
    return str(rng.randint(10 ** (len(number) - 1), 10 ** len(number) - 1))


def swap_numbers(pairs, copies, rng):
    """``copies`` copies of every pair whose two sides hold the same numbers (as written:
    digits, times like 10:30), each number replaced consistently on both sides.

    Returns:
        list of new ``(english, spanish)`` pairs.
    """
    out = []
    for en, es in pairs:
        numbers = _NUMBER.findall(en)
        if not numbers or sorted(numbers) != sorted(_NUMBER.findall(es)):
            continue
        for _ in range(copies):
            mapping = {n: _like(n, rng) for n in sorted(set(numbers))}
            out.append(tuple(_NUMBER.sub(lambda m, mapping=mapping: mapping[m.group(0)], text) for text in (en, es)))
    return out


def join_pairs(pairs, share, rng):
    """``share × len(pairs)`` examples, each 2 or 3 random pairs joined with a space on both
    sides (only pairs whose English ends a sentence with . ! or ?).

    Returns:
        list of new ``(english, spanish)`` pairs.
    """
    whole = [p for p in pairs if p[0].rstrip()[-1:] in ".!?"]
    out = []
    for _ in range(round(share * len(pairs)) if len(whole) >= 3 else 0):
        group = rng.sample(whole, rng.choice((2, 2, 3)))
        out.append((" ".join(en for en, _ in group), " ".join(es for _, es in group)))
    return out


def augment_pairs(pairs, seed=0, names=0.2, numbers=5, concat=0.1, words=None):
    """The training pairs followed by their augmented copies (a new list, same seed →
    same list).

    Args:
        pairs: the training split's ``(english, spanish)`` pairs.
        seed: seed of every random choice.
        names: share of ``len(pairs)`` to add as name-swapped copies.
        numbers: copies of each pair that holds the same numbers on both sides.
        concat: share of ``len(pairs)`` to add as joined 2–3-pair examples.
        words: :func:`name_words` of ``pairs`` where the caller has it already.

    Returns:
        ``(pairs + added, counts)``, counts ``{"names": n, "numbers": n, "joined": n}``.
    """
    rng = random.Random(seed)
    words = name_words(pairs) if words is None else words
    added = {
        "names": swap_names(pairs, names, rng, words),
        "numbers": swap_numbers(pairs, numbers, rng),
        "joined": join_pairs(pairs, concat, rng),
    }
    return list(pairs) + [p for extra in added.values() for p in extra], {k: len(v) for k, v in added.items()}
