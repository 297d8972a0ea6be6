"""The place-name gazetteer (CLDR, iso-codes), the place swap that writes Spanish forms, and
fine-tuning from a model folder."""

import dataclasses
import random
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from transformer_tf.augment_places import replacement_pools, swap_places
from transformer_tf.errors import TransformerTFError
from transformer_tf.places import KINDS, gazetteer, spanish_form, summary

CORPUS = [
    ("Mary lives in Boston.", "Mary vive en Boston."),
    ("I went to Japan.", "Fui a Japón."),
    ("Tom speaks French.", "Tom habla francés."),
    ("Berlin is big.", "Berlín es grande."),
    ("Tom is tired.", "Tom está cansado."),
    ("I like Paris.", "Me gusta París."),
    ("Japan is far.", "Japan queda lejos."),  # the Spanish side has no Japón: not a place pair
    ("It's 8:30.", "Son las 8:30."),
] * 10
NAMES = {"Boston": "place", "Mary": "person", "Tom": "person"}


def test_the_gazetteer_holds_spanish_forms_from_cldr_and_iso_codes_and_copy_cases():
    assert spanish_form("Berlin") == "Berlín" and spanish_form("London") == "Londres"
    assert spanish_form("Germany") == "Alemania" and spanish_form("French") == "francés"
    assert spanish_form("Europe") == "Europa"  # a CLDR continent
    assert spanish_form("British Columbia") == "Columbia Británica"  # iso-codes' subdivisions
    assert spanish_form("Argentina") == "Argentina"  # a copy case stays one
    assert spanish_form("Atlantis") is None
    places = gazetteer()
    assert len({p.english for p in places}) == len(places)  # one Spanish form per English form
    assert {p.source for p in places} == {"cldr", "iso-codes"} and {p.kind for p in places} == set(KINDS)
    counts = summary()
    assert counts["city"][1] >= 150 and counts["country"][0] >= 190 and counts["language"][0] >= 150
    assert not any("(" in p.spanish or "," in p.english for p in places)


def test_a_swapped_place_is_written_in_english_on_one_side_and_in_spanish_on_the_other():
    out = swap_places(CORPUS, 1.0, random.Random(0), names=NAMES)
    assert len(out) == len(CORPUS)  # the share is of all pairs; the 5 place pairs are reused
    frames = {
        "Mary lives in {}.": ("Mary vive en {}.", "city"),
        "I went to {}.": ("Fui a {}.", "country"),
        "Tom speaks {}.": ("Tom habla {}.", "language"),
        "{} is big.": ("{} es grande.", "city"),
        "I like {}.": ("Me gusta {}.", "city"),  # Paris: París in CLDR
    }
    by_english = {english: spanish for pool in replacement_pools().values() for english, spanish in pool}
    seen = set()
    for en, es in out:
        frame = next(f for f in frames if re.fullmatch(re.escape(f).replace(r"\{\}", "(.+)"), en))
        place = re.fullmatch(re.escape(frame).replace(r"\{\}", "(.+)"), en).group(1)
        spanish_frame, kind = frames[frame]
        assert es == spanish_frame.format(by_english[place])
        assert place in {english for english, _ in replacement_pools()[kind]} or kind == "city"
        seen.add(place != by_english[place])
    assert seen == {True, False}  # Spanish forms that differ, and copy cases


def test_the_place_swap_is_seeded_and_bounded_and_leaves_the_other_kinds_alone():
    first = swap_places(CORPUS, 0.25, random.Random(5), names=NAMES)
    assert first == swap_places(CORPUS, 0.25, random.Random(5), names=NAMES)
    assert len(first) == round(0.25 * len(CORPUS))
    assert swap_places([("Tom is tired.", "Tom está cansado.")], 0.5, random.Random(0), names=NAMES) == []
    from transformer_tf.config import TrainConfig
    from transformer_tf.train import training_pairs

    without, counts = training_pairs(TrainConfig(seed=3, augment_places=0.0), {"train": CORPUS})
    with_places, counts_places = training_pairs(TrainConfig(seed=3, augment_places=0.2), {"train": CORPUS})
    assert "places" not in counts and counts_places["places"] == round(0.2 * len(CORPUS))
    assert with_places[: len(without)] == without  # names, numbers, joined: the same copies


