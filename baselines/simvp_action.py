"""``simvp_action``: the ``simvp`` baseline conditioned on actions, for the control family.

The same network (SimVP, Gao et al. 2022, with the gated spatial attention translator),
with a learned embedding of each block's actions (those between the context frames and
those of every predicted step) added to the translator's input. Trained on the
action-conditioned tasks only (``wmbench train --model simvp_action --suite
control``); the committed checkpoint is ``checkpoints/simvp_action.pt`` with its model
card beside it.
"""

from wmbench import Requirements
from wmbench.baselines.simvp import SimVP


class SimVPAction(SimVP):
    name = "simvp_action"
    requirements = Requirements(context=4, resolution=64, uses_actions=True)
    default_checkpoint = "checkpoints/simvp_action.pt"
