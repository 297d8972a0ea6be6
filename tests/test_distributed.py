"""Multi-worker training: two real worker processes on localhost, a killed worker, bad TF_CONFIG."""

import json
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from processes import child_env  # tests/processes.py

from transformer_tf.cli import main
from transformer_tf.errors import TransformerTFError
from transformer_tf.tokenizer import SubwordTokenizer
from transformer_tf.worker_startup import local_tf_configs, read_tf_config

# Two workers of 16 pairs each: global batches of 32. No dropout and a short warm-up, so
# that the weights move far from where they started and both runs are deterministic.
SETTINGS = {
    "max_pairs": 800,
    "augment": False,
    "num_layers": 1,
    "d_model": 16,
    "num_heads": 2,
    "dff": 32,
    "dropout": 0.0,
    "vocab_size": 500,
    "max_tokens": 24,
    "batch_size": 16,
    "epochs": 2,
    "warmup_steps": 10,
    "checkpoint_every": 4,
    # the in-memory split, where the workers slice global batches, so that the single-process
    # reference below reads the same batches (the default, "hash", gives each worker a share)
    "split_method": "grouped-shuffle",
}
WORKERS = 2
TIMEOUT = 420  # seconds any worker process may take before the test fails (and kills it)

# A worker as a script, so that a test can kill it at an exact step: argv = settings (JSON),
# checkpoint folder, step at which to SIGKILL itself (-1: never).
WORKER = """
import json, os, signal, sys
import keras
from transformer_tf.config import TrainConfig
from transformer_tf.train import make_strategy, train

strategy = make_strategy("multiworker", worker_timeout=120)  # before any tensor exists

class KillAt(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) == int(sys.argv[3]):
            os.kill(os.getpid(), signal.SIGKILL)

train(TrainConfig(**json.loads(sys.argv[1])), sys.argv[2], sys.argv[2] + "-logs", callbacks=[KillAt()],
      verbose=0, strategy=strategy)
"""


def run_workers(commands, tmp_path, configs=None):
    """Start one process per command (worker i gets task index i), wait for all; returns
    ``[(returncode, stdout, stderr), ...]``. Each gets TIMEOUT seconds, then all are killed."""
    configs = configs or local_tf_configs(len(commands))
    env = child_env(TMPDIR=str(tmp_path))  # where non-chief workers put their temporary folder
    procs = [
        subprocess.Popen(
            cmd,
            env={**env, "TF_CONFIG": configs[i]},
            cwd=tmp_path,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i, cmd in enumerate(commands)
    ]
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=TIMEOUT)
            results.append((proc.returncode, out, err))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return results


def cli_flags(settings):
    flags = []
    for name, value in settings.items():
        flag = "--" + name.replace("_", "-")
        flags += [flag if value else "--no-" + flag[2:]] if isinstance(value, bool) else [flag, str(value)]
    return flags


@pytest.fixture(scope="module")
def settings(shared_data):
    return dict(SETTINGS, data=str(shared_data / "spa-eng" / "spa.txt"))


@pytest.fixture(scope="module")
def single_process(settings, tmp_path_factory):
    """``(steps an epoch, weights)`` of ONE process trained with Keras's own ``train_on_batch``
    on the global batches (32 pairs) the two workers share, from the same initial weights."""
    from transformer_tf.config import TrainConfig
    from transformer_tf.prepare import prepare_data
    from transformer_tf.train import build_model, make_tokenizers, training_pairs

    config = TrainConfig(**settings)
    global_batch = config.batch_size * WORKERS
    keras.utils.set_random_seed(config.seed)  # what train() does first: the same initial weights
    data = prepare_data(config, tmp_path_factory.mktemp("single"), make_tokenizers, training_pairs, verbose=0)
    source, target = data.tokenizers
    steps = data.steps_per_epoch(global_batch, config.max_tokens, drop_remainder=True)
    model = build_model(config, source.vocab_size, target.vocab_size)
    initial = [w.numpy() for w in model.weights]
    stream = data.train_stream(config.seed, 0, steps, global_batch, config.max_tokens, drop_remainder=True)
    for x, y in stream.take(steps * config.epochs):
        model.train_on_batch(x, y)
    return steps, initial, model


def assert_weights_match(model, reference, initial, tolerance=0.01):
    """Each weight tensor's largest difference from the single process is at most
    ``tolerance`` (1%) of how far training moved that tensor (its largest change); measured
    on this machine: at most 0.06%.

    Not bit-equality: the workers add their gradients in another order than one batched
    matmul does, and Adam divides each update by the gradient's own running RMS, so where
    gradients are tiny round-off moves a weight by a visible fraction of a step. The
    attention key biases are left out: their gradient is zero in exact arithmetic (softmax
    ignores a shift shared by all keys), so there both runs follow round-off alone. A wrong
    slice, loss weight or batch would move weights by whole steps (tens of per cent).
    """
    worst = {}
    for w, ref, init in zip(model.weights, reference.weights, initial):
        assert w.name == ref.name and w.shape == ref.shape
        if w.path.endswith("wk/bias"):
            continue
        moved = np.abs(ref.numpy() - init).max()
        worst[w.path] = np.abs(w.numpy() - ref.numpy()).max() / moved
    skipped = 3 * SETTINGS["num_layers"]  # encoder self-, decoder self- and cross-attention
    assert len(worst) == len(model.weights) - skipped and max(worst.values()) <= tolerance, worst


