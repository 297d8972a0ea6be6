"""The augmentations of :mod:`transformer_tf.augment`, one training pair at a time.

:func:`~transformer_tf.augment.augment_pairs` holds the training split and draws its
copies from all of it. Here each pair gets its copies as it streams past, with
probabilities taken from a bounded sample of the corpus, so the added pairs stay
**shares of the corpus** whatever it holds:

- names: a pair holding names on both sides is copied with probability
  ``names / (share of sampled pairs that hold names)``: about ``names × pairs`` copies;
- numbers: a pair whose sides hold the same numbers gets ``augment_numbers`` copies, but
  never more than :data:`NUMBER_SHARE_CAP` of the corpus in all (a corpus with a number
  in every line used to grow 6×; here it grows by at most 20%);
- joined: with probability ``concat`` a pair ending a sentence is joined with 1 or 2
  of the last :data:`JOIN_WINDOW` such pairs.

So the stream holds at most ``(1 + names + 0.2 + concat) ×`` the training pairs in
expectation (1.5× with the defaults), and memory is the window and the sample.
"""

import collections
import random
import re

from transformer_tf.augment import _NUMBER, _like, _replace_words, name_generator, name_words, random_name

NUMBER_SHARE_CAP = 0.2  # number-swapped copies, at most this share of the training pairs
JOIN_WINDOW = 1000  # recent whole-sentence pairs a joined example draws its partners from


_DIGIT = re.compile(r"\d")


def _same_numbers(en, es):
    if not _DIGIT.search(en):  # most lines: no number, and this test is 10x cheaper than _NUMBER's
        return None
    numbers = _NUMBER.findall(en)
    return numbers if numbers and sorted(numbers) == sorted(_NUMBER.findall(es)) else None


class StreamAugmenter:
    """``augmenter(en, es)`` → the new pairs to add after ``(en, es)``; seeded, so the same
    stream gives the same copies.

    Args:
        sample: a random sample of training pairs (the statistics: which words are names,
            how often names and numbers occur).
        seed, names, numbers, concat: as :func:`~transformer_tf.augment.augment_pairs`.
    """

    def __init__(self, sample, seed=0, names=0.2, numbers=5, concat=0.1):
        self.rng = random.Random(seed)
        self.names = name_words(sample) if names else {}
        self.pattern = re.compile(r"\b(" + "|".join(map(re.escape, self.names)) + r")\b") if self.names else None
        self.whole_words = {w: re.compile(rf"\b{w}\b") for w in self.names}  # compiled once, used every pair
        share = sum(self._name_found(en, es) is not None for en, es in sample) / max(len(sample), 1)
        self.name_probability = min(1.0, names / share) if share else 0.0
        share = sum(_same_numbers(en, es) is not None for en, es in sample) / max(len(sample), 1)
        self.number_copies = min(numbers, NUMBER_SHARE_CAP / share) if share else 0.0
        self.concat = concat
        self.window = collections.deque(maxlen=JOIN_WINDOW)
        self.fakers = name_generator(self.rng) if self.names else None
        self.counts = {"names": 0, "numbers": 0, "joined": 0}

    def _name_found(self, en, es):
        if self.pattern is None:
            return None
        found = set(self.pattern.findall(en))
        if found and all(len(self.whole_words[w].findall(en)) == len(self.whole_words[w].findall(es)) for w in found):
            return sorted(found)
        return None

    def __call__(self, en, es):
        rng, out = self.rng, []
        if self.name_probability and rng.random() < self.name_probability:
            found = self._name_found(en, es)
            if found:
                mapping = {w: random_name(rng, self.fakers, self.names[w]) for w in found}
                out.append((_replace_words(en, mapping), _replace_words(es, mapping)))
                self.counts["names"] += 1
        if self.number_copies and (numbers := _same_numbers(en, es)):
            copies = int(self.number_copies) + (rng.random() < self.number_copies % 1)
            for _ in range(copies):
                mapping = {n: _like(n, rng) for n in sorted(set(numbers))}
                out.append(tuple(_NUMBER.sub(lambda m, mp=mapping: mp[m.group(0)], t) for t in (en, es)))
            self.counts["numbers"] += copies
        if en[-1:] in ".!?":
            if self.concat and len(self.window) >= 2 and rng.random() < self.concat:
                group = [*rng.sample(self.window, rng.choice((1, 1, 2))), (en, es)]
                rng.shuffle(group)
                out.append((" ".join(e for e, _ in group), " ".join(s for _, s in group)))
                self.counts["joined"] += 1
            self.window.append((en, es))
        return out
