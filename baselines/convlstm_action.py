"""``convlstm_action``: the ``convlstm`` baseline conditioned on actions, for the control family.

The same network (Shi et al. 2015), with the action applied between each frame and the
next tiled as extra input planes at every step (``wmbench.adapters.learned.tile_actions``).
Trained on the action-conditioned tasks only (``wmbench train --model convlstm_action
--suite control``); the committed checkpoint is ``checkpoints/convlstm_action.pt`` with
its model card beside it.
"""

from wmbench import Requirements
from wmbench.baselines.convlstm import ConvLSTM


class ConvLSTMAction(ConvLSTM):
    name = "convlstm_action"
    requirements = Requirements(context=4, resolution=64, uses_actions=True)
    default_checkpoint = "checkpoints/convlstm_action.pt"
