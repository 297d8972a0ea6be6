"""The `transformer-tf` command line and the figures it writes."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from processes import child_env  # tests/processes.py

from transformer_tf import MultiHeadAttention
from transformer_tf.cli import main
from transformer_tf.plot import plot_attention_heads


def test_demo_prints_the_article_shapes_and_writes_heatmaps(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for expected in ("(1, 9, 512)", "(1, 8, 9, 64)", "(1, 8, 9, 9)", "(1, 8, 12, 9)", "(1, 50, 512)"):
        assert expected in out
    for name in ("self_attention_heads.png", "cross_attention_heads.png", "positional_encoding.png"):
        pixels = np.asarray(Image.open(tmp_path / name).convert("L"), dtype=float)
        assert pixels.shape[0] > 300 and pixels.std() > 20, name  # a real picture, not a blank page


def test_demo_to_an_unwritable_place_fails_cleanly(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    assert main(["demo", "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert "error" in err and "Traceback" not in err


def test_demo_names_a_file_given_as_out_before_it_prints_anything(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    assert main(["demo", "--out", str(blocker)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and blocker.read_text() == "not a directory"
    assert f"cannot make the folder {blocker} for the heatmap PNGs" in captured.err and "--out DIR" in captured.err


def test_unknown_command_exits_2_with_usage(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: transformer-tf ")  # the usage line, then what was wrong and the choices
    assert "invalid choice: 'no-such-command'" in err and "'translate'" in err and "'train'" in err


@pytest.mark.slow
def test_console_script_runs_in_a_fresh_process():
    result = subprocess.run(
        [sys.executable, "-m", "transformer_tf.cli", "demo"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "split_heads(x): (1, 8, 9, 64)" in result.stdout


ROOT = Path(__file__).resolve().parents[1]


def _fresh(code, cwd, *args):
    """Run ``code`` in a fresh interpreter (the repository importable, no log level chosen)."""
    env = child_env(drop=("TF_CPP_MIN_LOG_LEVEL",))
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300, env=env, cwd=cwd
    )


def test_help_and_a_bad_flag_answer_without_importing_tensorflow(tmp_path):
    probe = (
        "import sys\n"
        "from transformer_tf.cli import main\n"
        "for argv in (['--help'], ['translate', '--help'], ['translate', '--beam', 'x']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as done:\n"
        "        print('exit', done.code)\n"
        "print('tensorflow imported:', 'tensorflow' in sys.modules)\n"
    )
    result = _fresh(probe, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "transformer-tf" in result.stdout and "--verbose" in result.stdout
    assert result.stdout.count("exit 0") == 2 and "exit 2" in result.stdout
    assert "invalid int value: 'x'" in result.stderr
    assert result.stdout.strip().endswith("tensorflow imported: False")


@pytest.mark.slow  # a fresh interpreter that imports TensorFlow and restores the shipped model: ~20 s
def test_translate_in_a_fresh_process_from_another_folder_prints_no_tensorflow_log_line(tmp_path):
    # the shipped model is found from the package's location, not from the working directory
    result = _fresh("import sys; from transformer_tf.cli import main; sys.exit(main())", tmp_path, "translate", "Hi.")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() and result.stderr == ""


def test_the_default_model_folder_is_the_shipped_one_wherever_the_command_runs():
    from transformer_tf.cli import build_parser
    from transformer_tf.config import DEFAULT_CHECKPOINT_DIR

    assert DEFAULT_CHECKPOINT_DIR == ROOT / "checkpoints" / "en_es"
    assert (DEFAULT_CHECKPOINT_DIR / "config.json").is_file()
    for command in (["translate"], ["evaluate"], ["release"], ["export", "x"], ["plot-attention", "Hi."]):
        assert build_parser().parse_args(command).checkpoint_dir == str(DEFAULT_CHECKPOINT_DIR)


def test_heatmap_panels_show_exactly_the_weights():
    x, y = tf.random.normal((1, 5, 16)), tf.random.normal((1, 3, 16))
    _, weights = MultiHeadAttention(16, 8)(x, x, y)
    src, tgt = list("abcde"), list("xyz")
    fig = plot_attention_heads(weights[0], x_labels=src, y_labels=tgt)
    panels = [ax for ax in fig.axes if ax.get_title().startswith("Head")]
    assert [ax.get_title() for ax in panels] == [f"Head {i}" for i in range(1, 9)]
    for head, ax in enumerate(panels):
        assert [t.get_text() for t in ax.get_xticklabels()] == src
        assert [t.get_text() for t in ax.get_yticklabels()] == tgt
        np.testing.assert_array_equal(ax.collections[0].get_array().reshape(3, 5), weights[0, head].numpy())


def test_heatmap_refuses_a_batch_axis():
    with pytest.raises(ValueError, match="num_heads, seq_q, seq_k"):
        plot_attention_heads(np.zeros((1, 8, 3, 3)))


def test_train_with_a_missing_corpus_exits_2_naming_the_flag(tmp_path, capsys):
    code = main(["train", "--data", str(tmp_path / "nope.txt"), "--checkpoint-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert code == 2 and "--data" in err and "Traceback" not in err


def test_train_flags_mirror_the_config(capsys):
    from transformer_tf.cli import build_parser, config_from_args

    args = build_parser().parse_args(
        [
            "train",
            "--num-layers",
            "2",
            "--max-pairs",
            "500",
            "--tokenizer",
            "bpemb",
            "--no-augment",
            "--mixed-precision",
        ]
    )
    config = config_from_args(args)
    assert (config.num_layers, config.max_pairs, config.tokenizer, config.d_model) == (2, 500, "bpemb", 128)
    assert (config.augment, config.mixed_precision, config.share_embeddings) == (False, True, True)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--tokenizer", "words"])


def test_the_blog_preset_is_the_blogs_setup_and_flags_override_it():
    from transformer_tf.cli import build_parser, config_from_args

    blog = config_from_args(build_parser().parse_args(["train", "--preset", "blog"]))
    assert (
        blog.tokenizer,
        blog.vocab_size,
        blog.share_embeddings,
        blog.augment,
        blog.max_tokens,
        blog.label_smoothing,
    ) == ("trained", 8000, False, False, 40, 0.0)
    assert (blog.num_layers, blog.d_model, blog.dff, blog.num_heads) == (4, 128, 512, 8)
    tweaked = config_from_args(build_parser().parse_args(["train", "--preset", "blog", "--epochs", "3"]))
    assert tweaked.epochs == 3 and tweaked.tokenizer == "trained"
    default = config_from_args(build_parser().parse_args(["train"]))
    assert (default.tokenizer, default.share_embeddings, default.augment) == ("joint", True, True)


def test_demo_with_a_negative_seed_exits_2(capsys):
    assert main(["demo", "--seed", "-1"]) == 2
    err = capsys.readouterr().err
    assert "--seed -1" in err and "Traceback" not in err


def test_train_data_that_is_a_folder_is_named_as_a_folder(tmp_path, capsys):
    code = main(["train", "--data", str(tmp_path), "--checkpoint-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert code == 2 and "is a folder" in err and not (tmp_path / "c").exists()


@pytest.mark.parametrize(
    "error, code, expected",
    [
        (KeyboardInterrupt(), 130, "transformer-tf demo: interrupted"),
        (OSError("Cannot save file into a non-existent directory: 'x'"), 2, "non-existent directory: 'x'"),
    ],
)
def test_ctrl_c_and_an_oserror_without_a_filename_give_one_line(error, code, expected, capsys, monkeypatch):
    def fail(args):
        raise error

    monkeypatch.setattr("transformer_tf.cli._demo", fail)
    assert main(["demo"]) == code
    err = capsys.readouterr().err
    assert expected in err and "None" not in err and "Traceback" not in err


@pytest.mark.slow
def test_release_into_an_unwritable_place_exits_2(trained_dir, tmp_path, capsys):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(trained_dir, folder)
    shutil.rmtree(folder / "weights", ignore_errors=True)
    (folder / "weights").write_text("a file where the weights folder goes")
    assert main(["release", "--checkpoint-dir", str(folder), "--average", "1"]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "weights" in err and "Traceback" not in err
