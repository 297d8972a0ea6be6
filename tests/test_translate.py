"""Restore and translate: cached decoding equals full recompute; awkward inputs."""

import io
import shutil
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from transformer_tf import Transformer
from transformer_tf.decoding import greedy_decode, greedy_decode_full
from transformer_tf.errors import TransformerTFError
from transformer_tf.export import EXPORT_MARKER
from transformer_tf.tokenizer import END_ID, START_ID
from transformer_tf.translate import Translator, check_streams, in_streams


@pytest.fixture
def model():
    m = Transformer(
        num_layers=2,
        d_model=32,
        num_heads=4,
        dff=64,
        input_vocab_size=60,
        target_vocab_size=70,
        pe_input=20,
        pe_target=20,
        rate=0.0,
    )
    m.build(((None, None), (None, None)))
    return m


def test_cached_decoding_gives_exactly_the_full_recompute_tokens(model):
    rng = np.random.default_rng(0)
    rows = []
    for length in (3, 7, 12, 5):  # a padded batch of different lengths
        body = rng.integers(4, 60, size=length)
        rows.append([START_ID, *body, END_ID] + [0] * (12 - length))
    inp = tf.constant(rows, tf.int64)
    cached = greedy_decode(model, inp, 20, stop_at_end=False).numpy()
    full = greedy_decode_full(model, inp, 20, stop_at_end=False).numpy()
    assert cached.shape == full.shape == (4, 20)
    np.testing.assert_array_equal(cached, full)


def test_cached_beam_search_gives_exactly_the_full_recompute_beams(model):
    from transformer_tf.decoding import FullRecompute, beam_search_decode

    inp = tf.constant([[START_ID, 9, 8, 7, END_ID, 0, 0], [START_ID, *range(10, 15), END_ID]], tf.int64)
    cached = beam_search_decode(model, inp, 15, beam_size=3).numpy()
    np.testing.assert_array_equal(cached, beam_search_decode(FullRecompute(model), inp, 15, beam_size=3).numpy())


def test_cached_decoding_is_the_same_inside_tf_function(model):
    inp = tf.constant([[START_ID, 9, 8, 7, END_ID]], tf.int64)
    eager = greedy_decode(model, inp, 15, stop_at_end=False)
    graph = tf.function(lambda x: greedy_decode(model, x, 15, stop_at_end=False))(inp)
    np.testing.assert_array_equal(eager, graph)


@pytest.mark.slow
def test_restored_translator_handles_empty_long_and_unseen_inputs(trained_dir):
    translator = Translator.from_checkpoint(trained_dir)
    sentences = ["He admired her as a great director.", "", "   ", "漢字 ☃ ünïcödé", "word " * 2000]
    odd = ["مرحبا بالعالم", "שלום 😀🎉", "?!", "...", "—", "x" * 10_000]  # RTL, emoji, lone punctuation, one long word
    with pytest.warns(UserWarning, match="longer than the 24 tokens"):
        out = translator.translate(sentences + odd)
    assert len(out) == 11 and all(isinstance(s, str) for s in out)
    assert out[1] == out[2] == ""
    assert "<unk>" not in "".join(out) and "⁇" not in "".join(out)
    # batching and order do not change a translation
    assert translator.translate([sentences[0]]) == [out[0]]
    assert translator.translate(sentences[3:4] + sentences[:1]) == [out[3], out[0]]


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(TransformerTFError, match="train a model first"):
        Translator.from_checkpoint(tmp_path)


