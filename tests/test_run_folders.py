"""Model and run folders of transformer-tf under concurrency, kills and full disks (issue 26, items
1, 2, 5, 6, 12, 16): one writer per run folder, nothing inside a model folder replaced by export,
plot-attention's set replaced whole, a full disk named and leaving nothing behind, the
tokenizer's fingerprint checked at load."""

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tensorflow as tf
from processes import child_env  # tests/processes.py

from cli_common.files import HOLDER_FILE, LOCK_FILE, run_folder_lock
from transformer_tf.cli import main
from transformer_tf.config import TrainConfig
from transformer_tf.errors import TransformerTFError
from transformer_tf.explorer import PAGE_NAME
from transformer_tf.export import EXPORT_MARKER

SENTENCE = "He admired her as a great director."
REPOSITORY = Path(__file__).resolve().parents[1]
SHIPPED = [REPOSITORY / "checkpoints" / "en_es", REPOSITORY / "checkpoints" / "en_es_rnn"]


def _copy(trained_dir, tmp_path, name="run"):
    folder = tmp_path / name
    shutil.copytree(trained_dir, folder)
    return folder


def _tree(folder):
    """Every file under ``folder`` (hidden ones too) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def file_sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _hidden(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.startswith("."))


# -- item 1: export never replaces anything inside a model folder ----------------------------


@pytest.mark.parametrize("inside", ["weights", "weights/model.index", "new_folder", "tokenizer.model"])
def test_export_never_writes_inside_a_model_folder_even_with_force(trained_dir, tmp_path, inside, capsys):
    folder = _copy(trained_dir, tmp_path)
    other = _copy(trained_dir, tmp_path, "other")  # another model's folder: protected the same way
    before = _tree(tmp_path)
    for target in (folder / inside, other / inside):
        assert main(["export", str(target), "--force", "--checkpoint-dir", str(folder)]) == 2
        err = capsys.readouterr().err
        assert "inside the model folder" in err and str(target) in err and "Traceback" not in err
    assert _tree(tmp_path) == before


# -- items 2 and 12: one writer per run folder ----------------------------------------------

HOLD = (
    "import sys, time\n"
    "from cli_common.files import run_folder_lock\n"
    "with run_folder_lock(sys.argv[1], 'transformer-tf train', RuntimeError):\n"
    "    print('held', flush=True)\n"
    "    time.sleep(600)\n"
)


def _hold(folder):
    """A process that holds ``folder`` as a writer, as a running ``train`` does."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_writer_is_refused_naming_the_holder_and_a_dead_holder_frees_the_folder(trained_dir, tmp_path, capsys):
    folder = _copy(trained_dir, tmp_path)
    before = {k: v for k, v in _tree(folder).items()}
    holder = _hold(folder)
    try:
        assert main(["release", "--checkpoint-dir", str(folder), "--average", "1"]) == 2
        err = capsys.readouterr().err
        assert f"PID {holder.pid}, transformer-tf train" in err and "one writer per run folder" in err
        assert "Traceback" not in err
        config = TrainConfig(**{**TrainConfig.load(folder).__dict__, "epochs": 2})
        with pytest.raises(TransformerTFError, match=rf"being written by another process \(PID {holder.pid}"):
            from transformer_tf.train import train

            train(config, folder, tmp_path / "logs", verbose=0)
        assert {k: v for k, v in _tree(folder).items() if not k.startswith(".writer")} == before
    finally:
        holder.send_signal(signal.SIGKILL)  # dies holding the lock: the OS frees it
        holder.wait()
    assert main(["release", "--checkpoint-dir", str(folder), "--average", "1"]) == 0
    assert (folder / "weights" / "model.index").is_file()
    assert not (folder / LOCK_FILE).exists() and not (folder / HOLDER_FILE).exists()  # released: no lock files


def test_a_lock_on_a_fresh_folder_that_was_refused_leaves_nothing(tmp_path):
    folder = tmp_path / "runs" / "fresh"
    with run_folder_lock(folder, "transformer-tf train", TransformerTFError):
        assert (folder / HOLDER_FILE).read_text().split()[0] == str(os.getpid())
    assert list(tmp_path.iterdir()) == []  # the folders it created, empty, are gone again


