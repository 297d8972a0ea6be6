"""The CTranslate2 engine: the converted model decodes as the Keras model does; its cache in the
model folder (stale, damaged, missing, unwritable); the RNN refused; no TensorFlow on the CLI."""

import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from test_fast_decode import padded_rows

from cli_common.files import file_sha256 as engine_sha256
from transformer_tf import Transformer
from transformer_tf import ctranslate2_engine as engine
from transformer_tf.config import TrainConfig
from transformer_tf.ctranslate2_convert import transformer_spec
from transformer_tf.ctranslate2_engine import (
    CTranslate2Translator,
    converted_model,
    fresh_model,
    prefer_avx512,
    vocabulary,
)
from transformer_tf.decoding import beam_search_decode, greedy_decode
from transformer_tf.engines import resolve_engine
from transformer_tf.errors import TransformerTFError
from transformer_tf.tokenizer import END_ID, PAD_ID, START_ID

VOCAB, MAX_TOKENS = 70, 30
REPO = Path(__file__).resolve().parents[1]


class _Pieces:
    """A stand-in tokenizer for a random model: piece ``p<id>`` for every id above the reserved ones."""

    offset, source = 0, "test"
    vocab_size = VOCAB
    sp = types.SimpleNamespace(id_to_piece=lambda ids: [f"p{i}" for i in ids])  # SentencePiece's, on a list


def _random_model(tied, inp):
    """A random model whose greedy sentences end at several different steps (a weight on END, the
    smallest that does it) and one never ends (it stops at the length cap)."""
    model = Transformer(2, 32, 4, 64, VOCAB, VOCAB, MAX_TOKENS, MAX_TOKENS, rate=0.0, share_embeddings=tied)
    model.build(((None, None), (None, None)))
    decode = tf.function(lambda x: greedy_decode(model, x, _cap(inp)))  # reads the bias variable: one trace
    for bias in np.arange(0.0, 3.0, 0.05):
        model.final_layer.bias.assign(tf.one_hot(END_ID, VOCAB) * bias)
        ends = [int(np.argmax(row == END_ID)) if END_ID in row else None for row in decode(tf.constant(inp)).numpy()]
        if len(set(ends) - {None}) >= 3 and None in ends:
            return model
    pytest.fail("no weight on END makes the random model end at several steps with one reaching the cap")


def _cap(inp):
    """The most tokens both engines generate for a padded batch: ``min(max_tokens, 2·width + 10)``."""
    return min(MAX_TOKENS, 2 * inp.shape[1] + 10)


def _converted(model, folder):
    """``model`` converted into ``folder`` and loaded in float32, without a model folder around it."""
    tokens = vocabulary(_Pieces)
    transformer_spec(model, tokens, tokens, MAX_TOKENS).save(str(folder))
    return CTranslate2Translator(folder, _Pieces, _Pieces, MAX_TOKENS, places=False, compute_type="float32")


@pytest.fixture
def inp():
    return padded_rows(VOCAB)


def _without_padding(rows):
    return [[int(i) for i in row if i != PAD_ID] for row in rows]


@pytest.mark.parametrize("tied", [True, False])
def test_the_converted_model_gives_the_keras_greedy_ids_exactly_in_float32(tied, inp, tmp_path):
    model = _random_model(tied, inp)
    expected = _without_padding(greedy_decode(model, tf.constant(inp), _cap(inp)).numpy())
    assert _converted(model, tmp_path).generate(inp) == expected


def test_the_converted_model_gives_the_keras_beam_search_output(inp, tmp_path):
    model = _random_model(True, inp)
    expected = _without_padding(beam_search_decode(model, tf.constant(inp), _cap(inp), beam_size=4).numpy())
    assert _converted(model, tmp_path).generate(inp, beam=4) == expected


