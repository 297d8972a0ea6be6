"""JSB Chorales loading, the variant study (quick mode), its Optuna store and the lstm-tf command line."""

import contextlib
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np
import optuna
import pandas as pd
import pytest
from processes import child_env  # tests/processes.py

from lstm_tf import search
from lstm_tf.analysis import check_paper_claims, importance_by_variant, summarize, variant_forests
from lstm_tf.cli import build_parser, main
from lstm_tf.errors import LSTMTFError
from lstm_tf.jsb import (
    FILENAME,
    SPLITS,
    load_jsb_chorales,
    piano_roll,
    plot_piano_roll,
    resolve_jsb_chorales,
)
from lstm_tf.report import plot_learning_rate_marginal, write_report
from lstm_tf.study import next_step_batches, run_study, run_trial
from lstm_tf.study_config import StudyConfig, search_space

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def jsb_dir(shared_data):
    return shared_data / "jsb-chorales"


def test_real_split_matches_the_paper(jsb_dir):
    data = load_jsb_chorales(jsb_dir)
    assert {k: len(v) for k, v in data.items()} == {"train": 229, "valid": 76, "test": 77}
    assert sum(len(r) for r in data["train"]) == 13_807
    first = data["train"][0]
    assert first.shape == (len(first), 88) and first.dtype == np.float32
    assert list(np.flatnonzero(first[0]) + 21) == [60, 72, 79, 88]  # the first chord, as MIDI pitches
    assert set(np.unique(np.concatenate(data["test"]))) == {0.0, 1.0}


def test_piano_roll_keys_and_range():
    roll = piano_roll([[21, 108], [], [60]])
    assert roll.shape == (3, 88)
    assert roll[0, 0] == roll[0, 87] == 1 and roll[1].sum() == 0 and roll[2, 39] == 1
    with pytest.raises(LSTMTFError, match="outside the piano range"):
        piano_roll([[20]])


def test_plot_piano_roll_draws_the_notes():
    roll = piano_roll([[60, 64], [67], []])
    ax = plot_piano_roll(roll, title="C major")
    image = ax.images[0].get_array()
    assert image.shape == (88, 3) and image[60 - 21, 0] == 1 and image[:, 2].sum() == 0
    assert ax.get_ylim() == (20.5, 108.5)


def test_download_path_with_local_url_and_hash(jsb_dir, tmp_path, serve_folder):
    url = f"{serve_folder(jsb_dir)}/{FILENAME}"
    path = resolve_jsb_chorales(cache_dir=tmp_path / "keras", url=url)
    assert path == tmp_path / "keras" / "datasets" / FILENAME and path.read_bytes() == (jsb_dir / FILENAME).read_bytes()
    assert resolve_jsb_chorales(cache_dir=tmp_path / "keras", url="https://127.0.0.1:9/none.json") == path  # cached


def test_the_default_cache_is_keras_home(jsb_dir, tmp_path, monkeypatch):
    """No cache_dir: the file a download left in $KERAS_HOME/datasets is found there."""
    cached = tmp_path / "keras-home" / "datasets" / FILENAME
    cached.parent.mkdir(parents=True)
    cached.write_bytes((jsb_dir / FILENAME).read_bytes())
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    assert resolve_jsb_chorales(url="https://127.0.0.1:9/none.json") == cached


def test_a_download_with_the_wrong_hash_is_refused_and_not_kept(tmp_path, serve_folder):
    (tmp_path / "server").mkdir()
    (tmp_path / "server" / FILENAME).write_text('{"train": [], "valid": [], "test": []}')
    with pytest.raises(LSTMTFError, match="SHA256.*--data PATH"):
        resolve_jsb_chorales(cache_dir=tmp_path / "keras", url=f"{serve_folder(tmp_path / 'server')}/{FILENAME}")
    assert [p for p in (tmp_path / "keras").rglob("*") if p.is_file()] == []


def test_offline_download_fails_fast_naming_the_fix(tmp_path, connection_attempts):
    # fast = one connection attempt bounded by the timeout (no retry loop), and nothing left behind
    with pytest.raises(LSTMTFError, match="--data PATH"):
        resolve_jsb_chorales(cache_dir=tmp_path, url="https://127.0.0.1:9/jsb.json", timeout=2)
    assert connection_attempts == [(("127.0.0.1", 9), 2)]
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_bad_files_get_clear_errors(tmp_path):
    with pytest.raises(LSTMTFError, match="no such file"):
        load_jsb_chorales(tmp_path / "missing.json")
    (tmp_path / FILENAME).write_text(json.dumps({"train": [], "valid": []}))
    with pytest.raises(LSTMTFError, match="not the JSB Chorales JSON"):
        load_jsb_chorales(tmp_path)


