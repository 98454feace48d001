#!/usr/bin/env python3
"""Writes numpy_argsort_cases.txt: inputs and numpy.argsort(kind='quicksort') outputs that
tests/planner/numpy_argsort_test.cpp checks planner::numpy_argsort against.

The arrays that reach the heapsort fallback come from McIlroy's adversary ("A killer adversary
for quicksort", 1999) run against a transcription of the algorithm (introsort_ids below).

Run with a NumPy older than 1.25 (Debian 12's python3-numpy 1.24.2 is fine):
    /usr/bin/python3 tests/planner/data/gen_numpy_argsort_cases.py > tests/planner/data/numpy_argsort_cases.txt
NumPy >= 1.25 argsorts 64-bit dtypes with x86-simd-sort on AVX-512 CPUs (>= 2.0 on AVX2 ones
too) and gives other tie orders; the reference ran before that (docs/policies.md), so the
script refuses to run there.

Format, one case per two lines:
    <dtype> <n> <value> ...     dtype f64 (repr, round-trips exactly) or i64
    <index> ...                 numpy.argsort of the values
"""
import sys

import numpy as np

major, minor = (int(x) for x in np.__version__.split(".")[:2])
if (major, minor) >= (1, 25):
    sys.exit(f"numpy {np.__version__} may take the SIMD argsort; use numpy < 1.25")


def introsort_ids(n, less_id, small=15):
    """The scalar NumPy argsort on element ids 0..n-1 with a comparison on ids; returns
    (order, heapsort_used)."""
    idx = list(range(n))
    used_heap = False
    def heap(pl, num):
        a = lambda k: pl - 1 + k
        for l in range(num >> 1, 0, -1):
            tmp = idx[a(l)]; i = l; j = l << 1
            while j <= num:
                if j < num and less_id(idx[a(j)], idx[a(j + 1)]): j += 1
                if less_id(tmp, idx[a(j)]):
                    idx[a(i)] = idx[a(j)]; i = j; j += j
                else: break
            idx[a(i)] = tmp
        while num > 1:
            tmp = idx[a(num)]; idx[a(num)] = idx[a(1)]; num -= 1; i = 1; j = 2
            while j <= num:
                if j < num and less_id(idx[a(j)], idx[a(j + 1)]): j += 1
                if less_id(tmp, idx[a(j)]):
                    idx[a(i)] = idx[a(j)]; i = j; j += j
                else: break
            idx[a(i)] = tmp
    stack = []; pl = 0; pr = n - 1; cdepth = (n.bit_length() - 1) * 2
    while True:
        if cdepth < 0:
            used_heap = True
            heap(pl, pr - pl + 1)
        else:
            while pr - pl > small:
                pm = pl + ((pr - pl) >> 1)
                if less_id(idx[pm], idx[pl]): idx[pm], idx[pl] = idx[pl], idx[pm]
                if less_id(idx[pr], idx[pm]): idx[pr], idx[pm] = idx[pm], idx[pr]
                if less_id(idx[pm], idx[pl]): idx[pm], idx[pl] = idx[pl], idx[pm]
                pivot = idx[pm]; pi = pl; pj = pr - 1
                idx[pm], idx[pj] = idx[pj], idx[pm]
                while True:
                    pi += 1
                    while less_id(idx[pi], pivot): pi += 1
                    pj -= 1
                    while less_id(pivot, idx[pj]): pj -= 1
                    if pi >= pj: break
                    idx[pi], idx[pj] = idx[pj], idx[pi]
                idx[pi], idx[pr - 1] = idx[pr - 1], idx[pi]
                cdepth -= 1
                if pi - pl < pr - pi:
                    stack.append((pi + 1, pr, cdepth)); pr = pi - 1
                else:
                    stack.append((pl, pi - 1, cdepth)); pl = pi + 1
            for pi in range(pl + 1, pr + 1):
                vi = idx[pi]; pj = pi
                while pj > pl and less_id(vi, idx[pj - 1]):
                    idx[pj] = idx[pj - 1]; pj -= 1
                idx[pj] = vi
        if not stack: break
        pl, pr, cdepth = stack.pop()
    return idx, used_heap

def killer(n):
    """McIlroy's adversary: values fixed lazily so that every pivot is nearly the smallest."""
    gas = n
    val = [gas] * n
    state = {"solid": 0, "candidate": 0}
    def less_id(x, y):
        if val[x] == gas and val[y] == gas:
            z = x if x == state["candidate"] else y
            val[z] = state["solid"]; state["solid"] += 1
        if val[x] == gas: state["candidate"] = x
        elif val[y] == gas: state["candidate"] = y
        return val[x] < val[y]
    introsort_ids(n, less_id)
    return val


def emit(values):
    order = np.argsort(values)  # the default kind, 'quicksort' (introsort)
    dtype = "f64" if values.dtype == np.float64 else "i64"
    text = " ".join(repr(float(v)) if dtype == "f64" else str(int(v)) for v in values)
    print(dtype, len(values), text)
    print(" ".join(str(int(i)) for i in order))


# Sizes around the insertion-sort threshold (partitions of <= 16 elements), and larger ones
# whose partitions land on it; few distinct values (many ties) and continuous ones.
for seed in range(3):
    rng = np.random.RandomState(seed)
    for n in list(range(1, 41)) + [47, 64, 65, 100, 129, 200]:
        emit(rng.randint(0, 3, size=n).astype(np.float64))    # heavy ties
        emit(rng.randint(0, 8, size=n).astype(np.int64))      # ties, integer dtype
        emit(np.round(rng.rand(n), 1))                        # ties among decimals
        if n <= 40:
            emit(rng.rand(n))                                 # (almost surely) distinct
for seed in range(3):
    rng = np.random.RandomState(100 + seed)
    n = 500 + 137 * seed
    emit(rng.randint(0, 5, size=n).astype(np.float64))
    emit(rng.randint(0, 50, size=n).astype(np.int64))
    # Near-ties as the greedy fill sees them: n * (1 - good / (n + 1e-6)) for served models.
    counts = rng.randint(1, 400, size=n // 4).astype(np.float64)
    emit(counts * (1 - counts / (counts + 1e-6)))
# Structured inputs: all equal, sorted, reversed, organ pipe, sawtooth; NaN goes last.
for n in (15, 16, 17, 18, 33, 200):
    emit(np.full(n, 0.5))
    emit(np.arange(n, dtype=np.float64))
    emit(np.arange(n, 0, -1).astype(np.int64))
    emit(np.concatenate([np.arange(n // 2), np.arange(n - n // 2, 0, -1)]).astype(np.float64))
    emit((np.arange(n) % 4).astype(np.float64))
    v = np.round(np.random.RandomState(n).rand(n), 1)
    v[:: 5] = np.nan
    emit(v)
# Inputs that exhaust the depth limit, so the heapsort fallback runs (checked on the
# transcription above): distinct values, and the same halved (ties, still heapsorted).
for n in (200, 1000):
    v = killer(n)
    for values in (np.array(v, dtype=np.float64), np.array([x // 2 for x in v], dtype=np.int64)):
        _, heap_used = introsort_ids(n, lambda a, b: values[a] < values[b])
        assert heap_used, "the adversary no longer reaches the heapsort fallback"
        emit(values)
