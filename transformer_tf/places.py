"""A gazetteer of place names and their Spanish forms, read offline from CLDR and iso-codes.

The corpus has few places whose Spanish name differs from the English one (Germany →
Alemania, Munich → Múnich), and the name augmentation teaches the model to *copy*
capitalised names. This gazetteer lists, for the places and languages that two maintained
data sets translate, the English form and the Spanish form; where they are the same
(``Casablanca``), the place stays a copy case.

Sources (both installed from PyPI, pinned in ``setup.cfg``; nothing is downloaded at run time):

- **CLDR**, the Unicode Common Locale Data Repository, through **Babel** (``babel.Locale``):
  the Spanish (``es``) and English names of territories (``Locale.territories``: countries
  and continents), of languages (``Locale.languages``, ISO 639-1 codes only), and the
  exemplar city of each time zone (``Locale.time_zones[tz]["city"]``; English has an entry
  only where the zone id's spelling is not the name, else the name is read off the id:
  ``Europe/Berlin`` → Berlin, Spanish Berlín). Licence: CLDR data under the Unicode License
  v3 (``babel/locale-data``); Babel itself BSD-3-Clause.
- **iso-codes** (Debian's ISO 3166-2 list with its gettext translations), through
  **pycountry** (``pycountry.subdivisions`` and the ``iso3166-2`` catalog of
  ``pycountry.LOCALES_DIR``): subdivisions whose Spanish translation differs (British
  Columbia → Columbia Británica, Salzburg → Salzburgo). Licence: iso-codes LGPL-2.1+,
  pycountry LGPL-2.1.

Kept: names in plain Latin letters (an English form with no diacritics in a subdivision's
case, since iso-codes gives local spellings such as ``Kābul``), without parentheses,
commas or ampersands; a Spanish form "A (B)" keeps its first name. An English form that
two entries translate differently is dropped as ambiguous. Nationalities are not in
either data set; languages double as the masculine adjective (French → francés).
"""

import dataclasses
import functools
import re

KINDS = ("city", "country", "region", "language")
_ENGLISH = re.compile(r"^[A-Z][A-Za-z'’.-]*(?: [A-Z][A-Za-z'’.-]*| (?:and|of|de|del|la|el)){0,4}$")
_SPANISH = re.compile(r"^[A-ZÁÉÍÓÚÑÜ][\wÁÉÍÓÚÑÜáéíóúñü'’.-]*(?: [\wÁÉÍÓÚÑÜáéíóúñü'’.-]+){0,5}$")
_LANGUAGE = re.compile(r"^[a-záéíóúñü]+$")
# CLDR numeric region codes of the continents and large regions (not "World" or "Unknown Region")
_CONTINENTS = ("002", "019", "142", "150", "009", "005", "021", "013", "029", "053", "057", "145", "151", "155", "039")


@dataclasses.dataclass(frozen=True)
class Place:
    """One gazetteer entry: ``english`` and ``spanish`` forms, its ``kind`` (one of
    :data:`KINDS`) and ``source`` (``"cldr"`` or ``"iso-codes"``)."""

    english: str
    spanish: str
    kind: str
    source: str

    @property
    def differs(self):
        """True when Spanish writes it differently (Berlin → Berlín); False for a copy case."""
        return self.english != self.spanish


def _cldr_cities():
    from babel import Locale  # CLDR, offline (pinned in setup.cfg)

    english_zones, spanish_zones = Locale("en").time_zones, Locale("es").time_zones
    for zone, names in spanish_zones.items():
        spanish = names.get("city")
        if not spanish or zone.startswith("Etc/") or "/" not in zone:
            continue
        english = english_zones.get(zone, {}).get("city") or zone.rsplit("/", 1)[-1].replace("_", " ")
        yield english, spanish.split(" (")[0], "city"


def _cldr_territories_and_languages():
    from babel import Locale

    english, spanish = Locale("en"), Locale("es")
    for code, name in spanish.territories.items():
        if (len(code) == 2 and code.isalpha() and code not in ("ZZ", "EU", "EZ", "UN", "QO")) or code in _CONTINENTS:
            yield english.territories[code], name, "country" if len(code) == 2 else "region"
    for code, name in spanish.languages.items():
        if len(code) == 2 and code in english.languages:
            yield english.languages[code], name, "language"


def _iso_subdivisions():
    import gettext

    import pycountry  # iso-codes, offline (pinned in setup.cfg)

    catalog = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["es"])
    for subdivision in pycountry.subdivisions:
        spanish = catalog.gettext(subdivision.name)
        if spanish != subdivision.name and subdivision.name.isascii():
            yield subdivision.name, spanish.split(" (")[0], "region"


def _usable(english, spanish, kind):
    if kind == "language":
        return bool(_LANGUAGE.match(spanish)) and bool(re.match(r"^[A-Z][a-z]+$", english))
    return bool(_ENGLISH.match(english)) and bool(_SPANISH.match(spanish)) and "Unknown" not in english


@functools.lru_cache(maxsize=1)
def gazetteer():
    """Every usable entry of the sources above, sorted by kind then English form.

    Returns:
        tuple of :class:`Place`; each English form once (CLDR's entry wins over iso-codes').
    """
    found = {}
    ambiguous = set()
    sources = (
        ("cldr", _cldr_cities()),
        ("cldr", _cldr_territories_and_languages()),
        ("iso-codes", _iso_subdivisions()),
    )
    for source, entries in sources:
        for english, spanish, kind in entries:
            english, spanish = english.replace("’", "'").strip(), spanish.replace("’", "'").strip()
            if not _usable(english, spanish, kind):
                continue
            seen = found.get(english)
            if seen is None:
                found[english] = Place(english, spanish, kind, source)
            elif seen.spanish != spanish and seen.source == source:
                ambiguous.add(english)  # e.g. "Saint George" of several countries' parishes
    return tuple(
        sorted((p for e, p in found.items() if e not in ambiguous), key=lambda p: (KINDS.index(p.kind), p.english))
    )


def spanish_form(english):
    """The Spanish form of a place or language in the gazetteer, or None when it has none."""
    return _by_english().get(english)


@functools.lru_cache(maxsize=1)
def _by_english():
    return {p.english: p.spanish for p in gazetteer()}


def summary():
    """``{kind: (entries, entries whose Spanish form differs)}`` of the gazetteer."""
    out = {}
    for place in gazetteer():
        total, differs = out.get(place.kind, (0, 0))
        out[place.kind] = (total + 1, differs + place.differs)
    return out
