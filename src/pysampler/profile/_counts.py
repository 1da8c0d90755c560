"""Sample weights per (thread, stack), kept up to date as samples arrive.

Every view starts from these sums.  Counting a million samples takes a
large share of the time a flamegraph or a pstats table of them takes, so
a profile counts each batch of samples as it is added (a sampling session
adds one every few milliseconds) and only the rows not yet counted are
counted when the sums are asked for.
"""

from __future__ import annotations

import sys
from array import array
from collections import Counter
from itertools import repeat
from operator import and_, is_, itemgetter, rshift

from pysampler.profile._tables import SampleTable

__all__ = ["SampleCounts"]

_NODE_BITS = 24
_NODE_LIMIT = 1 << _NODE_BITS
_THREAD_LIMIT = 1 << 8
_BYTES = 4  # per value of the columns packed
_TOP_BYTE, _LOW_BYTE = (3, 0) if sys.byteorder == "little" else (0, 3)


class SampleCounts:
    """Summed sample weights per (thread index, stack node), and per stack node.

    Counts the rows of one sample table from row 0; rows are only ever
    appended to the table, so :meth:`update` counts the rows added since.
    A table whose columns were replaced is counted again from the start.
    """

    def __init__(self) -> None:
        """Nothing counted yet."""
        self._reset(())

    def _reset(self, columns: tuple[array[int], ...]) -> None:
        self._columns = columns
        self.rows = 0
        """How many rows of the table are counted."""
        self._packed: Counter[int] | None = Counter()  # thread << 24 | stack, while they fit
        self._pairs: Counter[tuple[int, int]] = Counter()  # once they do not
        self._by_stack: Counter[int] | None = None  # summed from the pairs when asked for

    def update(self, samples: SampleTable, *, limits: tuple[int, int] | None = None) -> None:
        """Count the rows of ``samples`` not counted yet.

        ``limits`` (a thread index and a stack node no row reaches, when
        the rows were checked against the tables) saves looking for the
        largest ids.
        """
        columns = (samples.thread, samples.stack, samples.weight)
        end = len(samples)
        same = len(self._columns) == len(columns) and all(map(is_, self._columns, columns))
        if not same or end < self.rows:  # not the table counted so far
            self._reset(columns)
        if end == self.rows:
            return
        start = self.rows
        threads = samples.thread[start:end]
        stacks = samples.stack[start:end]
        weights = samples.weight[start:end]
        self._by_stack = None
        if min(weights) == 1 and max(weights) == 1:
            packed = self._pack(threads, stacks, limits)
            if packed is None:
                self._pairs.update(zip(threads, stacks, strict=True))
            elif self._packed is not None:
                self._packed.update(packed)
        else:
            for thread, stack, weight in zip(threads, stacks, weights, strict=True):
                self._add_pair(thread, stack, weight)
        self.rows = end

    def pairs(self) -> tuple[list[int], list[int], list[int]]:
        """The (thread, stack) pairs counted, as columns: threads, stacks and weights.

        In the order of each pair's first sample.
        """
        if self._packed is not None:
            keys = list(self._packed)
            return (
                list(map(rshift, keys, repeat(_NODE_BITS))),
                list(map(and_, keys, repeat(_NODE_LIMIT - 1))),
                list(self._packed.values()),
            )
        return (
            list(map(itemgetter(0), self._pairs)),
            list(map(itemgetter(1), self._pairs)),
            list(self._pairs.values()),
        )

    def by_stack(self) -> Counter[int]:
        """Summed weight per stack node, in the order of each one's first sample.

        A stack's first sample is its first pair's, so summing the pairs in
        their order keeps that order.
        """
        if self._by_stack is None:
            _, stacks, weights = self.pairs()
            sums = dict(zip(stacks, weights, strict=True))
            if len(sums) < len(stacks):  # a stack sampled on several threads
                sums = dict.fromkeys(sums, 0)
                for stack, weight in zip(stacks, weights, strict=True):
                    sums[stack] += weight
            self._by_stack = Counter(sums)
        return self._by_stack

    def _pack(
        self, threads: array[int], stacks: array[int], limits: tuple[int, int] | None
    ) -> array[int] | None:
        """Each (thread, stack) pair as one integer, ``thread << 24 | stack``.

        Counting a million small integers takes about half as long as making
        and counting a million tuples.  The pairs are packed without a Python
        step per sample: the stacks are copied, and each one's top byte (zero
        while node ids stay below 2**24) is overwritten with its thread's low
        byte (its whole index while there are at most 256 threads).  None, and
        pairs counted as tuples from then on, once ids grow past that.
        """
        if self._packed is None:
            return None
        if limits is None:
            limits = (max(threads) + 1, max(stacks) + 1)
        fits = limits[0] <= _THREAD_LIMIT and limits[1] <= _NODE_LIMIT
        if not fits or threads.itemsize != _BYTES or stacks.itemsize != _BYTES:
            self._unpack()
            return None
        packed = array("I", stacks)
        memoryview(packed).cast("B")[_TOP_BYTE::4] = memoryview(threads).cast("B")[_LOW_BYTE::4]
        return packed

    def _unpack(self) -> None:
        if self._packed is not None:
            self._pairs = Counter(
                {(key >> _NODE_BITS, key & (_NODE_LIMIT - 1)): n for key, n in self._packed.items()}
            )
            self._packed = None

    def _add_pair(self, thread: int, stack: int, weight: int) -> None:
        if self._packed is not None and stack < _NODE_LIMIT and thread < _THREAD_LIMIT:
            self._packed[thread << _NODE_BITS | stack] += weight
        else:
            self._unpack()
            self._pairs[thread, stack] += weight