def test_a_bad_pitch_in_a_file_names_the_file_split_and_chorale(tmp_path):
    chorales = {"train": [[[60], [62]], [[60], [61], [200]]], "valid": [[[60], [62]]], "test": [[[60], [62]]]}
    (tmp_path / FILENAME).write_text(json.dumps(chorales))
    expected = f"{tmp_path / FILENAME}: train chorale 1: step 2 has a pitch outside the piano range MIDI 21–108: [200]."
    with pytest.raises(LSTMTFError, match=re.escape(expected)):
        load_jsb_chorales(tmp_path)


@pytest.mark.parametrize("pitch", [60.5, float("inf"), float("nan"), "60", True])
def test_a_pitch_that_is_no_whole_midi_number_is_refused_naming_the_step(pitch):
    # inf was an OverflowError traceback (json reads Infinity), 60.5 was silently key 60
    with pytest.raises(LSTMTFError, match="step 1 has a pitch that is not a whole MIDI number"):
        piano_roll([[60, 64], [pitch]])
    assert piano_roll([[60.0, 64]])[0].sum() == 2  # 60.0 is key 60


def test_a_trial_runs_with_the_largest_seed_the_config_accepts():
    rolls = [piano_roll([[60 + k % 12], [64], [67]] * 4) for k in range(4)]
    config = StudyConfig.quick(seed=2**32 - 1, max_epochs=1)  # seed * 100 + draw was past NumPy's limit
    row = run_trial("vanilla", {"learning_rate": 0.01, "units": 4}, dict.fromkeys(SPLITS, rolls), config, trial=3)
    assert np.isfinite(row["test_nll"]) and row["epochs"] == 1


def test_next_step_batches_shift_pad_and_weight():
    rolls = [np.eye(88, dtype=np.float32)[:n] for n in (5, 40, 7)]
    batches = next_step_batches(rolls, batch_size=2, bucket=32)
    assert [b[0].shape for b in batches] == [(2, 32, 88), (1, 64, 88)]  # sorted by length, padded to 32s
    x, y, w = batches[0]
    np.testing.assert_array_equal(x[0, :4], rolls[0][:4])
    np.testing.assert_array_equal(y[0, :4], rolls[0][1:])  # target = the next step
    assert w[0].sum() == 4 and w[1].sum() == 6 and x[0, 4:].sum() == 0
    shuffled = next_step_batches(rolls, batch_size=2, bucket=32, seed=3)
    assert sum(b[2].sum() for b in shuffled) == 4 + 39 + 6  # every real step once


def _store(tmp_path, grace_period=60):
    return search.open_storage(f"sqlite:///{tmp_path / 'study.db'}", heartbeat_interval=1, grace_period=grace_period)


def _synthetic(calls):
    """An objective that needs no training: records its calls, returns a function of the learning rate."""

    def objective(variant, trial, draw):
        lr = trial.suggest_float("learning_rate", 1e-6, 1e-2, log=True)
        trial.suggest_int("units", 20, 64, log=True)
        calls.append((variant, draw))
        return float(np.log10(lr))

    return objective


def test_draw_k_is_the_same_in_every_variant_and_in_range():
    space = search_space(StudyConfig.for_protocol("paper"))
    draws = {}
    for variant in ("vanilla", "NFG"):
        study = optuna.create_study(sampler=search.DrawSampler(seed=3))
        for _ in range(4):
            trial = study.ask(space)
            study.tell(trial, 0.0)
        draws[variant] = [t.params for t in study.trials]
    assert draws["vanilla"] == draws["NFG"]  # pair by pair
    assert len({d["learning_rate"] for d in draws["vanilla"]}) == 4  # four different draws
    for d in draws["vanilla"]:
        assert 1e-6 <= d["learning_rate"] <= 1e-2 and 20 <= d["units"] <= 64
        assert 0.01 <= d["one_minus_momentum"] <= 1 and 0 <= d["input_noise"] <= 1


def test_resume_after_k_trials_runs_only_the_missing_draws(tmp_path):
    settings = StudyConfig(trials=3).settings()
    calls = []
    studies = search.open_studies(_store(tmp_path), "s", ("vanilla", "NFG"), settings, seed=0)
    assert search.run_worker(studies, _synthetic(calls), trials=3) == 6
    first = search.trials_frame(studies)
    calls.clear()  # "killed" after 3 trials per variant; a new process opens the same store
    studies = search.open_studies(_store(tmp_path), "s", ("vanilla", "NFG"), settings, seed=0)
    assert search.run_worker(studies, _synthetic(calls), trials=5) == 4
    assert sorted(calls) == [("NFG", 3), ("NFG", 4), ("vanilla", 3), ("vanilla", 4)]  # never a finished one
    again = search.trials_frame(studies)
    assert sorted(again["trial"]) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    pd.testing.assert_frame_equal(again[again["trial"] < 3].reset_index(drop=True), first)


