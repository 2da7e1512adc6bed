"""Stage 2: scenes on the physics engine, rendering, episode generation and the cache."""

from wmbench.cache_files import default_cache_dir
from wmbench.worlds.cache import EpisodeCache
from wmbench.worlds.episode import OCCLUDER_ID, Episode, ObjectSpec, Rollout
from wmbench.worlds.generate import generate_episode
from wmbench.worlds.scenes import SCENES, Scene, check_task, scene_for
from wmbench.worlds.stack import engine_versions
from wmbench.worlds.world import redraw

__all__ = [
    "OCCLUDER_ID", "SCENES", "Episode", "EpisodeCache", "ObjectSpec", "Rollout", "Scene",
    "check_task", "default_cache_dir", "engine_versions", "generate_episode", "redraw", "scene_for",
]