def test_padding_unknown_and_start_are_never_generated(inp, tmp_path):
    model = _random_model(True, inp)
    # the three ids would win every step: the converted projection's bias keeps them out
    model.final_layer.bias.assign(tf.reduce_sum(tf.one_hot([PAD_ID, 1, START_ID], VOCAB), 0) * 50.0)
    generated = _converted(model, tmp_path).generate(inp)
    assert all(row and not {PAD_ID, 1, START_ID} & set(row) for row in generated)


@pytest.fixture
def model_folder(trained_dir, tmp_path):
    """A copy of the trained tiny model without a conversion (the fixture is shared; the cache is
    written into the copy)."""
    return Path(shutil.copytree(trained_dir, tmp_path / "model", ignore=shutil.ignore_patterns(engine.CACHE_NAME)))


def test_the_conversion_is_cached_with_a_stamp_and_redone_when_a_file_changes(model_folder):
    sentences = ["I am here.", "Tom is tall."]
    first = CTranslate2Translator.from_checkpoint(model_folder, places=False)
    cached = model_folder / engine.CACHE_NAME
    assert fresh_model(model_folder) == cached and (cached / engine.STAMP_FILE).is_file()
    before = json.loads((cached / engine.STAMP_FILE).read_text())
    translations = first.translate(sentences)

    config = json.loads((model_folder / "config.json").read_text())
    (model_folder / "config.json").write_text(json.dumps(config))  # same settings, other bytes: stale
    assert fresh_model(model_folder) is None
    again = CTranslate2Translator.from_checkpoint(model_folder, places=False)
    after = json.loads((cached / engine.STAMP_FILE).read_text())
    assert after["sha256"]["config.json"] != before["sha256"]["config.json"]
    assert fresh_model(model_folder) == cached and again.translate(sentences) == translations


def test_a_fresh_stamp_reads_no_file_whose_size_time_and_inode_are_recorded(model_folder, monkeypatch):
    converted_model(model_folder)
    stamp_file = model_folder / engine.CACHE_NAME / engine.STAMP_FILE
    recorded = json.loads(stamp_file.read_text())
    assert set(recorded["stat"]) == set(recorded["sha256"])
    read = []
    monkeypatch.setattr(engine, "file_sha256", lambda path: read.append(Path(path).name) or engine_sha256(path))
    assert fresh_model(model_folder) == model_folder / engine.CACHE_NAME and read == []

    # a file rewritten with other bytes of the same length: another time, read again, stale
    config = model_folder / "config.json"
    text = config.read_text()
    config.write_text(text.replace('"seed": 0', '"seed": 1') if '"seed": 0' in text else text.upper())
    assert config.stat().st_size == len(text.encode())
    assert fresh_model(model_folder) is None and read == ["config.json"]

    # the same bytes again, a new time: read, fresh, and the stamp's times brought up to date
    config.write_text(text)
    read.clear()
    assert fresh_model(model_folder) == model_folder / engine.CACHE_NAME and read == ["config.json"]
    refreshed = json.loads(stamp_file.read_text())
    assert refreshed["sha256"] == recorded["sha256"]
    assert refreshed["stat"]["config.json"] != recorded["stat"]["config.json"]
    read.clear()
    assert fresh_model(model_folder) == model_folder / engine.CACHE_NAME and read == []
    assert not [p.name for p in stamp_file.parent.iterdir() if p.name.startswith(".")]  # no partial file left


def test_a_stamp_without_times_is_still_fresh_and_gets_them(model_folder):
    """A cache converted before the stamps held the files' times: fresh, hashed once, then given them."""
    converted_model(model_folder)
    stamp_file = model_folder / engine.CACHE_NAME / engine.STAMP_FILE
    recorded = json.loads(stamp_file.read_text())
    stamp_file.write_text(json.dumps({key: recorded[key] for key in ("converter", "ctranslate2", "sha256")}))
    assert fresh_model(model_folder) == model_folder / engine.CACHE_NAME
    assert json.loads(stamp_file.read_text())["stat"] == recorded["stat"]