def test_a_trial_pruned_because_another_worker_got_there_first_is_not_counted_as_run(tmp_path):
    # Two workers can both read "one trial missing" and both start one; the later is pruned at
    # once. The count a worker returns is of trials whose objective it ran, so the workers' counts
    # add up to the study's trials (the two-process test failed on 13 == 12 when this happened).
    studies = search.open_studies(_store(tmp_path), "s", ("vanilla",), {"a": 1}, seed=0)
    study = studies["vanilla"]
    with pytest.warns(UserWarning, match="Heartbeat of storage"):  # the other worker's finished trial
        peer = study.ask(search_space(StudyConfig(units_range=(20, 64), learning_rate_range=(1e-6, 1e-2))))
    study.tell(peer, 0.0)
    real_counts, reads = search.counts, []

    def stale_first(s):  # the first read happened before the peer's trial started
        reads.append(s)
        return (0, 0) if len(reads) == 1 else real_counts(s)

    calls = []
    with mock.patch.object(search, "counts", side_effect=stale_first):
        ran = search.run_worker(studies, _synthetic(calls), trials=1, poll=0.1)
    assert calls == [] and ran == 0
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED]


def test_a_killed_trial_is_retried_with_its_own_draw(tmp_path):
    studies = search.open_studies(_store(tmp_path, grace_period=1), "s", ("vanilla",), {"a": 1}, seed=0)
    study = studies["vanilla"]
    # a bare ask() on a heartbeat storage is what a dying worker's trial looks like (Optuna warns)
    with pytest.warns(UserWarning, match="Heartbeat of storage"):
        zombie = study.ask(search_space(StudyConfig(units_range=(20, 64), learning_rate_range=(1e-6, 1e-2))))
    study._storage.record_heartbeat(zombie._trial_id)  # its worker then dies: no more heartbeats
    time.sleep(2.5)
    calls = []
    search.run_worker(studies, _synthetic(calls), trials=3, poll=0.1)
    frame = search.trials_frame(studies)
    assert sorted(frame["trial"]) == [0, 1, 2] and sorted(d for _, d in calls) == [0, 1, 2]
    assert frame.loc[frame["trial"] == 0, "learning_rate"].item() == zombie.params["learning_rate"]
    assert [t.state for t in study.trials].count(optuna.trial.TrialState.FAIL) == 1


def test_a_trial_stopped_by_ctrl_c_is_retried_with_its_own_draw(tmp_path):
    studies = search.open_studies(_store(tmp_path), "s", ("vanilla",), {"a": 1}, seed=0)
    calls = []

    def interrupted(variant, trial, draw):
        _synthetic(calls)(variant, trial, draw)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        search.run_worker(studies, interrupted, trials=3)
    search.run_worker(studies, _synthetic(calls), trials=3)
    assert [d for _, d in calls] == [0, 0, 1, 2]  # draw 0 interrupted, then run again, then the rest
    frame = search.trials_frame(studies)
    assert sorted(frame["trial"]) == [0, 1, 2]


WORKER = """
import sys, time
from pathlib import Path
from lstm_tf import search
import numpy as np
db, me, other = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
me.write_text("ready")
while not other.exists():   # both start together: the test is about sharing, not about start-up time
    time.sleep(0.05)
store = search.open_storage(f"sqlite:///{db}", heartbeat_interval=1)
studies = search.open_studies(store, "s", ("vanilla", "NFG"), {"a": 1}, seed=0)
def objective(variant, trial, draw):
    lr = trial.suggest_float("learning_rate", 1e-6, 1e-2, log=True)
    time.sleep(0.3)
    return float(np.log10(lr))
print("ran", search.run_worker(studies, objective, trials=6, poll=0.1))
"""


@pytest.mark.slow  # two fresh processes (optuna, no TensorFlow: lstm_tf.search does not need it)
def test_two_worker_processes_share_one_store_without_duplicates(tmp_path):
    db = tmp_path / "study.db"
    search.open_studies(_store(tmp_path), "s", ("vanilla", "NFG"), {"a": 1}, seed=0)  # create it once, up front
    env = child_env()
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                str(db),
                str(tmp_path / f"ready{k}"),
                str(tmp_path / f"ready{1 - k}"),
            ],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for k in (0, 1)
    ]
    ran = [int(w.communicate(timeout=300)[0].split()[-1]) for w in workers]
    assert all(w.returncode == 0 for w in workers)
    frame = search.trials_frame(search.open_studies(_store(tmp_path), "s", ("vanilla", "NFG"), {"a": 1}, seed=0))
    assert sum(ran) == 12 and min(ran) > 0  # 6 per variant in total, both did some
    assert frame.groupby("variant")["trial"].apply(lambda d: d.is_unique and len(d) == 6).all()