@pytest.mark.slow
def test_translate_cli_arguments_file_and_stdin(trained_dir, tmp_path, capsys, monkeypatch):
    import io

    from transformer_tf.cli import main

    # a copy: the fixture is shared, and translate caches the model's CTranslate2 conversion in its folder
    trained_dir = shutil.copytree(trained_dir, tmp_path / "model")
    assert main(["translate", "--checkpoint-dir", str(trained_dir), "I am here.", ""]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 2 and lines[0] and lines[1] == ""  # one output line per input
    assert "empty input" in captured.err

    listing = tmp_path / "in.txt"
    listing.write_text("I am here.\nTom is tall.\n", encoding="utf-8")
    assert main(["translate", "--checkpoint-dir", str(trained_dir), "--file", str(listing)]) == 0
    from_file = capsys.readouterr().out.splitlines()
    assert from_file[0] == lines[0] and len(from_file) == 2

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"I am here.\n")))
    assert main(["translate", "--checkpoint-dir", str(trained_dir), "--file", "-"]) == 0
    assert capsys.readouterr().out.splitlines() == [lines[0]]

    assert main(["translate", "--checkpoint-dir", str(trained_dir), "--beam", "3", "I am here."]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1


@pytest.mark.slow
def test_translate_file_dash_from_a_terminal_answers_each_line_as_it_is_typed(trained_dir, tmp_path, monkeypatch):
    """From a pipe, ``--file -`` reads to the end first (a batch); from a terminal that answered only after
    Ctrl-D. Now each line is answered before the next one is asked for."""
    import io

    from transformer_tf.cli import main

    trained_dir = shutil.copytree(trained_dir, tmp_path / "model")  # translate caches its conversion there
    out, err = io.StringIO(), io.StringIO()
    seen_before_each_read = []

    class Terminal:  # standard input from a keyboard: two lines typed, then Ctrl-D
        typed = [b"I am here.\n", b"Tom is tall.\n", b""]

        def isatty(self):
            return True

        @property
        def buffer(self):
            return self

        def readline(self):
            seen_before_each_read.append(out.getvalue())
            return self.typed.pop(0)

    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr("sys.stderr", err)
    assert main(["translate", "--checkpoint-dir", str(trained_dir), "--file", "-"]) == 0
    from transformer_tf.engines import open_translator  # the command's engine (auto)

    expected = open_translator(trained_dir).translate(["I am here.", "Tom is tall."], progress=False)
    assert out.getvalue().splitlines() == expected
    assert seen_before_each_read == ["", expected[0] + "\n", "\n".join(expected) + "\n"]  # answered as typed
    assert "type English, a text a line; Ctrl-D ends" in err.getvalue()


def test_translate_cli_errors_exit_2_without_traceback(tmp_path, capsys):
    from transformer_tf.cli import main

    assert main(["translate", "--checkpoint-dir", str(tmp_path), "Hello."]) == 2
    assert main(["translate", "--checkpoint-dir", str(tmp_path)]) == 2
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert main(["translate", "--checkpoint-dir", str(tmp_path), "--file", str(binary)]) == 2
    err = capsys.readouterr().err
    assert "train a model first" in err and "nothing to translate" in err and "UTF-8" in err
    assert "Traceback" not in err


def test_scores_are_sacrebleu_corpus_scores():
    from transformer_tf.evaluate import score

    refs = ["El gato está en la casa.", "Me gusta leer libros."]
    perfect = score(refs, refs)
    assert perfect["bleu"] == pytest.approx(100.0) and perfect["chrf"] == pytest.approx(100.0)
    partial = score(["El gato está en casa.", "Me gusta leer."], refs)
    assert 0 < partial["bleu"] < 100 and 0 < partial["chrf"] < 100
    assert "nrefs:1" in partial["bleu_signature"]


@pytest.mark.slow
def test_evaluate_cli_on_the_test_split_and_on_a_tsv(trained_dir, tmp_path, capsys):
    from transformer_tf.cli import main
    from transformer_tf.config import TrainConfig
    from transformer_tf.corpus import held_out_splits, split_of
    from transformer_tf.evaluate import evaluation_pairs

    # a copy: the fixture is shared, and evaluate caches the model's CTranslate2 conversion in its folder
    trained_dir = shutil.copytree(trained_dir, tmp_path / "model")
    config = TrainConfig.load(trained_dir)
    test_split, categories = evaluation_pairs(trained_dir)
    assert test_split == held_out_splits(config)["test"]  # the run's own split, never seen in training
    assert test_split and all(
        split_of(en, config.seed, config.val_fraction, config.test_fraction) == "test" for en, _ in test_split
    )
    assert categories is None
    assert main(["evaluate", "--checkpoint-dir", str(trained_dir), "--limit", "20"]) == 0
    assert "20 sentences of the held-out test split, greedy (ctranslate2): BLEU" in capsys.readouterr().out
    assert main(["evaluate", "--checkpoint-dir", str(trained_dir), "--limit", "5", "--beam", "2"]) == 0
    assert "5 sentences of the held-out test split, beam 2 (ctranslate2): BLEU" in capsys.readouterr().out
    validation, _ = evaluation_pairs(trained_dir, split="validation")  # to choose a release on
    assert validation == held_out_splits(config)["validation"]
    assert not {en for en, _ in validation} & {en for en, _ in test_split}
    assert main(["evaluate", "--checkpoint-dir", str(trained_dir), "--split", "validation", "--limit", "3"]) == 0
    assert "3 sentences of the held-out validation split, greedy (ctranslate2): BLEU" in capsys.readouterr().out
    with pytest.raises(TransformerTFError, match="split 'train': choose one of test, validation"):
        evaluation_pairs(trained_dir, split="train")
    for wrong in (["--split", "train"], ["--split", "validation", "--pairs", "x.tsv"]):
        with pytest.raises(SystemExit) as exit_status:  # argparse names the choices, or the conflict
            main(["evaluate", "--checkpoint-dir", str(trained_dir), *wrong])
        assert exit_status.value.code == 2

    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("Go.\tVe.\nI am here.\tEstoy aquí.\n", encoding="utf-8")
    assert main(["evaluate", "--checkpoint-dir", str(trained_dir), "--pairs", str(tsv)]) == 0
    assert "2 sentences of" in capsys.readouterr().out
    assert main(["evaluate", "--checkpoint-dir", str(trained_dir), "--pairs", str(tmp_path / "no.tsv")]) == 2


def _log_prob(model, inp, out):
    """log P(out | inp) under teacher forcing, counting tokens up to and including END."""
    start = tf.fill((out.shape[0], 1), tf.constant(START_ID, tf.int64))
    logits = model((inp, tf.concat([start, out[:, :-1]], 1)), training=False)
    log_probs = tf.nn.log_softmax(logits).numpy()
    out = out.numpy()
    totals = []
    for row, lp in zip(out, log_probs):
        n = (list(row).index(END_ID) + 1) if END_ID in row else len(row)
        totals.append(sum(lp[i, row[i]] for i in range(n)))
    return np.array(totals)


def test_beam_of_one_is_greedy_and_wider_beams_are_never_less_likely(model):
    from transformer_tf.decoding import beam_search_decode

    rng = np.random.default_rng(1)
    inp = tf.constant([[START_ID, *rng.integers(4, 60, 6), END_ID] for _ in range(3)], tf.int64)
    greedy = greedy_decode(model, inp, 20, stop_at_end=False)
    np.testing.assert_array_equal(beam_search_decode(model, inp, 20, beam_size=1, alpha=0.0), greedy)
    beam = beam_search_decode(model, inp, 20, beam_size=4, alpha=0.0)
    assert beam.shape == (3, 20)
    assert np.all(_log_prob(model, inp, beam) >= _log_prob(model, inp, greedy) - 1e-4)


def test_a_beam_below_one_is_refused(trained_dir):
    with pytest.raises(TransformerTFError, match="at least 1"):
        Translator.from_checkpoint(trained_dir).translate(["Hi."], beam=0)


@pytest.mark.slow
def test_export_reloads_in_a_fresh_process_with_the_same_translations(trained_dir, tmp_path, capsys):
    import json
    import subprocess
    import sys

    from transformer_tf.cli import main

    sentences = [
        "He admired her as a great director.",
        "I am here.",
        "",
        "Caf\u0065\u0301 漢字 ★",  # unseen characters, spelled in bytes (★ is no emoji: the export has no emoji pass)
        "Tom " * 30 + "runs.",
        "Where is the 2nd station?",
    ]
    with pytest.warns(UserWarning, match="longer than"):
        expected = Translator.from_checkpoint(trained_dir).translate(sentences)

    target = tmp_path / "exported"
    target.mkdir()
    (target / EXPORT_MARKER).write_text("{}")  # an earlier export, which is replaced whole, atomically
    (target / "stale.txt").write_text("an older export")
    assert main(["export", str(target), "--checkpoint-dir", str(trained_dir)]) == 0
    assert not (target / "stale.txt").exists() and (target / "saved_model.pb").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp dirs left
    assert target.stat().st_mode & 0o777 == 0o777 & ~_umask()  # not mkdtemp's 0700

    script = (
        "import json, sys, tensorflow as tf, tensorflow_text\n"  # tensorflow_text registers its ops
        "m = tf.saved_model.load(sys.argv[1])\n"
        "assert m.translate(tf.constant([], tf.string)).shape == (0,)\n"  # an empty batch gives an empty one
        "out = m.translate(tf.constant(json.loads(sys.argv[2])))\n"
        "print(json.dumps([s.decode('utf-8') for s in out.numpy()]))\n"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", script, str(target), json.dumps(sentences)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    assert json.loads(fresh.stdout.strip().splitlines()[-1]) == expected


@pytest.mark.slow
def test_released_weights_alone_translate_like_the_checkpoint(trained_dir, tmp_path, capsys):
    import shutil

    from transformer_tf.cli import main
    from transformer_tf.config import TrainConfig
    from transformer_tf.train import train

    run = tmp_path / "run"  # release writes into the folder: a copy, the fixture is shared
    shutil.copytree(trained_dir, run)
    expected = Translator.from_checkpoint(run).translate(["I am here.", "Tom is tall."])
    assert main(["release", "--checkpoint-dir", str(run), "--average", "1"]) == 0
    shipped = tmp_path / "shipped"  # what a fresh clone has: config, tokenizers, weights only
    shipped.mkdir()
    for item in run.iterdir():
        if item.name == "weights":
            shutil.copytree(item, shipped / "weights")
        elif item.suffix in (".json", ".model"):
            shutil.copy(item, shipped / item.name)
    assert Translator.from_checkpoint(shipped).translate(["I am here.", "Tom is tall."]) == expected
    size = sum(f.stat().st_size for f in (shipped / "weights").iterdir())
    latest = tf.train.latest_checkpoint(str(run)).rsplit("/", 1)[1]
    full = sum(f.stat().st_size for f in run.glob(f"{latest}.*"))
    assert size < full / 2  # no Adam moments
    with pytest.raises(TransformerTFError, match="another folder"):
        train(TrainConfig.load(shipped), shipped, tmp_path / "logs", verbose=0)
    weights = {f.name: f.read_bytes() for f in (shipped / "weights").iterdir()}
    capsys.readouterr()
    for average in ("1", "5"):  # nothing to release from: said so, and the weights stay as they are
        assert main(["release", "--checkpoint-dir", str(shipped), "--average", average]) == 2
        assert f"{shipped} holds no training checkpoints (ckpt-*)" in capsys.readouterr().err
    assert {f.name: f.read_bytes() for f in (shipped / "weights").iterdir()} == weights


def test_the_decoder_never_emits_unknown_start_or_padding(model):
    from transformer_tf.decoding import next_token_logits
    from transformer_tf.tokenizer import UNK_ID

    bias = np.zeros(70, np.float32)
    bias[[0, UNK_ID, START_ID]] = 100.0  # make the forbidden ids the most likely ones
    model.final_layer.bias.assign(bias)
    x = tf.random.normal((3, 1, 32))
    logits = next_token_logits(model, x).numpy()
    assert np.all(np.isneginf(logits[:, [0, UNK_ID, START_ID]]))
    inp = tf.constant([[START_ID, 9, 8, 7, END_ID]], tf.int64)
    out = greedy_decode(model, inp, 10, stop_at_end=False).numpy()
    assert not np.isin(out, [UNK_ID, START_ID]).any()


@pytest.mark.parametrize(
    "text, sentences",
    [
        (
            "I like music. She likes books. We often go to the library.",
            ["I like music.", "She likes books.", "We often go to the library."],
        ),
        ("Dr. Smith paid $3.50 for it.", ["Dr. Smith paid $3.50 for it."]),
        ("Really? Yes!", ["Really?", "Yes!"]),
        ("   ", []),
        ("No end punctuation", ["No end punctuation"]),
    ],
)
def test_texts_are_split_into_sentences(text, sentences):
    from transformer_tf.sentences import split_sentences

    assert split_sentences(text) == sentences


@pytest.mark.slow
def test_a_multi_sentence_text_is_translated_sentence_by_sentence(trained_dir):
    translator = Translator.from_checkpoint(trained_dir)
    one, two = "I like music.", "She is here."
    joined = translator.translate(f"{one} {two}")
    assert isinstance(joined, str)  # one string in, one string out
    assert joined == " ".join(translator.translate([one, two]))
    assert translator.translate([f"{one} {two}", ""]) == [joined, ""]
    for text in ["🎉🎉", "東京", "مرحبا", "?!", "."]:
        assert "⁇" not in translator.translate(text)  # never the unknown marker


@pytest.mark.slow
def test_release_averages_the_newest_checkpoints(trained_dir, tmp_path):
    import shutil

    from transformer_tf.checkpoints import release_weights

    folder = tmp_path / "run"
    shutil.copytree(trained_dir, folder)
    kept = list(tf.train.get_checkpoint_state(str(folder)).all_model_checkpoint_paths)
    assert len(kept) >= 2
    expected = []
    for prefix in kept[-2:]:
        translator = Translator.from_checkpoint(folder)  # build, then read one checkpoint
        tf.train.Checkpoint(model=translator.model).read(prefix).expect_partial()
        expected.append([w.numpy() for w in translator.model.weights])
    release_weights(folder, average=2)
    for name in [p.name for p in folder.glob("ckpt-*")]:
        (folder / name).unlink()
    (folder / "checkpoint").unlink()
    released = Translator.from_checkpoint(folder).model  # reads weights/ now
    for w, a, b in zip(released.weights, *expected):
        np.testing.assert_allclose(w.numpy(), (a + b) / 2, atol=1e-6, err_msg=w.path)
    assert any(not np.allclose(a, b) for a, b in zip(*expected))  # the two checkpoints differ
    with pytest.raises(TransformerTFError, match="keeps only"):
        release_weights(trained_dir, average=99)


def _umask():
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- issue 12: what a careless user gives ------------------------------------------------------


def test_one_string_is_one_sentence(trained_dir):
    translator = Translator.from_checkpoint(trained_dir)
    one = translator.translate("I am here.")
    assert isinstance(one, str) and one == translator.translate(["I am here."])[0]


@pytest.mark.parametrize("batch_size", [0, -1])
def test_a_batch_size_below_one_is_refused_naming_the_parameter_or_the_flag(trained_dir, batch_size, capsys, tmp_path):
    from transformer_tf.cli import main
    from transformer_tf.ctranslate2_engine import CACHE_NAME

    # the library names its parameter (a notebook has no flags) ...
    with pytest.raises(TransformerTFError, match=rf"^batch_size {batch_size}: ") as refused:
        Translator.from_checkpoint(trained_dir).translate(["Hi."], batch_size=batch_size)
    assert "--" not in str(refused.value)
    # ... the command line its flag, before it converts the model (nothing written)
    folder = shutil.copytree(trained_dir, tmp_path / "model", ignore=shutil.ignore_patterns(CACHE_NAME))
    code = main(["translate", "Hi.", "--batch-size", str(batch_size), "--checkpoint-dir", str(folder)])
    captured = capsys.readouterr()
    assert code == 2 and f"--batch-size {batch_size}: " in captured.err and captured.out == ""
    assert not (folder / CACHE_NAME).exists()


@pytest.mark.parametrize("terminal", [True, False])
def test_the_first_conversion_is_announced_on_a_terminal_only(trained_dir, tmp_path, monkeypatch, terminal):
    from transformer_tf.cli import main
    from transformer_tf.ctranslate2_engine import CACHE_NAME

    folder = shutil.copytree(trained_dir, tmp_path / "model", ignore=shutil.ignore_patterns(CACHE_NAME))
    for run in ("first", "second"):
        stderr = io.StringIO()
        stderr.isatty = lambda: terminal
        monkeypatch.setattr(sys, "stderr", stderr)
        assert main(["translate", "I am here.", "--checkpoint-dir", str(folder)]) == 0
        announced = f"converting {folder} for CTranslate2, once" in stderr.getvalue()
        assert announced == (terminal and run == "first"), (run, stderr.getvalue())
    assert (folder / CACHE_NAME).is_dir()


def test_a_beam_below_one_is_refused_naming_the_parameter_or_the_flag(trained_dir, capsys):
    from transformer_tf.cli import main

    with pytest.raises(TransformerTFError, match=r"^beam 0: ") as refused:
        Translator.from_checkpoint(trained_dir).translate(["Hi."], beam=0)
    assert "--" not in str(refused.value)
    assert main(["translate", "Hi.", "--beam", "0", "--checkpoint-dir", str(trained_dir)]) == 2
    assert "translate: error: --beam 0: " in capsys.readouterr().err


def test_an_absurd_beam_is_refused_before_it_decodes(trained_dir, capsys):
    from transformer_tf.cli import main

    with pytest.raises(TransformerTFError, match=r"^beam 5000: give at most 256"):
        Translator.from_checkpoint(trained_dir).translate(["Hi."], beam=5000)
    argv = ["translate", "Hi.", "--beam", "5000", "--engine", "tensorflow", "--checkpoint-dir", str(trained_dir)]
    assert main(argv) == 2
    assert "translate: error: --beam 5000: give at most 256" in capsys.readouterr().err


def _copy_run(trained_dir, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(trained_dir, copy)
    return copy


def _damage_config_size(folder):
    import json

    config = json.loads((folder / "config.json").read_text())
    config.update(d_model=2 * config["d_model"])
    (folder / "config.json").write_text(json.dumps(config))
    return "does not fit the model"


def _damage_config_json(folder):
    (folder / "config.json").write_text('{"d_model": 32,')
    return "config.json: invalid JSON"


def _newest_file(folder, suffix):
    prefix = Path(tf.train.latest_checkpoint(str(folder)))
    return next(prefix.parent.glob(prefix.name + suffix))


def _truncate(suffix, keep):
    def damage(folder):
        path = _newest_file(folder, suffix)
        path.write_bytes(path.read_bytes()[:keep])
        return "unreadable checkpoint files"

    return damage


def _corrupt_data(folder):
    path = _newest_file(folder, ".data-*")
    data = bytearray(path.read_bytes())
    data[len(data) // 2 :] = bytes(len(data) - len(data) // 2)  # the second half zeroed: the checksums fail
    path.write_bytes(bytes(data))
    return "unreadable checkpoint files"


def _newest_missing(folder):
    older = Path(tf.train.latest_checkpoint(str(folder))).name
    (folder / "checkpoint").write_text(
        f'model_checkpoint_path: "ckpt-999999"\n'  # what the manager writes
        f'all_model_checkpoint_paths: "{older}"\n'
        f'all_model_checkpoint_paths: "ckpt-999999"\n'
    )
    return f"older ones remain: {older}"


BROKEN = {
    "config_of_another_size": _damage_config_size,
    "config_invalid_json": _damage_config_json,
    "index_truncated": _truncate(".index", 40),
    "data_truncated": _truncate(".data-*", 100),
    "data_corrupted": _corrupt_data,
    "newest_checkpoint_missing": _newest_missing,
}


@pytest.mark.parametrize("case", BROKEN)
def test_a_broken_checkpoint_folder_exits_2_naming_what_is_wrong(trained_dir, tmp_path, case, capsys):
    from transformer_tf.cli import main

    folder = _copy_run(trained_dir, tmp_path)
    expected = BROKEN[case](folder)
    code = main(["translate", "Hi.", "--checkpoint-dir", str(folder)])
    err = capsys.readouterr().err
    assert code == 2 and expected in err and "Traceback" not in err, err


LATIN1 = "caf\udce9"  # what Python makes of the latin-1 bytes b"caf\xe9" in a command-line argument


@pytest.mark.parametrize("argv", [["translate", LATIN1], ["plot-attention", LATIN1]])
def test_a_sentence_argument_that_is_not_utf8_exits_2(argv, tmp_path, capsys):
    from transformer_tf.cli import main

    code = main(argv + ["--checkpoint-dir", str(tmp_path)])  # the text is checked before the model is read
    err = capsys.readouterr().err
    assert code == 2 and "not UTF-8" in err and "0xe9" in err and "Traceback" not in err


def test_standard_input_that_is_not_utf8_exits_2(tmp_path, capsys, monkeypatch):
    import io
    import sys

    from transformer_tf.cli import main

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("café\n".encode("latin-1"))))
    code = main(["translate", "--file", "-", "--checkpoint-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "standard input" in err and "not UTF-8" in err


def test_a_utf16_file_is_named_as_utf16_with_its_conversion(tmp_path, capsys):
    from transformer_tf.cli import main

    path = tmp_path / "notepad.txt"  # what Windows Notepad saves as "Unicode"
    path.write_bytes("Hello.\r\n".encode("utf-16"))
    code = main(["translate", "--file", str(path), "--checkpoint-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "not UTF-8 text (byte 0xff at offset 0); it is UTF-16: convert it" in err
    assert "iconv -f utf-16 -t utf-8" in err and "latin1" not in err


def test_evaluate_pairs_that_are_not_utf8_and_a_limit_below_one_exit_2(trained_dir, tmp_path, capsys):
    from transformer_tf.cli import main

    pairs = tmp_path / "latin1.tsv"
    pairs.write_bytes("I eat.\tComo caf\u00e9.\n".encode("latin-1"))
    code = main(["evaluate", "--pairs", str(pairs), "--checkpoint-dir", str(trained_dir)])
    err = capsys.readouterr().err
    assert code == 2 and str(pairs) in err and "not UTF-8" in err
    pairs.write_text("I eat.\tComo.\n", encoding="utf-8")
    code = main(["evaluate", "--pairs", str(pairs), "--limit", "0", "--checkpoint-dir", str(trained_dir)])
    captured = capsys.readouterr()
    assert code == 2 and "--limit 0" in captured.err and "BLEU" not in captured.out


def _export(trained_dir, target, *flags):
    from transformer_tf.cli import main

    return main(["export", str(target), "--checkpoint-dir", str(trained_dir), *flags])


@pytest.mark.parametrize(
    "what",
    [
        "user_folder",
        "regular_file",
        "working_directory",
        "checkpoint_dir",
        "folder_holding_the_checkpoint_dir",
    ],
)
def test_export_refuses_to_replace_what_is_not_an_export(trained_dir, tmp_path, what, capsys, monkeypatch):
    folder = _copy_run(trained_dir, tmp_path)
    monkeypatch.chdir(tmp_path / "copy" if what == "working_directory" else tmp_path)
    target = {
        "user_folder": tmp_path / "mine",
        "regular_file": tmp_path / "notes.txt",
        "working_directory": ".",
        "checkpoint_dir": folder,
        "folder_holding_the_checkpoint_dir": tmp_path,
    }[what]
    if what == "user_folder":
        target.mkdir()
        (target / "thesis.tex").write_text("keep me")
    elif what == "regular_file":
        target.write_text("keep me")
    before = sorted((p, p.stat().st_size) for p in tmp_path.rglob("*"))
    flags = ["--force"] if what in ("checkpoint_dir", "folder_holding_the_checkpoint_dir", "working_directory") else []
    assert _export(folder, target, *flags) == 2
    err = capsys.readouterr().err
    assert str(Path(target).resolve()) in err and "Traceback" not in err
    assert ("pass --force" in err) == (not flags)  # the way out, where there is one
    assert sorted((p, p.stat().st_size) for p in tmp_path.rglob("*")) == before


@pytest.mark.slow
def test_export_with_force_replaces_a_user_folder(trained_dir, tmp_path):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    assert _export(trained_dir, target, "--force") == 0
    assert not (target / "notes.txt").exists() and (target / EXPORT_MARKER).is_file()


def test_error_line_gives_the_type_and_the_first_line_of_tensorflow_and_python_errors():
    from transformer_tf.errors import error_line

    assert error_line(tf.errors.DataLossError(None, None, "checksum mismatch\n\tin op context")) == (
        "DataLossError: checksum mismatch"
    )
    assert error_line(OSError(20, "Not a directory"), limit=9) == "NotADirectoryError: [Errno 20"
    assert error_line(IndexError()) == "IndexError: "


def test_streams_run_calls_at_once_and_keep_the_order():
    second_started = threading.Event()

    def work(i):
        if i == 0:  # finishes only once call 1 has started: the calls overlap
            assert second_started.wait(timeout=60)
        if i == 1:
            second_started.set()
        return i * i

    assert list(in_streams(work, range(6), streams=2)) == [0, 1, 4, 9, 16, 25]
    assert list(in_streams(lambda i: -i, range(3), streams=1)) == [0, -1, -2]


@pytest.mark.parametrize("streams", [0, -1, 1.5, True, "2"])
def test_a_streams_count_below_one_is_refused_naming_the_parameter(streams):
    with pytest.raises(TransformerTFError, match=r"^streams .*: give a whole number ≥ 1"):
        check_streams(streams)
    assert check_streams(None) is None and check_streams(2) == 2


def test_an_absurd_streams_count_is_refused_before_threads_are_made(capsys):
    from transformer_tf.cli import main

    with pytest.raises(TransformerTFError, match=r"^streams 100000: give at most 1,024"):
        check_streams(100_000)
    assert check_streams(1024) == 1024
    assert main(["translate", "--streams", "100000", "Hi."]) == 2
    assert "error: --streams 100000: give at most 1,024" in capsys.readouterr().err


def test_a_sentence_of_invisible_characters_is_blank_not_made_up(trained_dir):
    """A word joiner (U+2060) is three byte pieces to the tokenizer, from which the shipped model made up
    "2000." ("Hi. \u2060" → "Hola. 2000."); a blank sentence translates to "" without the model."""
    translator = Translator.from_checkpoint(trained_dir)
    hi = translator.translate("Hi.", progress=False)
    assert translator.translate_by_sentence(["Hi. \u2060", "\u2060\u200b"], progress=False) == [[("Hi.", hi)], []]
    assert translator.translate_sentences(["\u2060", "\x07", "Hi."], progress=False) == ["", "", hi]