def test_a_run_folder_where_a_file_is_is_refused_naming_the_file(tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine")
    for folder in (blocker, blocker / "run"):
        with pytest.raises(TransformerTFError, match=f"cannot write there \\({blocker} is a file, not a folder\\)"):
            with run_folder_lock(folder, "transformer-tf train", TransformerTFError):
                pass
    assert blocker.read_text() == "mine"


@pytest.mark.slow
def test_two_trainings_into_one_fresh_folder_the_second_is_refused_and_release_waits_its_turn(
    shared_data, tmp_path, capsys
):
    folder = tmp_path / "ckpt"
    flags = ["--data", str(shared_data / "spa-eng" / "spa.txt"), "--max-pairs", "1500", "--num-layers", "1"]
    flags += ["--num-heads", "2", "--dff", "16", "--vocab-size", "500", "--max-tokens", "16", "--no-augment"]
    flags += ["--checkpoint-dir", str(folder), "--checkpoint-every", "1", "--batch-size", "8"]
    first = subprocess.Popen(
        [sys.executable, "-m", "transformer_tf.cli", "train", *flags, "--d-model", "8", "--epochs", "200"]
        + ["--log-dir", str(tmp_path / "logs_first")],  # not the default runs/en_es of the working directory
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=child_env(),
    )
    try:
        deadline = time.monotonic() + 240
        while not list(folder.glob("ckpt-*.index")):  # training, rotating checkpoints
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.5)
        code = main(["train", *flags, "--d-model", "16", "--epochs", "1", "--log-dir", str(tmp_path / "logs")])
        err = capsys.readouterr().err
        assert code == 2 and f"PID {first.pid}, transformer-tf train" in err and "Traceback" not in err
        assert main(["release", "--checkpoint-dir", str(folder), "--average", "2"]) == 2  # item 12: no NotFoundError
        err = capsys.readouterr().err
        assert f"PID {first.pid}" in err and "Traceback" not in err and "NotFoundError" not in err
        assert json.loads((folder / "config.json").read_text())["d_model"] == 8  # the first run's folder, unmixed
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert main(["release", "--checkpoint-dir", str(folder), "--average", "1"]) == 0  # the holder is dead


# -- a run goes into a new, empty or earlier run's folder, never among other files -------------