def test_fanova_ranks_the_only_hyperparameter_that_matters_first():
    rng = np.random.default_rng(0)
    space = search_space(StudyConfig.for_protocol("paper"))
    n = 40
    frame = pd.DataFrame(
        {
            "learning_rate": 10 ** rng.uniform(-6, -2, n),
            "units": rng.integers(20, 65, n),
            "one_minus_momentum": 10 ** rng.uniform(-2, 0, n),
            "input_noise": rng.uniform(0, 1, n),
        }
    )
    frame["test_nll"] = 8 + (np.log10(frame["learning_rate"]) + 3) ** 2 + rng.normal(0, 0.05, n)  # NLL(lr) only
    importance, marginal = search.fanova_importance(frame, space, target="test_nll", n_trees=16)
    mains = importance[[n for n in space]]
    assert mains.idxmax() == "learning_rate" and mains["learning_rate"] > 0.8
    assert importance.drop("learning_rate").max() < 0.1  # the rest, and every pair, near 0
    mean, std = marginal("learning_rate", [1e-5, 1e-3])
    assert mean[1] < mean[0] - 2 and np.all(std >= 0)  # the valley at 1e-3 is found


def _made_up_results(n=10, seed=0):
    """A results table as the study writes it: NFG clearly worse, CIFG like vanilla, NLL a function of lr."""
    rng = np.random.default_rng(seed)
    lr = 10 ** rng.uniform(-3, -1.5, n)
    rows = []
    for variant, shift in (("vanilla", 0.0), ("NFG", 1.0), ("CIFG", 0.0)):
        nll = 8 + shift + (np.log10(lr) + 2.2) ** 2 + rng.normal(0, 0.02, n)
        rows += [
            {
                "variant": variant,
                "trial": k,
                "learning_rate": lr[k],
                "units": 40,
                "parameters": 1000,
                "epochs": 5,
                "best_epoch": 4,
                "valid_nll": nll[k] - 0.1,
                "test_nll": nll[k],
                "seconds": 1.0,
            }
            for k in range(n)
        ]
    return pd.DataFrame(rows)


def test_summary_and_claims_on_a_made_up_table():
    rows = [
        ("vanilla", 0, 8.0, 8.1),
        ("vanilla", 1, 8.5, 8.6),
        ("NFG", 0, 9.0, 9.1),
        ("NFG", 1, 9.5, 9.4),
        ("CIFG", 0, 8.05, 8.15),
        ("CIFG", 1, 9.0, 8.5),
    ]
    results = pd.DataFrame(rows, columns=["variant", "trial", "valid_nll", "test_nll"]).assign(
        units=50, learning_rate=0.01
    )
    table = summarize(results)
    assert list(table.index) == ["vanilla", "NFG", "CIFG"]  # the paper's order
    assert table.loc["NFG", "best"] == 9.1  # picked by validation, not by test
    assert table.loc["vanilla", "mean"] == pytest.approx(8.35)
    assert table.loc["NFG", "paired_median"] == pytest.approx(0.9)  # 9.1 − 8.1 and 9.4 − 8.6
    assert table.loc["NFG", "paired_worse"] == 2 and table.loc["CIFG", "paired_worse"] == 1
    assert table.loc["NFG", "top_n"] == 1 and table.loc["NFG", "top_mean"] == 9.1
    checks = {c["variant"]: c for c in check_paper_claims(table)}
    assert checks["NFG"]["verdict"] == "undecided" and "too few trials" in checks["NFG"]["sentence"]

    many = summarize(pd.concat([_made_up_results(40, seed) for seed in (0,)]))  # top 10 %: 4 trials each
    assert many.loc["NFG", "top_n"] == 4 and many.loc["NFG", "welch_p"] < 0.05
    checks = {c["variant"]: c for c in check_paper_claims(many)}
    assert checks["NFG"]["verdict"] == "holds"  # significantly worse, as the paper says
    assert checks["CIFG"]["verdict"] == "holds" and checks["CIFG"]["p"] >= 0.05
    assert checks["NFG"]["sentence"].startswith("NFG: the paper found it significantly worse")


