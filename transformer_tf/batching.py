"""Dynamic batching: many small requests, one decode batch.

The decode loop runs one step per token for a whole batch, and on a CPU each step costs
much the same for a few rows as for a few dozen, so a batch costs far less than its
sentences one by one; a server that decoded each request alone, or in small batches, would
waste that (``docs/benchmarks.md``, "transformer-tf serve under load"). :class:`DynamicBatcher`
keeps worker threads (the model's work never runs on the web server's event loop) and a queue:

1. a worker takes the oldest request and every request already queued behind it;
2. it waits for more, up to ``max_delay`` after the first, until the batch holds the
   *expected* number of items: the clients counted at the latest batch ends (the items
   every thread held and those queued behind them, when a batch finished decoding),
   shared among the threads (rounded down), ``max_batch`` at most. With one thread it then goes on
   waiting while requests keep coming, each within ``max_wait`` of the one before; with
   several, it leaves the rest to the next thread. One thread gathers at a time;
3. it decodes the requests that share a key (the same model and beam width) as one batch,
   and hands each request its own slice of the results.

Why step 2 expects a number. N clients that each send their next request once answered
would otherwise settle into batches of about N/2 or less: the answered clients' next
requests cross the network while the others queue, and arrive more than ``max_wait`` after
them. Waiting for them costs a round trip and buys a batch twice the size. The expected
number follows the clients: when fewer come back, a batch waits ``max_delay`` and the next
ones expect only those that came. A lone client's request waits ``max_wait`` with one thread
and not at all with several (it expects one item).
Other model work (an attention request) goes through the same queue with
:meth:`DynamicBatcher.call`, in arrival order.

A server awaits its requests with :meth:`DynamicBatcher.submit_async`: a batch's answers reach
the event loop in one hand-over. (A ``concurrent.futures.Future`` wrapped with
``asyncio.wrap_future`` crosses one at a time: a wake-up of the loop and a copy under the
future's lock for every request, a fifth of the loop's time in a profile of the server;
``docs/benchmarks.md``, "transformer-tf serve under load".)
"""

import asyncio
import collections
import concurrent.futures
import dataclasses
import queue
import threading
import time

_STOP = object()


@dataclasses.dataclass
class _Job:
    key: object  # requests with equal keys may share a batch
    items: list
    future: object  # a concurrent.futures.Future, or an asyncio.Future of ``loop``
    submitted: float = 0.0  # time.perf_counter() when queued
    taken: float = 0.0  # when a worker took it from the queue
    loop: object = None  # the event loop of an asyncio ``future`` (submit_async)


@dataclasses.dataclass
class _Call:
    function: object
    args: tuple
    future: concurrent.futures.Future
    loop = None  # always answered on the worker thread


