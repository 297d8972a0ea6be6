"""The tables of ``bench/serve_load.py``: its rows (:func:`print_table`), where the CPU goes
(:func:`print_breakdown`) and where a request's round trip goes (:func:`request_stages`,
:func:`print_stages`)."""

STAGES = ("receive", "queue", "gather", "decode", "resume", "respond")


def request_stages(before, after):
    """Mean ms a request of each server stage (:mod:`transformer_tf.serve_stages`) between two
    ``/api/health`` answers, and ``"server"``, their sum; ``{}`` from a server without the counters
    or without a request through the batcher between them."""
    if "request_seconds" not in after:
        return {}
    requests = after["request_seconds"]["requests"] - before["request_seconds"]["requests"]
    jobs = after["job_seconds"]["jobs"] - before["job_seconds"]["jobs"]
    if not requests or not jobs:
        return {}

    def mean(counters, name, count):
        return 1000 * (after[counters][name] - before[counters][name]) / count

    stages = {name: mean("request_seconds", name, requests) for name in ("receive", "batcher", "respond")}
    stages.update({name: mean("job_seconds", name, jobs) for name in ("queue", "gather", "decode")})
    stages["resume"] = stages.pop("batcher") - stages["queue"] - stages["gather"] - stages["decode"]
    stages["server"] = sum(stages[name] for name in STAGES)
    return stages


def print_stages(rows):
    """Where a request's round trip goes: its mean by Little's law, the server's stages (means),
    and the rest (the network stack, uvicorn's HTTP parsing before the app, the client's own work)."""
    print(
        "\nWhere a request's round trip goes, mean ms: the round trip (clients / requests a second: each client "
        "always has one request out; wrk's own mean latency came out above that); inside the server (its "
        "/api/health request_seconds and job_seconds): receive (body, JSON, validation), queue (for a decode "
        "thread), gather (for the rest of the batch), decode (the batch on the engine), resume (results to "
        "the event loop), respond (JSON, HTTP, write); outside: the rest (sockets, uvicorn's parsing, the client).\n"
    )
    print("| server | client | clients | round trip | " + " | ".join(STAGES) + " | server, all | outside |")
    print("|---|---|---:|---:|" + "---:|" * (len(STAGES) + 2))
    for row in rows:
        stages = row["stages"]
        if not stages:
            continue
        cells = " | ".join(f"{stages[name]:.1f}" for name in STAGES)
        round_trip = 1000 * row["clients"] / row["per_second"]
        print(
            f"| {row['server']} | {row['client']} | {row['clients']} | {round_trip:.1f} | {cells} "
            f"| {stages['server']:.1f} | {round_trip - stages['server']:.1f} |"
        )


def print_table(rows):
    """One row per server and client count; each row's ratio is against the mean of its engine's
    ``translate --file`` timings just before and after it (``row["batch"]``: sentences/s and
    sentences per CPU-second)."""
    print(
        "| server | client | clients | requests/s | p50 ms | p99 ms | errors | mean batch (rows a step) | batch sizes "
        "p10/p50/p90 | wait per batch ms | decoding (threads summed) | server's cores busy | same as batch "
        "| translate --file around the row | ratio | per CPU-second: server / translate --file "
        "| in-process groups of the mean batch, ratio |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        batch, cpu_batch = row["batch"]
        same = "-" if row["same"] is None else f"{100 * row['same']:.1f}%"  # wrk does not read the answers
        print(
            f"| {row['server']} | {row['client']} | {row['clients']} | {row['per_second']:.1f} | {row['p50']:.0f} | "
            f"{row['p99']:.0f} | {row['errors']} | {row['mean_batch']:.1f} | {row['sizes']} | {row['wait_ms']:.0f} | "
            f"{100 * row['decoding']:.0f}% | {row['busy_cores']:.2f} | {same} | {batch:.1f} | "
            f"{100 * row['per_second'] / batch:.0f}% | "
            f"{row['per_cpu_second']:.0f} / {cpu_batch:.0f} = {100 * row['per_cpu_second'] / cpu_batch:.0f}% | "
            f"{100 * row['ceiling'][0] / batch:.0f}% |"
        )


def print_breakdown(rows, preparation):
    """Where the CPU goes, per answered request, against ``translate --file``'s CPU a sentence on the
    row's engine; ``preparation``: CPU ms a sentence of the steps around the decode (:func:`preparation_ms`)."""
    print(
        "\nCPU ms per answered request: the load clients (wrk's process, or the Python clients' bench process); "
        "the server's event loop (HTTP, JSON, validation), its decode threads (the batches: "
        f"NFC, sentence split, places pre-pass and tokens, {preparation:.3f} ms a sentence of it measured "
        "in-process, then the decode) and its other threads; translate --file's CPU ms a sentence; "
        "in-process, unsorted groups of the row's mean batch size, as many at once as decode threads; "
        "last, the time the server's threads waited, runnable, for a core (taken by other work; not CPU).\n"
    )
    print(
        "| server | client | clients | clients' CPU | server: event loop | server: decode threads | server: other "
        "| server: all | translate --file | groups of the mean batch, in-process | server: waiting for a core |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        ms, file_ms = row["cpu_ms"], 1000 / row["batch"][1]
        print(
            f"| {row['server']} | {row['client']} | {row['clients']} | {ms['clients']:.2f} | {ms['loop']:.2f} "
            f"| {ms['decode']:.2f} | {ms['other']:.2f} "
            f"| {ms['server']:.2f} | {file_ms:.2f} | {row['ceiling'][1]:.2f} | {ms['queued']:.2f} |"
        )