def test_report_writes_table_claims_importance_and_figures(tmp_path):
    results = _made_up_results(30)  # top 10 %: 3 trials a variant
    space = search_space(StudyConfig(learning_rate_range=(1e-3, 10**-1.5), units_range=(40, 40)))
    write_report(results, space, StudyConfig(), tmp_path)
    summary = (tmp_path / "summary.md").read_text()
    assert "| NFG | worse | holds |" in summary and "fANOVA" in summary and "| all | " in summary
    assert pd.read_csv(tmp_path / "results.csv").shape[0] == 90
    for name in ("boxplot.png", "importance.png", "learning_rate.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_a_report_interrupted_while_writing_leaves_the_last_results_whole(tmp_path, monkeypatch):
    results = _made_up_results(10)
    space = search_space(StudyConfig(learning_rate_range=(1e-3, 10**-1.5), units_range=(40, 40)))
    write_report(results, space, StudyConfig(), tmp_path)
    before = (tmp_path / "results.csv").read_text()

    def interrupted(frame, target, **kwargs):  # Ctrl-C half-way through the table (to a path or a file)
        with open(target, "w") if isinstance(target, Path) else contextlib.nullcontext(target) as f:
            f.write("variant,trial\nvanilla,")
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_report(_made_up_results(12), space, StudyConfig(), tmp_path)
    assert (tmp_path / "results.csv").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no partial file


def test_one_set_of_forests_serves_the_importance_table_and_the_learning_rate_curves():
    results = _made_up_results(10)
    results.loc[results["variant"] == "CIFG", "test_nll"] = 8.0  # one NLL for all: no forest for CIFG
    space = search_space(StudyConfig(learning_rate_range=(1e-3, 10**-1.5), units_range=(40, 40)))
    forests = variant_forests(results, space, n_trees=4)
    assert list(forests) == ["vanilla", "NFG"]  # VARIANTS order, CIFG left out
    pd.testing.assert_frame_equal(
        importance_by_variant(results, space, n_trees=4, forests=forests),
        importance_by_variant(results, space, n_trees=4),
    )
    given = plot_learning_rate_marginal(results, space, forests=forests)
    fitted = plot_learning_rate_marginal(results, space, n_trees=4)
    assert [line.get_label() for line in given.axes[0].lines] == ["vanilla", "NFG"]
    for a, b in zip(given.axes[0].lines, fitted.axes[0].lines, strict=True):
        np.testing.assert_array_equal(a.get_ydata(), b.get_ydata())


@pytest.mark.slow
def test_quick_study_writes_everything_and_resumes(jsb_dir, tmp_path):
    data = load_jsb_chorales(jsb_dir)
    config = StudyConfig.for_protocol("paper", quick=True, variants=("vanilla", "NOAF"))
    results, _, _ = run_study(data, config, tmp_path)
    assert set(results["variant"]) == {"vanilla", "NOAF"}
    assert np.all(np.isfinite(results["test_nll"])) and np.all(results["test_nll"] > 0)
    for name in ("results.csv", "summary.md", "boxplot.png", "study.db"):
        assert (tmp_path / name).stat().st_size > 0
    assert "| NOAF |" in (tmp_path / "summary.md").read_text()
    lines = []
    again, _, _ = run_study(data, config, tmp_path, progress=lines.append)  # everything done: nothing retrained
    assert lines == []
    pd.testing.assert_frame_equal(again, pd.read_csv(tmp_path / "results.csv"))
    more, _, _ = run_study(
        data,
        StudyConfig.for_protocol("paper", quick=True, variants=("vanilla", "NOAF"), trials=2),
        tmp_path,
        progress=lines.append,
    )
    assert len(lines) == 2 and len(more) == 4  # one new draw per variant, the first kept as it was
    pd.testing.assert_frame_equal(more.iloc[:2].reset_index(drop=True), again)


@pytest.mark.slow
def test_cli_two_processes_share_one_store(jsb_dir, tmp_path, capsys):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    command = [
        "study",
        "--quick",
        "--variants",
        "vanilla",
        "cifg",
        "--trials",
        "2",
        "--data",
        str(jsb_dir),
        "--storage",
        storage,
    ]
    other = subprocess.Popen(
        [sys.executable, "-m", "lstm_tf.cli", *command, "--out", str(tmp_path / "b")],
        env=child_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert main([*command, "--out", str(tmp_path / "a")]) == 0
    assert other.wait(timeout=600) == 0
    frame = pd.read_csv(tmp_path / "a" / "results.csv")
    assert sorted(frame["variant"]) == ["CIFG", "CIFG", "vanilla", "vanilla"]  # 2 per variant in total
    assert frame.groupby("variant")["trial"].nunique().tolist() == [2, 2]  # no draw twice
    out = capsys.readouterr().out
    assert "| CIFG | 2 |" in out and "| CIFG | same |" in out
    assert (
        main(
            [
                "study",
                "--report-only",
                "--variants",
                "vanilla",
                "cifg",
                "--storage",
                storage,
                "--study-name",
                "jsb-fast-quick",
                "--out",
                str(tmp_path / "c"),
            ]
        )
        == 0
    )  # no data needed
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "c" / "results.csv"), frame)
    assert (tmp_path / "a" / "boxplot.png").exists()