def test_place_counts_of_the_bench_count_each_occurrence_case_aside():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from place_names import GROUPS, place_counts, read_places

    places = {"Munich": "Múnich", "Berlin": "Berlín", "Oslo": "Oslo", "Cairo": "El Cairo"}
    inputs = ["From Munich to Berlin.", "Oslo and Cairo.", "Berlin, Berlin."]
    hypotheses = ["De Munich a Berlín.", "Oslo y el Cairo.", "Berlín, Berlin."]
    counts = place_counts(inputs, hypotheses, places)
    assert counts == {GROUPS[0]: (3, 4), GROUPS[1]: (0, 1), GROUPS[2]: (1, 1)}
    listed = read_places()
    assert listed["Berlin"] == "Berlín" and sum(e != s for e, s in listed.items()) >= 17


def test_a_start_of_another_split_is_refused_naming_the_field(trained_dir):
    from transformer_tf.config import TrainConfig, corpus_fingerprint
    from transformer_tf.finetune import check_start

    saved = TrainConfig.load(trained_dir)
    corpus = corpus_fingerprint(saved.data)
    folder, prefix = check_start(dataclasses.replace(saved, init_from=str(trained_dir)), corpus)
    assert folder == Path(trained_dir) and prefix.startswith(str(trained_dir))
    with pytest.raises(TransformerTFError, match=r"seed: 0 there, 1 here"):
        check_start(dataclasses.replace(saved, init_from=str(trained_dir), seed=1), corpus)


@pytest.mark.slow
def test_a_fine_tune_starts_from_the_folders_weights_and_tokenizer(trained_dir, tmp_path):
    from transformer_tf.checkpoints import restore_model
    from transformer_tf.config import TrainConfig
    from transformer_tf.finetune import load_start_weights
    from transformer_tf.train import build_model, train

    saved = TrainConfig.load(trained_dir)
    # trained_dir is a streaming ('hash') run: the place swap is refused there (tested below), so none here
    config = dataclasses.replace(saved, init_from=str(trained_dir), learning_rate=1e-4)
    _, start, tok, _ = restore_model(trained_dir)
    model = build_model(config, tok.vocab_size, tok.vocab_size)  # compiled, with its optimizer
    load_start_weights(model, trained_dir)
    x, y = np.array([[2, 40, 50, 3]]), np.array([[2, 60, 70]])
    np.testing.assert_array_equal(start((x, y), training=False), model((x, y), training=False))

    start_copy = tmp_path / "start"
    shutil.copytree(trained_dir, start_copy)
    train(dataclasses.replace(config, init_from=str(start_copy)), tmp_path / "ft", None, verbose=0)
    assert (tmp_path / "ft" / "tokenizer.model").read_bytes() == (start_copy / "tokenizer.model").read_bytes()
    tuned = TrainConfig.load(tmp_path / "ft")
    assert tuned.learning_rate == 1e-4 and tuned.init_from == str(start_copy)
    _, after, _, _ = restore_model(tmp_path / "ft")
    moved = [np.abs(a - b).max() for a, b in zip(after.get_weights(), start.get_weights())]
    assert 0 < max(moved) < 0.1  # trained onwards from the start, not from scratch


def test_the_place_swap_is_refused_on_the_streaming_split_and_kept_on_the_in_memory_one():
    from transformer_tf import train
    from transformer_tf.config import TrainConfig
    from transformer_tf.errors import TransformerTFError

    with pytest.raises(TransformerTFError, match="augment_places 0.3: the place swap needs split_method"):
        train._check_places_split(TrainConfig(augment_places=0.3, split_method="hash"))
    train._check_places_split(TrainConfig(augment_places=0.3, split_method="grouped-shuffle"))
    train._check_places_split(TrainConfig(augment_places=0.0, split_method="hash"))