def test_bad_tf_config_is_named_with_the_fix():
    cases = {
        "not json": "not valid JSON",
        '{"cluster": {}, "task": {"type": "worker", "index": 0}}': "no workers",
        '{"cluster": {"worker": ["localhost:1", "localhost:2"]}, "task": {"type": "worker", "index": 2}}': (
            r"index 2 is out of range.*0\.\.1"
        ),
        '{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "ps", "index": 0}}': "task type 'ps'",
    }
    for text, message in cases.items():
        with pytest.raises(TransformerTFError, match=message):
            read_tf_config(text)
    assert read_tf_config('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}') == (
        {"worker": ["a:1", "b:2"]},
        "worker",
        1,
    )


def test_train_with_bad_tf_config_exits_2_before_training(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["localhost:1"]}, "task": {"index": 3}}')
    assert main(["train", "--strategy", "multiworker", "--checkpoint-dir", str(tmp_path / "ck")]) == 2
    assert "TF_CONFIG task type None" in capsys.readouterr().err
    assert not (tmp_path / "ck").exists()


def test_tokenizer_training_is_deterministic(shared_data):
    """What lets every worker train its own tokenizers: the same text gives the same bytes."""
    from transformer_tf.data import read_pairs

    text = [side for pair in read_pairs(shared_data / "spa-eng" / "spa.txt")[:3000] for side in pair]
    first, second = (SubwordTokenizer.train(text, 500, byte_fallback=True) for _ in range(2))
    assert first.model_proto == second.model_proto


@pytest.mark.slow
def test_worker_whose_peer_never_comes_up_stops_within_the_timeout(settings, tmp_path):
    configs = local_tf_configs(2)  # only the first is started: nobody listens on the second
    start = time.monotonic()
    ((status, _, err),) = run_workers(
        [
            [
                sys.executable,
                "-m",
                "transformer_tf.cli",
                "train",
                "--strategy",
                "multiworker",
                "--worker-timeout",
                "5",
                "--data",
                settings["data"],
            ]
        ],
        tmp_path,
        configs,
    )
    assert status != 0 and "not every worker of TF_CONFIG came up within 5 s" in err
    assert time.monotonic() - start < TIMEOUT
    assert not (tmp_path / "checkpoints").exists()


