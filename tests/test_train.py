"""Training: what lands on disk, exact resumption, SIGKILL, configuration mismatches."""

import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import config as tf_config  # is_op_determinism_enabled: not public

from transformer_tf.config import CONFIG_FILE, TrainConfig
from transformer_tf.errors import TransformerTFError
from transformer_tf.train import train

INTERVAL = 4  # checkpoint every 4 optimizer steps


@pytest.fixture(scope="module")
def tiny(shared_data):
    """A tiny run on 1,200 real pairs: ~17 steps an epoch, deterministic (the dropout masks'
    random state is checkpointed, so resuming must give the straight run's weights with dropout on)."""
    return TrainConfig(
        data=str(shared_data / "spa-eng" / "spa.txt"),
        max_pairs=1200,
        epochs=2,
        num_layers=1,
        d_model=16,
        num_heads=2,
        dff=32,
        vocab_size=500,
        augment=False,
        batch_size=64,
        checkpoint_every=INTERVAL,
    )


def assert_same_weights(a, b):
    assert len(a.weights) == len(b.weights)
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_allclose(wa.numpy(), wb.numpy(), atol=1e-6, err_msg=wa.path)


def _latest_step(directory):
    return int(tf.train.latest_checkpoint(str(directory)).rsplit("-", 1)[1])


@pytest.fixture(scope="module")
def straight_run(tiny, tmp_path_factory):
    """``(model, history, folder)`` of one uninterrupted run of ``tiny``; tests only read it."""
    folder = tmp_path_factory.mktemp("straight")
    model, history = train(tiny, folder / "ckpt", folder / "logs", verbose=0)
    return model, history, folder


@pytest.fixture(scope="module")
def first_epoch_run(tiny, tmp_path_factory):
    """The folder of ``tiny`` stopped after its first epoch; a test that writes copies it first."""
    folder = tmp_path_factory.mktemp("first-epoch") / "ckpt"
    train(dataclasses.replace(tiny, epochs=1), folder, folder.parent / "logs", verbose=0)
    return folder


@pytest.mark.slow
def test_training_writes_everything_a_restore_needs(tiny, straight_run):
    model, history, run = straight_run
    folder = run / "ckpt"
    saved = TrainConfig.load(folder)
    assert saved == tiny
    import json

    # the joint tokenizer: one model for both sides, named in config.json
    assert json.loads((folder / CONFIG_FILE).read_text())["tokenizer_files"] == ["tokenizer.model"]
    assert (folder / "tokenizer.model").is_file() and (folder / "tokenizer.json").is_file()
    assert _latest_step(folder) == int(model.optimizer.iterations.numpy())
    assert len(list(folder.glob("ckpt-*.index"))) <= 5  # CheckpointManager(max_to_keep=5)
    assert set(history.history) >= {"loss", "masked_accuracy", "val_loss", "val_masked_accuracy"}
    assert list((run / "logs").rglob("events.out.tfevents.*"))  # TensorBoard logs


@pytest.mark.slow
def test_resuming_gives_the_same_model_as_one_uninterrupted_run(tiny, straight_run, first_epoch_run, tmp_path):
    straight = straight_run[0]
    shutil.copytree(first_epoch_run, tmp_path / "resumed")
    resumed, _ = train(tiny, tmp_path / "resumed", tmp_path / "logs2", verbose=0)
    assert int(resumed.optimizer.iterations.numpy()) == int(straight.optimizer.iterations.numpy())
    assert_same_weights(straight, resumed)


@pytest.mark.slow
def test_resuming_a_finished_run_says_it_is_finished(tiny, first_epoch_run, tmp_path, capsys):
    shutil.copytree(first_epoch_run, tmp_path / "done")
    step = _latest_step(tmp_path / "done")
    model, _ = train(dataclasses.replace(tiny, epochs=1), tmp_path / "done", tmp_path / "logs", verbose=1)
    out = capsys.readouterr().out
    assert f"is at step {step}: its 1 epoch(s) are trained; raise --epochs to go on" in out
    assert "resumed from" not in out and int(model.optimizer.iterations.numpy()) == step


