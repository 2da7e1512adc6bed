"""``cosmos``: NVIDIA Cosmos Predict 2.5 (video to world) through diffusers'
``Cosmos2_5_PredictBasePipeline``. Needs ``pip install 'wmbench[cosmos]'``.

How the benchmark's frames meet the model (all recorded in the result, see
:meth:`Cosmos.describe`):

* **Time.** The model generates video at ``model_fps`` (16 for the released
  checkpoints). The context is resampled to that rate by taking, for each of the
  model's ``conditioning_frames`` instants, the context frame nearest in time (the
  oldest when an instant falls before the context); each predicted frame of the task is
  the generated frame nearest to its instant. ``model_fps=None`` feeds frames at the
  task's rate unchanged.
* **Space.** Frames are square; the model works at ``height x width`` (multiples of
  16). ``fit="pad"``: the square is scaled to the shorter side and padded on both sides
  by repeating its edge pixels, and predictions are cropped back to that square;
  ``fit="stretch"``: the square is stretched to ``height x width`` and back. Scaling
  uses area averaging when shrinking and bilinear interpolation when enlarging.
* **Frame count.** One call generates ``num_frames`` frames (``4k + 1``: the video
  tokenizer compresses 4 frames into one latent frame after the first), the first
  ``conditioning_frames`` of which (1 or 5: one or two latent frames) are the
  conditioning. When the horizon needs more frames than one call gives, the rollout is
  autoregressive: the next call is conditioned on the last frames generated.
* **Noise.** Call ``k`` of an episode's rollout draws its noise from seed ``seed + k``
  on the CPU, so every episode is predicted the same way whatever the batch or device.

Real weights (see docs/adapters.md): ``nvidia/Cosmos-Predict2.5-2B``, revision
``diffusers/base/post-trained``, under the NVIDIA Open Model License (accept it on the
model's page and log in with ``hf auth login``), with its safety checker
(``cosmos_guardrail``, required by the licence).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from wmbench.adapters.base import Adapter, ContextBatch, Requirements
from wmbench.adapters.extras import require
from wmbench.errors import AdapterError, WmbenchError

MODEL_ID = "nvidia/Cosmos-Predict2.5-2B"
REVISION = "diffusers/base/post-trained"
DEFAULT_PROMPT = (
    "A static camera films a flat, two-dimensional physics scene: simple solid-coloured shapes on a plain "
    "background move, fall under gravity, collide, bounce, slide and come to rest, following the laws of "
    "rigid-body mechanics. The view, colours and shapes stay the same; nothing appears or disappears."
)
FITS = ("pad", "stretch")
#: Pixel frames that 1 or 2 latent conditioning frames hold (the tokenizer's 1 + 4k rule).
CONDITIONING_FRAMES = {1: 1, 2: 5}
TEMPORAL_COMPRESSION = 4


def nearest_indices(times: torch.Tensor, fps: float, count: int) -> torch.Tensor:
    """Index of the frame nearest to each instant ``times`` (seconds, frame ``i`` at
    ``i / fps``), clamped to ``[0, count)``; ties go to the later frame."""
    return torch.floor(times * fps + 0.5).long().clamp(0, count - 1)


def resize(frames: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``(N, 3, h, w)`` frames to ``height x width``: area averaging when shrinking,
    bilinear when enlarging (per axis, the larger factor decides)."""
    if tuple(frames.shape[-2:]) == (height, width):
        return frames
    if height <= frames.shape[-2] and width <= frames.shape[-1]:
        return F.interpolate(frames, size=(height, width), mode="area")
    return F.interpolate(frames, size=(height, width), mode="bilinear", align_corners=False)


def to_canvas(frames: torch.Tensor, height: int, width: int, fit: str) -> torch.Tensor:
    """Square frames ``(N, 3, S, S)`` on the model's ``height x width`` canvas."""
    if fit == "stretch":
        return resize(frames, height, width)
    side = min(height, width)
    square = resize(frames, side, side)
    left, top = (width - side) // 2, (height - side) // 2
    return F.pad(square, (left, width - side - left, top, height - side - top), mode="replicate")


def from_canvas(frames: torch.Tensor, size: int, fit: str) -> torch.Tensor:
    """Frames ``(N, 3, height, width)`` of the canvas back to the task's ``size`` square."""
    height, width = frames.shape[-2:]
    if fit == "pad":
        side = min(height, width)
        left, top = (width - side) // 2, (height - side) // 2
        frames = frames[..., top : top + side, left : left + side]
    return resize(frames, size, size)


