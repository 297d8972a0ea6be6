"""The one command-line convention (`cli_common`): the same exit statuses, warnings, flags and
flag names in `transformer-tf`, `lstm-tf` and `dm-pipeline`."""

import argparse
import dataclasses
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from processes import child_env  # tests/processes.py

import cli_common
import lstm_tf.cli
import pipeline.cli
import transformer_tf.cli
from lstm_tf.errors import LSTMTFError
from pipeline.errors import PipelineError
from transformer_tf.errors import TransformerTFError

ROOT = Path(__file__).resolve().parents[1]

# (prog, its cli module, a cheap sub-command, the name of its handler, the package's error type)
COMMANDS = {
    "transformer-tf": (transformer_tf.cli, "demo", "_demo", TransformerTFError),
    "lstm-tf": (lstm_tf.cli, "bptt", "_bptt", LSTMTFError),
    "dm-pipeline": (pipeline.cli, "run", "_run", PipelineError),
}


def _run_failing(prog, error, monkeypatch):
    """Run ``prog``'s cheap sub-command with a handler that raises ``error``; returns the exit status."""
    module, command, handler, _ = COMMANDS[prog]

    def fail(args):
        raise error

    monkeypatch.setattr(module, handler, fail)
    return module.main([command])


@pytest.mark.parametrize("prog", COMMANDS)
def test_the_packages_error_exits_2_with_its_message_and_no_traceback(prog, capsys, monkeypatch):
    module, command, _, error_type = COMMANDS[prog]
    assert _run_failing(prog, error_type("the table has no rows: give another file."), monkeypatch) == 2
    captured = capsys.readouterr()
    assert captured.err == f"{prog} {command}: error: the table has no rows: give another file.\n"
    assert captured.out == ""


@pytest.mark.parametrize("prog", COMMANDS)
def test_an_oserror_exits_2_naming_the_file(prog, capsys, monkeypatch):
    error = PermissionError(13, "Permission denied", "/read-only/report.md")
    assert _run_failing(prog, error, monkeypatch) == 2
    err = capsys.readouterr().err
    assert err.endswith("error: Permission denied: /read-only/report.md\n") and "Traceback" not in err


@pytest.mark.parametrize("prog", COMMANDS)
def test_ctrl_c_exits_130_saying_interrupted(prog, capsys, monkeypatch):
    assert _run_failing(prog, KeyboardInterrupt(), monkeypatch) == 130
    assert capsys.readouterr().err == f"{prog} {COMMANDS[prog][1]}: interrupted\n"


def test_a_reader_that_leaves_early_ends_the_command_quietly():
    # `dm-pipeline predict ... | head` printed "error: [Errno 32] Broken pipe" and exited 2
    script = (
        "import argparse, cli_common\n"
        "def build():\n"
        "    parser = argparse.ArgumentParser(prog='tool')\n"
        "    sub = parser.add_subparsers(dest='command', required=True)\n"
        "    sub.add_parser('lines').set_defaults(handler=lambda args: [print(k) for k in range(10**6)] and 0)\n"
        "    return parser\n"
        "raise SystemExit(cli_common.run(build, ['lines'], ValueError))\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(), cwd=ROOT
    )
    assert child.stdout.readline() == b"0\n"
    child.stdout.close()  # as head does after its lines
    assert child.wait(timeout=60) == cli_common.EXIT_BROKEN_PIPE
    assert child.stderr.read() == b""


@pytest.mark.parametrize("prog", COMMANDS)
def test_a_reader_that_stops_reading_ends_the_command_quietly(prog, capsys, monkeypatch):
    assert _run_failing(prog, BrokenPipeError(32, "Broken pipe"), monkeypatch) == cli_common.EXIT_BROKEN_PIPE
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("prog", COMMANDS)
def test_a_bug_is_not_hidden_as_a_user_error(prog, monkeypatch):
    with pytest.raises(ZeroDivisionError):  # a traceback is what a bug should give
        _run_failing(prog, ZeroDivisionError("division by zero"), monkeypatch)


