"""How ``transformer-tf serve`` runs: one process that restores the models and serves them
(:func:`load_and_serve`), or, with ``--workers N``, N such processes answering on one port (:func:`run_workers`).

Why processes. One server process runs all of its Python under one lock (the GIL): the event loop's
HTTP, JSON and validation, and each decode batch's sentence pipeline (NFC, the stand-in passes,
tokens, detokenizing). With 32 one-sentence clients on two cores, CTranslate2's two threads were
busy only 55% of the time (``perf sched``): a batch's Python, about 1.9 ms before and after its
decode and 1.8 ms of the event loop's answers and reads, sits between one decode and the next, and
the two batches' Python waits for each other. N processes, each a whole server (its own models,
:class:`~transformer_tf.batching.DynamicBatcher` and event loop: :func:`load_and_serve`, as the one
process without ``--workers``) with its share of CTranslate2's threads, run that Python side by side
(docs/benchmarks.md, "transformer-tf serve under load").

How. The parent holds the port and starts the workers (``spawn``: each a fresh interpreter, so
no TensorFlow or CTranslate2 state is copied by ``fork``); each listens on its own socket on that
port (``SO_REUSEPORT``), and the kernel spreads the new connections evenly over them (one socket
shared by all went mostly to whichever worker woke first: asyncio accepts every connection
waiting). Once every worker listens, the parent announces the address and waits. SIGTERM or
Ctrl-C (which only the parent receives: each worker has its own process group): the parent sends
each worker one SIGTERM, each answers its requests in flight and exits, then the parent returns
(exit 0). A worker that cannot start (a bad model folder) stops the others, and its error is the
command's (exit 2); a worker that dies later stops the others too (exit 1), and a parent that dies (SIGKILL)
leaves none behind: each stops within a second. Every counter of
``/api/health`` is the answering worker's own (its ``worker`` field says which).
"""

import argparse
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time

from transformer_tf.errors import TransformerTFError