@pytest.mark.slow
def test_killed_worker_resumes_where_an_uninterrupted_run_ends(settings, single_process, tmp_path):
    """SIGKILL worker 1 mid-epoch 2: the chief stops with a message. The issue's command on
    both workers then resumes from the chief's newest checkpoint: both exit 0, only the
    chief's folder is left, it translates, and its weights are those of one process trained
    straight through on the global batches. Resuming with one worker is refused.

    (One test for the interrupted and the resumed run: each two-worker run costs two
    TensorFlow processes; the fresh start is phase 1, the command-line run phase 2.)
    """
    from transformer_tf.translate import Translator

    steps, initial, reference = single_process
    kill_at = steps + 3  # mid second epoch, off the checkpoint grid (every 4 steps)
    first = run_workers(
        [
            [sys.executable, "-c", WORKER, json.dumps(settings), str(tmp_path / "ck0"), "-1"],
            [sys.executable, "-c", WORKER, json.dumps(settings), str(tmp_path / "ck1"), str(kill_at)],
        ],
        tmp_path,
    )
    assert first[1][0] == -9  # killed itself at kill_at
    assert first[0][0] != 0 and "a worker stopped answering" in first[0][2], first[0][2][-3000:]
    saved = sorted(int(p.stem.split("-")[1]) for p in (tmp_path / "ck0").glob("ckpt-*.index"))
    assert steps <= saved[-1] < kill_at  # resuming has work to redo
    left_by_the_kill = set(tmp_path.glob("transformer-tf-worker*"))  # the killed worker's temporary folder

    commands = [
        [
            sys.executable,
            "-m",
            "transformer_tf.cli",
            "train",
            *cli_flags(settings),
            "--strategy",
            "multiworker",
            "--checkpoint-dir",
            f"ck{i}",
            "--log-dir",
            f"runs{i}",
        ]
        for i in range(WORKERS)
    ]
    second = run_workers(commands, tmp_path)
    for status, _, err in second:
        assert status == 0, err[-3000:]
    assert f"{steps} batches an epoch" in second[0][1] and "2 replica(s)" in second[0][1]
    assert "checkpoints, config.json and tokenizers in ck0" in second[0][1]
    assert "worker done" in second[1][1]
    # Only the chief wrote a folder and logs; the other's temporary folder is gone.
    assert not (tmp_path / "ck1").exists() and not (tmp_path / "runs1").exists()
    assert list((tmp_path / "runs0").rglob("events.out.tfevents.*"))
    assert set(tmp_path.glob("transformer-tf-worker*")) == left_by_the_kill

    translator = Translator.from_checkpoint(tmp_path / "ck0")
    assert isinstance(translator.translate(["I am here."])[0], str)
    assert_weights_match(translator.model, reference, initial)

    # Resuming with one worker would change the global batch: refused, with the count.
    one = subprocess.run(
        [*commands[0], "--epochs", "3"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=TIMEOUT,
        env=child_env(drop=("TF_CONFIG",)),
    )
    assert one.returncode == 2 and "trained by 2 worker(s) and is resumed by 1" in one.stderr, one.stderr[-2000:]


def test_each_worker_reads_its_own_share_of_the_shards_and_all_run_the_shortest_share(tmp_path):
    """Two workers: disjoint shares of the files that together hold every training pair once;
    both run the batches of the shorter share. More workers than files is refused."""
    from transformer_tf.config import TrainConfig
    from transformer_tf.prepare import prepare_shards
    from transformer_tf.shards import shard_files, worker_share
    from transformer_tf.train import make_tokenizers

    (tmp_path / "c.tsv").write_text("".join(f"Sentence number {i}.\tFrase número {i}.\n" for i in range(2000)))
    config = TrainConfig(data=str(tmp_path / "c.tsv"), vocab_size=300, max_tokens=24, augment=False)
    data = prepare_shards(config, tmp_path / "run", make_tokenizers, verbose=0)
    shares = [shard_files(data.folder, data.manifest, "train", (i, 2))[0] for i in range(2)]
    everything = shard_files(data.folder, data.manifest, "train")[0]
    assert not set(shares[0]) & set(shares[1]) and sorted(shares[0] + shares[1]) == sorted(everything)

    def rows(share, steps):
        stream = data.train_stream(config.seed, 0, steps, 16, config.max_tokens, True, share)
        return [tuple(r[r > 0]) for (inp, _), _ in stream.take(steps) for r in inp.numpy()]

    steps = data.steps_per_epoch(16, config.max_tokens, True, workers=2)
    first, second = rows((0, 2), steps), rows((1, 2), steps)
    assert steps > 0 and len(first) == len(second) == 16 * steps
    assert len(set(first + second)) == 32 * steps  # no pair read by both
    left_out = data.manifest["splits"]["train"]["pairs"] - len(first + second)
    assert data.left_out(16, config.max_tokens, workers=2) == left_out > 0  # reported at the start of training
    report = data.left_out_report(16, config.max_tokens, workers=2)
    assert f"{left_out:,} of {data.manifest['splits']['train']['pairs']:,} training pairs" in report
    with pytest.raises(TransformerTFError, match=r"17 workers, but the shards are 16 files.*at most 16 workers"):
        worker_share(data.manifest["splits"]["train"]["files"], 0, 17)


@pytest.mark.slow
def test_an_interrupted_multiworker_run_on_the_shards_ends_where_an_uninterrupted_one_does(settings, tmp_path):
    """The default split (the hash split and its shards), two workers each reading its own
    share: worker 1 killed mid-epoch 2 and both restarted with the same command end on the
    weights of a run that was never interrupted."""
    from transformer_tf.config import TrainConfig
    from transformer_tf.prepare import prepare_data
    from transformer_tf.train import make_tokenizers, training_pairs
    from transformer_tf.translate import Translator

    hashed = dict(settings, split_method="hash")
    config = TrainConfig(**hashed)
    data = prepare_data(config, tmp_path / "probe", make_tokenizers, training_pairs, verbose=0)
    steps = data.steps_per_epoch(config.batch_size, config.max_tokens, True, workers=WORKERS)

    def both(folder, kill_at=-1):
        worker = [sys.executable, "-c", WORKER, json.dumps(hashed)]
        return run_workers(
            [[*worker, str(tmp_path / f"{folder}0"), "-1"], [*worker, str(tmp_path / f"{folder}1"), str(kill_at)]],
            tmp_path,
        )

    for status, _, err in both("straight"):
        assert status == 0, err[-3000:]
    killed = both("resumed", kill_at=steps + 3)
    assert killed[1][0] == -9 and killed[0][0] != 0, killed[0][2][-3000:]
    saved = sorted(int(p.stem.split("-")[1]) for p in (tmp_path / "resumed0").glob("ckpt-*.index"))
    assert steps <= saved[-1] < steps + 3  # resuming has work to redo
    for status, _, err in both("resumed"):
        assert status == 0, err[-3000:]
    straight = Translator.from_checkpoint(tmp_path / "straight0").model
    resumed = Translator.from_checkpoint(tmp_path / "resumed0").model
    for a, b in zip(straight.weights, resumed.weights, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)
