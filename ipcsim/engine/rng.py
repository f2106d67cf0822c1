"""Named random-number streams: one numpy Generator per stochastic process.

Notes
-----
Each stream is seeded from ``SeedSequence(seed, spawn_key=(replication, crc32(name)))``.
This is what ``SeedSequence(seed).spawn`` does with an index, except that the index is a
stable hash of the stream's name, so a stream keeps its draws whichever other streams a
scenario has (a cohort added to one scenario does not shift the draws of the others). That
is what makes common random numbers across scenarios work. There is no module-level RNG.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from itertools import chain, repeat

import numpy as np

BLOCK = 256
"""Draws fetched from numpy at a time by :func:`block_draws`."""


def stream_key(name: str) -> int:
    """Stable 32-bit key of a stream name."""
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """Lazily created, named, independent generators for one (seed, replication).

    Parameters
    ----------
    seed
        Master seed of the run.
    replication
        Replication number (0 for a single run).
    """

    def __init__(self, seed: int, replication: int = 0) -> None:
        self.seed = seed
        self.replication = replication
        self._generators: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        """The generator of the stream ``name``, made on first use from its own seed."""
        generator = self._generators.get(name)
        if generator is None:
            sequence = np.random.SeedSequence(
                self.seed, spawn_key=(self.replication, stream_key(name))
            )
            generator = np.random.Generator(np.random.PCG64(sequence))
            self._generators[name] = generator
        return generator

    @property
    def names(self) -> list[str]:
        """Streams used so far, sorted (recorded in the manifest)."""
        return sorted(self._generators)


def block_draws(
    generator: np.random.Generator,
    draw_block: Callable[[np.random.Generator, int], np.ndarray],
) -> Iterator[float]:
    """Endless draws of one quantity from its stream, fetched from numpy a block at a time.

    Calling numpy once per draw costs about a microsecond; a block of draws costs little
    more than one, and ``next()`` on the iterator a few tens of nanoseconds. The k-th
    ``next()`` always returns the stream's k-th draw, so buffering changes nothing but speed.

    Parameters
    ----------
    generator
        The quantity's own stream.
    draw_block
        ``draw_block(generator, n)`` returns ``n`` draws (e.g. ``Distribution.sample_block``).
    """
    # chain(map(...)) iterates in C: next() costs a list step, numpy is called once a block.
    blocks = map(lambda g: draw_block(g, BLOCK).tolist(), repeat(generator))
    return chain.from_iterable(blocks)


def uniform_block(generator: np.random.Generator, n: int) -> np.ndarray:
    """``n`` uniform draws on [0, 1)."""
    return generator.random(n)


def exponential_block(generator: np.random.Generator, n: int) -> np.ndarray:
    """``n`` exponential draws with mean 1."""
    return generator.standard_exponential(n)
