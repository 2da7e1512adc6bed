"""Score a Physics-IQ submission (Motamed et al. 2025) the way the official scripts do.

Layout (the benchmark's file naming; ``ID`` is four digits, ``SCENARIO`` ends in
``.mp4`` and has no underscore), found by :mod:`.files`:

* real videos: ``ID_testing-videos_{fps}FPS_{view}_take-{1,2}_SCENARIO`` for the
  views ``perspective-left``, ``-center`` and ``-right``, each take with its own ID;
  at the generated videos' frame rate, or the benchmark's 30 FPS takes, converted;
* generated videos: ``ID_...mp4`` named by the ID of the real take 1 they continue
  (the official renaming gives ``ID_{view}_SCENARIO``);
* optional precomputed real masks: ``ID_video-masks_{fps}FPS_{view}_take-{1,2}_SCENARIO``.

Per view, as the official ``calculate_and_write_metrics_to_csv`` (:mod:`.video` reads
the videos, :mod:`.score` scores them): the first ``fps * 5`` frames of every video,
resized with OpenCV (bilinear) to a quarter of the real take 1's width and height;
motion masks (:mod:`wmbench.metrics.motion_opencv`) computed on the full-size frames,
written to an mp4v mask video and read back as the official scripts do, resized and
thresholded at 127; then the take-1 and take-2 scores of the generated video and the
physical variance between the two takes. The Physics-IQ score and the physical
variance follow the official ``calculate_iq_score`` (:func:`.score.physics_iq_score`).
What a view needs from its real takes is kept across runs by :mod:`.takes` (the same
numbers; only the generated videos are read for every later submission).

On the CPU this package imports neither torch nor torchmetrics.
"""

from wmbench.metrics.physics_iq.files import ViewFiles, find_views
from wmbench.metrics.physics_iq.score import physics_iq_score, score_submission, score_view, write_csv

__all__ = ["ViewFiles", "find_views", "physics_iq_score", "score_submission", "score_view", "write_csv"]
