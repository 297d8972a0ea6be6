"""`dm-pipeline`: bad input fails cleanly; a quick Titanic run writes everything and predicts."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from pipeline.cli import build_parser, main
from pipeline.data import locate_builtin
from pipeline.errors import PipelineError
from pipeline.evaluate import RATE_NAMES
from pipeline.persist import atomic_folder

TITANIC = locate_builtin("titanic")


def _table(n=60, **columns):
    """A small valid two-class table; keyword arguments add or replace columns."""
    rng = np.random.default_rng(0)
    data = {
        "x": rng.normal(size=n),
        "colour": rng.choice(["red", "blue"], size=n),
        "label": ["yes", "no"] * (n // 2),
    }
    data.update(columns)
    return pd.DataFrame(data)


def _write(tmp_path, frame, name="table.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


BAD_TABLES = {
    "missing_file": (None, "no such file"),
    "missing_target": (_table().drop(columns="label"), "target column 'label' is not in the table"),
    "one_class": (_table(label=["yes"] * 60), "1 distinct value"),
    "three_classes": (_table(label=["a", "b", "c"] * 20), "3 distinct values"),
    "all_nan_column": (_table(empty=[np.nan] * 60), "column 'empty' has no values"),
    "no_usable_features": (
        _table().drop(columns=["x", "colour"]).assign(id=[f"id{i}" for i in range(60)]),
        "no usable feature columns",
    ),
    "numeric_garbage": (
        _table(x=[str(v) for v in range(59)] + ["12,5kg"]),
        "column 'x' holds numbers but also 1 non-numeric value (line 61: '12,5kg')",
    ),
    "tiny_class": (_table(label=["yes"] * 5 + ["no"] * 55), "only 5 rows"),
    "infinity": (  # was a ValueError traceback from scikit-learn
        _table(x=[str(v) for v in range(3)] + ["inf"] + [str(v) for v in range(56)]),
        "column 'x' holds 1 infinite value (line 5: inf): correct or blank it",
    ),
    "identical_rows": (  # was an IndexError traceback from LDA
        _table(n=300, x=[1.5] * 300, colour=["red"] * 300),
        "every feature column holds one value in all its rows (x: 1.5, colour: 'red')",
    ),
}


@pytest.mark.parametrize("case", BAD_TABLES)
def test_bad_input_exits_2_naming_the_problem_and_writes_nothing(case, tmp_path, capsys):
    frame, expected = BAD_TABLES[case]
    path = tmp_path / "nope.csv" if frame is None else _write(tmp_path, frame)
    out = tmp_path / "run"
    code = main(["run", "--data", str(path), "--target", "label", "--out", str(out), "--quick"])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".run*"))


BAD_SHARES = {  # each was a scikit-learn or imbalanced-learn traceback (exit 1)
    "test_size_leaves_smote_too_few": (
        ["--test-size", "0.9"],
        "--test-size 0.9 and --validation-size 0.25 leave 2 rows of the negative class among the 4 fit rows, "
        "and SMOTE needs at least 6",
    ),
    "validation_part_smaller_than_the_classes": (
        ["--validation-size", "0.01"],
        "--validation-size 0.01 leave a part of the 60 rows (fit, validation or test) with fewer rows than the two",
    ),
    "balanced_test_too_small_for_smote": (
        ["--test-size", "0.1", "--balance-test"],
        "among the 6 test rows, and SMOTE (--balance-test) needs at least 6",
    ),
    "outlier_drop_leaves_no_rows": (
        ["--outliers", "drop", "--z-threshold", "0.1"],
        "--z-threshold 0.1: dropping the training rows with an outlier (--outliers drop) leaves",
    ),
}


@pytest.mark.parametrize("case", BAD_SHARES)
def test_shares_and_thresholds_that_starve_a_phase_exit_2_naming_the_flag(case, tmp_path, capsys):
    flags, expected = BAD_SHARES[case]
    out = tmp_path / "run"
    args = ["run", "--data", str(_write(tmp_path, _table())), "--target", "label", "--out", str(out), "--quick"]
    code = main(args + flags)
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".run*"))


@pytest.fixture
def no_tensorflow_start(monkeypatch):
    """Fail where the command would start TensorFlow: what it refuses must be refused first."""
    import cli_common

    def refuse():
        raise AssertionError("TensorFlow started before the bad input was refused")

    monkeypatch.setattr(cli_common, "import_tensorflow_quietly", refuse)


@pytest.mark.parametrize(
    "flags, expected",
    [
        (["--test-size", "2"], "--test-size 2.0: give a share between 0 and 1"),
        (["--z-threshold", "nan"], "--z-threshold nan: give a positive number"),  # was a MinMaxScaler traceback
        (["--out", "{tmp}/a_file/run"], "--out {tmp}/a_file/run: cannot write in {tmp}/a_file (not a folder)"),
    ],
)
def test_run_refuses_bad_flags_and_an_unwritable_out_before_tensorflow_starts(
    flags, expected, tmp_path, capsys, no_tensorflow_start
):
    (tmp_path / "a_file").write_text("")
    flags = [flag.format(tmp=tmp_path) for flag in flags]
    assert main(["run", "--quick", "--out", str(tmp_path / "run"), *flags]) == 2
    assert expected.format(tmp=tmp_path) in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_an_out_where_no_file_can_be_written_is_refused_before_any_work(tmp_path, capsys, no_tensorflow_start):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    if _takes_files(locked):  # root writes anywhere: take a folder the kernel refuses to everyone
        locked = Path("/sys")
    if not locked.is_dir() or _takes_files(locked):
        pytest.skip("no folder on this machine refuses new files")
    assert main(["run", "--quick", "--out", str(locked / "run")]) == 2
    assert f"--out {locked / 'run'}: cannot write in {locked}" in capsys.readouterr().err
    new_rows = _write(tmp_path, _table())
    assert (
        main(["predict", "--checkpoint-dir", str(tmp_path), "--data", str(new_rows), "--out", str(locked / "p.csv")])
        == 2
    )
    assert f"--out {locked / 'p.csv'}: cannot write in {locked}" in capsys.readouterr().err


def _takes_files(folder):
    try:
        (folder / ".probe").write_text("")
    except OSError:
        return False
    (folder / ".probe").unlink()
    return True


def test_dropping_the_target_is_refused(tmp_path, capsys):
    # the report said "Left out: label: asked with --drop" while the models were trained to predict it
    path = _write(tmp_path, _table())
    out = tmp_path / "run"
    assert main(["run", "--quick", "--data", str(path), "--target", "label", "--drop", "label", "--out", str(out)]) == 2
    assert "--drop label: that is the target column" in capsys.readouterr().err
    assert not out.exists()


def test_a_csv_without_target_is_refused(tmp_path, capsys):
    path = _write(tmp_path, _table())
    assert main(["run", "--data", str(path), "--out", str(tmp_path / "o")]) == 2
    assert "--target" in capsys.readouterr().err


def test_data_names_a_builtin_table_unless_a_file_has_that_name(tmp_path, monkeypatch):
    from pipeline.cli import _table_source

    monkeypatch.chdir(tmp_path)
    assert _table_source(None) == (None, None)  # load_table's default: titanic
    assert _table_source("adult") == ("adult", None)
    assert _table_source("my.csv") == (None, "my.csv")
    (tmp_path / "adult").write_text("x,label\n")
    assert _table_source("adult") == (None, "adult")


def test_predict_without_its_inputs_exits_2_naming_them(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["predict", "--data", "new.csv"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert "the following arguments are required: --checkpoint-dir" in err and "Traceback" not in err


def test_out_that_is_some_other_folder_is_left_alone(tmp_path, capsys):
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    assert main(["run", "--quick", "--out", str(other)]) == 2
    assert "not a dm-pipeline run folder" in capsys.readouterr().err
    assert (other / "notes.txt").read_text() == "keep me"


def test_a_failure_inside_the_run_folder_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_folder(tmp_path / "run") as partial:
            (partial / "report.md").write_text("half")
            raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


def test_flags_reach_the_flow_config():
    from cli_common import config_from_args
    from pipeline.flow import FlowConfig

    args = build_parser().parse_args(["run", "--no-lda", "--balance-test", "--outliers", "drop", "--seed", "3"])
    config = config_from_args(args, FlowConfig())
    assert (config.use_lda, config.balance_test, config.outliers, config.seed) == (False, True, "drop", 3)
    assert (config.test_size, config.z_threshold, config.quick) == (0.25, 3.0, False)  # not given: the defaults


# --- end to end on Titanic (the quick grids) ---------------------------------------------------

QUICK = ["run", "--quick", "--balance-test", "--seed", "0"]


@pytest.fixture(scope="module")
def titanic_run(tmp_path_factory):
    """One quick CLI run on the Titanic table; returns (folder, its stdout)."""
    import io
    from contextlib import redirect_stdout

    out = tmp_path_factory.mktemp("pipeline") / "titanic"
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        assert main(QUICK + ["--out", str(out)]) == 0
    return out, buffer.getvalue()


@pytest.fixture(scope="module")
def new_rows(tmp_path_factory):
    """Five Titanic passengers written as a new CSV, with '?' for missing values as in the original."""
    rows = pd.read_csv(TITANIC, na_values="?").iloc[[0, 5, 100, 700, 1300]]
    path = tmp_path_factory.mktemp("new") / "new.csv"
    rows.drop(columns=["survived", "boat", "body"]).to_csv(path, index=False, na_rep="?")
    return path, rows


@pytest.mark.slow
def test_run_prints_each_phase_and_writes_report_plots_and_models(titanic_run):
    out, stdout = titanic_run
    for phase in range(1, 7):
        assert f"phase {phase}/6" in stdout
    assert "optimistic" in stdout  # --balance-test says why
    for name in (
        "report.md",
        "metrics.json",
        "model/schema.json",
        "model/random_forest.joblib",
        "model/mlp_preprocess.joblib",
        "model/mlp_savedmodel/saved_model.pb",
    ):
        assert (out / name).is_file(), name
    for name in ("confusion_matrices", "roc_curves", "class_balance", "lda_projection"):
        pixels = np.asarray(Image.open(out / f"{name}.png").convert("L"), dtype=float)
        assert pixels.shape[0] > 200 and pixels.std() > 20, name  # a real picture, not a blank page
    report = (out / "report.md").read_text()
    assert "| ROC AUC |" in report and "Random forest" in report and "Keras MLP" in report


@pytest.mark.slow
def test_metrics_json_has_every_metric_of_both_models(titanic_run):
    document = json.loads((titanic_run[0] / "metrics.json").read_text())
    assert set(document["models"]) == {"random_forest", "mlp"}
    n_test = document["sizes"]["test"]
    for model in document["models"].values():
        test = model["test"]
        for key in (*RATE_NAMES, "auc"):
            assert 0.0 <= test[key] <= 1.0, key
        assert test["auc"] > 0.75  # Titanic is learnable: sex and class alone give ~0.8
        assert sum(map(sum, test["confusion_matrix"])) == n_test
        assert test["prevalence"] == pytest.approx(document["class_counts"]["test"][1] / n_test)
        assert model["balanced_test"]["prevalence"] == 0.5
        assert model["validation_auc"] == max(row["validation_auc"] for row in model["search"])
    best = document["best_model"]
    assert document["models"][best]["test"]["auc"] == max(m["test"]["auc"] for m in document["models"].values())
    assert document["class_counts"]["fit_after_smote"][0] == document["class_counts"]["fit_after_smote"][1]


def _without_timings(value):
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


@pytest.fixture(scope="module")
def second_run(titanic_run):
    """The same quick flow again, in this process, with the same seed; written beside the first."""
    from pipeline.data import load_table
    from pipeline.flow import FlowConfig, run_flow
    from pipeline.report import write_run

    result = run_flow(
        load_table("titanic", log=lambda m: None),
        FlowConfig(seed=0, quick=True, balance_test=True),
        log=lambda m: None,
    )
    folder = write_run(result, titanic_run[0].parent / "again")
    return result, folder


@pytest.mark.slow
def test_same_seed_gives_identical_metrics(titanic_run, second_run):
    first = json.loads((titanic_run[0] / "metrics.json").read_text())
    again = json.loads((second_run[1] / "metrics.json").read_text())
    assert _without_timings(first) == _without_timings(again)


@pytest.mark.slow
def test_the_flow_leaves_tensorflow_determinism_as_it_found_it(second_run):
    from tensorflow.python.framework import config as tf_config

    # on during run_flow only: left on, it changed the kernels of every later test in the process
    assert not tf_config.is_op_determinism_enabled()


def test_deterministic_ops_are_on_inside_the_block_and_as_before_after_it():
    from tensorflow.python.framework import config as tf_config

    from pipeline.flow import deterministic_ops

    assert not tf_config.is_op_determinism_enabled()
    with deterministic_ops():
        assert tf_config.is_op_determinism_enabled()
    assert not tf_config.is_op_determinism_enabled()  # off before: switched back off
    tf_config.enable_op_determinism()  # a caller that wants them on for good
    try:
        with deterministic_ops():
            pass
        assert tf_config.is_op_determinism_enabled()  # on before: left on
    finally:
        tf_config.disable_op_determinism()


@pytest.mark.slow
def test_saved_models_reproduce_the_fitted_ones(second_run, new_rows):
    from pipeline.data import prepare_features
    from pipeline.persist import Predictor

    result, folder = second_run
    path, rows = new_rows
    predictor = Predictor(folder)
    features = prepare_features(rows, result.schema)
    for name in ("random_forest", "mlp"):
        expected = result.models[name].pipeline.predict_proba(features)[:, 1]
        np.testing.assert_allclose(predictor.predict_csv(path, name)["probability"], expected, atol=1e-6)


@pytest.mark.slow
def test_predict_on_new_rows_in_a_fresh_process(titanic_run, new_rows, tmp_path):
    path, rows = new_rows
    preds = tmp_path / "preds.csv"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline.cli",
            "predict",
            "--checkpoint-dir",
            str(titanic_run[0]),
            "--data",
            str(path),
            "--which",
            "mlp",
            "--out",
            str(preds),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    table = pd.read_csv(preds)
    assert len(table) == len(rows) and set(table["model"]) == {"mlp"}
    assert table["probability"].between(0, 1).all()
    assert set(table["prediction"].astype(str)) <= {"0", "1"}
    assert (table["prediction"].astype(str) == np.where(table["probability"] >= 0.5, "1", "0")).all()


@pytest.mark.slow
def test_predict_refuses_rows_without_the_trained_columns(titanic_run, tmp_path, capsys):
    path = _write(tmp_path, pd.read_csv(TITANIC, na_values="?").head(3).drop(columns=["age"]))
    code = main(["predict", "--checkpoint-dir", str(titanic_run[0]), "--data", str(path), "--which", "random_forest"])
    err = capsys.readouterr().err
    assert code == 2 and "'age'" in err and "Traceback" not in err


def test_predict_with_a_folder_that_is_no_run_fails_cleanly(tmp_path, capsys):
    path = _write(tmp_path, _table())
    assert main(["predict", "--checkpoint-dir", str(tmp_path), "--data", str(path)]) == 2
    assert "no dm-pipeline model here" in capsys.readouterr().err


# --- issue 12: outputs and inputs a careless user gives ------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("where", ["existing_folder", "missing_parent"])
def test_predict_out_that_cannot_be_a_file_exits_2_and_leaves_nothing(where, titanic_run, new_rows, tmp_path, capsys):
    path = new_rows[0]
    out = tmp_path / "preds" if where == "existing_folder" else tmp_path / "nowhere" / "preds.csv"
    if where == "existing_folder":
        out.mkdir()
    before = sorted(tmp_path.rglob("*"))
    assert main(["predict", "--checkpoint-dir", str(titanic_run[0]), "--data", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(out) in err and "None" not in err and "partial" not in err
    assert sorted(tmp_path.rglob("*")) == before


def test_a_failed_atomic_write_leaves_the_old_file_and_no_partial(tmp_path):
    from cli_common.files import write_file_atomically

    target = tmp_path / "preds.csv"
    target.write_text("old")

    def fail(f):
        f.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_file_atomically(target, fail)
    assert [p.name for p in tmp_path.iterdir()] == ["preds.csv"] and target.read_text() == "old"
    write_file_atomically(target, lambda f: f.write("new"))
    assert target.read_text() == "new" and target.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask():
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_run_folder_gets_the_usual_permissions(tmp_path):
    with atomic_folder(tmp_path / "run") as partial:
        (partial / "report.md").write_text("done")
    assert (tmp_path / "run").stat().st_mode & 0o777 == 0o777 & ~_umask()


def test_csv_that_is_a_folder_is_named_as_a_folder(tmp_path, capsys):
    assert main(["run", "--data", str(tmp_path), "--target", "label", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "is a folder" in err and "no such file" not in err


def test_a_semicolon_delimited_csv_is_recognised(tmp_path):
    from pipeline.data import read_csv

    path = tmp_path / "semi.csv"
    _table(n=4).to_csv(path, index=False, sep=";")
    df = read_csv(path)
    assert list(df.columns) == ["x", "colour", "label"] and len(df) == 4


def test_a_latin1_csv_exits_2_naming_the_encoding(tmp_path, capsys):
    path = tmp_path / "latin1.csv"
    path.write_bytes("x,colour,label\n1,café,yes\n".encode("latin-1"))
    assert main(["run", "--data", str(path), "--target", "label", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "UTF-8" in err and str(path) in err and "Traceback" not in err


@pytest.mark.parametrize("seed", ["-1", "4294967296"])
def test_a_seed_out_of_range_exits_2_naming_the_flag_before_any_work(tmp_path, capsys, seed):
    assert main(["run", "--quick", "--seed", seed, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert f"dm-pipeline run: error: --seed {seed}: give a whole number from 0 to 2**32 - 1" in err
    assert "Traceback" not in err and list(tmp_path.iterdir()) == []


def test_the_flow_config_refuses_bad_values_naming_the_parameter():
    from pipeline.flow import FlowConfig

    for field, value in (("seed", 2**32), ("seed", -1), ("test_size", 1.0), ("validation_size", 0), ("z_threshold", 0)):
        with pytest.raises(PipelineError) as err:
            FlowConfig(**{field: value})
        assert err.value.parameter == field and str(err.value).startswith(f"{field} {value}: ")
    assert FlowConfig(seed=2**32 - 1).seed == 2**32 - 1


def test_a_damaged_schema_exits_2_naming_it(tmp_path, capsys):
    (tmp_path / "schema.json").write_text('{"labels": ["no", "yes"]}')
    path = _write(tmp_path, _table())
    assert main(["predict", "--checkpoint-dir", str(tmp_path), "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert "schema.json is damaged" in err and "Traceback" not in err


@pytest.mark.slow
@pytest.mark.parametrize("which", ["random_forest", "mlp"])
def test_a_truncated_model_file_exits_2_naming_the_model(which, titanic_run, new_rows, tmp_path, capsys):
    import shutil

    folder = tmp_path / "run"
    shutil.copytree(titanic_run[0], folder)
    damaged = folder / "model" / ("random_forest.joblib" if which == "random_forest" else "mlp_preprocess.joblib")
    damaged.write_bytes(damaged.read_bytes()[:100])
    assert main(["predict", "--checkpoint-dir", str(folder), "--data", str(new_rows[0]), "--which", which]) == 2
    err = capsys.readouterr().err
    assert f"the {which} model in" in err and "Traceback" not in err


def test_ctrl_c_gives_one_line_and_130(capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr("pipeline.cli._run", interrupted)
    assert main(["run"]) == 130
    err = capsys.readouterr().err
    assert "dm-pipeline run: interrupted" in err and "Traceback" not in err


# --- issue 26: --out that would destroy an input, odd numbers, the real offset of a bad byte -------


def _fake_run(folder):
    """A folder laid out as a dm-pipeline run (metrics.json, model/ with its schema and a model)."""
    (folder / "model").mkdir(parents=True)
    for name in ("metrics.json", "model/schema.json", "model/random_forest.joblib"):
        (folder / name).write_text("{}")
    return folder


def _contents(folder):
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "where, expected",
    [
        ("data", "is the --data table: the predictions would replace the rows"),
        ("schema", "lies inside the dm-pipeline run"),
        ("in_run", "lies inside the dm-pipeline run"),
        ("other_run", "lies inside the dm-pipeline run"),
        ("symlink_to_data", "is the --data table"),
    ],
)
def test_predict_out_may_not_be_the_input_nor_inside_a_run(where, expected, tmp_path, capsys):
    run, other = _fake_run(tmp_path / "run"), _fake_run(tmp_path / "other")
    data = _write(tmp_path, _table(n=4), "p.csv")
    out = {
        "data": data,
        "schema": run / "model" / "schema.json",
        "in_run": run / "preds.csv",
        "other_run": other / "model" / "preds.csv",
        "symlink_to_data": tmp_path / "link.csv",
    }[where]
    if where == "symlink_to_data":
        out.symlink_to(data)
    before = _contents(tmp_path)
    assert main(["predict", "--checkpoint-dir", str(run), "--data", str(data), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"dm-pipeline predict: error: --out {out} " in err and expected in err and "Traceback" not in err
    if where in ("schema", "in_run"):  # the run folder is named, and the file proposed lies outside it
        assert f"inside the dm-pipeline run {run}, " in err and f"e.g. {tmp_path / 'predictions.csv'}." in err
    assert _contents(tmp_path) == before  # nothing written, nothing replaced


@pytest.mark.parametrize("where", ["out_inside_a_run", "data_inside_out"])
def test_run_out_may_not_lie_inside_a_run_nor_hold_the_input(where, tmp_path, capsys):
    run = _fake_run(tmp_path / "run")
    data = _write(run if where == "data_inside_out" else tmp_path, _table(), "t.csv")
    out = run if where == "data_inside_out" else run / "model" / "again"
    before = _contents(tmp_path)
    assert main(["run", "--data", str(data), "--target", "label", "--out", str(out), "--quick"]) == 2
    err = capsys.readouterr().err
    expected = f"holds the input {data}" if where == "data_inside_out" else f"lies inside the dm-pipeline run {run}"
    assert expected in err and "Traceback" not in err
    assert _contents(tmp_path) == before


def test_infinity_in_new_rows_is_named_with_its_column_and_line():
    from pipeline.data import Schema, prepare_features

    schema = Schema("t.csv", "label", ("no", "yes"), ["x"], ["colour"], {}, {})
    rows = pd.DataFrame({"x": [1.0, -np.inf, np.inf], "colour": ["red", "blue", "red"]})
    with pytest.raises(PipelineError, match=r"column 'x' holds 2 infinite values \(line 3: -inf, line 4: inf\)"):
        prepare_features(rows, schema)


def test_a_windows_1252_csv_is_refused_at_the_real_offset_of_its_first_bad_byte(tmp_path, capsys):
    path = tmp_path / "cp1252.csv"
    path.write_bytes("x,colour,label\n1,red,yes\n2,café,no\n".encode("cp1252"))  # é = 0xe9, offset 30
    assert main(["run", "--data", str(path), "--target", "label", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "not UTF-8 text (first: the byte 0xe9 at offset 30, line 3)" in err and "Traceback" not in err


def test_the_first_bad_byte_is_found_across_blocks_and_in_gzip(tmp_path):
    import gzip

    from pipeline.data import first_bad_utf8

    text = b"a,b\n" + "é,1\n".encode() * 1000 + b"x\xe9,2\n"
    (tmp_path / "t.csv").write_bytes(text)
    (tmp_path / "t.csv.gz").write_bytes(gzip.compress(text))
    expected = (len(text) - 4, 1002, b"\xe9")
    for block in (7, 1000, 1 << 20):  # blocks that cut é in two, and one block for all
        assert first_bad_utf8(tmp_path / "t.csv", chunk_size=block) == expected
    assert first_bad_utf8(tmp_path / "t.csv.gz", chunk_size=100) == expected
    (tmp_path / "ok.csv").write_bytes("é\n".encode())
    assert first_bad_utf8(tmp_path / "ok.csv") == (None, None, None)


@pytest.mark.slow
def test_predict_out_equal_to_data_leaves_a_real_runs_input_and_model_whole(titanic_run, new_rows, tmp_path, capsys):
    data = tmp_path / "p.csv"
    data.write_bytes(new_rows[0].read_bytes())
    run = titanic_run[0]
    before = _contents(tmp_path), _contents(run)
    for out in (data, run / "model" / "schema.json"):  # the reproductions of issue 26, item 3
        assert main(["predict", "--checkpoint-dir", str(run), "--data", str(data), "--out", str(out)]) == 2
        assert f"--out {out} " in capsys.readouterr().err
    assert (_contents(tmp_path), _contents(run)) == before
