"""JSB Chorales loading, the variant study (quick mode) and the lstm-tf command line."""

import json
import shutil
import time

import numpy as np
import pandas as pd
import pytest

from lstm_tf.cli import main
from lstm_tf.errors import LSTMTFError
from lstm_tf.jsb import FILENAME, load_jsb_chorales, piano_roll, plot_piano_roll, resolve_jsb_chorales
from lstm_tf.study import (StudyConfig, check_paper_claims, next_step_batches, run_study, sample_hyperparameters,
                           summarize)


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
    import matplotlib
    matplotlib.use("Agg")
    roll = piano_roll([[60, 64], [67], []])
    ax = plot_piano_roll(roll, title="C major")
    image = ax.images[0].get_array()
    assert image.shape == (88, 3) and image[60 - 21, 0] == 1 and image[:, 2].sum() == 0
    assert ax.get_ylim() == (20.5, 108.5)


def test_download_path_with_local_url_and_hash(jsb_dir, tmp_path):
    url = (jsb_dir / FILENAME).as_uri()
    path = resolve_jsb_chorales(cache_dir=tmp_path / "keras", url=url)
    assert path == tmp_path / "keras" / "datasets" / FILENAME and path.read_bytes() == (jsb_dir / FILENAME).read_bytes()
    assert resolve_jsb_chorales(cache_dir=tmp_path / "keras", url="https://127.0.0.1:9/none.json") == path  # cached


def test_offline_download_fails_fast_naming_the_fix(tmp_path):
    start = time.perf_counter()
    with pytest.raises(LSTMTFError, match="--data PATH"):
        resolve_jsb_chorales(cache_dir=tmp_path, url="https://127.0.0.1:9/jsb.json", timeout=2)
    assert time.perf_counter() - start < 5


def test_bad_files_get_clear_errors(tmp_path):
    with pytest.raises(LSTMTFError, match="no such file"):
        load_jsb_chorales(tmp_path / "missing.json")
    (tmp_path / FILENAME).write_text(json.dumps({"train": [], "valid": []}))
    with pytest.raises(LSTMTFError, match="not the JSB Chorales JSON"):
        load_jsb_chorales(tmp_path)


def test_next_step_batches_shift_pad_and_weight():
    rolls = [np.eye(88, dtype=np.float32)[:n] for n in (5, 40, 7)]
    batches = next_step_batches(rolls, batch_size=2, bucket=32)
    assert [b[0].shape for b in batches] == [(2, 32, 88), (1, 64, 88)]  # sorted by length, padded to 32s
    x, y, w = batches[0]
    np.testing.assert_array_equal(x[0, :4], rolls[0][:4])
    np.testing.assert_array_equal(y[0, :4], rolls[0][1:])     # target = the next step
    assert w[0].sum() == 4 and w[1].sum() == 6 and x[0, 4:].sum() == 0
    shuffled = next_step_batches(rolls, batch_size=2, bucket=32, seed=3)
    assert sum(b[2].sum() for b in shuffled) == 4 + 39 + 6    # every real step once


def test_hyperparameter_draws_are_shared_and_in_range():
    config = StudyConfig(trials=6)
    draws = sample_hyperparameters(config)
    assert draws == sample_hyperparameters(config) and len(draws) == 6
    assert all(1e-3 <= d["learning_rate"] <= 3e-2 and 32 <= d["units"] <= 128 for d in draws)


def test_summary_and_claims_on_a_made_up_table():
    rows = [("vanilla", 0, 8.0, 8.1), ("vanilla", 1, 8.5, 8.6), ("NFG", 0, 9.0, 9.1), ("NFG", 1, 9.5, 9.4),
            ("CIFG", 0, 8.05, 8.15), ("CIFG", 1, 9.0, 8.5)]
    results = pd.DataFrame(rows, columns=["variant", "trial", "valid_nll", "test_nll"]).assign(units=50,
                                                                                               learning_rate=0.01)
    table = summarize(results)
    assert list(table.index) == ["vanilla", "NFG", "CIFG"]            # the paper's order
    assert table.loc["NFG", "best"] == 9.1                             # picked by validation, not by test
    assert table.loc["vanilla", "mean"] == pytest.approx(8.35)
    assert table.loc["NFG", "paired_median"] == pytest.approx(0.9)      # 9.1 − 8.1 and 9.4 − 8.6
    assert table.loc["NFG", "paired_worse"] == 2 and table.loc["CIFG", "paired_worse"] == 1
    checks = {c["variant"]: c for c in check_paper_claims(table)}
    assert checks["NFG"]["here"] == "worse" and checks["NFG"]["holds"]
    assert checks["CIFG"]["here"] == "same" and checks["CIFG"]["holds"]   # +0.6 %: within 2 %


@pytest.mark.slow
def test_quick_study_writes_everything_and_resumes(jsb_dir, tmp_path):
    data = load_jsb_chorales(jsb_dir)
    config = StudyConfig.quick(variants=("vanilla", "NOAF"))
    results, table, _ = run_study(data, config, tmp_path)
    assert set(results["variant"]) == {"vanilla", "NOAF"}
    assert np.all(np.isfinite(results["test_nll"])) and np.all(results["test_nll"] > 0)
    for name in ("results.csv", "summary.md", "boxplot.png", "config.json"):
        assert (tmp_path / name).stat().st_size > 0
    assert "| NOAF |" in (tmp_path / "summary.md").read_text()
    again, _, _ = run_study(data, config, tmp_path)    # everything done: nothing retrained
    pd.testing.assert_frame_equal(again, pd.read_csv(tmp_path / "results.csv"))
    with pytest.raises(LSTMTFError, match=r"other settings \(variants\)"):
        run_study(data, StudyConfig.quick(variants=("vanilla",)), tmp_path)
    more, _, _ = run_study(data, StudyConfig.quick(variants=("vanilla", "NOAF"), trials=2), tmp_path)
    assert len(more) == 4                                  # two new trials, the first two kept as they were
    pd.testing.assert_frame_equal(more.iloc[:2].reset_index(drop=True), again)


@pytest.mark.slow
def test_cli_study_quick(jsb_dir, tmp_path, capsys):
    assert main(["study", "--quick", "--variants", "vanilla", "cifg", "--data", str(jsb_dir),
                 "--out", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "[2/2]" in out and "| CIFG | 1 |" in out     # the summary row
    assert "| CIFG | same |" in out                      # the paper's claim, checked
    assert (tmp_path / "s" / "boxplot.png").exists()


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


def test_cli_gradients_and_bptt(tmp_path, capsys):
    assert main(["gradients", "--out", str(tmp_path), "--steps", "20", "--variants", "vanilla"]) == 0
    out = capsys.readouterr().out
    assert "SimpleRNN (tanh)" in out and "global_clipnorm=1.0" in out
    assert (tmp_path / "vanishing_gradients.png").stat().st_size > 0
    assert main(["bptt"]) == 0
    differences = [float(line.split()[-1]) for line in capsys.readouterr().out.splitlines() if "max |" in line]
    assert len(differences) == 18 and max(differences) < 1e-8  # x, y0, c0 and 15 weights


def test_shared_copy_is_not_modified(jsb_dir, tmp_path):
    # the loader only reads: a copy elsewhere loads the same
    shutil.copy(jsb_dir / FILENAME, tmp_path / FILENAME)
    assert len(load_jsb_chorales(tmp_path / FILENAME)["valid"]) == 76
