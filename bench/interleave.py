"""The timing loop every benchmark here shares: alternate the contenders, round by round.

This machine is noisy (2 shared cores); alternating means a slow moment hits both sides
alike, so the *ratio* of medians is meaningful even when absolute times drift.
"""

import statistics
import time


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


def medians(times):
    """``{name: median}`` of :func:`interleaved_times` output."""
    return {name: statistics.median(t) for name, t in times.items()}