def _everything(folder):
    """Every file and folder under ``folder`` (hidden ones too), a file with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in Path(folder).rglob("*")}


def test_train_into_a_folder_of_other_files_is_refused_before_anything_is_written(shared_data, tmp_path, capsys):
    folder = tmp_path / "Documents"
    (folder / "photos").mkdir(parents=True)
    (folder / "photos" / "cat.jpg").write_bytes(b"\xff\xd8\xff")
    (folder / "notes.txt").write_text("mine")
    before, stamp = _everything(folder), folder.stat().st_mtime_ns
    data = str(shared_data / "spa-eng" / "spa.txt")
    code = main(["train", "--data", data, "--checkpoint-dir", str(folder), "--log-dir", str(tmp_path / "logs")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert (
        f"transformer-tf train: error: --checkpoint-dir {folder} holds other files (notes.txt, photos) and no run: "
        "give a new or empty folder, or the folder of a run to resume.\n"
    ) in err
    assert _everything(folder) == before and folder.stat().st_mtime_ns == stamp  # no lock file came and went
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Documents"]  # no log folder either


def test_a_new_or_empty_folder_or_what_a_killed_run_left_is_taken_for_a_run(tmp_path):
    from cli_common.files import check_run_folder
    from transformer_tf.train import is_run_file

    def check(folder):
        check_run_folder(folder, is_run_file, TransformerTFError, f"checkpoint_dir {folder}")

    check(tmp_path / "new")
    check(tmp_path)  # empty
    (tmp_path / LOCK_FILE).write_text("")
    (tmp_path / HOLDER_FILE).write_text("123 transformer-tf train\n")  # killed before its first file
    check(tmp_path)
    (tmp_path / ".config.json.partial-123-0a1b2c3d").write_text("{")  # killed while its config was written
    (tmp_path / "notes.txt").write_text("the user's, beside the run")
    check(tmp_path)
    for name in ("shards", "tokenizer_en.model", "ckpt-4.index", "checkpoint", "weights"):
        folder = tmp_path / name.replace(".", "_")
        folder.mkdir()
        (folder / "notes.txt").write_text("mine")
        (folder / name).mkdir()
        check(folder)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / ".DS_Store").write_bytes(b"")
    with pytest.raises(TransformerTFError, match=r"other holds other files \(\.DS_Store\) and no run"):
        check(tmp_path / "other")


@pytest.mark.slow
def test_train_into_an_existing_empty_folder_trains_there(shared_data, tmp_path, capsys):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    flags = ["--data", str(shared_data / "spa-eng" / "spa.txt"), "--max-pairs", "1500", "--num-layers", "1"]
    flags += ["--num-heads", "2", "--d-model", "8", "--dff", "16", "--vocab-size", "500", "--max-tokens", "16"]
    flags += ["--no-augment", "--epochs", "1", "--batch-size", "64", "--log-dir", str(tmp_path / "logs")]
    assert main(["train", *flags, "--checkpoint-dir", str(folder)]) == 0
    assert (folder / "config.json").is_file() and list(folder.glob("ckpt-*.index"))
    assert f"checkpoints, config.json and tokenizers in {folder}" in capsys.readouterr().out


# -- item 5: plot-attention replaces its set whole ------------------------------------------


def _plot(trained_dir, out, *flags):
    return main(["plot-attention", SENTENCE, "--out", str(out), "--checkpoint-dir", str(trained_dir), *flags])


@pytest.mark.slow
def test_plot_attention_into_an_earlier_full_set_leaves_only_the_new_set(trained_dir, tmp_path, capsys):
    out = tmp_path / "att"
    assert _plot(trained_dir, out) == 0
    assert any(p.name.startswith("decoder_") for p in out.iterdir())
    assert _plot(trained_dir, out, "--kind", "encoder") == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["encoder_layer1.png", "overview_encoder.png", PAGE_NAME])
    assert _hidden(tmp_path) == []


@pytest.mark.slow
def test_plot_attention_killed_while_writing_keeps_the_old_set_whole(trained_dir, tmp_path, monkeypatch, capsys):
    import matplotlib.figure

    out = tmp_path / "att"
    assert _plot(trained_dir, out, "--kind", "encoder") == 0
    before = _tree(out)
    saved, real = [], matplotlib.figure.Figure.savefig

    def savefig_then_sigterm(self, path, **kwargs):
        real(self, path, **kwargs)
        saved.append(path)
        if len(saved) == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # what `kill PID` does to the command
            time.sleep(5)  # the signal arrives here

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig_then_sigterm)
    with pytest.raises(SystemExit) as ended:
        _plot(trained_dir, out, "--kind", "decoder_block2")
    assert ended.value.code == 143 and len(saved) == 2
    assert _tree(out) == before and _hidden(tmp_path) == []  # the old set, whole; no partial folder


def test_plot_attention_out_may_not_be_a_model_folder_anything_inside_one_or_a_foreign_folder(
    trained_dir, tmp_path, capsys
):
    folder = _copy(trained_dir, tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("keep me")
    before = _tree(tmp_path)
    for out, expected in ((folder, "model folder"), (folder / "att", "model folder"), (mine, "not an earlier")):
        assert _plot(folder, out) == 2
        err = capsys.readouterr().err
        assert f"--out {out}" in err and expected in err and "Traceback" not in err
    assert _tree(tmp_path) == before


# -- item 6: a full disk ---------------------------------------------------------------------


def _disk_full_on_save(monkeypatch, function, prefix_in=lambda path: path):
    """Make ``function`` (TensorFlow's writer) fail as on a full disk: a temporary file left where
    it was writing (``<prefix>_temp/…tempstate…``, the prefix ``prefix_in(path written)``), then the
    ResourceExhaustedError TensorFlow 2.21 raises (its message, measured on a full tmpfs)."""

    def fail(*args, **kwargs):
        path = prefix_in(Path(str(args[-1])))
        temp = path.parent / f"{path.name}_temp"
        temp.mkdir(parents=True, exist_ok=True)
        (temp / "part-00000-of-00001.data-00000-of-00001.tempstate123").write_bytes(b"x" * 100)
        raise tf.errors.ResourceExhaustedError(
            None,
            None,
            f"{{{{function_node __wrapped__SaveV2_dtypes_2_device_/job:localhost/replica:0/task:0/device:CPU:0}}}} "
            f"{temp}/part-00000-of-00001.data-00000-of-00001.tempstate123; No space left on device [Op:SaveV2]",
        )

    monkeypatch.setattr(function, fail)


@pytest.mark.slow
def test_release_on_a_full_disk_names_the_cause_and_leaves_the_old_weights_and_no_temp_files(
    trained_dir, tmp_path, monkeypatch, capsys
):
    folder = _copy(trained_dir, tmp_path)
    assert main(["release", "--checkpoint-dir", str(folder), "--average", "1"]) == 0
    before = _tree(folder)
    _disk_full_on_save(monkeypatch, "tensorflow.train.Checkpoint.write")
    assert main(["release", "--checkpoint-dir", str(folder), "--average", "1"]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err
    assert _tree(folder) == before and _hidden(folder) == []  # no weights/model_temp, no partial folder


@pytest.mark.slow
def test_export_on_a_full_disk_names_the_cause_and_leaves_the_old_export(trained_dir, tmp_path, monkeypatch, capsys):
    target = tmp_path / "exported"
    target.mkdir()
    (target / EXPORT_MARKER).write_text("{}")
    (target / "saved_model.pb").write_text("an earlier export")
    before = _tree(tmp_path)
    _disk_full_on_save(monkeypatch, "tensorflow.saved_model.save", lambda path: path / "variables" / "variables")
    assert main(["export", str(target), "--checkpoint-dir", str(trained_dir)]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and str(target) in err and "Traceback" not in err
    assert _tree(tmp_path) == before and _hidden(tmp_path) == []


def test_os_cause_keeps_the_cause_of_a_full_disk():
    from transformer_tf.errors import os_cause

    assert os_cause(OSError(errno.ENOSPC, "No space left on device", "/x/y")) == "No space left on device: /x/y"
    long_path = "/very/long/" + "p" * 300 + "/model_temp/part.tempstate1"
    err = tf.errors.ResourceExhaustedError(None, None, f"{{{{function_node x}}}} {long_path}; No space left on device")
    assert os_cause(err).endswith("No space left on device")


# -- item 16: the tokenizer's fingerprint ----------------------------------------------------


def test_training_records_the_tokenizer_fingerprint(trained_dir):
    recorded = json.loads((trained_dir / "config.json").read_text())["tokenizer_sha256"]
    assert recorded == {"tokenizer.model": file_sha256(trained_dir / "tokenizer.model")}


def test_a_swapped_tokenizer_is_refused_naming_both_files(trained_dir, tmp_path, capsys):
    folder = _copy(trained_dir, tmp_path)
    shutil.copy(SHIPPED[0] / "tokenizer.model", folder / "tokenizer.model")  # a valid model, another run's
    assert main(["translate", "I am here.", "--checkpoint-dir", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"{folder / 'tokenizer.model'} is not the tokenizer this model was trained with" in err
    assert str(folder / "config.json") in err and "Traceback" not in err


def test_a_folder_without_fingerprints_loads_with_a_warning(trained_dir, tmp_path):
    from transformer_tf.translate import Translator

    folder = _copy(trained_dir, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    del config["tokenizer_sha256"]
    (folder / "config.json").write_text(json.dumps(config))
    expected = Translator.from_checkpoint(trained_dir).translate(["I am here."])
    with pytest.warns(UserWarning, match="records no tokenizer fingerprint"):
        assert Translator.from_checkpoint(folder).translate(["I am here."]) == expected


@pytest.mark.parametrize("folder", SHIPPED, ids=lambda p: p.name)
def test_the_shipped_folders_record_their_tokenizer_fingerprints(folder, recwarn):
    from transformer_tf.checkpoints import check_fingerprints

    recorded = json.loads((folder / "config.json").read_text())["tokenizer_sha256"]
    assert recorded == {name: file_sha256(folder / name) for name in ("tokenizer.model",)}
    check_fingerprints(folder)
    assert [str(w.message) for w in recwarn] == []


def test_a_reader_whose_checkpoint_is_rotated_away_restores_the_newer_one(trained_dir, tmp_path, monkeypatch):
    """Item 12's class in translate, evaluate, export, plot-attention: they read a folder that a
    training run may be writing; the newest checkpoint they found can be deleted (rotated) before
    they read it."""
    import transformer_tf.checkpoints as checkpoints
    from transformer_tf.translate import Translator

    expected = Translator.from_checkpoint(trained_dir).translate(["I am here."])
    real, calls = checkpoints.latest_checkpoint, []

    def rotated_on_first_look(folder):
        calls.append(folder)
        return str(Path(folder) / "ckpt-999") if len(calls) == 1 else real(folder)  # rotated away: no files

    monkeypatch.setattr(checkpoints, "latest_checkpoint", rotated_on_first_look)
    assert Translator.from_checkpoint(trained_dir).translate(["I am here."]) == expected
    assert len(calls) == 2