class DynamicBatcher:
    """Worker threads that run ``run_batch(key, items)`` on requests gathered together.

    Args:
        run_batch: ``(key, items) → results``, one result per item, in order; called on the
            worker threads only (``threads`` calls may run at once).
        max_batch: most items in one call (a single larger request still goes in one call).
        max_wait: seconds a worker waits for one more request after the latest one, once
            the batch holds the expected number of items.
        max_delay: seconds a batch may wait in all for more requests (default ``10 * max_wait``).
        threads: worker threads, each gathering and decoding its own batches.

    Counters (read by the server's health route): ``batches``, ``batched_items``,
    ``largest_batch``; ``busy_seconds`` in ``run_batch`` (summed over the threads) and
    ``busy_cpu_seconds``, the CPU time the worker threads used there;
    ``gather_seconds`` waiting for more requests after a batch's first; ``batch_sizes``:
    ``{items: batches of that size}``; ``job_seconds``: per request (``submit``), summed over the
    ``jobs`` answered, the seconds it waited in the queue for a worker (``queue``), then for the
    rest of its batch (``gather``), then for the batch's ``run_batch`` (``decode``).
    """

    def __init__(self, run_batch, max_batch=64, max_wait=0.005, max_delay=None, threads=1):
        self.run_batch = run_batch
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.max_delay = 10 * max_wait if max_delay is None else max_delay
        self.threads = threads
        self.busy_seconds, self.gather_seconds = 0.0, 0.0  # time in run_batch; waiting for more requests
        self.busy_cpu_seconds = 0.0  # the worker threads' CPU time in run_batch
        self.batch_sizes = collections.Counter()
        self.jobs, self.job_seconds = 0, {"queue": 0.0, "gather": 0.0, "decode": 0.0}
        self._gathering = threading.Lock()  # held by the thread gathering a batch
        self._lock = threading.Lock()  # guards the counters and the two below
        self._clients = 1  # items the batches of all threads are expected to hold together (step 2)
        self._counts = collections.deque(maxlen=2 * threads)  # the clients counted at the latest batch ends
        self._held = 0  # items taken from the queue and not yet answered, on every thread
        self._queue = queue.SimpleQueue()
        self._workers = [
            threading.Thread(target=self._work, name=f"dynamic-batcher-{i}", daemon=True) for i in range(threads)
        ]
        for worker in self._workers:
            worker.start()

    @property
    def batches(self):
        """``run_batch`` calls so far."""
        with self._lock:  # a worker may be adding a size
            return sum(self.batch_sizes.values())

    @property
    def batched_items(self):
        """Items of those calls."""
        with self._lock:
            return sum(size * n for size, n in self.batch_sizes.items())

    @property
    def largest_batch(self):
        """Most items in one call (0 before the first)."""
        with self._lock:
            return max(self.batch_sizes, default=0)

    def job_times(self):
        """``{"jobs": n, "queue": s, "gather": s, "decode": s}``: ``jobs`` and ``job_seconds``, read together."""
        with self._lock:
            return {"jobs": self.jobs, **{k: round(v, 6) for k, v in self.job_seconds.items()}}

    def submit(self, key, items):
        """Queue ``items`` to run with others of the same ``key``; a Future of their results."""
        future = concurrent.futures.Future()
        self._queue.put(_Job(key, list(items), future, time.perf_counter()))
        return future

    def submit_async(self, key, items):
        """:meth:`submit` from a coroutine: an ``asyncio.Future`` of the running loop, set there. The
        answers of one batch reach each loop in one ``call_soon_threadsafe``."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(_Job(key, list(items), future, time.perf_counter(), loop=loop))
        return future

    def call(self, function, *args):
        """Run ``function(*args)`` on a worker thread, after what is queued; a Future of its result."""
        future = concurrent.futures.Future()
        self._queue.put(_Call(function, args, future))
        return future

    def close(self):
        """Finish everything queued, then stop the worker threads."""
        for _ in self._workers:
            self._queue.put(_STOP)
        for worker in self._workers:
            worker.join()

    def _take(self, job):
        job.taken = time.perf_counter()
        with self._lock:
            self._held += len(job.items)
        return job

    def _gather(self, first):
        """``first`` and the jobs that follow it (step 2 above); plus the next non-job, if any.

        A batch expects its share of the clients (counted when the last batch ended) over the threads.
        """
        start = time.monotonic()
        jobs, size, deadline = [first], len(first.items), start + self.max_delay
        # a thread's share, rounded down: with 17 clients on two threads, a batch of 9 would wait, with
        # a thread idle, for a client the other batch holds; two of 8 leave one to the next batch instead
        expected = max(1, min(self._clients // self.threads, self.max_batch))
        try:
            while size < self.max_batch and not (self.threads > 1 and size >= expected):  # the rest: the next thread's
                left = deadline - time.monotonic()
                try:
                    item = self._queue.get(timeout=max(0.0, left if size < expected else min(self.max_wait, left)))
                except queue.Empty:
                    break
                if not isinstance(item, _Job):
                    return jobs, item
                jobs.append(self._take(item))
                size += len(item.items)
            return jobs, None
        finally:
            with self._lock:
                self.gather_seconds += time.monotonic() - start

    def _work(self):
        pending = None
        while True:
            with self._gathering:  # one thread gathers at a time: the next batch is the next arrivals
                item, pending = pending or self._queue.get(), None
                if isinstance(item, _Job):
                    jobs, pending = self._gather(self._take(item))
            if item is _STOP:
                return
            if isinstance(item, _Call):
                _settle([item], lambda item=item: [item.function(*item.args)])
                continue
            for key in dict.fromkeys(job.key for job in jobs):  # arrival order of the keys
                self._run([job for job in jobs if job.key == key])

    def _run(self, group):
        """One ``run_batch`` call for the jobs of ``group`` (one key); counts it."""
        items = [x for job in group for x in job.items]
        start, cpu = time.perf_counter(), time.thread_time()

        def decode():
            try:
                return _split(self.run_batch(group[0].key, items), group)
            finally:  # before any answer goes out: no client of this batch has come back yet
                end = time.perf_counter()
                with self._lock:  # the clients: the items every thread holds, and those queued behind
                    self._counts.append(self._held + self._queue.qsize())
                    self._clients = max(1, *self._counts)  # the other threads' answered clients come back
                    self._held -= len(items)
                    self._time_jobs(group, start, end)

        _settle(group, decode)
        with self._lock:
            self.batch_sizes[len(items)] += 1
            self.busy_seconds += time.perf_counter() - start
            self.busy_cpu_seconds += time.thread_time() - cpu

    def _time_jobs(self, group, start, end):
        """Add the stages of the jobs of a batch decoded from ``start`` to ``end`` (under ``_lock``)."""
        self.jobs += len(group)
        for job in group:
            self.job_seconds["queue"] += job.taken - job.submitted
            self.job_seconds["gather"] += start - job.taken
            self.job_seconds["decode"] += end - start


def _split(results, jobs):
    """The results of the jobs' items taken together, cut back into one list per job."""
    out, start = [], 0
    for job in jobs:
        out.append(results[start : start + len(job.items)])
        start += len(job.items)
    return out


def _settle(jobs, compute):
    """Set each job's future to its part of ``compute()`` (a list, one value per job), or to its error.
    The futures of jobs from an event loop (:meth:`DynamicBatcher.submit_async`) are set on that loop,
    all of them in one callback."""
    # False: cancelled (a concurrent future; an asyncio one is checked on its loop)
    running = {id(job): job.future.set_running_or_notify_cancel() for job in jobs if job.loop is None}
    try:
        outcomes = [(value, None) for value in compute()]
    except BaseException as err:  # the requests get the error; the worker goes on
        outcomes = [(None, err)] * len(jobs)
    on_loops = collections.defaultdict(list)
    for job, (value, error) in zip(jobs, outcomes):
        if job.loop is not None:
            on_loops[job.loop].append((job.future, value, error))
        elif running[id(job)]:
            _set(job.future, value, error)
    for loop, settled in on_loops.items():
        try:
            loop.call_soon_threadsafe(_resolve, settled)
        except RuntimeError:  # the loop has closed: nobody awaits these any more
            pass


def _resolve(settled):
    """On the event loop: each ``(future, value, error)``'s future set, unless it was cancelled (the
    request's client went away)."""
    for future, value, error in settled:
        if not future.done():
            _set(future, value, error)


def _set(future, value, error):
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(error)
