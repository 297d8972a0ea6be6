"""``dm-pipeline run --data adult``: the six phases before and after issue 24's change, in one run.

"before" is the flow with the Keras MLP's batches of 64 rows (``batch_size=64``; 369 batches
an epoch on Adult's 23,600 training rows), "after" the default ``batch_size="auto"``
(:func:`pipeline.models.auto_batch_size`: at most 100 batches an epoch). Everything else
(the grids, early stopping, the seed) is the same. The two alternate, round by round, in
one process, so a slow moment of the shared machine hits both alike.

    python bench/pipeline_adult.py [--rounds 1] [--data adult]

Prints each run's seconds (the whole ``run_flow``, phases 1-6, and per model search), its CPU
seconds (all threads; steadier than wall time while other work shares the machine), the test
AUCs, and the ratios: the AUC must not move by more than 0.005.
"""

import argparse
import functools
import time

import cli_common

cli_common.quiet_tensorflow()  # before TensorFlow loads; TF_CPP_MIN_LOG_LEVEL=0 shows its logs


def build_parser():
    """The command line; it needs no TensorFlow."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--data", default="adult")
    return parser


if __name__ == "__main__":  # --help and a bad flag answer at once, before TensorFlow loads
    build_parser().parse_args()

cli_common.import_tensorflow_quietly()  # TensorFlow's start-up lines, muted (unless TF_CPP_MIN_LOG_LEVEL is set)

from interleave import interleaved_times, medians  # noqa: E402 (bench/interleave.py)

import pipeline.flow  # noqa: E402
from pipeline import FlowConfig, load_table, run_flow  # noqa: E402
from pipeline.models import KerasMLPClassifier  # noqa: E402


def run(table, batch_size, results):
    """One ``run_flow`` with the MLP's ``batch_size`` (64 or "auto"); appends its result and
    the CPU seconds of the process (all threads) it took."""
    original = pipeline.flow.KerasMLPClassifier
    pipeline.flow.KerasMLPClassifier = functools.partial(KerasMLPClassifier, batch_size=batch_size)
    cpu = time.process_time()
    try:
        results.append((run_flow(table, FlowConfig(), log=lambda line: None), time.process_time() - cpu))
    finally:
        pipeline.flow.KerasMLPClassifier = original


def main():
    args = build_parser().parse_args()

    table = load_table(args.data)
    results = {"before (batch 64)": [], "after (batch auto)": []}
    start = time.perf_counter()
    times = interleaved_times(
        {
            "before (batch 64)": lambda: run(table, 64, results["before (batch 64)"]),
            "after (batch auto)": lambda: run(table, "auto", results["after (batch auto)"]),
        },
        args.rounds,
    )
    print(f"run_flow on {args.data}, {args.rounds} interleaved round(s), {time.perf_counter() - start:.0f} s in all")
    for name, seconds in medians(times).items():
        result, cpu = results[name][-1]
        mlp = result.models["mlp"]
        print(
            f"  {name:20s} median {seconds:6.1f} s wall, last run {cpu:6.1f} CPU s "
            f"(random forest {result.seconds['random_forest']:.1f} s, "
            f"MLP {result.seconds['mlp']:.1f} s, epochs {[row['epochs_run'] for row in mlp.search]}); "
            f"test AUC: random forest {result.models['random_forest'].test['auc']:.4f}, "
            f"MLP {mlp.test['auc']:.4f}; best {result.best}"
        )
    before, after = medians(times).values()
    cpu_before, cpu_after = (runs[-1][1] for runs in results.values())
    print(
        f"ratio after / before: wall {after / before:.2f} (speed-up {before / after:.2f}×), "
        f"CPU {cpu_after / cpu_before:.2f} (speed-up {cpu_before / cpu_after:.2f}×)"
    )


if __name__ == "__main__":
    main()
