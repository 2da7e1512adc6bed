"""Photometric calibration: a prediction's global brightness, contrast and colour cast
undone before the physics and coherence metrics read it.

Every scene is drawn with a known palette: the background, scenery and occluder
colours and each object's colour and mark colour (:func:`palette`). Each pixel goes to
its nearest palette colour (or to "other", beyond :data:`OTHER_DISTANCE` of all).
Per RGB channel, a gain ``a`` and an offset ``b`` are fitted by weighted least squares
so that ``a * r_k + b`` matches ``m_k``, where ``m_k`` and ``r_k`` are the median 8-bit
levels of the interior pixels of palette colour ``k`` in the frames and in the true
frames: the pixels that are, with all their 8 neighbours, nearest that colour. Edges and
blur mix colours within a pixel or two of a boundary; left in, they would move the
median of a region as thin as a bar by over a quarter of its contrast. (Medians: the pixels
that are mixed nonetheless do not move them; textured backdrops are compared with
themselves.) The fit takes the colours holding at least :data:`MIN_SHARE` of the interior
pixels on both sides, each weighted by the fewer of its interior pixels; the frames are then
mapped by ``x -> (x - b) / a``. Where the colours present do not spread on a channel
(their weighted variance below :data:`MIN_SPREAD`) the gain cannot be read from the
palette: the per-frame fit then keeps a gain of 1 (an offset only), and the sequence fit
takes the gain of the moving content (:func:`content_gain`; scenes whose only region
wide enough to read is the backdrop, such as thin rods swinging in front of it, would
otherwise keep a contrast change).

The fit is either per frame (the physics metrics: they must not care about any
change of the pictures' intensities) or one for the whole predicted sequence
(coherence: a constant change is removed, a change from frame to frame is left to be
seen). Frames whose fitted mapping moves no intensity in ``[0, 1]`` by more than
:data:`TOLERANCE` are returned as they are, bit for bit (the true frames themselves
always are), and so are frames of a batch given without its episodes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from wmbench.metrics.base import Truth
from wmbench.metrics.coarse import change, coarse
from wmbench.worlds.episode import Episode
from wmbench.worlds.render import BACKGROUND, MARK_DARKEN, OCCLUDER, SCENERY

#: The scene's own colours, the first palette entries: background, scenery, occluder.
SCENE_COLOURS = (BACKGROUND, SCENERY, OCCLUDER)
#: Softmax temperature on squared RGB distances (0-1 scale) of the soft assignment.
TEMPERATURE = 0.01
#: A pixel farther than this (RGB, 0-1 scale) from every palette colour is "other".
OTHER_DISTANCE = 0.3
#: A mapping that moves no intensity by more than this (0-1 scale) is not applied.
TOLERANCE = 0.01
#: Below this weighted variance of the palette colours on a channel, they cannot tell the gain.
MIN_SPREAD = 1e-3
#: A content gain farther from 1 than this factor (either way) is not a photometric change.
MAX_CONTENT_GAIN = 1.25
#: Palette colours holding fewer of the interior pixels than this are left out of the fit.
MIN_SHARE = 0.002
#: Colour of padding entries (batches with different object counts): never the nearest.
PADDING = 100.0
#: Logits (relative to a pixel's largest) are clipped at minus this before ``exp``.
LOGIT_FLOOR = 80.0
#: Pixels (over the batch) assigned at once, at least one frame of each episode.
CHUNK_PIXELS = 1 << 16


def palette(
    object_colours: list[list[tuple[int, int, int]]], device: torch.device | str | None = None
) -> tuple[torch.Tensor, int]:
    """Palette colours ``(B, K, 3)`` (0-1 scale) and ``N`` for each batch item's object
    colours (0-255): the scene colours, then ``N`` object colours, then ``N`` mark colours
    (padding entries far outside the colour cube)."""
    n = max((len(c) for c in object_colours), default=0)
    s = len(SCENE_COLOURS)
    colours = np.full((len(object_colours), s + 2 * n, 3), PADDING, np.float32)
    colours[:, :s] = np.asarray(SCENE_COLOURS, np.float32) / 255.0
    for b, item in enumerate(object_colours):
        for k, colour in enumerate(item):
            rgb = np.asarray(colour, np.float32)
            colours[b, s + k] = rgb / 255.0
            colours[b, s + n + k] = np.floor(rgb * MARK_DARKEN) / 255.0
    return torch.from_numpy(colours).to(device), n


def assign(x: torch.Tensor, colours: torch.Tensor) -> torch.Tensor:
    """Soft assignment ``(B, t, K + 1, P)`` of pixels ``(B, t, 3, P)`` to the palette
    ``(B, K, 3)`` and "other" (last): ``softmax_k(-|x - c_k|^2 / TEMPERATURE)``.
    ``|x|^2`` is common to the palette classes, so it only enters the "other" logit."""
    b, t, _, n = x.shape
    k = colours.shape[1]
    logits = torch.empty(b, t, k + 1, n, dtype=x.dtype, device=x.device)
    torch.matmul(colours[:, None] * (2 / TEMPERATURE), x, out=logits[:, :, :k])
    logits[:, :, :k].sub_((colours.pow(2).sum(2) / TEMPERATURE)[:, None, :, None])
    torch.sum(x * x, 2, out=logits[:, :, k]).sub_(OTHER_DISTANCE**2).div_(TEMPERATURE)
    # below exp(-80) a probability is 0 for every purpose, and exp is slow on underflow
    p = logits.sub_(logits.amax(2, keepdim=True)).clamp_(min=-LOGIT_FLOOR).exp_()
    return p.div_(p.sum(2, keepdim=True))


def colour_classes(frames: torch.Tensor, colours: torch.Tensor) -> torch.Tensor:
    """Soft assignment ``(B, T, K + 1, H, W)`` of every pixel of frames ``(B, T, 3, H, W)``
    to the palette ``(B, K, 3)`` (see :func:`palette`) and "other" (last)."""
    b, t, _, h, w = frames.shape
    return assign(frames.float().flatten(3), colours).view(b, t, -1, h, w)


def nearest_colours(x: torch.Tensor, colours: torch.Tensor) -> torch.Tensor:
    """Index ``(B, t, P)`` of the nearest palette colour ``(B, K, 3)`` of each pixel
    ``(B, t, 3, P)`` (the first of equally near ones); ``K`` ("other") where none is
    within :data:`OTHER_DISTANCE`. The largest of :func:`assign`'s logits, found along
    a contiguous palette axis."""
    closeness = torch.matmul(x.transpose(2, 3), colours[:, None].transpose(2, 3) * 2)  # (B, t, P, K)
    closeness.sub_(colours.pow(2).sum(2)[:, None, None, :])
    best, index = closeness.max(-1)
    other = torch.sum(x * x, 2).sub_(OTHER_DISTANCE**2)
    return torch.where(other > best, colours.shape[1], index)


def interior(nearest: torch.Tensor) -> torch.Tensor:
    """Whether each pixel of an index map ``(..., H, W)`` has the same index as its 8
    neighbours (those inside the frame, at its edge)."""
    index = nearest.reshape(-1, 1, *nearest.shape[-2:]).float()
    highest, lowest = F.max_pool2d(index, 3, 1, 1), -F.max_pool2d(-index, 3, 1, 1)
    return (highest == lowest).view(nearest.shape)


def level_histograms(frames: torch.Tensor, episodes: list[Episode]) -> torch.Tensor:
    """Per frame, colour of the episodes' palette and channel, the histogram of the 8-bit
    levels of the colour's interior pixels (:func:`interior` of the nearest colours):
    ``(B, T, K, 3, 256)``, a few frames at a time."""
    colours, _ = palette([[o.colour for o in e.objects] for e in episodes], frames.device)
    b, t, _, h, w = frames.shape
    k = colours.shape[1]
    step, out = max(1, CHUNK_PIXELS // (b * h * w)), []
    for start in range(0, t, step):
        x = frames[:, start : start + step].float().flatten(3)
        n = x.shape[1]
        nearest = nearest_colours(x, colours)  # (B, n, P)
        nearest = torch.where(interior(nearest.view(b, n, h, w)).flatten(2), nearest, k)
        levels = x.mul(255).round_().clamp_(0, 255).long()  # (B, n, 3, P)
        frame = torch.arange(b * n, device=x.device).view(b, n, 1, 1)
        channel = torch.arange(3, device=x.device).view(1, 1, 3, 1)
        key = ((frame * (k + 1) + nearest[:, :, None]) * 3 + channel) * 256 + levels
        counts = torch.bincount(key.flatten(), minlength=b * n * (k + 1) * 768)
        out.append(counts.view(b, n, k + 1, 3, 256)[:, :, :k])
    return torch.cat(out, 1)


def _medians(histograms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel counts ``(..., K)`` and median levels ``(..., K, 3)`` (0-1 scale) of histograms ``(..., K, 3, 256)``."""
    counts = histograms.double()
    median = (counts.cumsum(-1) >= counts.sum(-1, keepdim=True) / 2).double().argmax(-1) / 255.0
    return counts[..., 0, :].sum(-1), median