def test_cli_errors_exit_2_without_traceback(tmp_path, capsys):
    assert main(["study", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "Traceback" not in err
    assert main(["study", "--variants", "LSTM5", "--data", str(tmp_path)]) == 2
    assert "choose one of vanilla" in capsys.readouterr().err
    assert main(["gradients", "--steps", "1", "--out", str(tmp_path)]) == 2
    assert "--steps must be at least 2" in capsys.readouterr().err
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["gradients", "--steps", "5", "--variants", "vanilla", "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert "a-file" in err and "Traceback" not in err
    assert main(["gradients", "--variants", "vanilla", "LSTM5", "--out", str(tmp_path / "g")]) == 2
    assert "--variants: unknown LSTM variant 'LSTM5'" in capsys.readouterr().err
    assert not (tmp_path / "g").exists()  # was left behind, empty
    assert main(["study", "--quick", "--data", str(tmp_path), "--out", str(blocker / "sub")]) == 2
    assert f"--out {blocker / 'sub'}: cannot write in {blocker} (not a folder)" in capsys.readouterr().err


def test_cli_variants_are_named_as_the_paper_writes_them_and_counted_once():
    from lstm_tf.cli import _study_config

    args = build_parser().parse_args(["study", "--variants", "cifg", "vanilla", "CIFG"])
    assert _study_config(args).variants == ("CIFG", "vanilla")


@pytest.mark.parametrize(
    "flags, units_range",
    [(["--max-units", "100"], (32, 100)), (["--quick", "--max-units", "12"], (8, 12)), (["--quick"], (8, 16))],
)
def test_cli_max_units_caps_the_units_range_of_the_protocol_or_of_quick(flags, units_range):
    from lstm_tf.cli import _study_config

    assert _study_config(build_parser().parse_args(["study", *flags])).units_range == units_range


def test_cli_study_refuses_bad_input_exit_2_and_keeps_the_store(jsb_dir, tmp_path, capsys):
    out = tmp_path / "out"
    base = ["study", "--data", str(jsb_dir), "--out", str(out)]
    assert main([*base, "--trials", "0"]) == 2
    assert "--trials must be at least 1" in capsys.readouterr().err
    for url in ("sqlite:////no/such/folder/study.db", "nosuchdb://host/x"):
        assert main([*base, "--storage", url]) == 2
        err = capsys.readouterr().err
        assert "cannot open the study storage" in err and "Traceback" not in err
    empty = tmp_path / "empty.json"  # every split empty: was a ZeroDivisionError and a config.json left behind
    empty.write_text(json.dumps({"train": [], "valid": [], "test": []}))
    assert main(["study", "--data", str(empty), "--out", str(out)]) == 2
    assert "hold no chorale" in capsys.readouterr().err
    assert main(["study", "--report-only", "--out", str(out)]) == 2
    assert "no study to report" in capsys.readouterr().err
    assert not out.exists()  # nothing written by any refused call

    storage = f"sqlite:///{tmp_path / 'kept.db'}"
    studies = search.open_studies(
        search.open_storage(storage),
        "jsb-fast",
        ("vanilla",),
        StudyConfig.for_protocol("fast").settings(),
        seed=0,
    )
    search.run_worker(studies, _synthetic([]), trials=2)
    assert main([*base, "--storage", storage, "--variants", "vanilla", "--max-epochs", "3"]) == 2
    err = capsys.readouterr().err
    assert "jsb-fast/vanilla" in err and "other settings (--max-epochs: 60 here 3)" in err
    kept = optuna.get_all_study_summaries(storage)
    assert [(s.study_name, s.n_trials) for s in kept] == [("jsb-fast/vanilla", 2)]  # nothing lost, nothing added


def test_a_study_into_a_folder_of_other_files_is_refused_before_anything_is_written(tmp_path, capsys):
    (tmp_path / "thesis.tex").write_text("mine")
    (tmp_path / "data.csv").write_text("not a study's")
    (tmp_path / "results").mkdir()
    before = {p.name: p.read_bytes() if p.is_file() else None for p in tmp_path.iterdir()}
    for flags in (["--quick"], ["--report-only"]):
        assert main(["study", *flags, "--out", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert f"--out {tmp_path} holds other files (data.csv, results, thesis.tex) and no run" in err
    assert {p.name: p.read_bytes() if p.is_file() else None for p in tmp_path.iterdir()} == before


def test_report_only_of_a_study_not_in_the_store_names_those_it_holds(tmp_path, capsys):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    config = StudyConfig.quick(variants=("vanilla",))
    search.open_studies(search.open_storage(storage), "jsb-fast-quick", config.variants, config.settings(), seed=0)
    assert main(["study", "--report-only", "--out", str(tmp_path), "--storage", storage]) == 2  # no --quick
    err = capsys.readouterr().err
    assert f"no study named jsb-fast/<variant> in {storage} (it holds jsb-fast-quick)" in err


def test_cli_gradients_and_bptt(tmp_path, capsys):
    assert main(["gradients", "--out", str(tmp_path), "--steps", "20", "--variants", "vanilla"]) == 0
    out = capsys.readouterr().out
    assert "SimpleRNN (tanh)" in out and "global_clipnorm=1.0" in out
    assert (tmp_path / "vanishing_gradients.png").stat().st_size > 0
    assert main(["bptt"]) == 0
    differences = [float(line.split()[-1]) for line in capsys.readouterr().out.splitlines() if "max |" in line]
    assert len(differences) == 18 and max(differences) < 1e-8  # x, y0, c0 and 15 weights


def test_shared_copy_is_not_modified(jsb_dir, tmp_path):
    # the loader only reads: the file's bytes and time stamp are the same after loading it
    path = tmp_path / FILENAME
    shutil.copy(jsb_dir / FILENAME, path)
    before = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    assert len(load_jsb_chorales(path)["valid"]) == 76
    assert (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns) == before


def test_the_study_config_refuses_a_seed_out_of_range_naming_the_parameter():
    for seed in (-1, 2**32, 1.5):
        with pytest.raises(LSTMTFError) as err:
            StudyConfig(seed=seed)
        assert err.value.parameter == "seed" and str(err.value).startswith(f"seed {seed}: give a whole number")
    with pytest.raises(LSTMTFError) as err:
        StudyConfig.for_protocol("fast", units_range=(32, 16))
    assert err.value.parameter == "units_range"
    assert StudyConfig(seed=2**32 - 1).seed == 2**32 - 1


@pytest.mark.parametrize("seed", ["-1", "4294967296"])
def test_cli_study_refuses_a_seed_out_of_range_before_writing_anything(tmp_path, capsys, seed):
    out = tmp_path / "out"
    assert main(["study", "--quick", "--seed", seed, "--data", str(tmp_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"lstm-tf study: error: --seed {seed}: give a whole number from 0 to 2**32 - 1" in err
    assert "Traceback" not in err and not out.exists()
    assert main(["study", "--quick", "--max-units", "4", "--data", str(tmp_path), "--out", str(out)]) == 2
    assert "lstm-tf study: error: --max-units (8, 4): the hidden-size cap 4" in capsys.readouterr().err
    assert main(["bptt", "--seed", seed]) == 2
    assert f"lstm-tf bptt: error: --seed {seed}: give a whole number" in capsys.readouterr().err


def test_the_report_path_imports_no_tensorflow():
    # lstm-tf study --report-only reads stored trials: config, analysis and report need no TensorFlow
    probe = (
        "import sys, lstm_tf.study_config, lstm_tf.analysis, lstm_tf.report\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    env = child_env()
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, env=env)
    assert result.returncode == 0 and result.stdout.split() == ["False", "False"], result.stderr[-2000:]


# --- issue 26: a foreign database, workers started together, a read-only store -----------------


def _foreign_db(path):
    """An SQLite file of some other program: one table, one row."""
    import sqlite3

    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE users (id INTEGER, name TEXT)")
        connection.execute("INSERT INTO users VALUES (1, 'ann')")
    connection.close()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_database_of_something_else_is_refused_and_left_unchanged(jsb_dir, tmp_path, capsys):
    db = tmp_path / "mine.db"
    before = _foreign_db(db)
    out = tmp_path / "out"
    command = ["study", "--quick", "--data", str(jsb_dir), "--out", str(out), "--storage", f"sqlite:///{db}"]
    assert main(command) == 2
    err = capsys.readouterr().err
    assert f"--storage sqlite:///{db}: this database holds tables of something else (users)" in err
    assert "Traceback" not in err
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before  # not one table added
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.db"]  # no lock file, no report folder
    assert main(["study", "--report-only", "--out", str(out), "--storage", f"sqlite:///{db}"]) == 2
    assert "tables of something else (users)" in capsys.readouterr().err
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_a_store_in_a_missing_folder_is_refused_and_the_folder_not_made(tmp_path):
    with pytest.raises(LSTMTFError, match="cannot open the study storage"):
        search.open_storage(f"sqlite:///{tmp_path / 'missing' / 'study.db'}")
    assert list(tmp_path.iterdir()) == []  # filelock would have made the folder for its lock file


def test_an_existing_study_store_and_an_empty_database_are_accepted(tmp_path):
    empty = tmp_path / "empty.db"
    empty.touch()
    search.open_studies(search.open_storage(f"sqlite:///{empty}"), "s", ("vanilla",), {"a": 1}, seed=0)
    again = search.open_storage(f"sqlite:///{empty}")  # now a study store: opened again as such
    assert [s.study_name for s in again.get_all_studies()] == ["s/vanilla"]


RACER = """
import sys, time
from pathlib import Path
from lstm_tf import search
from lstm_tf.errors import LSTMTFError
folder, me, rounds, setting = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for r in range(rounds):
    (folder / f"ready-{r}-{me}").write_text("")
    while not (folder / f"ready-{r}-{1 - me}").exists():  # both open the new store at the same moment
        time.sleep(0.001)
    try:
        store = search.open_storage(f"sqlite:///{folder / f'study-{r}.db'}")
        search.open_studies(store, "s", ("vanilla", "NFG"), {"a": setting}, seed=0)
        print("opened", flush=True)
    except LSTMTFError as err:
        print("refused", err, flush=True)
"""


def _race(tmp_path, settings, rounds=4, schema_first=False):
    """Two worker processes open one new SQLite store at once, ``rounds`` times; their lines per round.

    ``schema_first``: the store's tables are made before, so the two race only at creating the studies.
    """
    for r in range(rounds if schema_first else 0):
        search.open_storage(f"sqlite:///{tmp_path / f'study-{r}.db'}")
    env = child_env()
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(tmp_path), str(k), str(rounds), str(settings[k])],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in (0, 1)
    ]
    outputs = [w.communicate(timeout=300) for w in workers]
    for w, (_, err) in zip(workers, outputs):
        assert w.returncode == 0, err[-3000:]
    lines = [out.splitlines() for out, _ in outputs]
    assert all(len(mine) == rounds for mine in lines)
    return list(zip(*lines))


@pytest.mark.slow  # two fresh processes (optuna, no TensorFlow)
def test_two_workers_started_together_on_a_new_sqlite_file_both_open_it(tmp_path):
    for first, second in _race(tmp_path, settings=(1, 1)):
        assert (first, second) == ("opened", "opened")  # was "table studies already exists" in 2 of 3 tries


@pytest.mark.slow  # two fresh processes (optuna, no TensorFlow)
def test_two_workers_with_other_settings_started_together_exactly_one_opens(tmp_path):
    for round_lines in _race(tmp_path, settings=(1, 2), schema_first=True):  # both ran in 1 of 2 tries
        assert sorted(line.split()[0] for line in round_lines) == ["opened", "refused"], round_lines
        refused = next(line for line in round_lines if line.startswith("refused"))
        assert "was run with other settings (a: " in refused
    for r in range(4):  # each store holds the studies of one setting only
        settings = {
            json.dumps(s.user_attrs["settings"])
            for s in search.open_storage(f"sqlite:///{tmp_path / f'study-{r}.db'}").get_all_studies()
        }
        assert len(settings) == 1


def test_a_read_only_study_store_is_named_not_a_traceback_and_still_reports(jsb_dir, tmp_path, capsys):
    db = tmp_path / "study.db"
    config = StudyConfig.quick(variants=("vanilla",))
    studies = search.open_studies(
        search.open_storage(f"sqlite:///{db}"), "jsb-fast-quick", ("vanilla",), config.settings(), seed=0
    )

    def objective(variant, trial, draw):  # a trial as run_study stores it, without the training
        value = _synthetic([])(variant, trial, draw)
        for key in ("parameters", "epochs", "best_epoch", "valid_nll", "test_nll", "seconds", "cpu_seconds"):
            trial.set_user_attr(key, 1.0)
        return value

    search.run_worker(studies, objective, trials=1)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    read_only = f"sqlite:///file:{db}?mode=ro&uri=true"  # what SQLite meets on a read-only mount
    command = ["study", "--quick", "--variants", "vanilla", "--storage", read_only, "--out", str(tmp_path / "r")]
    assert main([*command, "--data", str(jsb_dir)]) == 2
    err = capsys.readouterr().err
    assert "the study store cannot be written (" in err and "readonly database" in err and "--report-only" in err
    assert "Traceback" not in err and "StorageInternalError" not in err
    assert main([*command, "--report-only"]) == 0  # reading needs no write
    assert (tmp_path / "r" / "results.csv").is_file()
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
