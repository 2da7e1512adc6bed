"""LPIPS, the learned perceptual distance of Zhang et al. (2018), with the ``lpips`` package.

* ``lpips``: mean over horizon frames of LPIPS v0.1 (AlexNet backbone, linear layers
  calibrated on human judgements) between the predicted and the true frame, both
  scaled from ``[0, 1]`` to ``[-1, 1]`` as lpips expects, at the task's resolution;
  unitless, ``>= 0``, 0 for identical frames; lower is better.

It needs two sets of weights: the linear layers, shipped inside the lpips package,
and torchvision's ImageNet AlexNet, which torchvision downloads once into torch's
hub cache (``$TORCH_HOME/hub/checkpoints``). When they cannot be loaded (offline with
an empty cache), the metric is unavailable and runs report it as missing with the
reason, never as a number.
"""

from __future__ import annotations

import contextlib
import io
import sys
import warnings

import torch
from torch import nn

from wmbench.metrics.base import EpisodeMetric, MetricUnavailable, Truth, register

ALEXNET_WEIGHTS = "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"


#: Why the pretrained network could not be loaded in this process (tried once).
_unavailable: dict[bool, str] = {}


def lpips_network(pretrained: bool = True) -> nn.Module:
    """LPIPS v0.1 with the AlexNet backbone, frozen and in eval mode.

    ``pretrained=False`` keeps the package's linear layers but leaves the backbone
    randomly initialised: for tests of the plumbing only, never for scores. A failure
    to load is remembered, so a process tries (and reports) it once.
    """
    import lpips

    if pretrained in _unavailable:
        raise MetricUnavailable(_unavailable[pretrained])
    progress = io.StringIO()  # a download's messages: shown if it succeeds, the reason said if it fails
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(progress), contextlib.redirect_stderr(progress):
            warnings.filterwarnings("ignore", message=".*(pretrained|weight enum).*", category=UserWarning)
            net = lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=not pretrained, verbose=False)
    except Exception as exc:  # offline (URLError), a corrupt or partial file, ...: any of them
        folder = f"{torch.hub.get_dir()}/checkpoints"
        _unavailable[pretrained] = (
            f"LPIPS needs torchvision's ImageNet AlexNet weights in {folder}, which could not be loaded "
            f"({type(exc).__name__}: {' '.join(str(exc).split())}); to fix, download {ALEXNET_WEIGHTS} "
            f"into {folder} (or run once with internet access)")
        raise MetricUnavailable(_unavailable[pretrained]) from exc
    sys.stderr.write(progress.getvalue())
    return net.eval().requires_grad_(False)


@register
class LPIPS(EpisodeMetric):
    name, unit, higher_is_better = "lpips", "unitless", False
    frames_per_pass = 32

    def __init__(self, pretrained: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.net = lpips_network(pretrained)

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        b, t = pred.shape[:2]
        net = self.net.to(pred.device)
        x, y = pred.flatten(0, 1).float(), truth.frames.flatten(0, 1).float()
        n = self.frames_per_pass
        distances = torch.cat([net(x[i:i + n], y[i:i + n], normalize=True).flatten() for i in range(0, b * t, n)])
        return distances.view(b, t).double().mean(1)
