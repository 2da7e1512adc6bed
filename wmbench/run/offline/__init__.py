"""Offline predictions: export a split's inputs, score predictions made elsewhere.

``export_split`` writes the context frames (video and PNG), the actions and a manifest
of the exact output expected; ``score_predictions`` checks a directory of predicted
videos or PNG frames against that manifest and scores it like an in-process run.
"""

from wmbench.media import read_frames, read_video, write_frames, write_video
from wmbench.run.offline.export import MANIFEST_FILE, Selection, episode_id, export_split
from wmbench.run.offline.predictions import check_predictions, load_manifest, score_predictions

__all__ = [
    "MANIFEST_FILE", "Selection", "check_predictions", "episode_id", "export_split", "load_manifest",
    "read_frames", "read_video", "score_predictions", "write_frames", "write_video",
]
