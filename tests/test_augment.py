"""Augmentation of the training split: alignment kept, only training data touched, seeded."""

import re

import pytest

from transformer_tf.augment import augment_pairs, join_pairs, name_words, swap_names, swap_numbers
from transformer_tf.config import TrainConfig
from transformer_tf.data import read_pairs, split_pairs
from transformer_tf.train import training_pairs

CORPUS = [
    ("Tom is tired.", "Tom está cansado."),
    ("Tom likes Mary.", "A Tom le gusta Mary."),
    ("Mary lives in Boston.", "Mary vive en Boston."),
    ("I saw Tom in Boston.", "Vi a Tom en Boston."),
    ("It's 8:30.", "Son las 8:30."),
    ("She was born in 1986.", "Ella nació en 1986."),
    ("He has 12 sons.", "Él tiene 12 hijos."),
    ("I have three dogs.", "Tengo tres perros."),
    ("Where is the station?", "¿Dónde está la estación?"),
] * 30


def test_names_are_read_off_the_corpus_with_places_told_apart():
    names = name_words(CORPUS, min_count=5)
    assert names == {"Boston": "place", "Mary": "person", "Tom": "person"}


def test_a_swapped_name_is_the_same_on_both_sides_and_nothing_else_changes():
    import random

    names = {"Tom": "person", "Mary": "person", "Boston": "place"}
    name = re.compile(r"\b(Tom|Mary|Boston)\b")
    out = swap_names(CORPUS, 1.0, random.Random(0), names=names)
    assert len(out) == 4 * 30  # every pair with a name on both sides, once
    for en, es in out:
        matches = []
        for oe, os_ in set(CORPUS):
            # the original with its names as gaps; the rest must be unchanged on both sides
            fills_en, fills_es = _fill(name.split(oe)[::2], en), _fill(name.split(os_)[::2], es)
            if fills_en is not None and fills_es is not None:
                matches.append((name.findall(oe), fills_en, name.findall(os_), fills_es))
        assert len(matches) == 1, (en, es)
        names_en, fills_en, names_es, fills_es = matches[0]
        mapping = dict(zip(names_en, fills_en))
        assert len(mapping) == len(set(names_en)) and all(mapping[n] == f for n, f in zip(names_en, fills_en))
        assert [mapping[n] for n in names_es] == fills_es  # the same new name on both sides
        assert set(mapping.items()) - {(n, n) for n in mapping}  # and a new one


def _fill(frame, text):
    """The strings that fill the gaps of ``frame`` (the text split at the names) in ``text``."""
    pattern = "^" + "(.+?)".join(map(re.escape, frame)) + "$"
    match = re.match(pattern, text)
    return list(match.groups()) if match else None


def test_swapped_numbers_keep_their_shape_and_agree_on_both_sides():
    import random

    out = swap_numbers(CORPUS[:9], 20, random.Random(3))
    assert len(out) == 3 * 20  # 8:30, 1986 and 12 have the same numbers on both sides; "three" has none
    for en, es in out:
        numbers_en = re.findall(r"\d+(?::\d\d)?", en)
        assert numbers_en == re.findall(r"\d+(?::\d\d)?", es)
        template_en, template_es = re.sub(r"\d+(?::\d\d)?", "N", en), re.sub(r"\d+(?::\d\d)?", "N", es)
        assert (template_en, template_es) in {
            (re.sub(r"\d+(?::\d\d)?", "N", a), re.sub(r"\d+(?::\d\d)?", "N", b)) for a, b in CORPUS[:9]
        }
        for n in numbers_en:
            if ":" in n:
                hour, minute = map(int, n.split(":"))
                assert 0 <= hour <= 23 and 0 <= minute < 60
            elif template_en.startswith("She was born"):
                assert 1900 <= int(n) <= 2030
            else:
                assert len(n) == 2


def test_joined_examples_are_whole_pairs_on_both_sides():
    import random

    out = join_pairs(CORPUS, 0.2, random.Random(0))
    assert len(out) == round(0.2 * len(CORPUS))
    english_of = dict(CORPUS)
    for en, es in out:
        parts = re.findall(r"[^.!?]+[.!?]", en)
        assert 2 <= len(parts) <= 3
        assert es == " ".join(english_of[p.strip()] for p in parts)


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data():
    first, counts = augment_pairs(CORPUS, seed=7, names=0.5, numbers=2, concat=0.2)
    again, _ = augment_pairs(CORPUS, seed=7, names=0.5, numbers=2, concat=0.2)
    other, _ = augment_pairs(CORPUS, seed=8, names=0.5, numbers=2, concat=0.2)
    assert first == again and first != other
    assert first[: len(CORPUS)] == CORPUS and len(first) == len(CORPUS) + sum(counts.values())


def test_only_the_training_split_is_augmented(shared_data):
    pairs = read_pairs(shared_data / "spa-eng" / "spa.txt")[:3000]
    splits = split_pairs(pairs)
    before = {k: list(v) for k, v in splits.items()}
    config = TrainConfig(augment=True)
    train_pairs, added = training_pairs(config, splits)
    assert splits == before  # validation and test untouched (and train itself not modified)
    assert train_pairs[: len(splits["train"])] == splits["train"] and sum(added.values()) > 0
    assert len(train_pairs) == len(splits["train"]) + sum(added.values())
    plain, none_added = training_pairs(TrainConfig(augment=False), splits)
    assert plain == splits["train"] and none_added == {}


@pytest.mark.parametrize("text", ["Anthony Hopkins", "Yılmaz Güneş", "東京 🎉 مرحبا"])
def test_joint_tokenizer_never_produces_unknown_and_round_trips(text):
    from transformer_tf.tokenizer import UNK_ID, SubwordTokenizer

    joint = SubwordTokenizer.train([t for pair in CORPUS for t in pair], vocab_size=320, byte_fallback=True)
    ids = joint.encode(text)
    assert UNK_ID not in ids
    assert joint.decode(ids) == text
