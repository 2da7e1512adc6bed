"""Scenes by name: every module here registers its scenes (see :mod:`wmbench.worlds.scenes.base`)."""

from wmbench.worlds.scenes.base import SCENES, Bound, Scene, check_task, scene_for

__all__ = ["SCENES", "Bound", "Scene", "check_task", "scene_for"]
