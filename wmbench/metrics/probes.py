"""What the run obtains from an adapter besides its main prediction, for the metrics
that need more than one prediction per episode.

* ``alternatives[i]``: episode ``i``'s predicted futures under each of its alternative
  action sequences (same context), ``float32 (K, horizon, 3, H, W)`` in ``[0, 1]`` at
  the truth's resolution, in the order of ``Episode.alternatives``; ``None`` where the
  episode has no alternatives with actions or no metric asked for them.
* ``surprise[i]``: the adapter's per-frame surprise ``float (1 + K, T)`` for episode
  ``i``'s clips: row 0 the possible clip (``Episode.truth``), row ``k + 1`` its
  alternative ``k`` (violation-of-expectation twins); ``T = context + horizon``;
  ``None`` where not scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Probes:
    """Per-episode extra adapter outputs of one batch (see the module docstring)."""

    alternatives: list[torch.Tensor | None]
    surprise: list[torch.Tensor | None]

    @classmethod
    def empty(cls, batch_size: int) -> "Probes":
        return cls(alternatives=[None] * batch_size, surprise=[None] * batch_size)