def test_a_fine_tune_reads_the_split_of_the_model_it_starts_from():
    from transformer_tf.config import DEFAULT_CHECKPOINT_DIR, TrainConfig
    from transformer_tf.finetune import keep_start_split

    config = TrainConfig(split_method="hash", init_from=str(DEFAULT_CHECKPOINT_DIR))
    assert keep_start_split(config).split_method == "grouped-shuffle"  # the shipped folder's
    assert keep_start_split(TrainConfig(split_method="hash")).split_method == "hash"


def _run_with_shifted_weights(trained_dir, run, shift):
    """A copy of ``trained_dir`` whose newest checkpoint holds its weights plus ``shift``."""
    import tensorflow as tf

    from transformer_tf.checkpoints import restore_model

    shutil.copytree(trained_dir, run)
    _, model, _, _ = restore_model(run)
    for weight in model.weights:
        if weight.name != "seed_generator_state":
            weight.assign(weight + shift)
    tf.train.Checkpoint(model=model).write(str(run / "ckpt-999"))
    (run / "checkpoint").write_text('model_checkpoint_path: "ckpt-999"\nall_model_checkpoint_paths: "ckpt-999"\n')


def test_release_interpolates_the_fine_tune_with_its_start_wise_ft(trained_dir, tmp_path, capsys):
    import tensorflow as tf

    from transformer_tf.checkpoints import WEIGHTS_PREFIX, restore_model
    from transformer_tf.cli import main

    start, run = tmp_path / "start", tmp_path / "run"
    shutil.copytree(trained_dir, start)
    _run_with_shifted_weights(trained_dir, run, shift=1.0)
    args = ["release", "--checkpoint-dir", str(run), "--average", "1", "--interpolate-with", str(start)]
    assert main([*args, "--alpha", "0.25"]) == 0
    out = capsys.readouterr().out
    assert "0.75 × " in out and "reads the newest of them" in out  # the release is not what the run folder serves

    _, before, _, _ = restore_model(start)
    _, released, _, _ = restore_model(start)
    tf.train.Checkpoint(model=released).read(str(run / WEIGHTS_PREFIX)).expect_partial()
    pairs = [(a, b) for a, b in zip(released.weights, before.weights) if a.name != "seed_generator_state"]
    for after, original in pairs:  # (1 - 0.25) * start + 0.25 * (start + 1)
        np.testing.assert_allclose(after.numpy(), original.numpy() + 0.25, atol=1e-6)


def test_release_refuses_a_bad_interpolation_naming_the_fix(trained_dir, tmp_path, capsys):
    import json

    from transformer_tf.cli import main

    start, run = tmp_path / "start", tmp_path / "run"
    shutil.copytree(trained_dir, start)
    _run_with_shifted_weights(trained_dir, run, shift=0.5)
    release = ["release", "--checkpoint-dir", str(run), "--average", "1"]
    assert main([*release, "--alpha", "0.3"]) == 2
    assert "give both, or neither" in capsys.readouterr().err
    assert main([*release, "--interpolate-with", str(start), "--alpha", "1.5"]) == 2
    assert "alpha 1.5" in capsys.readouterr().err
    config = json.loads((start / "config.json").read_text())
    (start / "config.json").write_text(json.dumps({**config, "seed": 7}))
    assert main([*release, "--interpolate-with", str(start)]) == 2
    assert "seed: 7 there, 0 here" in capsys.readouterr().err
    (start / "config.json").write_text(json.dumps({**config, "tokenizer_sha256": {"tokenizer.model": "0" * 64}}))
    assert main([*release, "--interpolate-with", str(start)]) == 2
    assert "tokenizer files are not the run's" in capsys.readouterr().err
    assert not (run / "weights").exists()  # nothing written by a refused release
