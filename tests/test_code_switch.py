"""The place pre-pass (code-switching of the source, with stand-ins): which places it writes in
Spanish, which it leaves alone and why, and that a translator with ``places=True`` carries the
Spanish form."""

import json

import numpy as np
import pytest

import transformer_tf.code_switch as code_switch_module
from transformer_tf.code_switch import (
    COLLISIONS,
    PLACES_CACHE,
    STAND_INS,
    SWITCH_KINDS,
    TAUGHT,
    candidate_places,
    code_switch,
    find_collisions,
    places_stamp,
    read_collisions,
    restore_places,
    switchable_places,
    training_pairs,
    with_stand_ins,
)
from transformer_tf.config import DEFAULT_CHECKPOINT_DIR, PLACES
from transformer_tf.places import gazetteer
from transformer_tf.tokenizer import END_ID, START_ID


@pytest.mark.parametrize(
    "english, switched",
    [
        ("They live in Warsaw.", "They live in Varsovia."),
        ("The train from Berlin to Warsaw is late.", "The train from Berlín to Varsovia is late."),
        ("Berlin is big.", "Berlín is big."),  # at the start of the sentence
        ("In Vienna, it rained.", "In Viena, it rained."),  # after the sentence's first word
        ("Vienna, Prague and Lisbon.", "Viena, Praga and Lisboa."),  # a comma is not a longer name
        ("I flew from Mexico City to Mexico.", "I flew from Ciudad de México to México."),  # longest first
        ("He lives in British Columbia.", "He lives in Columbia Británica."),  # an iso-codes subdivision
        ("Is Copenhagen's harbour big?", "Is Copenhague's harbour big?"),
    ],
)
def test_a_place_whose_spanish_form_differs_is_written_in_spanish(english, switched):
    assert code_switch(english) == switched


@pytest.mark.parametrize(
    "english",
    [
        "I like French food.",  # a language is also the adjective: never switched
        "Our daughter is learning Polish and Danish.",
        "She is German.",
        "They moved to warsaw.",  # case-sensitive
        "The Berlin-based firm hired Warsawians.",  # whole words, not hyphenated ones
        "We walked along the Berlin Wall.",  # followed by a capitalised word: a longer name
        "I met Tom Berlin yesterday.",  # preceded by a capitalised word mid-sentence
        "Jordan was late again.",  # a first name (Faker's English locales)
        "A canary sings.",
        "Tom went to Japan and the United States.",  # the model learnt these from the corpus
        "Madrid and Budapest are capitals.",  # the same in Spanish: nothing to do
    ],
)
def test_languages_ambiguous_names_and_known_places_are_left_alone(english):
    assert code_switch(english) == english


def test_a_sentence_without_places_is_untouched():
    sentences = [
        "Tom is tired.",
        "I haven't seen Mary since Monday.",
        "Nice to meet you.",
        "Reading is fun.",
        "Turkey with cranberry sauce, please.",
        "She was born on July 4, 1986.",
        "",
    ]
    assert [code_switch(s) for s in sentences] == sentences


def test_only_safe_kinds_whose_spanish_form_differs_are_switched():
    kinds = {p.english: p for p in gazetteer()}
    places = switchable_places()
    assert len(places) > 300
    assert all(kinds[e].kind in SWITCH_KINDS and kinds[e].spanish == s != e for e, s in places.items())
    assert not set(places) & set(read_collisions())


def test_collisions_are_found_from_the_training_pairs_not_by_hand():
    pairs = [
        ("A canary sings.", "Un canario canta."),  # the lower-case word
        ("Jordan is here.", "Jordan está aquí."),  # a first name, whatever the corpus
        ("I live in Warsaw.", "Vivo en Varsovia."),
    ] + [("I went to Japan.", "Fui a Japón.")] * 3
    found = find_collisions(pairs, taught=3)
    assert found["Canary"] == "lower-case word" and found["Jordan"] == "first name"
    assert found["Japan"] == "taught by 3 pairs"
    assert "Warsaw" not in found  # one pair: not learnt
    assert "Japan" not in find_collisions(pairs, taught=4)


@pytest.mark.slow  # reads and splits spa.txt: ~20 s
def test_the_shipped_collision_list_is_what_the_shipped_models_training_split_gives(shared_data):
    pairs = training_pairs(DEFAULT_CHECKPOINT_DIR)  # its config.json names ../shared/data/spa-eng/spa.txt
    assert len(pairs) == 107_112
    found = find_collisions(pairs)
    assert found == read_collisions()
    assert all(int(reason.split()[2]) >= TAUGHT for reason in found.values() if reason.startswith("taught"))


class _CopyTokenizer:
    """Characters as ids (a stand-in): encode then decode gives the text back."""

    vocab_size = 512

    def encode(self, texts):
        return [[START_ID] + [ord(c) for c in text] + [END_ID] for text in texts]

    def decode(self, ids):
        return "".join(chr(i) for i in ids if i > END_ID)


def test_places_go_to_the_model_as_stand_ins_and_come_back_in_spanish():
    assert with_stand_ins("From Berlin to Warsaw.") == (
        "From Boston to Chicago.",
        {"Boston": "Berlín", "Chicago": "Varsovia"},
    )
    assert with_stand_ins("Boston and Berlin.") == ("Boston and Chicago.", {"Chicago": "Berlín"})  # Boston is taken
    assert with_stand_ins("Tom is tired.") == ("Tom is tired.", {})
    seven = "Vienna, Prague, Lisbon, Athens, Moscow, Brussels and Warsaw."
    source, stand_ins = with_stand_ins(seven)
    assert list(stand_ins) == list(STAND_INS) and source.endswith("and Varsovia.")  # no stand-in left
    assert (
        restore_places("De Boston a Chicago.", {"Boston": "Berlín", "Chicago": "Varsovia"}) == "De Berlín a Varsovia."
    )
    assert restore_places("De Bostonia a Chicago.", {"Boston": "Berlín", "Chicago": "Varsovia"}) is None  # lost
    assert restore_places("Boston, Boston.", {"Boston": "Berlín"}) is None  # doubled