@pytest.mark.slow
def test_sigkill_mid_epoch_loses_at_most_one_checkpoint_interval(tiny, straight_run, tmp_path):
    # With dropout on (tiny's default): the dropout masks' random state must come back with the weights.
    assert tiny.dropout > 0
    straight = straight_run[0]
    steps_per_epoch = int(straight.optimizer.iterations.numpy()) // tiny.epochs
    folder, step_file = tmp_path / "killed", tmp_path / "step.txt"
    # The child trains with a callback that records every finished step, so the test knows
    # how far it got when the kill landed.
    # The child must run the same kernels as this process (deterministic ones or not), or the
    # weights whose gradient is ~0 (the key bias) drift apart by round-off that Adam amplifies.
    deterministic = tf_config.is_op_determinism_enabled()
    script = textwrap.dedent(f"""
        import os
        import keras
        import tensorflow as tf
        from transformer_tf.config import TrainConfig
        from transformer_tf.train import train
        if {deterministic}:
            tf.config.experimental.enable_op_determinism()

        class RecordStep(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                # write-then-rename: a kill can never leave a half-written (empty) file
                with open({str(step_file) + ".tmp"!r}, "w") as f:
                    f.write(str(int(self.model.optimizer.iterations.numpy())))
                os.replace({str(step_file) + ".tmp"!r}, {str(step_file)!r})

        config = TrainConfig(**{tiny.__dict__!r})
        config.epochs = 50
        train(config, {str(folder)!r}, {str(tmp_path / "logs")!r}, callbacks=[RecordStep()], verbose=0)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    # early in the second epoch (a checkpoint of it already written), off the interval grid
    target = next(step for step in range(steps_per_epoch + INTERVAL + 1, 2 * steps_per_epoch) if step % INTERVAL)
    while time.monotonic() < deadline:
        if step_file.exists() and int(step_file.read_text()) >= target:
            break
        assert child.poll() is None, child.stderr.read().decode()[-2000:]
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    reached = int(step_file.read_text())
    saved = _latest_step(folder)
    assert reached - saved < INTERVAL, (reached, saved)
    assert steps_per_epoch < saved < tiny.epochs * steps_per_epoch  # killed mid second epoch: work left to redo

    # Resuming from the kill ends where the uninterrupted run of the same length ends.
    resumed, _ = train(tiny, folder, tmp_path / "logs", verbose=0)
    assert_same_weights(straight, resumed)


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.slow
def test_a_refused_resume_names_the_mismatch_and_changes_nothing(tiny, first_epoch_run, tmp_path):
    folder = tmp_path / "ckpt"
    shutil.copytree(first_epoch_run, folder)
    before = _snapshot(folder)
    other = TrainConfig(**{**tiny.__dict__, "d_model": 32, "num_layers": 2, "epochs": 3})
    with pytest.raises(TransformerTFError, match=r"num_layers: saved 1, requested 2; d_model: saved 16"):
        train(other, folder, tmp_path / "logs", verbose=0)
    assert _snapshot(folder) == before  # config.json was not rewritten (epochs, data)

    # Another corpus: same settings, other text. Its tokenizers and batches would not fit.
    lines = open(tiny.data, encoding="utf-8").read().splitlines()
    other_corpus = tmp_path / "other.txt"
    other_corpus.write_text("\n".join(lines[::-1][:5000]) + "\n", encoding="utf-8")
    moved = TrainConfig(**{**tiny.__dict__, "data": str(other_corpus), "epochs": 3})
    with pytest.raises(TransformerTFError, match=r"another corpus \(spa.txt: .* bytes.*\(other.txt: "):
        train(moved, folder, tmp_path / "logs", verbose=0)
    assert _snapshot(folder) == before


@pytest.mark.slow
def test_a_folder_with_a_config_but_no_checkpoint_is_started_afresh(tiny, tmp_path):
    """What a failed start used to leave (config and tokenizers, no checkpoint) does not block the retry."""
    folder = tmp_path / "ckpt"
    folder.mkdir()
    TrainConfig(**{**tiny.__dict__, "batch_size": 7}).save(folder)
    model, _ = train(TrainConfig(**{**tiny.__dict__, "epochs": 1}), folder, tmp_path / "logs", verbose=0)
    assert TrainConfig.load(folder).batch_size == tiny.batch_size
    assert _latest_step(folder) == int(model.optimizer.iterations.numpy()) > 0


@pytest.mark.slow
def test_a_checkpoint_folder_that_becomes_unwritable_stops_with_a_message(tiny, tmp_path):
    import keras

    folder = tmp_path / "ckpt"

    class TakeTheFolderAway(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.optimizer.iterations.numpy()) == INTERVAL + 1:
                folder.rename(tmp_path / "moved")
                folder.write_text("a file where the folder was")

    with pytest.raises(
        TransformerTFError,
        match=r"cannot write a checkpoint to .*ckpt at step \d+ .*not a directory"
        r".*the last one saved is .*ckpt-\d+",
    ):
        train(tiny, folder, tmp_path / "logs", callbacks=[TakeTheFolderAway()], verbose=0)


BAD_NUMBERS = [
    ["--batch-size", "0"],
    ["--epochs", "0"],
    ["--epochs", "-2"],
    ["--val-fraction", "1.5"],
    ["--test-fraction", "0"],
    ["--dropout", "1"],
    ["--num-heads", "3"],
    ["--max-pairs", "0"],
    ["--checkpoint-every", "0"],
    ["--warmup-steps", "0"],
    ["--max-tokens", "2"],
    ["--vocab-size", "-5"],
    ["--seed", "-1"],
]


@pytest.mark.parametrize("flags", BAD_NUMBERS, ids=lambda f: " ".join(f))
def test_a_bad_number_exits_2_before_anything_is_written(flags, tmp_path, capsys):
    from transformer_tf.cli import main

    folder = tmp_path / "ckpt"
    code = main(
        [
            "train",
            *flags,
            "--data",
            str(tmp_path / "spa.txt"),
            "--checkpoint-dir",
            str(folder),
            "--log-dir",
            str(tmp_path / "logs"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 2 and flags[0] in captured.err and "Traceback" not in captured.err
    assert "checkpoints" not in captured.out and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("flags", BAD_NUMBERS, ids=lambda f: " ".join(f))
def test_a_bad_number_in_the_library_names_the_field_not_the_flag(flags):

    field = flags[0][2:].replace("-", "_")
    value = type(getattr(TrainConfig(), field) or 1)(flags[1])  # max_pairs (None) is a whole number
    with pytest.raises(TransformerTFError) as refused:
        dataclasses.replace(TrainConfig(), **{field: value}).validate()
    assert f"{field} {value}" in str(refused.value) and "--" not in str(refused.value)


@pytest.mark.parametrize("corpus", ["too_small", "latin1"])
def test_a_corpus_that_cannot_be_used_exits_2_and_writes_nothing(corpus, tmp_path, capsys):
    from transformer_tf.cli import main

    data = tmp_path / "spa.txt"
    if corpus == "too_small":  # five pairs, two English sentences: nothing left for a third split
        data.write_text("Go.\tVe.\nGo.\tVete.\nGo.\tVaya.\nHi.\tHola.\nHi.\tBuenas.\n", encoding="utf-8")
        expected = "2 distinct English sentence(s): too few to split"
    else:
        data.write_bytes("Coffee.\tCaf\u00e9.\n".encode("latin-1") * 10)
        expected = f"{data}: not UTF-8 text (byte 0xe9"
    folder = tmp_path / "ckpt"
    code = main(["train", "--data", str(data), "--checkpoint-dir", str(folder), "--log-dir", str(tmp_path / "logs")])
    err = capsys.readouterr().err
    assert code == 2 and expected in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spa.txt"]


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["mirrored", "multiworker"])
def test_distributed_training_on_two_logical_cpus(tiny, tmp_path, strategy):
    """The CLI's --strategy path, in a fresh process (devices are fixed when TF starts)."""
    folder = tmp_path / "ckpt"
    args = [
        "--data",
        tiny.data,
        "--max-pairs",
        "600",
        "--epochs",
        "1",
        "--num-layers",
        "1",
        "--d-model",
        "16",
        "--num-heads",
        "2",
        "--dff",
        "32",
        "--vocab-size",
        "400",
        "--no-augment",
        "--batch-size",
        "16",
        "--checkpoint-dir",
        str(folder),
        "--log-dir",
        str(tmp_path / "logs"),
        "--strategy",
        strategy,
        "--cpu-replicas",
        "2",
    ]
    run = subprocess.run(
        [sys.executable, "-m", "transformer_tf.cli", "train", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    # Mirrored splits each batch over both CPU devices; MultiWorkerMirrored uses one device per
    # worker, so without TF_CONFIG it is one local worker with one replica.
    assert (
        "MirroredStrategy: 2 replica(s)" if strategy == "mirrored" else "Strategy: 1 replica(s)"
    ) in run.stdout  # (TF names it CollectiveAllReduceStrategy)
    assert tf.train.latest_checkpoint(str(folder)) is not None
    # the distributed checkpoint restores into a plain, single-device translator: every weight of
    # the rebuilt model holds the value the training process saved (not a fresh initialisation)
    from transformer_tf.translate import Translator

    translator = Translator.from_checkpoint(folder)
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(folder)))
    # a variable is saved once, under the first path to it: most model weights sit under
    # optimizer/_trainable_variables/, so look at every saved value except Adam's moments
    saved = [
        reader.get_tensor(key)
        for key in reader.get_variable_to_shape_map()
        if key.endswith("/.ATTRIBUTES/VARIABLE_VALUE") and "OPTIMIZER_SLOT" not in key
    ]
    weights = translator.model.trainable_weights
    assert len(weights) > 20
    for weight in weights:
        value = weight.numpy()
        assert any(s.shape == value.shape and np.array_equal(s, value) for s in saved), weight.path
    assert isinstance(translator.translate(["I am here."])[0], str)  # and it runs


@pytest.mark.parametrize("replicas", ["0", "-1"])
def test_cpu_replicas_below_one_exit_2(replicas, tmp_path, capsys):
    from transformer_tf.cli import main

    code = main(
        [
            "train",
            "--cpu-replicas",
            replicas,
            "--strategy",
            "mirrored",
            "--checkpoint-dir",
            str(tmp_path / "c"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and f"--cpu-replicas {replicas}" in err and list(tmp_path.iterdir()) == []


def test_a_log_file_gets_one_line_an_epoch_not_a_bar_redrawn_each_step(tiny, tmp_path, capsys):
    # under pytest standard output is not a terminal, as when `train ... > run.log`
    train(dataclasses.replace(tiny, epochs=1), tmp_path / "ckpt", tmp_path / "logs", verbose=1)
    out = capsys.readouterr().out
    assert re.search(r"^(\d+)/\1 - .* - loss: ", out, re.MULTILINE), out  # steps/steps - time - loss, once
    assert "━" not in out and "\r" not in out  # Keras' progress bar, redrawn at every step
