"""Dynamic batching: many small requests, one decode batch.

The decode loop runs one step per token for a whole batch, so a batch costs far less than
its sentences one by one (the shipped model on 2 cores: about 10 sentences/s alone, 60 in
unsorted batches of 32); a server that decoded each request alone would waste that.
:class:`DynamicBatcher` keeps one worker thread (the model's work never runs on the web
server's event loop) and a queue:

1. the worker takes the oldest request;
2. it takes more while they keep coming: each within ``max_wait`` seconds of the one
   before (at most ``max_delay`` after the first), until ``max_batch`` items are gathered;
3. it decodes the requests that share a key (the same model and beam width) as one batch,
   and hands each request its own slice of the results.

A lone client waits ``max_wait`` once (a few ms). While one batch decodes, new requests
queue up and form the next one: N clients that each send a request once answered settle
into two alternating batches of about N/2, one decoding while the other half's answers and
next requests cross the network. Waiting for the answered half to come back (full batches
of N) was tried and measured slower on 2 cores: the worker then idles during every round
trip (27% of the time with 32 clients), and a batch of 32 decodes no more sentences a second
than two of 16 (``bench/serve_load.py`` shows both: mean batch and worker busy). Other model
work (an attention request) goes through the same thread with :meth:`DynamicBatcher.call`,
in arrival order.
"""

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
    future: concurrent.futures.Future


@dataclasses.dataclass
class _Call:
    function: object
    args: tuple
    future: concurrent.futures.Future


class DynamicBatcher:
    """One worker thread that runs ``run_batch(key, items)`` on requests gathered together.

    Args:
        run_batch: ``(key, items) → results``, one result per item, in order; called on the
            worker thread only.
        max_batch: most items in one call (a single larger request still goes in one call).
        max_wait: seconds the worker waits for one more request after the latest one.
        max_delay: seconds a batch may wait in all for more requests (default ``10 * max_wait``).
    """

    def __init__(self, run_batch, max_batch=64, max_wait=0.005, max_delay=None):
        self.run_batch = run_batch
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.max_delay = 10 * max_wait if max_delay is None else max_delay
        self.batches, self.batched_items, self.largest_batch = 0, 0, 0  # run_batch calls and their items
        self.busy_seconds = 0.0  # time spent in run_batch
        self._queue = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._work, name="dynamic-batcher", daemon=True)
        self._worker.start()

    def submit(self, key, items):
        """Queue ``items`` to run with others of the same ``key``; a Future of their results."""
        future = concurrent.futures.Future()
        self._queue.put(_Job(key, list(items), future))
        return future

    def call(self, function, *args):
        """Run ``function(*args)`` on the worker thread, after what is queued; a Future of its result."""
        future = concurrent.futures.Future()
        self._queue.put(_Call(function, args, future))
        return future

    def close(self):
        """Finish everything queued, then stop the worker thread."""
        self._queue.put(_STOP)
        self._worker.join()

    def _gather(self, first):
        """``first`` and the jobs that follow it closely (step 2 above); plus the next non-job, if any."""
        jobs, size, deadline = [first], len(first.items), time.monotonic() + self.max_delay
        while size < self.max_batch:
            try:
                item = self._queue.get(timeout=max(0.0, min(self.max_wait, deadline - time.monotonic())))
            except queue.Empty:
                break
            if not isinstance(item, _Job):
                return jobs, item
            jobs.append(item)
            size += len(item.items)
        return jobs, None

    def _work(self):
        pending = None
        while True:
            item, pending = pending or self._queue.get(), None
            if item is _STOP:
                return
            if isinstance(item, _Call):
                _settle([item.future], lambda item=item: [item.function(*item.args)])
                continue
            jobs, pending = self._gather(item)
            for key in dict.fromkeys(job.key for job in jobs):  # arrival order of the keys
                group = [job for job in jobs if job.key == key]
                items = [x for job in group for x in job.items]
                self.batches, self.batched_items = self.batches + 1, self.batched_items + len(items)
                self.largest_batch = max(self.largest_batch, len(items))
                start = time.perf_counter()
                _settle(
                    [job.future for job in group],
                    lambda key=key, items=items, group=group: _split(self.run_batch(key, items), group),
                )
                self.busy_seconds += time.perf_counter() - start


def _split(results, jobs):
    """The results of the jobs' items taken together, cut back into one list per job."""
    out, start = [], 0
    for job in jobs:
        out.append(results[start : start + len(job.items)])
        start += len(job.items)
    return out


def _settle(futures, compute):
    """Set each future to its part of ``compute()`` (a list, one value per future), or to its error."""
    running = [future.set_running_or_notify_cancel() for future in futures]  # False: cancelled
    try:
        values = compute()
    except BaseException as err:  # the requests get the error; the worker goes on
        for future, run in zip(futures, running):
            if run:
                future.set_exception(err)
        return
    for future, run, value in zip(futures, running, values):
        if run:
            future.set_result(value)