def moving_content(frames: torch.Tensor) -> torch.Tensor:
    """Per sequence and channel, how much of frames ``(B, T, 3, H, W)`` stands out from
    what stays, read as the coherence metrics read a change
    (:func:`~wmbench.metrics.coarse.change` of the coarse frames ``X``):
    ``sum_t sum_p d(X_t(p), med_s X_s(p))``, ``(B, 3)`` float64. A static background
    adds nothing; a thin line adds about its contrast times its width."""
    blocks = coarse(frames)
    return change(blocks, blocks.median(1, keepdim=True).values).double().sum((1, 3, 4))


def content_gain(frames: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Per sequence and channel ``(B, 3)``: the ratio of the moving content
    (:func:`moving_content`) of ``frames`` to that of ``reference``, which a global
    change of brightness or contrast scales and faint noise does not (a blur that spreads
    a thin line's change below the noise floor lowers it as it lowers the changes
    coherence reads); 1 where the ratio is beyond :data:`MAX_CONTENT_GAIN` either way or
    undefined (a frozen world; content that differs rather than a photometric change)."""
    ratio = moving_content(frames) / moving_content(reference)  # NaN or inf where nothing moves
    plausible = (ratio >= 1 / MAX_CONTENT_GAIN) & (ratio <= MAX_CONTENT_GAIN)
    return torch.where(plausible, ratio, 1.0)


def _fit(
    frames: torch.Tensor, reference: torch.Tensor, unread_gain: torch.Tensor | float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gain and offset ``(..., 3)`` mapping the reference's median levels onto the
    frames', from both histograms ``(..., K, 3, 256)``: weighted least squares over the
    palette colours holding at least :data:`MIN_SHARE` of the counted pixels in both, each
    weighted by the fewer of its pixels; ``unread_gain`` on channels whose colours do not
    spread (:data:`MIN_SPREAD`)."""
    mass_x, x = _medians(frames)
    mass_c, c = _medians(reference)
    mass = torch.minimum(mass_x, mass_c)
    weight = torch.where(mass >= MIN_SHARE * mass.sum(-1, keepdim=True), mass, 0.0)[..., None]
    total = weight.sum(-2).clamp_min(1e-12)
    mean_c, mean_x = (weight * c).sum(-2) / total, (weight * x).sum(-2) / total
    dc, dx = c - mean_c[..., None, :], x - mean_x[..., None, :]
    spread = (weight * dc * dc).sum(-2) / total
    gain = torch.where(spread > MIN_SPREAD, (weight * dc * dx).sum(-2) / total / spread.clamp_min(1e-12), unread_gain)
    return gain, mean_x - gain * mean_c


def calibrate(
    frames: torch.Tensor,
    reference: torch.Tensor,
    episodes: list[Episode],
    per_frame: bool = True,
    histograms: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """``frames`` ``(B, T, 3, H, W)`` in ``[0, 1]`` with their global photometric change
    against ``reference`` (the true frames, same shape) undone (see the module
    docstring), clipped to ``[0, 1]``; the very same tensor when no frame needs it, or
    when ``episodes`` is empty (no palette is known). ``histograms`` gives a tensor's
    :func:`level_histograms` (default: computed on each call)."""
    if (
        not episodes
        or frames.shape == reference.shape
        and frames.data_ptr() == reference.data_ptr()
        and frames.stride() == reference.stride()
    ):
        return frames
    levels = histograms or partial(level_histograms, episodes=episodes)
    found, true = levels(frames), levels(reference)
    if not per_frame:
        found, true = found.sum(1, keepdim=True), true.sum(1, keepdim=True)
    gain, offset = _fit(found, true) if per_frame else _fit(found, true, content_gain(frames, reference)[:, None])
    moved = torch.maximum(offset.abs(), (gain + offset - 1).abs()).amax(-1)  # (B, T or 1)
    if not bool((moved > TOLERANCE).any()):
        return frames
    gain = torch.where(moved[..., None] > TOLERANCE, gain, 1.0).float().clamp_min(0.1)
    offset = torch.where(moved[..., None] > TOLERANCE, offset, 0.0).float()
    mapped = (frames.float() - offset[..., None, None]) / gain[..., None, None]
    return mapped.clamp_(0.0, 1.0)


def calibrated(frames: torch.Tensor, truth: Truth, per_frame: bool = True) -> torch.Tensor:
    """``frames`` (a prediction of ``truth``'s batch, or its own frames) calibrated against
    the true future (:func:`calibrate`), once per tensor, batch and kind of fit; both
    kinds of fit share each tensor's level histograms."""

    def histograms(x: torch.Tensor) -> torch.Tensor:
        return truth.memo("level_histograms", x, partial(level_histograms, x, truth.episodes))

    return truth.memo(
        f"calibrated_{'frames' if per_frame else 'sequence'}",
        frames,
        partial(calibrate, frames, truth.frames, truth.episodes, per_frame, histograms),
    )
