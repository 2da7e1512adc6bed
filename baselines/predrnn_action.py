"""``predrnn_action``: the ``predrnn`` baseline conditioned on actions, for the control family.

The same network (PredRNN-v2, Wang et al. 2022), with the action applied between each
frame and the next tiled as extra input planes at every step
(``wmbench.adapters.learned.tile_actions``). Trained on the action-conditioned tasks
only (``wmbench train --model predrnn_action --suite control``); the committed
checkpoint is ``checkpoints/predrnn_action.pt`` with its model card beside it.
"""

from wmbench import Requirements
from wmbench.baselines.predrnn import PredRNN


class PredRNNAction(PredRNN):
    name = "predrnn_action"
    requirements = Requirements(context=4, resolution=64, uses_actions=True)
    default_checkpoint = "checkpoints/predrnn_action.pt"
