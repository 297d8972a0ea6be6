"""The dynamic batcher (:mod:`transformer_tf.batching`): batches, keys, counters, the clients it
expects, its threads, and the answers it hands to an event loop (``submit_async``)."""

import asyncio
import concurrent.futures
import threading
import time

import pytest

from transformer_tf.batching import DynamicBatcher


def test_the_batcher_runs_lone_requests_and_keeps_keys_apart():
    calls = []

    def run(key, items):
        calls.append((key, list(items)))
        if key == "bad":
            raise ValueError("no")
        return [f"{key}:{item}" for item in items]

    batcher = DynamicBatcher(run, max_batch=3, max_wait=0.2)
    futures = [
        batcher.submit("a", [1]),
        batcher.submit("b", [2]),
        batcher.submit("a", [3, 4]),
        batcher.submit("a", [5]),
    ]
    bad = batcher.submit("bad", [6])
    called = batcher.call(lambda x: x * 2, 21)
    batcher.close()
    assert [f.result() for f in futures] == [["a:1"], ["b:2"], ["a:3", "a:4"], ["a:5"]]
    assert called.result() == 42
    with pytest.raises(ValueError, match="no"):
        bad.result()
    # up to 3 items a batch; one batch per key, in arrival order
    assert calls == [("a", [1, 3, 4]), ("b", [2]), ("a", [5]), ("bad", [6])]


def test_the_batcher_counts_the_cpu_its_batches_use_apart_from_their_waits():
    """``busy_cpu_seconds`` is the worker's own CPU time: a batch that sleeps adds its seconds to
    ``busy_seconds`` only, one that computes adds them to both."""

    def run(key, items):
        if key == "sleep":
            time.sleep(0.3)
        else:
            deadline = time.thread_time() + 0.3
            while time.thread_time() < deadline:
                pass
        return items

    batcher = DynamicBatcher(run, max_wait=0.001)
    batcher.submit("sleep", [1]).result()
    assert batcher.busy_seconds >= 0.3 and batcher.busy_cpu_seconds < 0.1
    batcher.submit("compute", [2]).result()
    batcher.close()
    assert 0.3 <= batcher.busy_cpu_seconds <= batcher.busy_seconds - 0.25


def test_the_batcher_times_each_request_in_the_queue_the_gather_and_the_decode():
    """A request queued while the only worker decodes another waits that decode in ``queue``; each
    request's ``decode`` is its batch's; a lone request waits ``max_delay`` for company in ``gather``."""

    def run(key, items):
        time.sleep(0.2)
        return items

    batcher = DynamicBatcher(run, max_wait=0.01, max_delay=0.05)
    first = batcher.submit("a", [1])
    time.sleep(0.1)  # the worker has taken the first and decodes it
    second = batcher.submit("a", [2])
    assert first.result() == [1] and second.result() == [2]
    batcher.close()
    times = batcher.job_times()
    assert times["jobs"] == 2
    assert 0.4 <= times["decode"] < 0.6  # 0.2 s each, measured around run_batch
    assert 0.05 <= times["queue"] < 0.3  # the second's wait for the worker (the first took none)
    assert 0.05 <= times["gather"] < 0.3  # each waited up to max_delay for a client that never came


def test_the_batcher_waits_for_every_client_instead_of_splitting_them_into_small_batches():
    """8 clients, each sending its next request once answered, the next 5 ms after the one
    before (more than ``max_wait`` apart): once it has seen them all, a batch holds all 8."""
    sizes = []

    def run(key, items):
        sizes.append(len(items))
        time.sleep(0.02)  # the decode
        return [item * 10 for item in items]

    batcher = DynamicBatcher(run, max_batch=64, max_wait=0.001, max_delay=1.0)

    def client(i):
        answers = []
        for n in range(6):
            answers += batcher.submit("a", [100 * i + n]).result()
            time.sleep(0.005 * (i + 1))  # the answer's and the next request's way
        return answers

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(client, range(8)))
    batcher.close()
    assert answers == [[(100 * i + n) * 10 for n in range(6)] for i in range(8)]
    # the first round teaches it how many clients come (the old batcher: [8, 1, 5, 3, 3, 3, ...]);
    # a round may still split where the machine stalls a thread for longer than max_delay
    assert batcher.batch_sizes[8] >= 4 and sum(sizes) == 48, sizes
    assert batcher.gather_seconds > 0