def test_the_model_loads_beside_the_caller_and_a_missing_one_is_named_at_the_first_batch(model_folder):
    folder = converted_model(model_folder)
    translator = CTranslate2Translator.from_checkpoint(model_folder, places=False, converted=folder)
    assert translator._loading.result() is translator.engine  # the thread's translator, waited for once
    moved = shutil.copytree(folder, model_folder.parent / "moved")
    (moved / "model.bin").unlink()
    source, target = translator.source_tokenizer, translator.target_tokenizer
    alone = CTranslate2Translator(moved, source, target, MAX_TOKENS)  # not from a model folder: nothing to redo
    with pytest.raises(TransformerTFError, match="not a loadable CTranslate2 model.*delete the folder"):
        alone.translate(["I am here."])


def test_a_repeated_sentence_is_decoded_once_and_each_copy_gets_its_translation_in_order(model_folder):
    translator = CTranslate2Translator.from_checkpoint(model_folder, compute_type="float32")  # places on
    submitted, submit = [], translator._submit
    translator._submit = lambda rows, *args, **kwargs: submitted.extend(rows) or submit(rows, *args, **kwargs)
    distinct = ["I am here.", "Tom is tall.", "Go to Paris."]
    alone = translator.translate(distinct)
    order = [0, 1, 0, 2, 1, 0]
    assert translator.translate([distinct[i] for i in order]) == [alone[i] for i in order]
    assert len(submitted) == 2 * len(distinct)  # each distinct sentence decoded once per call


def test_a_damaged_cache_is_converted_again_and_a_missing_one_rebuilt(model_folder):
    translations = CTranslate2Translator.from_checkpoint(model_folder, places=False).translate(["I am here."])
    cached = model_folder / engine.CACHE_NAME
    (cached / "model.bin").write_bytes(b"not a model")  # the stamp still says fresh
    repaired = CTranslate2Translator.from_checkpoint(model_folder, places=False)  # loads in its thread
    with pytest.warns(UserWarning, match="not a loadable CTranslate2 model.*Converting it again"):
        assert repaired.translate(["I am here."]) == translations  # the first batch waits for it
    assert repaired.translate(["I am here."]) == translations  # once
    shutil.rmtree(cached)
    assert CTranslate2Translator.from_checkpoint(model_folder, places=False).translate(["I am here."]) == translations


@pytest.mark.slow  # a fresh interpreter that imports TensorFlow: ~10 s
def test_a_damaged_cache_converted_again_by_translate_prints_the_warning_alone(model_folder):
    converted_model(model_folder)
    (model_folder / engine.CACHE_NAME / "model.bin").write_bytes(b"not a model")  # the stamp still says fresh
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TF_CPP_MIN_LOG_LEVEL")}
    argv = [sys.executable, "-m", "transformer_tf.cli", "translate", "--checkpoint-dir", str(model_folder), "Hi."]
    done = subprocess.run(argv, capture_output=True, text=True, env={**env, "PYTHONPATH": str(REPO)}, timeout=300)
    assert done.returncode == 0 and done.stdout.strip(), done.stderr[-2000:]
    # TensorFlow loads to convert the model again: its start-up lines stay hidden, as on every other path
    assert done.stderr.count("\n") == 1 and "Converting it again" in done.stderr, done.stderr


