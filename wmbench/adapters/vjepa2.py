"""``vjepa2``: Meta's V-JEPA 2 through transformers' ``VJEPA2Model``, scored by its
surprise in representation space. Needs ``pip install 'wmbench[vjepa]'``.

V-JEPA 2 predicts representations, not pixels: it is scored on the
violation-of-expectation tasks (suite ``surprise``), and refused on tasks that score
predicted frames (see docs/adapters.md for what a latent model can and cannot be
scored on).

**Surprise of frame t** (``score_surprise``): windows start at the context's end and
advance by ``predict_frames`` frames. For a window starting at frame ``s``:

1. *prediction*, from the past only: the encoder encodes the ``c`` frames before ``s``
   alone (``c``: the context rounded down to whole tubelets of 2 frames); the predictor
   fills mask tokens at the positions of frames ``s .. s + predict_frames - 1``;
2. *target*: the encoder's tokens at those positions when it encodes the window's
   frames ``s - c .. s + predict_frames - 1`` as observed (as V-JEPA's target encoder
   does in training);
3. each frame's surprise is the mean absolute difference between predicted and target
   tokens of its tubelet (all patches, all channels): V-JEPA's L1 training loss.

The encoder of step 1 never sees a frame at or after ``s``, so a frame's surprise
depends only on the frames up to the end of its tubelet. Frames of the context score 0.
A window running past the clip's end repeats the last frame, whose tubelet then scores
only the real frames. Frames are resized to the model's ``crop_size`` (area averaging
when shrinking, bilinear when enlarging) and normalised with ImageNet's mean and
standard deviation, as V-JEPA 2's video processor does (without its crop: a square
frame is kept whole).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from wmbench.adapters.base import Adapter, ContextBatch, Requirements
from wmbench.adapters.extras import require
from wmbench.errors import AdapterError, WmbenchError

MODEL_ID = "facebook/vjepa2-vitl-fpc64-256"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VJEPA2(Adapter):
    """V-JEPA 2's predictor error as surprise (see the module docstring).

    Built from ``model_id``/``revision`` with ``from_pretrained``, or around a ready
    ``model`` (a ``transformers.VJEPA2Model``). ``predict_frames``: frames predicted per
    window, a positive multiple of the tubelet size (2). ``windows_per_call``: windows
    encoded together (bounds memory). ``dtype``: ``"auto"`` (bfloat16 on CUDA, float32
    elsewhere), ``"bfloat16"``, ``"float16"`` or ``"float32"``; errors are computed in
    float32.
    """

    name = "vjepa2"
    requirements = Requirements(predicts_frames=False)

    def __init__(
        self,
        model_id: str = MODEL_ID,
        revision: str | None = None,
        predict_frames: int = 2,
        windows_per_call: int = 16,
        dtype: str = "auto",
        model: Any = None,
    ):
        super().__init__()
        if dtype not in ("auto", "bfloat16", "float16", "float32"):
            raise WmbenchError(f"vjepa2: dtype must be auto, bfloat16, float16 or float32, got {dtype!r}")
        self.model_id: str | None = model_id if model is None else None
        self.revision: str | None = revision if model is None else None
        self.model = model if model is not None else self._load(model_id, revision)
        self.tubelet = int(self.model.config.tubelet_size)
        if predict_frames < 1 or predict_frames % self.tubelet:
            raise WmbenchError(
                f"vjepa2: predict_frames must be a positive multiple of the tubelet size "
                f"{self.tubelet}, got {predict_frames}"
            )
        if windows_per_call < 1:
            raise WmbenchError(f"vjepa2: windows_per_call must be at least 1, got {windows_per_call}")
        self.predict_frames, self.windows_per_call, self.dtype_name = predict_frames, windows_per_call, dtype

    @staticmethod
    def _load(model_id: str, revision: str | None) -> Any:
        require("vjepa", VJEPA2.name)
        from transformers import VJEPA2Model

        try:
            return VJEPA2Model.from_pretrained(model_id, revision=revision or "main")
        except (OSError, ValueError) as exc:
            raise AdapterError(VJEPA2.name, f"cannot load {model_id} (revision {revision}): {exc}") from exc

    def setup(self, device: torch.device) -> None:
        dtype = (
            torch.bfloat16
            if self.dtype_name == "auto" and device.type == "cuda"
            else getattr(torch, "float32" if self.dtype_name == "auto" else self.dtype_name)
        )
        super().setup(device)
        self.model.to(dtype)

    @property
    def crop_size(self) -> int:
        return int(self.model.config.crop_size)

    @property
    def tokens_per_tubelet(self) -> int:
        return (self.crop_size // int(self.model.config.patch_size)) ** 2

    def predict(self, batch: ContextBatch) -> torch.Tensor:
        raise NotImplementedError("vjepa2 predicts representations, not frames: it is scored by its surprise")

    def _pixels(self, clips: torch.Tensor) -> torch.Tensor:
        """``(B, T, 3, H, W)`` in [0, 1] -> the model's normalised input at its crop size."""
        b, t = clips.shape[:2]
        frames = clips.flatten(0, 1).float()
        size = self.crop_size
        if frames.shape[-1] != size or frames.shape[-2] != size:
            mode = "area" if size < frames.shape[-1] else "bilinear"
            extra = {} if mode == "area" else {"align_corners": False}
            frames = F.interpolate(frames, size=(size, size), mode=mode, **extra)
        mean = frames.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = frames.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
        dtype = next(self.model.parameters()).dtype
        return ((frames - mean) / std).view(b, t, 3, size, size).to(dtype)

    def predicted_latents(self, context: torch.Tensor, frames: int) -> torch.Tensor:
        """Predicted tokens ``(N, frames / 2 * patches, D)`` of the ``frames`` frames that
        follow normalised ``context`` ``(N, c, 3, S, S)``, from the context alone."""
        encoded = self.model.encoder(pixel_values_videos=context).last_hidden_state
        count, known = encoded.shape[0], encoded.shape[1]
        wanted = frames // self.tubelet * self.tokens_per_tubelet
        device = encoded.device
        context_mask = [torch.arange(known, device=device).expand(count, -1)]
        target_mask = [torch.arange(known, known + wanted, device=device).expand(count, -1)]
        return self.model.predictor(
            encoder_hidden_states=encoded, context_mask=context_mask, target_mask=target_mask
        ).last_hidden_state

    def target_latents(self, window: torch.Tensor, frames: int) -> torch.Tensor:
        """The encoder's tokens of the last ``frames`` frames of ``window`` ``(N, c +
        frames, 3, S, S)``, encoded whole."""
        encoded = self.model.encoder(pixel_values_videos=window).last_hidden_state
        return encoded[:, -(frames // self.tubelet * self.tokens_per_tubelet) :]

    def _window_errors(self, windows: torch.Tensor, known: int) -> torch.Tensor:
        """Per-tubelet L1 error ``(N, predict_frames / 2)`` of windows ``(N, known + p, ...)``."""
        p = self.predict_frames
        predicted = self.predicted_latents(windows[:, :known], p).float()
        target = self.target_latents(windows, p).float()
        error = (predicted - target).abs().mean(-1)  # (N, tokens)
        return error.view(error.shape[0], p // self.tubelet, self.tokens_per_tubelet).mean(-1)

    @torch.inference_mode()
    def score_surprise(self, clips: torch.Tensor, fps: float, context: int) -> torch.Tensor:
        b, t = clips.shape[:2]
        known = context // self.tubelet * self.tubelet
        if known < self.tubelet:
            raise WmbenchError(f"vjepa2 needs at least {self.tubelet} context frames, got {context}")
        p = self.predict_frames
        pixels = self._pixels(clips)
        starts = list(range(context, t, p))
        padded = (
            torch.cat([pixels, pixels[:, -1:].expand(-1, starts[-1] + p - t, -1, -1, -1)], dim=1)
            if starts and starts[-1] + p > t
            else pixels
        )
        windows = torch.stack([padded[:, s - known : s + p] for s in starts], dim=1).flatten(0, 1)
        errors = torch.cat(
            [
                self._window_errors(windows[i : i + self.windows_per_call], known)
                for i in range(0, windows.shape[0], self.windows_per_call)
            ]
        )
        per_frame = errors.repeat_interleave(self.tubelet, dim=1).view(b, len(starts) * p)
        surprise = torch.zeros(b, t, dtype=torch.float32, device=clips.device)
        surprise[:, context:] = per_frame[:, : t - context].to(surprise.device)
        return surprise

    def describe(self) -> dict[str, Any]:
        config = self.model.config
        return {
            "model_id": self.model_id,
            "revision": self.revision,
            "model": type(self.model).__name__,
            "crop_size": config.crop_size,
            "patch_size": config.patch_size,
            "tubelet_size": config.tubelet_size,
            "hidden_size": config.hidden_size,
            "predict_frames": self.predict_frames,
            "dtype": self.dtype_name,
            "surprise": "L1 between predicted tokens (encoder on the past only) and the observed window's tokens, "
            "mean per tubelet",
            "resize": "square frame resized whole to crop_size (area down, bilinear up); ImageNet normalisation",
        }