def test_two_batcher_threads_decode_two_batches_at_once_and_answer_each_client():
    running, most = [0], [0]
    lock = threading.Lock()

    def run(key, items):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)  # the decode
        with lock:
            running[0] -= 1
        return [f"{key}:{item}" for item in items]

    batcher = DynamicBatcher(run, max_batch=64, max_wait=0.001, threads=2)

    def client(i):
        return [batcher.submit("a", [f"{i}.{n}"]).result() for n in range(4)]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(client, range(8)))
    batcher.close()
    assert answers == [[[f"a:{i}.{n}"] for n in range(4)] for i in range(8)]
    assert most[0] == 2 and batcher.batched_items == 32


def test_a_thread_expects_its_share_of_the_clients_rounded_down():
    """7 clients on two threads: batches of at most 3. Expecting 4 (the share rounded up), a batch of 3
    waited, its thread idle, for a client the other thread's batch held until it ended."""
    batcher = DynamicBatcher(lambda key, items: time.sleep(0.03) or items, max_wait=0.002, max_delay=1.0, threads=2)

    def client(i):
        for n in range(8):
            assert batcher.submit("a", [(i, n)]).result() == [(i, n)]
            time.sleep(0.002)  # the answer's and the next request's way

    with concurrent.futures.ThreadPoolExecutor(7) as pool:
        list(pool.map(client, range(7)))
    batcher.close()
    assert batcher.batched_items == 56
    assert max(batcher.batch_sizes) == 3, batcher.batch_sizes


def test_async_answers_reach_the_event_loop_in_one_hand_over_a_batch():
    """Requests that share a batch are answered through one ``call_soon_threadsafe`` (one wake-up of
    the loop, not one a request), each with its own slice of the results, an error to every one."""
    gate = threading.Event()

    def run(key, items):
        gate.wait(5)
        if key == "bad":
            raise ValueError("no")
        return [f"{key}:{item}" for item in items]

    async def main():
        loop = asyncio.get_running_loop()
        handed = []
        real = loop.call_soon_threadsafe
        loop.call_soon_threadsafe = lambda *args: handed.append(args[0]) or real(*args)
        batcher = DynamicBatcher(run, max_batch=8, max_wait=0.5, max_delay=1.0)  # ample: the four share a batch
        first = batcher.submit_async("a", [0])  # the worker takes it and waits for company
        await asyncio.sleep(0.01)
        futures = [first, *(batcher.submit_async("a", [i, i + 10]) for i in (1, 2, 3))]
        gate.set()
        answers = await asyncio.gather(*futures)
        bad = batcher.submit_async("bad", [9])
        with pytest.raises(ValueError, match="no"):
            await bad
        hand_overs = len(handed)
        await asyncio.to_thread(batcher.close)
        return answers, hand_overs, batcher.batch_sizes

    answers, hand_overs, sizes = asyncio.run(main())
    assert answers == [["a:0"], ["a:1", "a:11"], ["a:2", "a:12"], ["a:3", "a:13"]]
    assert sizes == {7: 1, 1: 1} and hand_overs == 2  # two batches, two hand-overs


def test_a_cancelled_async_request_is_skipped_and_the_rest_answered():
    """A client that went away cancels its future; its batch mates still get their answers, and a
    loop that has closed before the batch ends costs the worker nothing: it goes on."""

    def run(key, items):
        time.sleep(0.1)
        return items

    batcher = DynamicBatcher(run, max_batch=8, max_wait=0.02)

    async def main():
        gone, kept = batcher.submit_async("a", [1]), batcher.submit_async("a", [2])
        gone.cancel()
        return await kept, gone.cancelled()

    assert asyncio.run(main()) == ([2], True)

    async def leave():
        batcher.submit_async("a", [3])  # never awaited: asyncio.run closes the loop during its batch

    asyncio.run(leave())
    assert batcher.submit("a", [4]).result(timeout=5) == [4]
    batcher.close()