@pytest.mark.parametrize("prog", COMMANDS)
def test_a_bad_flag_exits_2_with_the_usage(prog, capsys):
    module, command, _, _ = COMMANDS[prog]
    with pytest.raises(SystemExit) as exc:
        module.main([command, "--seed", "x"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: {prog} {command} ") and "argument --seed: invalid int value: 'x'" in err
    with pytest.raises(SystemExit) as exc:
        module.main([command, "--no-such-flag"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: {prog} ") and "unrecognized arguments: --no-such-flag" in err


@pytest.mark.parametrize("prog", COMMANDS)
def test_a_warning_is_one_line_while_the_command_runs_and_the_display_comes_back(prog, capsys, monkeypatch):
    module, command, handler, _ = COMMANDS[prog]
    before = warnings.showwarning

    def warn(args):
        warnings.warn("few rows: the estimate is rough", UserWarning, stacklevel=1)

    monkeypatch.setattr(module, handler, warn)
    assert module.main([command]) == 0
    assert capsys.readouterr().err == f"{prog}: warning: few rows: the estimate is rough\n"
    assert warnings.showwarning is before


@pytest.mark.parametrize("prog", COMMANDS)
def test_every_default_is_shown_once(prog):
    module = COMMANDS[prog][0]
    parser = module.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    for name, sub in subparsers.items():
        for line in sub.format_help().split("\n  -")[1:]:  # one entry per option
            assert line.count("(default") <= 1, (name, line)


@pytest.mark.parametrize("prog", COMMANDS)
def test_no_default_is_written_by_hand_in_a_help_text(prog):
    parser = COMMANDS[prog][0].build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    for name, sub in subparsers.items():
        for action in sub._actions:
            if action.help and action.default not in (None, argparse.SUPPRESS) and not isinstance(action.default, bool):
                for written in (f"default {action.default}", f"default: {action.default}"):
                    assert written not in action.help, (name, action.option_strings, action.help)  # %(default)s


def test_the_defaults_shown_are_the_dataclasses_and_the_presets():
    from lstm_tf.study_config import StudyConfig
    from pipeline.flow import FlowConfig
    from transformer_tf.config import PRESETS

    def help_of(parser, command, flag):
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
        return sub._option_string_actions[flag].help

    train = transformer_tf.cli.build_parser()
    assert help_of(train, "train", "--max-tokens") == f"(default {PRESETS['default'].max_tokens}; blog 40)"
    assert help_of(train, "train", "--num-layers") == "(default 4)"  # the same in both presets: once
    run = pipeline.cli.build_parser()
    assert help_of(run, "run", "--z-threshold") == f"(default {FlowConfig().z_threshold})"
    assert help_of(run, "run", "--no-lda").endswith("(default True)")
    study = lstm_tf.cli.build_parser()
    fast, paper = StudyConfig.for_protocol("fast"), StudyConfig.for_protocol("paper")
    assert help_of(study, "study", "--max-epochs").endswith(f"(fast {fast.max_epochs}; paper {paper.max_epochs})")


@dataclasses.dataclass
class _Config:
    steps: int = 3
    limit: int | None = None
    rate: float = 0.5
    mode: str = "fast"
    use_cache: bool = True


def _toy_parser():
    parser = argparse.ArgumentParser(prog="toy")
    cli_common.add_config_flags(
        parser,
        _Config,
        {"default": _Config(), "slow": _Config(steps=9, mode="slow")},
        names={"use_cache": "cache"},
        choices={"mode": ("fast", "slow")},
        helps={"rate": "learning rate, 10% of it warm-up"},
    )
    return parser


def test_config_flags_parse_to_the_fields_types_and_leave_the_others_to_the_start_config():
    parser = _toy_parser()
    args = parser.parse_args(["--limit", "7", "--no-cache", "--rate", "0.25"])
    assert cli_common.given_fields(args, _Config) == {"limit": 7, "use_cache": False, "rate": 0.25}
    slow = _Config(steps=9, mode="slow")
    assert cli_common.config_from_args(args, slow) == _Config(steps=9, limit=7, rate=0.25, mode="slow", use_cache=False)
    assert cli_common.config_from_args(parser.parse_args([]), slow) == slow
    with pytest.raises(SystemExit):
        parser.parse_args(["--mode", "medium"])
    help_text = parser.format_help()
    assert "(default 3; slow 9)" in help_text and "learning rate, 10% of it warm-up (default 0.5)" in help_text
    assert "--cache, --no-cache" in help_text


def test_quiet_tensorflow_sets_the_level_once_and_leaves_a_users_choice(monkeypatch):
    from absl import logging as absl_logging

    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    verbosity = absl_logging.get_verbosity()
    try:
        cli_common.quiet_tensorflow(verbose=True)  # --verbose: the logs stay
        assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ
        cli_common.quiet_tensorflow()
        cli_common.quiet_tensorflow()  # twice is the same as once
        assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
        assert absl_logging.get_verbosity() == absl_logging.ERROR
        monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")  # the user's choice wins
        cli_common.quiet_tensorflow()
        assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
    finally:
        absl_logging.set_verbosity(verbosity)


def test_quiet_tensorflow_leaves_absl_unloaded_until_tensorflow_loads_it():
    """absl costs 35-50 ms to import and a CTranslate2 translate never needs it: its level is set once
    TensorFlow has loaded it, in a fresh process."""
    script = (
        "import os, sys\n"
        "import cli_common\n"
        "cli_common.quiet_tensorflow()\n"
        "assert 'absl.logging' not in sys.modules and os.environ['TF_CPP_MIN_LOG_LEVEL'] == '3'\n"
        "cli_common.import_tensorflow_quietly()\n"
        "from absl import logging\n"
        "print(logging.get_verbosity() == logging.ERROR)\n"
    )
    env = child_env(drop=("TF_CPP_MIN_LOG_LEVEL",))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True" and done.stderr == ""


def test_a_library_error_names_the_parameter_and_the_command_the_flag():
    error = LSTMTFError("seed 4294967296: give a whole number from 0 to 2**32 - 1.", parameter="seed")
    assert cli_common.flag_message(error) == "--seed 4294967296: give a whole number from 0 to 2**32 - 1."
    error = PipelineError("units_range (32, 16): raise the cap.", parameter="units_range")
    assert cli_common.flag_message(error, {"units_range": "--max-units"}) == "--max-units (32, 16): raise the cap."
    assert cli_common.flag_message(PipelineError("the table is empty.")) == "the table is empty."


# What --help must not wait for: each of these takes from a tenth of a second (Matplotlib) to
# seconds (TensorFlow; scikit-learn with SciPy and pandas, 2.3 s for dm-pipeline --help before).
HEAVY_MODULES = ("tensorflow", "keras", "pandas", "sklearn", "scipy", "imblearn", "matplotlib", "optuna", "numpy")


def _fresh_python(args, cwd=ROOT, unset=()):
    """``python ARGS`` in a fresh interpreter that imports this checkout (``PYTHONPATH``), with
    the environment variables ``unset`` removed; the completed process, output as text."""
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=child_env(drop=unset), cwd=cwd)


@pytest.mark.parametrize("prog", ["lstm-tf", "dm-pipeline"])
def test_help_and_a_bad_flag_answer_without_importing_tensorflow(prog):
    module = COMMANDS[prog][0].__name__
    probe = (
        "import sys\n"
        f"from {module} import main\n"
        "for argv in (['--help'], ['--no-such-flag']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as exit_:\n"
        "        print('exit', exit_.code)\n"
        f"print([name for name in {HEAVY_MODULES!r} if name in sys.modules])\n"
    )
    result = _fresh_python(["-c", probe])
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[-3:] == ["exit 0", "exit 2", "[]"], result.stdout[-2000:]


# the scripts, not the helper modules they import (interleave.py, load_clients.py, serve_report.py)
BENCH_SCRIPTS = sorted(
    p.name for p in (ROOT / "bench").glob("*.py") if 'if __name__ == "__main__"' in p.read_text(encoding="utf-8")
)


@pytest.mark.parametrize("script", BENCH_SCRIPTS)
def test_a_bench_script_answers_help_without_importing_tensorflow(script):
    # -X importtime lists every module the interpreter imports, on standard error
    result = _fresh_python(["-X", "importtime", script, "--help"], cwd=ROOT / "bench")
    assert result.returncode == 0 and result.stdout.startswith(f"usage: {script}"), result.stderr[-2000:]
    imported = {
        line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")
    }
    assert "argparse" in imported  # the list is there
    assert "tensorflow" not in imported and "keras" not in imported


def test_the_bench_scripts_are_found():
    assert {"serve_load.py", "translate_speed.py"} <= set(BENCH_SCRIPTS)
    assert not {"interleave.py", "load_clients.py", "serve_report.py"} & set(BENCH_SCRIPTS)


def test_cli_common_imports_nothing_of_the_project():
    import ast

    tree = ast.parse((ROOT / "cli_common" / "__init__.py").read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert "argparse" in imported  # the scan sees the imports
    assert imported.isdisjoint({"transformer_tf", "lstm_tf", "pipeline", "bench"})


def test_parameters_as_flags_writes_a_library_message_in_the_commands_words():
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--tokenizer")
    parser.add_argument("--share-embeddings", action=argparse.BooleanOptionalAction)
    parser.add_argument("--checkpoint-dir")
    parser.add_argument("--force", action="store_true")
    assert cli_common.parameters_as_flags("or pass force=True to replace it", parser) == "or pass --force to replace it"
    message = (
        "batch_size 0: give a whole number ≥ 1; seed -1: give a whole number; "
        "share_embeddings=True needs tokenizer='joint', not tokenizer='bpemb'; or give share_embeddings=False; "
        "train into another checkpoint_dir, not /tmp/test_batch_size0/checkpoint_dir"
    )
    assert cli_common.parameters_as_flags(message, parser) == (
        "--batch-size 0: give a whole number ≥ 1; --seed -1: give a whole number; "
        "--share-embeddings needs --tokenizer joint, not --tokenizer bpemb; or give --no-share-embeddings; "
        "train into another --checkpoint-dir, not /tmp/test_batch_size0/checkpoint_dir"
    )
    # a one-word parameter is a flag only where it opens a problem: prose keeps its words
    assert cli_common.parameters_as_flags("the seed of a tokenizer", parser) == "the seed of a tokenizer"


@pytest.mark.slow  # a fresh interpreter that imports TensorFlow: ~10 s
def test_a_command_that_loads_tensorflow_prints_no_tensorflow_log_line(tmp_path):
    probe = "import sys; from lstm_tf.cli import main; sys.exit(main(['bptt']))"
    result = _fresh_python(["-c", probe], cwd=tmp_path, unset=["TF_CPP_MIN_LOG_LEVEL"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "autodiff" in result.stdout or "GradientTape" in result.stdout
    assert result.stderr == ""


@pytest.mark.slow  # a fresh interpreter that imports TensorFlow: ~10 s
def test_tensorflow_loads_without_keras_unused_extras_and_they_still_import_after():
    probe = (
        "import sys, cli_common\n"
        "cli_common.import_tensorflow_quietly()\n"
        "print('tensorflow' in sys.modules, 'sklearn' in sys.modules, 'matplotlib' in sys.modules)\n"
        "import tensorflow as tf, sklearn.base, matplotlib.pyplot as plt\n"
        "print(tf.constant(2).numpy() * 2, sklearn.base.BaseEstimator.__name__, plt.figure().number)\n"
    )
    result = _fresh_python(["-c", probe])
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[-2:] == ["True False False", "4 BaseEstimator 1"], result.stdout[-2000:]


@pytest.mark.slow
def test_a_process_that_imported_scikit_learn_first_keeps_it():
    probe = (
        "import sys, sklearn, cli_common\n"
        "cli_common.import_tensorflow_quietly()\n"
        "from keras.src.wrappers import fixes\n"
        "print(fixes.sklearn is sklearn)\n"
    )
    result = _fresh_python(["-c", probe])
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[-1] == "True", result.stdout[-2000:]