class _StandInTranslator:
    """A :class:`Translator` on a stand-in model that copies its input, as ours does names;
    ``garble``: a stand-in it writes wrong (then the translator falls back on code-switching)."""

    def __new__(cls, places, garble=None):
        from transformer_tf.translate import Translator

        tokenizer = _CopyTokenizer()

        class CopyTranslator(Translator):
            def generate(self, inp, beam=1):
                texts = [tokenizer.decode(row) for row in np.asarray(inp)]
                if garble:
                    texts = [t.replace(garble, garble + "ia") for t in texts]
                rows = [ids[1:] for ids in tokenizer.encode(texts)]
                width = max(map(len, rows))
                return np.array([row + [0] * (width - len(row)) for row in rows])

        return CopyTranslator(None, tokenizer, tokenizer, max_tokens=80, exact=True, places=places)


def test_a_translator_with_places_writes_the_spanish_form_and_leaves_other_sentences_alone():
    sentences = ["They live in Warsaw.", "Tom is tired.", "I like French food.", ""]
    assert _StandInTranslator(places=False).translate(sentences, progress=False) == sentences
    expected = ["They live in Varsovia.", *sentences[1:]]
    assert _StandInTranslator(places=True).translate(sentences, progress=False) == expected
    # the stand-in garbled: the sentence is translated again with the Spanish form in the input
    assert _StandInTranslator(places=True, garble="Boston").translate(sentences, progress=False) == expected


@pytest.mark.slow  # restores the shipped model
def test_the_shipped_model_with_the_place_flag_writes_the_spanish_form(capsys):
    from transformer_tf.cli import main

    sentences = ["They live in Warsaw.", "Tom is tired."]
    assert main(["translate", "--no-places", *sentences]) == 0
    without = capsys.readouterr().out.splitlines()
    assert main(["translate", "--places", *sentences]) == 0
    with_places = capsys.readouterr().out.splitlines()
    assert "Varsovia" not in without[0] and "Varsovia" in with_places[0]
    assert with_places[1] == without[1]  # no place: the same translation


def test_the_place_flag_is_on_translate_evaluate_and_serve():
    from transformer_tf.cli import build_parser

    parser = build_parser()
    for command in (["translate", "x"], ["evaluate"], ["serve"]):
        assert parser.parse_args(command).places is PLACES
        assert parser.parse_args([*command, "--places"]).places is True
        assert parser.parse_args([*command, "--no-places"]).places is False


@pytest.fixture
def places_cache(tmp_path, monkeypatch):
    """A fresh user cache for :func:`switchable_places`; the in-process memo cleared before and after."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    switchable_places.cache_clear()
    yield tmp_path / "cache" / "transformer_tf" / PLACES_CACHE
    switchable_places.cache_clear()


def _built_places():
    collisions = read_collisions()
    return {english: spanish for english, spanish in candidate_places().items() if english not in collisions}


def test_the_switchable_places_are_built_once_then_read_from_the_users_cache(places_cache, monkeypatch):
    built = switchable_places()
    assert list(built.items()) == list(_built_places().items())  # the same places in the same order
    assert json.loads(places_cache.read_text())["stamp"] == places_stamp()
    switchable_places.cache_clear()
    monkeypatch.setattr(code_switch_module, "candidate_places", _no_gazetteer)  # a second process: no build
    assert list(switchable_places().items()) == list(built.items())


def _no_gazetteer():
    raise AssertionError("the gazetteer was built although the cache is fresh")


@pytest.mark.parametrize(
    "damage",
    [
        lambda cached: json.dumps({**cached, "stamp": {**cached["stamp"], "babel": "0.0"}}),  # Babel upgraded
        lambda cached: json.dumps({**cached, "places": {"Warsaw": "Boston"}})[:40],  # cut short
        lambda cached: json.dumps({**cached, "places": ["Warsaw"]}),  # not a mapping
        lambda cached: "",
    ],
    ids=["stale", "truncated", "wrong-shape", "empty"],
)
def test_a_stale_or_damaged_places_cache_is_built_again(places_cache, damage):
    built = switchable_places()
    cached = json.loads(places_cache.read_text())
    places_cache.write_text(damage(cached))
    switchable_places.cache_clear()
    assert switchable_places() == built
    assert json.loads(places_cache.read_text()) == cached  # and written again


def test_a_changed_collision_list_makes_the_places_cache_stale(places_cache, tmp_path, monkeypatch):
    switchable_places()
    fewer = tmp_path / "collisions.tsv"
    fewer.write_text(COLLISIONS.read_text(encoding="utf-8") + "Warsaw\tfirst name\n", encoding="utf-8")
    monkeypatch.setattr(code_switch_module, "COLLISIONS", fewer)
    monkeypatch.setattr(code_switch_module, "read_collisions", lambda: read_collisions(fewer))
    switchable_places.cache_clear()
    assert "Warsaw" not in switchable_places()


def test_an_unwritable_places_cache_still_gives_the_places(tmp_path, monkeypatch):
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "not-a-folder"))
    switchable_places.cache_clear()
    try:
        assert switchable_places()["Warsaw"] == "Varsovia"
    finally:
        switchable_places.cache_clear()
