#!/usr/bin/env python3
"""Writes "user,item" pairs (after a header) of synthetic data whose shape is
controlled, for checking defaults beyond the shared data sets
(bench/accuracy.sh defaults):
  long-tail  3,000 users, 6,000 items, Zipf popularity, ~15 items a user:
             ~7 buyers per item, 0.25% of pairs (sparse, like complete-journey)
  dense      500 users, 200 items, ~38 items a user: 19% of pairs
  dense-2k   2,000 users, 1,000 items, ~60 items a user: 6% of pairs
  dense-6k   6,000 users, 3,700 items, ~165 items a user: 4.5% of pairs, a
             flatter popularity (exponent 0.8), the size and density of a
             movie-ratings set (~270 buyers per item)
  dense-6k-steep  the same with a steep popularity (exponent 1.2): the top
             items in almost every history, popularity hard to beat
  dense-flat 1,000 users, 300 items, ~30 items a user: 10% of pairs, flat
             popularity (exponent 0.5)
  tiny       2,000 users, 20 items, ~4 items a user (a tiny catalogue)
Each user belongs to one of a few groups; half of a user's items come from
their group's items, half from the whole catalogue, both in proportion to a
Zipf popularity 1 / rank^exponent. Fixed seed: the same pairs every run.
Usage: bench/synthetic_pairs.py NAME > /tmp/NAME.csv"""
import bisect
import itertools
import random
import sys

SHAPES = {  # users, items, mean items per user drawn, groups, Zipf exponent
    "long-tail": (3000, 6000, 15, 30, 1.0),
    "dense": (500, 200, 40, 5, 1.0),
    "dense-2k": (2000, 1000, 60, 10, 1.0),
    "dense-6k": (6000, 3700, 170, 20, 0.8),
    "dense-6k-steep": (6000, 3700, 170, 20, 1.2),
    "dense-flat": (1000, 300, 30, 6, 0.5),
    "tiny": (2000, 20, 4, 4, 1.0),
}
name = sys.argv[1]
n_users, n_items, mean_items, n_groups, exponent = SHAPES[name]
rng = random.Random(14)
popularity = [1.0 / (rank + 1) ** exponent for rank in range(n_items)]
rng.shuffle(popularity)
group_of_item = [rng.randrange(n_groups) for _ in range(n_items)]
group_items = [[i for i in range(n_items) if group_of_item[i] == g] for g in range(n_groups)]

def sampler(items):
    cum = list(itertools.accumulate(popularity[i] for i in items))
    return lambda: items[bisect.bisect(cum, rng.random() * cum[-1])]


from_group = [sampler(items) for items in group_items]
from_all = sampler(list(range(n_items)))
print("user,item")
for u in range(n_users):
    g = rng.randrange(n_groups)
    want = min(n_items, max(1, int(rng.expovariate(1.0 / mean_items)) + 1))
    chosen = set()
    while len(chosen) < want:
        chosen.add(from_group[g]() if rng.random() < 0.5 and group_items[g] else from_all())
    for i in sorted(chosen):
        print(f"u{u},i{i}")