def load_and_serve(args, sock, announce, worker=(0, 1)):
    """Restore the models of ``args`` (``serve``'s flags) and serve them on ``sock`` (bound) until SIGTERM or
    Ctrl-C; ``announce(line)``: the address once listening, then how it stopped. ``worker``: ``(index, count)``
    of this process among :func:`run_workers`' (each decodes on its share of the cores)."""
    import cli_common
    from transformer_tf.sentence_translator import default_streams
    from transformer_tf.serve import create_app, serve, set_op_threads
    from transformer_tf.serve_config import DEFAULT_FOLDERS, ServeLimits, default_decode_threads
    from transformer_tf.serve_models import load_models

    cli_common.import_tensorflow_quietly()  # the Keras models (attention, the RNN); its start-up lines hidden
    set_op_threads(args.intra_op_threads)  # before the first TensorFlow op
    streams = max(1, default_streams() // worker[1])  # CTranslate2's threads: this worker's share of the cores
    models = load_models(args.checkpoint_dir or DEFAULT_FOLDERS, args.places, args.engine, args.batching, streams)
    threads = args.decode_threads
    if threads is None:
        threads = default_decode_threads({m.engine for m in models.values()})
    limits = ServeLimits.from_flags(args)
    app = create_app(
        models,
        limits,
        args.max_batch,
        args.batch_wait_ms / 1000,
        threads,
        args.batching,
        args.slots,
        args.translate_route,
        worker,
    )
    serve(app, args.host, args.port, announce=announce, event_loop=args.event_loop, sock=sock)


def run_workers(args, sock, announce=print):
    """Serve ``args`` (``serve``'s flags; ``args.workers`` processes) on the port of ``sock`` until SIGTERM or
    Ctrl-C; returns the exit status (0: stopped by a signal, every worker's requests answered). ``sock``:
    bound with ``SO_REUSEPORT`` (:func:`~transformer_tf.serve.bound_socket`), never listening: it holds the
    port (a free one for ``--port 0``) while each worker listens on its own socket there.

    Raises:
        TransformerTFError: a worker could not start (its message: a bad model folder, an engine refused).
    """
    from transformer_tf.serve_config import DEFAULT_FOLDERS
    from transformer_tf.serve_models import convert_once

    convert_once(args.checkpoint_dir or DEFAULT_FOLDERS, args.engine, args.batching)  # once, not once a worker
    context = multiprocessing.get_context("spawn")
    port = sock.getsockname()[1]
    flags = argparse.Namespace(**{**{k: v for k, v in vars(args).items() if not callable(v)}, "port": port})
    workers, readiness, stopping = [], [], []

    def stop(sig, frame):
        if not stopping:  # one SIGTERM a worker; a second would cut its requests in flight
            stopping.append(sig)
            _signal_all(workers, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for index in range(args.workers):
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(
                target=_worker, args=(flags, (index, args.workers), sender), name=f"serve-worker-{index}"
            )
            process.start()
            sender.close()  # the worker holds the sending end: a worker that dies closes it
            workers.append(process)
            readiness.append(receiver)
            if stopping:  # a signal while starting them: this one too
                _signal_all(workers, signal.SIGTERM)
        _wait_ready(workers, readiness, stopping)
        if not stopping:
            host = f"[{args.host}]" if ":" in args.host else args.host
            announce(f"serving on http://{host}:{port}/ with {args.workers} workers (Ctrl-C or SIGTERM to stop)")
        return _wait_stopped(workers, stopping, announce)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wait_ready(workers, readiness, stopping):
    """Until each worker listens; a worker's error (or death) stops the others and raises."""
    waiting = dict(zip(readiness, workers))
    while waiting and not stopping:
        for receiver in multiprocessing.connection.wait(list(waiting)):
            process = waiting.pop(receiver)
            try:
                message = receiver.recv()
            except EOFError:  # it died before a word
                process.join()
                message = ("error", f"worker {workers.index(process)} exited (code {process.exitcode}) while starting.")
            if message[0] == "error" and not stopping:  # (stopped while starting: a worker ended by it)
                _signal_all(workers, signal.SIGTERM)
                for other in workers:
                    other.join()
                raise TransformerTFError(message[1])


def _wait_stopped(workers, stopping, announce):
    """Until every worker has exited; 0 when they stopped on a signal, 1 when one died on its own."""
    alive = list(workers)
    while alive:
        for sentinel in multiprocessing.connection.wait([p.sentinel for p in alive]):
            process = next(p for p in alive if p.sentinel == sentinel)
            process.join()
            alive.remove(process)
            if not stopping:  # died by itself: the others stop too
                stopping.append(None)
                print(
                    f"transformer-tf serve: worker {workers.index(process)} exited (code {process.exitcode}); "
                    "stopping the others.",
                    file=sys.stderr,
                )
                _signal_all(alive, signal.SIGTERM)
    if stopping[0] is None:
        return 1
    announce(f"stopped ({signal.Signals(stopping[0]).name}); requests in flight were answered")
    return 0


def _signal_all(workers, sig):
    for process in workers:
        if process.is_alive():
            os.kill(process.pid, sig)


def _worker(args, worker, ready):
    """One worker process: the models restored, then served on its own socket on ``args.port``
    (``SO_REUSEPORT``); ``ready`` hears ``("ready",)`` once it listens, or ``("error", message)``."""
    os.setpgrp()  # a terminal's Ctrl-C reaches the parent only, which then stops each worker once
    threading.Thread(target=_stop_when_orphaned, args=(os.getppid(),), daemon=True).start()
    from transformer_tf.serve import listening_socket  # (the parent's TF_CPP_MIN_LOG_LEVEL is inherited)

    def announce(line):
        if not ready.closed:  # the first line: listening; the rest is the parent's to say
            ready.send(("ready",))
            ready.close()

    try:
        sock = listening_socket(args.host, args.port, reuse_port=True)  # beside the parent's, which holds the port
        load_and_serve(args, sock, announce, worker)
    except (TransformerTFError, OSError) as err:
        ready.send(("error", str(err)))
        sys.exit(2)


def _stop_when_orphaned(parent, every=1.0):
    """Stop this worker (SIGTERM: its requests in flight answered) once ``parent`` is gone, killed or
    crashed: a worker left behind would go on serving on the port, with no one to stop it. (gunicorn's
    workers watch their parent the same way.)"""
    while os.getppid() == parent:
        time.sleep(every)
    os.kill(os.getpid(), signal.SIGTERM)
