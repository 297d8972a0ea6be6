"""Training: what lands on disk, exact resumption, SIGKILL, configuration mismatches."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import config as tf_config  # is_op_determinism_enabled: not public

from transformer_tf.errors import TransformerTFError
from transformer_tf.train import TOKENIZER_NAMES, TrainConfig, train

INTERVAL = 4  # checkpoint every 4 optimizer steps


@pytest.fixture
def tiny(shared_data):
    """A tiny, dropout-free run on 1,200 real pairs: ~17 steps an epoch, deterministic."""
    return TrainConfig(data=str(shared_data / "spa-eng" / "spa.txt"), max_pairs=1200, epochs=2,
                       num_layers=1, d_model=16, num_heads=2, dff=32, dropout=0.0, vocab_size=500, augment=False,
                       batch_size=64, checkpoint_every=INTERVAL)


def assert_same_weights(a, b):
    assert len(a.weights) == len(b.weights)
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_allclose(wa.numpy(), wb.numpy(), atol=1e-6, err_msg=wa.path)


def _latest_step(directory):
    return int(tf.train.latest_checkpoint(str(directory)).rsplit("-", 1)[1])


@pytest.mark.slow
def test_training_writes_everything_a_restore_needs(tiny, tmp_path):
    model, history = train(tiny, tmp_path / "ckpt", tmp_path / "logs", verbose=0)
    folder = tmp_path / "ckpt"
    saved = TrainConfig.load(folder)
    assert saved == tiny
    for name in TOKENIZER_NAMES:
        assert (folder / f"{name}.model").is_file() and (folder / f"{name}.json").is_file()
    assert _latest_step(folder) == int(model.optimizer.iterations.numpy())
    assert len(list(folder.glob("ckpt-*.index"))) <= 5  # CheckpointManager(max_to_keep=5)
    assert set(history.history) >= {"loss", "masked_accuracy", "val_loss", "val_masked_accuracy"}
    assert list((tmp_path / "logs").rglob("events.out.tfevents.*"))  # TensorBoard logs


@pytest.mark.slow
def test_resuming_gives_the_same_model_as_one_uninterrupted_run(tiny, tmp_path):
    straight, _ = train(tiny, tmp_path / "straight", tmp_path / "logs1", verbose=0)
    first_half = TrainConfig(**{**tiny.__dict__, "epochs": 1})
    train(first_half, tmp_path / "resumed", tmp_path / "logs2", verbose=0)
    resumed, _ = train(tiny, tmp_path / "resumed", tmp_path / "logs2", verbose=0)
    assert int(resumed.optimizer.iterations.numpy()) == int(straight.optimizer.iterations.numpy())
    assert_same_weights(straight, resumed)


@pytest.mark.slow
def test_sigkill_mid_epoch_loses_at_most_one_checkpoint_interval(tiny, tmp_path):
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
        from transformer_tf.train import TrainConfig, train
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
    target = 25 + 2  # mid-epoch of the second epoch (epochs are ~17 steps), off the interval grid
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

    # Resuming from the kill ends where an uninterrupted run of the same length ends.
    epochs_needed = TrainConfig(**{**tiny.__dict__, "epochs": 3})
    resumed, _ = train(epochs_needed, folder, tmp_path / "logs", verbose=0)
    straight, _ = train(epochs_needed, tmp_path / "straight", tmp_path / "logs3", verbose=0)
    assert_same_weights(straight, resumed)


@pytest.mark.slow
def test_resuming_with_another_architecture_names_the_mismatch(tiny, tmp_path):
    train(TrainConfig(**{**tiny.__dict__, "epochs": 1}), tmp_path / "ckpt", tmp_path / "logs", verbose=0)
    other = TrainConfig(**{**tiny.__dict__, "d_model": 32, "num_layers": 2})
    with pytest.raises(TransformerTFError, match=r"num_layers: saved 1, requested 2; d_model: saved 16"):
        train(other, tmp_path / "ckpt", tmp_path / "logs", verbose=0)


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["mirrored", "multiworker"])
def test_distributed_training_on_two_logical_cpus(tiny, tmp_path, strategy):
    """The CLI's --strategy path, in a fresh process (devices are fixed when TF starts)."""
    folder = tmp_path / "ckpt"
    args = ["--data", tiny.data, "--max-pairs", "600", "--epochs", "1", "--num-layers", "1", "--d-model", "16",
            "--num-heads", "2", "--dff", "32", "--vocab-size", "150", "--batch-size", "16", "--checkpoint-dir", str(folder),
            "--log-dir", str(tmp_path / "logs"), "--strategy", strategy, "--cpu-replicas", "2"]
    run = subprocess.run([sys.executable, "-m", "transformer_tf.cli", "train", *args],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    # Mirrored splits each batch over both CPU devices; MultiWorkerMirrored uses one device per
    # worker, so without TF_CONFIG it is one local worker with one replica.
    assert ("MirroredStrategy: 2 replica(s)" if strategy == "mirrored" else
            "Strategy: 1 replica(s)") in run.stdout  # (TF names it CollectiveAllReduceStrategy)
    assert tf.train.latest_checkpoint(str(folder)) is not None
    # the distributed checkpoint restores into a plain, single-device translator: every weight of
    # the rebuilt model holds the value the training process saved (not a fresh initialisation)
    from transformer_tf.translate import Translator

    translator = Translator.from_checkpoint(folder)
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(folder)))
    # a variable is saved once, under the first path to it: most model weights sit under
    # optimizer/_trainable_variables/, so look at every saved value except Adam's moments
    saved = [reader.get_tensor(key) for key in reader.get_variable_to_shape_map()
             if key.endswith("/.ATTRIBUTES/VARIABLE_VALUE") and "OPTIMIZER_SLOT" not in key]
    weights = translator.model.trainable_weights
    assert len(weights) > 20
    for weight in weights:
        value = weight.numpy()
        assert any(s.shape == value.shape and np.array_equal(s, value) for s in saved), weight.path
    assert isinstance(translator.translate(["I am here."])[0], str)  # and it runs
