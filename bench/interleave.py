"""The timing loop every benchmark here shares: alternate the contenders, round by round.

This machine is noisy (2 shared cores); alternating means a slow moment hits both sides
alike, so the *ratio* of medians is meaningful even when absolute times drift.
"""

import compileall
import os
import statistics
import time
from pathlib import Path

#: This checkout's packages, whose modules every timed command line imports.
PACKAGES = ("cli_common", "transformer_tf", "lstm_tf", "pipeline")


def interleaved_times(workloads, rounds):
    """Run each ``workloads[name]()`` once per round, alternating; return seconds per run.

    Returns:
        ``{name: [seconds, ...]}`` with ``rounds`` entries each.
    """
    times = {name: [] for name in workloads}
    for _ in range(rounds):
        for name, work in workloads.items():
            start = time.perf_counter()
            work()
            times[name].append(time.perf_counter() - start)
    return times


def write_bytecode():
    """Compile this checkout's packages to bytecode (``__pycache__``, git-ignored) before fresh
    processes are timed, and say so.

    Python caches a module's bytecode at its first import, so from a user's second run on every
    command reads it. Where ``PYTHONDONTWRITEBYTECODE`` is set (this workplace sets it) nothing is
    ever cached, and each process compiles our modules from source again: 28 ms of a one-sentence
    ``translate``'s ~0.2 s (median of 15 runs each way, 2026-12-07). ``compileall`` writes the
    files all the same, so the timed processes start as they do on a user's machine.
    """
    root = Path(__file__).resolve().parents[1]
    for package in PACKAGES:
        compileall.compile_dir(root / package, quiet=1)
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("PYTHONDONTWRITEBYTECODE is set: this checkout's bytecode was written first (bench/interleave.py)")


def training_step(forward, layer, jit=False):
    """``tf.function`` of forward + loss + gradients of ``layer``'s weights and of the input."""
    import tensorflow as tf  # here, so timing-only users of this module need no TensorFlow

    @tf.function(jit_compile=jit)
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_mean(tf.square(forward(x)))
        return tape.gradient(loss, [x] + layer.trainable_variables)

    return step


def medians(times):
    """``{name: median}`` of :func:`interleaved_times` output."""
    return {name: statistics.median(t) for name, t in times.items()}


def print_ratio(times, title, unit="step"):
    """Print each contender's median (and IQR) in ms per ``unit``, then first / second ratio."""
    print(title)
    meds = medians(times)
    for name, med in meds.items():
        q1, _, q3 = statistics.quantiles(times[name], n=4)
        print(f"  {name:36s} median {med * 1e3:8.2f} ms/{unit}  (IQR {q1 * 1e3:.2f}–{q3 * 1e3:.2f})")
    ours, theirs = meds.values()
    print(f"ratio ours/keras time: {ours / theirs:.2f}  (speed-up of ours: {theirs / ours:.2f}×)")
