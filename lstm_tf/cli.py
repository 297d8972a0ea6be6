"""``lstm-tf``: the command line of the LSTM package.

Sub-commands:
    study      the Space Odyssey variant study on JSB Chorales (CSV, markdown table, box plot)
    gradients  the vanishing-gradient plot and the gradient-clipping demonstration
    bptt       hand-written BPTT against tf.GradientTape on a random sequence
"""

import argparse
import functools
import sys

import cli_common
from lstm_tf.errors import LSTMTFError

# The StudyConfig fields that are flags as they are (--protocol, --variants and --max-units are not).
_STUDY_FLAGS = ("trials", "max_epochs", "seed")


def build_parser():
    """The ``lstm-tf`` parser; imports no TensorFlow, so ``--help`` and a bad flag answer at once."""
    parser = argparse.ArgumentParser(
        prog="lstm-tf", description='The LSTM of "LSTM: A Search Space Odyssey" in TensorFlow/Keras.'
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_study_parser, _add_gradients_parser, _add_bptt_parser):
        cli_common.add_verbose_flag(add(sub))
    return parser


def _add_study_parser(sub):
    from lstm_tf.study_config import PROTOCOLS, StudyConfig

    study = sub.add_parser(
        "study",
        help="compare the nine LSTM variants on JSB Chorales",
        description="Random search per variant on Optuna (draw k the same for all variants), "
        "early stopping on validation, test NLL per time step; then the paper's "
        "analysis (top 10 %, Welch's t-test, fANOVA importance). Trials live in "
        "a study store: rerunning resumes, and any number of processes or machines "
        "may run the same command on one --storage at once.",
    )
    study.add_argument(
        "--data",
        metavar="PATH",
        help="jsb-chorales-quarter.json or its folder (default: Keras cache, else download)",
    )
    study.add_argument(
        "--out",
        default="runs/lstm_study",
        metavar="DIR",
        help="report folder, and the default SQLite store (default %(default)s)",
    )
    study.add_argument(
        "--protocol",
        choices=tuple(PROTOCOLS),
        default="fast",
        help="fast: Adam, lr and hidden size (default); paper: the paper's space, SGD with Nesterov "
        "momentum, input noise, hidden size and epochs capped",
    )
    study.add_argument(
        "--storage",
        metavar="URL",
        help="Optuna storage URL shared by all workers, e.g. postgresql://user:pw@host/db "
        "(default: sqlite:///OUT/study.db)",
    )
    study.add_argument(
        "--study-name", metavar="NAME", help="(default jsb-PROTOCOL; one study per variant: NAME/VARIANT)"
    )
    study.add_argument("--variants", nargs="+", metavar="NAME", help="subset of the nine (default: all)")
    cli_common.add_config_flags(
        study,
        StudyConfig,
        {protocol: StudyConfig.for_protocol(protocol) for protocol in PROTOCOLS},
        only=_STUDY_FLAGS,
        helps={
            "trials": "finished trials wanted per variant, all workers together; more on an existing study adds draws",
            "max_epochs": "early stopping usually ends sooner",
        },
    )
    study.add_argument(
        "--max-units", type=int, help="cap of the hidden size (fast 128; paper 64: the top of the units range)"
    )
    study.add_argument(
        "--report-only",
        action="store_true",
        help="train nothing: write the report from the trials finished so far",
    )
    study.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 3 variants, 1 tiny trial, 2 epochs, 24 sequences (seconds)",
    )
    study.set_defaults(handler=_study)
    return study


def _add_gradients_parser(sub):
    gradients = sub.add_parser("gradients", help="vanishing gradients through time, and gradient clipping")
    gradients.add_argument("--out", default="runs/lstm_gradients", metavar="DIR", help="(default %(default)s)")
    gradients.add_argument("--steps", type=int, default=60, help="sequence length (default %(default)s)")
    gradients.add_argument(
        "--variants",
        nargs="+",
        default=["vanilla", "NFG", "CIFG", "NP"],
        metavar="NAME",
        help="LSTM variants beside the simple RNN (default: %(default)s)",
    )
    gradients.set_defaults(handler=_gradients)
    return gradients


def _add_bptt_parser(sub):
    bptt = sub.add_parser("bptt", help="check the hand-written BPTT equations against autodiff")
    bptt.add_argument("--seed", type=int, default=0, help="(default %(default)s)")
    bptt.set_defaults(handler=_bptt)
    return bptt


def _study(args):
    import optuna

    from lstm_tf.study_config import default_study_name

    config = _study_config(args)  # StudyConfig refuses bad values before anything is written
    _check_out(args.out)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own line per trial instead of Optuna's
    name = args.study_name or default_study_name(config, args.quick)
    if args.report_only:  # no TensorFlow: the report reads the trials already stored
        from lstm_tf.report import report_study

        _, table, checks = report_study(config, args.out, storage=args.storage, study_name=name)
    else:
        from cli_common.files import check_writable

        check_writable(args.out, LSTMTFError, f"--out {args.out}")  # the report, and the default store
        cli_common.import_tensorflow_quietly()
        from lstm_tf.jsb import load_jsb_chorales
        from lstm_tf.study import run_study

        data = load_jsb_chorales(args.data)
        print(
            f"JSB Chorales: {', '.join(f'{s} {len(r)}' for s, r in data.items())} chorales; study {name}, "
            f"protocol {config.protocol}: {len(config.variants)} variants × {config.trials} trials → {args.out}",
            flush=True,
        )
        progress = functools.partial(print, flush=True)  # one line per trial, as it finishes
        _, table, checks = run_study(data, config, args.out, storage=args.storage, study_name=name, progress=progress)
    from lstm_tf.report import markdown_report

    print()
    print(markdown_report(table, checks, config))
    print(f"wrote {args.out}/results.csv and summary.md (with the fANOVA importance table), and the figures")
    return 0


