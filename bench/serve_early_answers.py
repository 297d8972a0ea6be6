"""Would serve gain by answering each sentence the moment CTranslate2 ends it? A closed-loop
simulation of ``serve --batching fixed`` in this process, without HTTP, in two modes:

- ``batch``: each batch's sentences answered together when the batch ends (what serve does);
- ``early``: each answered as it ends, through ``translate_batch``'s per-token ``callback``
  (``is_last``), so its client's next request can join a batch while the rest still decode.

32 clients each keep one request out: an answer costs the stand-in event loop ``--spin-ms`` of
Python CPU while it holds the GIL (serve's event loop spent 0.17 CPU-ms a request, HTTP and
JSON), then the client's next sentence (a random corpus sentence) arrives ``--rtt-ms`` later.
Two decode threads on CTranslate2's two workers take up to 16 queued sentences each, or what
came within 5 ms of the first, as ``DynamicBatcher`` does. The modes alternate, rounds of
``--seconds``; then the batch path (``translate_sentences``, batches of 128) on the same lines.

    python bench/serve_early_answers.py [--rounds 3] [--seconds 8] [--data spa.txt]
"""

import argparse
import heapq
import queue
import random
import threading
import time

CLIENTS, BATCH, WAIT = 32, 16, 0.005


def build_parser():
    """The command line; it needs no TensorFlow."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each mode's run in a round")
    parser.add_argument("--spin-ms", type=float, default=0.17, help="event-loop CPU an answer costs")
    parser.add_argument("--rtt-ms", type=float, default=2.0, help="from an answer to the next request")
    parser.add_argument("--checkpoint-dir", default="checkpoints/en_es")
    parser.add_argument("--data", default="../shared/data/spa-eng/spa.txt", help="English sentences: spa.txt")
    parser.add_argument("--sentences", type=int, default=3000)
    return parser


def closed_loop(translator, pool, mode, seconds, spin, rtt, rng):
    """Sentences answered a second and the process's cores busy, for one mode."""
    requests, answers = queue.Queue(), queue.Queue()
    stop = time.perf_counter() + seconds
    answered = [0]

    def decode():
        while time.perf_counter() < stop:
            try:
                batch = [requests.get(timeout=0.1)]
            except queue.Empty:
                continue
            deadline = time.perf_counter() + WAIT
            while len(batch) < BATCH:
                try:
                    batch.append(requests.get(timeout=max(deadline - time.perf_counter(), 1e-6)))
                except queue.Empty:
                    break
            rows = [row for _, row in batch]
            width = max(map(len, rows))
            if mode == "batch":
                translator._submit(rows, width, 1)  # the engine's own options: serve's decode
                for client, _ in batch:
                    answers.put(client)
            else:

                def ended(step, batch=batch):
                    if step.is_last:
                        answers.put(batch[step.batch_id][0])
                    return False

                translator._submit(rows, width, 1, callback=ended)

    def event_loop():
        due = []  # (time, client): the clients' next requests on their way
        while time.perf_counter() < stop:
            now = time.perf_counter()
            while due and due[0][0] <= now:
                requests.put((heapq.heappop(due)[1], rng.choice(pool)))
            try:
                client = answers.get(timeout=min(0.001, max(due[0][0] - now, 0.0)) if due else 0.001)
            except queue.Empty:
                continue
            answered[0] += 1
            busy_until = time.perf_counter() + spin
            while time.perf_counter() < busy_until:  # the answer's HTTP and JSON, holding the GIL
                pass
            heapq.heappush(due, (time.perf_counter() + rtt, client))

    for client in range(CLIENTS):
        requests.put((client, rng.choice(pool)))
    threads = [threading.Thread(target=decode) for _ in range(2)] + [threading.Thread(target=event_loop)]
    cpu = time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answered[0] / seconds, (time.process_time() - cpu) / seconds


def run(args):
    from transformer_tf.ctranslate2_engine import CTranslate2Translator
    from transformer_tf.data import read_pairs

    translator = CTranslate2Translator.from_checkpoint(args.checkpoint_dir, streams=2)
    pairs = read_pairs(args.data)
    lines = [english for english, _ in pairs[:: max(1, len(pairs) // args.sentences)]][: args.sentences]
    ids, _ = translator.length_batches(lines, 128)
    pool = list(ids.values())  # source id rows, as serve's batches hand them to the engine
    rng = random.Random(0)
    print(
        f"{CLIENTS} closed-loop clients, batches of up to {BATCH}, 2 decode threads, "
        f"{args.spin_ms} ms event-loop CPU an answer, next request {args.rtt_ms} ms later"
    )
    for round_ in range(1, args.rounds + 1):
        for mode in ("batch", "early"):
            rate, cores = closed_loop(translator, pool, mode, args.seconds, args.spin_ms / 1e3, args.rtt_ms / 1e3, rng)
            print(f"round {round_}, {mode:5s}: {rate:7,.0f} sentences/s, cores busy {cores:.2f}", flush=True)
    start = time.perf_counter()
    translator.translate_sentences(lines, 128, 1, False)
    rate = len(lines) / (time.perf_counter() - start)
    print(f"batch path (translate_sentences, batches of 128): {rate:,.0f} sentences/s")


def main():
    run(build_parser().parse_args())


if __name__ == "__main__":
    main()
