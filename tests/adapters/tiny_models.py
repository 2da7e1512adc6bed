"""Tiny randomly initialised Cosmos and V-JEPA 2 models, built offline, for CPU tests."""

from __future__ import annotations

import torch


class PassThroughSafetyChecker:
    """Stands in for Cosmos's safety checker in random-weight tests only: the real one
    (``cosmos_guardrail``) needs its own downloaded weights, and a random model's output
    is noise with nothing to screen. Runs with real weights always use the real checker."""

    def to(self, *args, **kwargs):
        return self

    def check_text_safety(self, prompt: str) -> bool:
        return True

    def check_video_safety(self, video):
        return video


TEXT_DIM = 16


def random_cosmos_pipeline(transformer, vae):
    """A ``Cosmos2_5_PredictBasePipeline`` around random-weight components, without a
    text encoder and with :class:`PassThroughSafetyChecker`."""
    from diffusers import Cosmos2_5_PredictBasePipeline, UniPCMultistepScheduler

    return Cosmos2_5_PredictBasePipeline(
        text_encoder=None,
        tokenizer=None,
        transformer=transformer,
        vae=vae,
        scheduler=UniPCMultistepScheduler(),
        safety_checker=PassThroughSafetyChecker(),
    )


def tiny_cosmos_pipeline(seed: int = 0):
    """A ``Cosmos2_5_PredictBasePipeline`` of a few thousand random weights, without a
    text encoder (prompts are given as embeddings ``(1, tokens, TEXT_DIM)``)."""
    from diffusers import AutoencoderKLWan, CosmosTransformer3DModel

    torch.manual_seed(seed)
    transformer = CosmosTransformer3DModel(
        in_channels=17,
        out_channels=16,
        num_attention_heads=2,
        attention_head_dim=16,
        num_layers=1,
        mlp_ratio=2,
        text_embed_dim=TEXT_DIM,
        adaln_lora_dim=4,
        max_size=(8, 16, 16),
        patch_size=(1, 2, 2),
        rope_scale=(2.0, 1.0, 1.0),
        concat_padding_mask=True,
        extra_pos_embed_type="learnable",
    )
    vae = AutoencoderKLWan(
        base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True]
    )
    return random_cosmos_pipeline(transformer, vae)


def tiny_vjepa2(seed: int = 0):
    """A ``VJEPA2Model`` with a 2-layer encoder and predictor at 32 pixels, random weights."""
    from transformers import VJEPA2Config, VJEPA2Model

    torch.manual_seed(seed)
    config = VJEPA2Config(
        crop_size=32,
        patch_size=8,
        frames_per_clip=16,
        tubelet_size=2,
        hidden_size=48,
        num_attention_heads=4,
        num_hidden_layers=2,
        mlp_ratio=2.0,
        pred_hidden_size=24,
        pred_num_attention_heads=4,
        pred_num_hidden_layers=2,
        pred_mlp_ratio=2.0,
        pred_zero_init_mask_tokens=False,
    )
    return VJEPA2Model(config).eval()