def _check_out(out):
    """``--out``: a new or empty folder, or one a study wrote (its store or report), never among other files."""
    from cli_common.files import check_run_folder
    from lstm_tf.study_config import STUDY_FILES

    check_run_folder(out, lambda name: name.startswith(STUDY_FILES), LSTMTFError, f"--out {out}")


def _study_config(args):
    """The ``StudyConfig`` of ``--protocol``, ``--quick`` and the flags given."""
    import dataclasses

    from lstm_tf.study_config import StudyConfig

    overrides = cli_common.given_fields(args, StudyConfig, only=_STUDY_FLAGS)
    if args.variants:
        overrides["variants"] = _variant_names(args.variants)
    config = StudyConfig.for_protocol(args.protocol, quick=args.quick, **overrides)
    if args.max_units is not None:  # the cap of the units range of this protocol (or of --quick's)
        config = dataclasses.replace(config, units_range=(config.units_range[0], args.max_units))
    return config


def _variant_names(names):
    """The variants of ``--variants`` by their names (``cifg`` → ``CIFG``), each once, in the order given."""
    from lstm_tf.variants import get_variant

    try:
        return tuple(dict.fromkeys(get_variant(name).name for name in names))
    except ValueError as err:
        raise LSTMTFError(f"--variants: {err}") from None


def _gradients(args):
    from pathlib import Path

    from cli_common.files import check_writable

    if args.steps < 2:
        raise LSTMTFError(f"--steps must be at least 2, got {args.steps}.")
    variants, out = _variant_names(args.variants), Path(args.out)
    check_writable(out, LSTMTFError, f"--out {out}")  # all checked before TensorFlow starts
    cli_common.import_tensorflow_quietly()
    from lstm_tf.gradients import (
        clipping_demo,
        plot_vanishing_gradients,
        vanishing_gradient_study,
    )

    out.mkdir(parents=True, exist_ok=True)
    study = vanishing_gradient_study(steps=args.steps, variants=variants)
    study.to_csv(out / "vanishing_gradients.csv", index=False)
    plot_vanishing_gradients(study, out / "vanishing_gradients.png")
    distances = [d for d in (1, 10, 20, 40, args.steps - 1) if d < args.steps]
    table = study[study["distance"].isin(distances)].pivot(index="model", columns="distance", values="relative")
    print("‖∂J⁽ᵗ⁾/∂y⁽ᵏ⁾‖ relative to distance 0, mean of 3 random sequences, by distance t − k:")
    print(table.to_string(float_format=lambda v: f"{v:.1e}"))
    demo = clipping_demo()
    print(
        f"\nExploding simple RNN (recurrent matrix 3 × orthogonal): global gradient norm {demo['global_norm']:.3g}; "
        f"after tf.clip_by_global_norm(·, 1.0): {demo['clipped_norm']:.3g} (cosine with the raw gradient "
        f"{demo['cosine']:.4f}).\nSGD step with learning rate 0.1: {demo['step_raw']:.3g} raw, "
        f"{demo['step_clipped']:.3g} with global_clipnorm=1.0."
    )
    print(f"wrote {out}/vanishing_gradients.png and .csv")
    return 0


def _bptt(args):
    problem = cli_common.seed_problem(args.seed, "--seed")  # before TensorFlow loads
    if problem:
        raise LSTMTFError(problem + ".")
    cli_common.import_tensorflow_quietly()
    import numpy as np

    from lstm_tf.bptt import autodiff_gradients, lstm_backward, lstm_forward
    from lstm_tf.cell import SpaceOdysseyLSTMCell

    rng = np.random.default_rng(args.seed)
    cell = SpaceOdysseyLSTMCell(6)
    cell.build((None, 4))
    weights = {k: rng.standard_normal(v.shape) for k, v in cell.gate_weights().items()}
    x, upstream = rng.standard_normal((3, 20, 4)), rng.standard_normal((3, 20, 6))
    _, cache = lstm_forward(x, weights)
    ours = lstm_backward(upstream, cache)
    _, tape = autodiff_gradients(x, weights, upstream)
    print("hand-written δ equations vs tf.GradientTape, float64, batch 3 × 20 steps, 6 units:")
    for name in sorted(ours):
        print(f"  d{name:4s} max |difference| {np.abs(ours[name] - tape[name]).max():.1e}")
    return 0


def main(argv=None):
    """Entry point; returns the exit status (0 ok, 2 user error, 130 interrupted): see :mod:`cli_common`."""
    return cli_common.run(build_parser, argv, LSTMTFError, flags={"units_range": "--max-units"})


if __name__ == "__main__":
    sys.exit(main())