def test_a_model_folder_that_cannot_be_written_caches_in_the_user_cache(model_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    write = engine.write_converted

    def read_only(checkpoint_dir, out):
        if Path(out).parent == model_folder:
            raise PermissionError(13, "Permission denied", str(out))
        return write(checkpoint_dir, out)

    monkeypatch.setattr(engine, "write_converted", read_only)
    folder = converted_model(model_folder)
    assert tmp_path / "cache" in folder.parents and not (model_folder / engine.CACHE_NAME).exists()
    assert fresh_model(model_folder) == folder


def test_ctranslate2_is_refused_for_the_rnn_and_with_exact(tmp_path, capsys):
    from transformer_tf.cli import main

    TrainConfig(model="rnn").save(tmp_path)
    assert resolve_engine(tmp_path) == "tensorflow"  # auto: the RNN stays on TensorFlow
    with pytest.raises(TransformerTFError, match="CTranslate2 runs Transformers only; use --engine tensorflow"):
        resolve_engine(tmp_path, "ctranslate2")
    assert main(["translate", "--engine", "ctranslate2", "--checkpoint-dir", str(tmp_path), "Hi."]) == 2
    err = capsys.readouterr().err
    assert "CTranslate2 runs Transformers only" in err and "Traceback" not in err
    with pytest.raises(TransformerTFError, match="--exact is TensorFlow's float32 reference"):
        resolve_engine(REPO / "checkpoints" / "en_es", "ctranslate2", exact=True)
    assert resolve_engine(REPO / "checkpoints" / "en_es", exact=True) == "tensorflow"


@pytest.mark.slow  # converts the shipped model once (where its cache is not fresh), then a fresh process
def test_translate_with_a_fresh_cache_never_imports_tensorflow(tmp_path):
    converted_model(REPO / "checkpoints" / "en_es")
    (tmp_path / "in.txt").write_text("They live in Warsaw.\nTom is tall.\n", encoding="utf-8")
    probe = (
        "import sys\n"
        "from transformer_tf.cli import main\n"
        "code = main(['translate', '--file', sys.argv[1]])\n"
        # nor NumPy (~0.1 s of start-up; CTranslate2 and SentencePiece take lists), nor tqdm off a terminal
        "print(*(name in sys.modules for name in ('tensorflow', 'numpy', 'tqdm')), code)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(tmp_path)}
    argv = [sys.executable, "-c", probe, str(tmp_path / "in.txt")]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert done.stdout.splitlines() == ["Ellos viven en Varsovia.", "Tom es alto.", "False False False 0"], done.stderr
    assert done.stderr == ""


def test_export_format_ctranslate2_writes_a_loadable_model_and_never_into_the_model_folder(
    model_folder, tmp_path, capsys
):
    import ctranslate2

    from transformer_tf.cli import main

    out = tmp_path / "exported"
    assert main(["export", "--format", "ctranslate2", "--checkpoint-dir", str(model_folder), str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert ctranslate2.Translator(str(out)).translate_batch([["<s>", "</s>"]])[0].hypotheses
    assert main(["export", "--format", "ctranslate2", "--checkpoint-dir", str(model_folder), str(out)]) == 0  # again
    inside = model_folder / "exported"
    assert main(["export", "--format", "ctranslate2", "--checkpoint-dir", str(model_folder), str(inside)]) == 2
    assert "inside the model folder" in capsys.readouterr().err and not inside.exists()


@pytest.mark.parametrize(
    "flags, chosen, isa",
    [
        ("fpu avx2 avx512f avx512cd avx512vl avx512dq avx512bw avx512_vnni", None, "AVX512"),
        ("fpu avx2 avx512f avx512cd", None, None),  # not all that CTranslate2's AVX-512 kernels need
        (None, None, None),  # no /proc/cpuinfo
        ("fpu avx2 avx512f avx512cd avx512vl avx512dq avx512bw", "AVX2", "AVX2"),  # the user's choice kept
    ],
)
def test_ctranslate2_runs_its_avx512_kernels_where_the_cpu_has_them(flags, chosen, isa, tmp_path, monkeypatch):
    cpuinfo = tmp_path / "cpuinfo"
    if flags is not None:
        cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n")
    monkeypatch.delenv("CT2_FORCE_CPU_ISA", raising=False)
    if chosen:
        monkeypatch.setenv("CT2_FORCE_CPU_ISA", chosen)
    prefer_avx512(cpuinfo)
    assert os.environ.get("CT2_FORCE_CPU_ISA") == isa
