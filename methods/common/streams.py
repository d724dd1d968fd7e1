"""Per-iteration random streams: a method that draws its own batches takes iteration i's draws
from a generator seeded by (seed, i), so a run resumed from a checkpoint repeats them."""

from __future__ import annotations

import numpy as np
import torch


def iteration_stream(seed: int, iteration: int) -> torch.Generator:
    """A CPU generator of its own for iteration `iteration` of a run seeded `seed`."""
    state = np.random.SeedSequence([seed, iteration]).generate_state(1)[0]
    return torch.Generator().manual_seed(int(state))
