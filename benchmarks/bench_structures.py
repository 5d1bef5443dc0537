"""Why the book is built the way it is: each choice in engine/book/book.py against
the obvious alternative, on the operations the standard workload does most.

    .venv/bin/python benchmarks/bench_structures.py

1. A price level's queue: a dict (insertion-ordered; delete by id is O(1), no
   tombstones) against a deque with lazy deletion (cancel marks the order dead;
   the matcher skips dead entries; tombstones stay until they reach the front).
2. The best price: a sorted list of keys whose last element is the best
   (``keys[-1]``; a new level mostly near the end, so ``insort`` moves little)
   against a heap. They tie on push and pop; the sorted list also gives the
   depth view (the best N levels, in order) as a slice, and drops an emptied
   level anywhere with one ``del`` where a heap needs tombstones.

Each figure is the best of 5 timeit repeats, in ns per operation.
"""

from __future__ import annotations

import heapq
import random
import timeit
from bisect import insort
from collections import deque

N = 1000  # orders in a level; levels in a book side


def queue_dict() -> None:
    level: dict[int, list[int]] = {}
    for oid in range(N):
        level[oid] = [oid, 10]
    for oid in range(0, N, 2):  # cancel half, anywhere in the queue
        del level[oid]
    for order in level.values():  # match the rest front to back
        order[1] = 0
    level.clear()


def queue_deque() -> None:
    level: deque[list[int]] = deque()
    by_id: dict[int, list[int]] = {}
    for oid in range(N):
        order = [oid, 10, 1]  # id, qty, alive
        level.append(order)
        by_id[oid] = order
    for oid in range(0, N, 2):
        by_id.pop(oid)[2] = 0  # tombstone: stays in the deque until the front
    while level:
        order = level.popleft()
        if order[2]:
            order[1] = 0
            del by_id[order[0]]


def best_sorted_list(keys_in: list[int]) -> None:
    keys: list[int] = []
    for k in keys_in:
        if not keys or k > keys[-1]:
            keys.append(k)
        else:
            insort(keys, k)
    while keys:  # take the best level N times
        keys.pop()


def best_heap(keys_in: list[int]) -> None:
    heap: list[int] = []
    for k in keys_in:
        heapq.heappush(heap, -k)
    while heap:
        heapq.heappop(heap)


def depth_sorted_list(keys: list[int]) -> None:
    for _ in range(N):
        keys[-5:]  # the best five levels, already in order


def depth_heap(heap: list[int]) -> None:
    for _ in range(N):
        heapq.nsmallest(5, heap)


def main() -> None:
    rng = random.Random(1)
    # New levels near the touch: mostly just behind or ahead of the best.
    near_touch = [10_000 + rng.randint(-20, 20) * 1 + i // 50 for i in range(N)]
    levels = sorted(set(near_touch))[:40]
    heap = [-k for k in levels]
    heapq.heapify(heap)
    cases = [
        ("level queue: dict (add, cancel half, match)", lambda: queue_dict(), 2 * N),
        ("level queue: deque + tombstones", lambda: queue_deque(), 2 * N),
        ("best price: sorted list (insort, pop best)", lambda: best_sorted_list(near_touch), N),
        ("best price: heap (push, pop best)", lambda: best_heap(near_touch), N),
        ("depth, best 5 levels of 40: sorted list", lambda: depth_sorted_list(levels), N),
        ("depth, best 5 levels of 40: heap", lambda: depth_heap(heap), N),
    ]
    print("| structure | ns per operation |")
    print("|---|---:|")
    for name, fn, ops in cases:
        best = min(timeit.repeat(fn, number=200, repeat=5)) / 200
        print(f"| {name} | {best / ops * 1e9:,.0f} |")


if __name__ == "__main__":
    main()
