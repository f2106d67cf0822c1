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

import numpy as np


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
