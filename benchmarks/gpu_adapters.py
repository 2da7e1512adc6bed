"""GPU check of the model adapters: ``cosmos`` and ``vjepa2`` with random weights at their
real sizes, timed on one device. No downloads: the architectures are built from their
published configurations and initialised at random (the timings and memory do not
depend on the weights' values).

    python -m benchmarks.gpu_adapters --out gpu_adapters.json           # one CUDA GPU, from the repository root
    python -m benchmarks.gpu_adapters --tiny --device cpu               # check the script itself

Prints (and writes with ``--out``) JSON: per adapter the configuration, the seconds per
call (median of ``--repeats`` after one discarded warm-up call), the peak GPU memory
and the real-time factor (seconds of scene predicted or scored per second of wall
time), with the device, driver and library versions.

* ``cosmos``: Cosmos Predict 2.5 2B (28 blocks, 16 heads of 128, cross-attention
  projection from 100,352 text features) and the Wan 2.1 video tokenizer, in bfloat16,
  704x1280, 93 frames per call (5 conditioning, 88 generated at 16 fps), guidance 7
  (two transformer passes per step), ``--steps`` denoising steps (default 36).
* ``vjepa2``: V-JEPA 2 ViT-L (24 blocks, 1024 wide, predictor 12 blocks 384 wide) at 256
  pixels in bfloat16, surprise of 2 clips of 32 frames at 30 fps with 8 context frames.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any, Callable

import torch

from tests.adapters.tiny_models import TEXT_DIM, random_cosmos_pipeline, tiny_cosmos_pipeline, tiny_vjepa2
from wmbench.run.speed import _device_record

COSMOS_2B = dict(
    in_channels=17,
    out_channels=16,
    num_attention_heads=16,
    attention_head_dim=128,
    num_layers=28,
    mlp_ratio=4.0,
    text_embed_dim=1024,
    adaln_lora_dim=256,
    max_size=(128, 240, 240),
    patch_size=(1, 2, 2),
    rope_scale=(1.0, 3.0, 3.0),
    concat_padding_mask=True,
    extra_pos_embed_type=None,
    use_crossattn_projection=True,
    crossattn_proj_in_channels=100352,
    encoder_hidden_states_channels=1024,
)
COSMOS_TEXT_TOKENS, COSMOS_TEXT_FEATURES = 512, 100352


def _timed(device: torch.device, call: Callable[[], Any], repeats: int) -> dict[str, Any]:
    """Median and all wall seconds of ``repeats`` calls after one discarded warm-up call,
    and the peak device memory of the timed calls."""
    call()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    return {"seconds_per_call": statistics.median(seconds), "seconds": seconds, "peak_gpu_memory_gib": peak}


def _cosmos_pipeline(device: torch.device, dtype: torch.dtype, tiny: bool) -> Any:
    """The pipeline with random weights: Cosmos Predict 2.5 2B and the Wan 2.1 tokenizer,
    or the tests' tiny one."""
    from diffusers import AutoencoderKLWan, CosmosTransformer3DModel

    if tiny:
        return tiny_cosmos_pipeline()
    torch.manual_seed(0)
    with torch.device(device):
        transformer = CosmosTransformer3DModel(**COSMOS_2B).to(dtype)
        vae = AutoencoderKLWan().to(dtype)  # the defaults are Wan 2.1's tokenizer
    # random weights produce noise with nothing to screen, and the real checker needs downloaded
    # weights: this timing run only replaces it (runs with real weights never do)
    return random_cosmos_pipeline(transformer, vae)


def check_cosmos(device: torch.device, tiny: bool, steps: int, repeats: int) -> dict[str, Any]:
    from wmbench.adapters.cosmos import Cosmos

    dtype = torch.float32 if device.type == "cpu" else torch.bfloat16
    pipe = _cosmos_pipeline(device, dtype, tiny)
    text = (1, 8, TEXT_DIM) if tiny else (1, COSMOS_TEXT_TOKENS, COSMOS_TEXT_FEATURES)
    geometry = dict(height=16, width=32, num_frames=9) if tiny else dict(height=704, width=1280, num_frames=93)
    adapter = Cosmos(
        pipeline=pipe,
        prompt_embeds=torch.randn(text, dtype=dtype),
        negative_prompt_embeds=torch.randn(text, dtype=dtype),
        num_inference_steps=steps,
        guidance_scale=7.0,
        **geometry,
    )
    adapter.setup(device)
    conditioning = torch.rand(adapter.conditioning_frames, 3, geometry["height"], geometry["width"], device=device)
    with torch.inference_mode():
        timing = _timed(device, lambda: adapter._generate(conditioning, 0), repeats)
    generated = geometry["num_frames"] - adapter.conditioning_frames
    return {
        "parameters": {
            "transformer": sum(p.numel() for p in pipe.transformer.parameters()),
            "vae": sum(p.numel() for p in pipe.vae.parameters()),
        },
        "dtype": str(pipe.transformer.dtype).removeprefix("torch."),
        "steps": steps,
        "guidance_scale": 7.0,
        **geometry,
        "generated_frames_per_call": generated,
        **timing,
        "seconds_per_generated_frame": timing["seconds_per_call"] / generated,
        "real_time_factor": generated / adapter.model_fps / timing["seconds_per_call"],
    }


def check_vjepa2(device: torch.device, tiny: bool, repeats: int) -> dict[str, Any]:
    from transformers import VJEPA2Config, VJEPA2Model

    from wmbench.adapters.vjepa2 import VJEPA2

    torch.manual_seed(0)
    with torch.device(device):
        model = tiny_vjepa2() if tiny else VJEPA2Model(VJEPA2Config())  # the defaults are ViT-L at 256 pixels
    adapter = VJEPA2(model=model)
    adapter.setup(device)
    size = model.config.crop_size
    clips, fps, context = torch.rand(2, 32, 3, size, size, device=device), 30.0, 8
    with torch.inference_mode():
        timing = _timed(device, lambda: adapter.score_surprise(clips, fps, context), repeats)
    scored_seconds = clips.shape[0] * (clips.shape[1] - context) / fps
    return {
        "parameters": sum(p.numel() for p in model.parameters()),
        "crop_size": size,
        "dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
        "clips": clips.shape[0],
        "frames": clips.shape[1],
        "context": context,
        "fps": fps,
        **timing,
        "real_time_factor": scored_seconds / timing["seconds_per_call"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="torch device (default: cuda)")
    parser.add_argument("--steps", type=int, default=36, help="Cosmos denoising steps per call (default: 36)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls after the warm-up (default: 3)")
    parser.add_argument("--tiny", action="store_true", help="tiny models: checks the script, measures nothing")
    parser.add_argument("--only", choices=("cosmos", "vjepa2"), help="one adapter only")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    device = torch.device(args.device)
    report: dict[str, Any] = {
        "device": _device_record(device),
        "tiny": args.tiny,
        "libraries": {name: version(name) for name in ("torch", "diffusers", "transformers", "accelerate")},
    }
    if args.only in (None, "cosmos"):
        report["cosmos"] = check_cosmos(device, args.tiny, args.steps, args.repeats)
        torch.cuda.empty_cache() if device.type == "cuda" else None
    if args.only in (None, "vjepa2"):
        report["vjepa2"] = check_vjepa2(device, args.tiny, args.repeats)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