class Cosmos(Adapter):
    """Cosmos Predict 2.5 video-to-world prediction (see the module docstring).

    Built from ``model_id``/``revision`` with diffusers' ``from_pretrained``, or around
    a ready ``pipeline`` (then ``prompt_embeds`` may replace the text encoder, as for
    pipelines built from components). ``dtype``: ``"auto"`` (bfloat16 on CUDA, float32
    elsewhere), ``"bfloat16"``, ``"float16"`` or ``"float32"``. ``cpu_offload``: keep
    each component on the CPU until it runs (slower, needs far less GPU memory).
    """

    name = "cosmos"
    requirements = Requirements(max_batch_size=1)  # the pipeline takes one conditioning video per call

    def __init__(
        self,
        model_id: str = MODEL_ID,
        revision: str | None = REVISION,
        prompt: str = DEFAULT_PROMPT,
        negative_prompt: str | None = None,
        guidance_scale: float = 7.0,
        num_inference_steps: int = 36,
        seed: int = 0,
        height: int = 704,
        width: int = 1280,
        fit: str = "pad",
        num_frames: int = 93,
        conditioning_latents: int = 2,
        model_fps: float | None = 16.0,
        dtype: str = "auto",
        cpu_offload: bool = False,
        pipeline: Any = None,
        prompt_embeds: torch.Tensor | None = None,
        negative_prompt_embeds: torch.Tensor | None = None,
    ):
        super().__init__()
        self._check(height, width, fit, num_frames, conditioning_latents, model_fps, dtype, num_inference_steps)
        self.model_id: str | None = model_id if pipeline is None else None
        self.revision: str | None = revision if pipeline is None else None
        self.prompt, self.negative_prompt = prompt, negative_prompt
        self.guidance_scale, self.num_inference_steps, self.seed = guidance_scale, num_inference_steps, seed
        self.height, self.width, self.fit = height, width, fit
        self.num_frames, self.conditioning_latents, self.model_fps = num_frames, conditioning_latents, model_fps
        self.dtype_name, self.cpu_offload, self._offloading = dtype, cpu_offload, False
        self.pipe = pipeline if pipeline is not None else self._load(model_id, revision, dtype)
        self.pipe.set_progress_bar_config(disable=True)
        self.prompt_embeds, self.negative_prompt_embeds = prompt_embeds, negative_prompt_embeds
        self.prompt_given_as_embeddings = prompt_embeds is not None

    @staticmethod
    def _check(
        height: int,
        width: int,
        fit: str,
        num_frames: int,
        conditioning_latents: int,
        model_fps: float | None,
        dtype: str,
        steps: int,
    ) -> None:
        problems = []
        if height % 16 or width % 16 or height < 16 or width < 16:
            problems.append(f"height and width must be positive multiples of 16, got {height}x{width}")
        if fit not in FITS:
            problems.append(f"fit must be one of {', '.join(FITS)}, got {fit!r}")
        if conditioning_latents not in CONDITIONING_FRAMES:
            problems.append(f"conditioning_latents must be 1 or 2, got {conditioning_latents!r}")
        elif num_frames % TEMPORAL_COMPRESSION != 1 or num_frames <= CONDITIONING_FRAMES[conditioning_latents]:
            problems.append(
                f"num_frames must be 4k + 1 and more than the {CONDITIONING_FRAMES[conditioning_latents]}"
                f" conditioning frames, got {num_frames}"
            )
        if model_fps is not None and not model_fps > 0:
            problems.append(f"model_fps must be positive or None, got {model_fps!r}")
        if dtype not in ("auto", "bfloat16", "float16", "float32"):
            problems.append(f"dtype must be auto, bfloat16, float16 or float32, got {dtype!r}")
        if steps < 1:
            problems.append(f"num_inference_steps must be at least 1, got {steps}")
        if problems:
            raise WmbenchError("cosmos: " + "; ".join(problems))

    @staticmethod
    def _load(model_id: str, revision: str | None, dtype: str) -> Any:
        require("cosmos", Cosmos.name)
        from diffusers import Cosmos2_5_PredictBasePipeline

        torch_dtype = torch.float32 if dtype == "float32" else getattr(torch, dtype, torch.bfloat16)
        try:
            return Cosmos2_5_PredictBasePipeline.from_pretrained(model_id, revision=revision, torch_dtype=torch_dtype)
        except (OSError, ImportError, ValueError) as exc:
            raise AdapterError(Cosmos.name, f"cannot load {model_id} (revision {revision}): {exc}") from exc

    @property
    def conditioning_frames(self) -> int:
        return CONDITIONING_FRAMES[self.conditioning_latents]

    def _dtype(self, device: torch.device) -> torch.dtype:
        if self.dtype_name == "auto":
            return torch.bfloat16 if device.type == "cuda" else torch.float32
        return getattr(torch, self.dtype_name)

    def setup(self, device: torch.device) -> None:
        """Put the pipeline on ``device`` in its dtype and encode the prompts once; the
        text encoder then goes back to the CPU, where it takes no device memory."""
        self.device = device
        dtype = self._dtype(device)
        if self.pipe.transformer.dtype != dtype:
            self.pipe.to(dtype=dtype)
        if self.cpu_offload and device.type == "cuda":
            if not self._offloading:
                self.pipe.enable_model_cpu_offload(device=device)
                self._offloading = True
        else:
            self.pipe.to(device)
        if self.prompt_embeds is None:
            self.prompt_embeds, self.negative_prompt_embeds = self.pipe.encode_prompt(
                prompt=self.prompt,
                negative_prompt=self.negative_prompt,
                do_classifier_free_guidance=self.guidance_scale > 1.0,
                device=device,
            )
            if not self.cpu_offload and self.pipe.text_encoder is not None:
                self.pipe.text_encoder.to("cpu")
        self.prompt_embeds = self.prompt_embeds.to(device, dtype)
        if self.negative_prompt_embeds is not None:
            self.negative_prompt_embeds = self.negative_prompt_embeds.to(device, dtype)

    def rollout_calls(self, horizon: int, fps: float) -> int:
        """Pipeline calls needed for ``horizon`` task frames at ``fps``."""
        per_call = self.num_frames - self.conditioning_frames
        return math.ceil(self._model_frames(horizon, fps) / per_call)

    def _model_frames(self, horizon: int, fps: float) -> int:
        if self.model_fps is None:
            return horizon
        return int(nearest_indices(torch.tensor([horizon / fps]), self.model_fps, 10**9)[0])

    def _conditioning(self, context: torch.Tensor, fps: float) -> torch.Tensor:
        """The model-rate conditioning frames ``(N, 3, S, S)`` from context ``(C, 3, S, S)``."""
        count = context.shape[0]
        if self.model_fps is None:
            return (
                context[-self.conditioning_frames :]
                if count >= self.conditioning_frames
                else torch.cat([context[:1].expand(self.conditioning_frames - count, -1, -1, -1), context])
            )
        last = (count - 1) / fps
        steps = torch.arange(self.conditioning_frames - 1, -1, -1, dtype=torch.float64)
        return context[nearest_indices(last - steps / self.model_fps, fps, count)]

    def _generate(self, conditioning: torch.Tensor, call: int) -> torch.Tensor:
        """One pipeline call on canvas frames ``(N, 3, H, W)`` in [0, 1]: the frames it
        generates after the conditioning, ``(num_frames - N, 3, H, W)`` in [0, 1]."""
        video = conditioning.to(self.pipe.transformer.dtype).mul(2).sub(1).permute(1, 0, 2, 3)[None]
        output = self.pipe(
            video=video,
            prompt_embeds=self.prompt_embeds,
            negative_prompt_embeds=self.negative_prompt_embeds,
            height=self.height,
            width=self.width,
            num_frames=self.num_frames,
            num_inference_steps=self.num_inference_steps,
            guidance_scale=self.guidance_scale,
            num_latent_conditional_frames=self.conditioning_latents,
            output_type="pt",
            generator=torch.Generator("cpu").manual_seed(self.seed + call),
        )
        return output.frames[0, self.conditioning_frames :].float()

    def _rollout(self, context: torch.Tensor, horizon: int, fps: float) -> torch.Tensor:
        """One episode: context ``(C, 3, S, S)`` -> ``(horizon, 3, S, S)``."""
        size = context.shape[-1]
        canvas = to_canvas(self._conditioning(context, fps), self.height, self.width, self.fit)
        last_context = canvas[-1:]
        needed, call = self._model_frames(horizon, fps), 0
        generated: list[torch.Tensor] = []
        while sum(g.shape[0] for g in generated) < needed:
            new = self._generate(canvas, call)
            generated.append(new)
            canvas = torch.cat([canvas, new.to(canvas.dtype)])[-self.conditioning_frames :]
            call += 1
        frames = torch.cat(generated)
        if self.model_fps is not None:  # model frame 0 is the last conditioning frame, at the context's end
            frames = torch.cat([last_context, frames])
            instants = torch.arange(1, horizon + 1, dtype=torch.float64) / fps
            frames = frames[nearest_indices(instants, self.model_fps, needed + 1)]
        return from_canvas(frames[:horizon], size, self.fit).clamp(0, 1)

    @torch.inference_mode()
    def predict(self, batch: ContextBatch) -> torch.Tensor:
        return torch.stack([self._rollout(context.float(), batch.horizon, batch.fps) for context in batch.frames])

    def describe(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "revision": self.revision,
            "pipeline": type(self.pipe).__name__,
            "safety_checker": type(self.pipe.safety_checker).__name__,
            "prompt": "given as embeddings" if self.prompt_given_as_embeddings else self.prompt,
            "negative_prompt": None if self.prompt_given_as_embeddings else self.negative_prompt,
            "guidance_scale": self.guidance_scale,
            "num_inference_steps": self.num_inference_steps,
            "seed": self.seed,
            "dtype": self.dtype_name,
            "canvas": {
                "height": self.height,
                "width": self.width,
                "fit": self.fit,
                "rule": (
                    "square scaled to the shorter side, edges repeated to fill, cropped back"
                    if self.fit == "pad"
                    else "square stretched to the canvas and back"
                )
                + "; area averaging when shrinking, bilinear when enlarging",
            },
            "frames_per_call": self.num_frames,
            "conditioning_frames": self.conditioning_frames,
            "model_fps": self.model_fps,
            "time_resampling": "none" if self.model_fps is None else "nearest frame in time, both ways",
            "rollout": "autoregressive: each further call conditioned on the last frames generated",
        }
