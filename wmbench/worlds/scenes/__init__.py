"""Scenes by name; importing this package registers every built-in scene."""

from wmbench.worlds.scenes import action, drop, longhorizon, occlusion, rigid, voe  # noqa: F401  (registers the scenes)
from wmbench.worlds.scenes.base import SCENES, Bound, Scene, check_task, scene_for

__all__ = ["SCENES", "Bound", "Scene", "check_task", "scene_for"]
