"""Seeds derived from the config's master seed, so that every job is reproducible on its own."""

from __future__ import annotations

import zlib

import numpy as np


def derive_seed(master_seed: int, *names: str) -> int:
    """A 32-bit seed for one named consumer (a cohort, an analysis) of the master seed.

    The same master seed and names always give the same seed; different names give independent
    streams (numpy ``SeedSequence`` with the CRC-32 of each name as extra entropy).

    Parameters
    ----------
    master_seed : int
        The ``seed`` of the config.
    *names : str
        E.g. ``("cohort", "ukb")``.

    Returns
    -------
    int
    """
    entropy = [int(master_seed)] + [zlib.crc32(n.encode()) for n in names]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])
