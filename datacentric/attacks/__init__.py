"""Adversarial attacks: the ensemble MI/TI/DI/logit transfer attack, the evaluation attacks, and AutoAttack.

Most users want `datacentric.api.attack` (float tensors or uint8 arrays, the CPU default's settings); these
are the engines under it:

    >>> from datacentric.attacks import AttackConfig, attack_images, run_named
    >>> out = attack_images(model, images_uint8, labels, np.arange(len(labels)), seed=0,
    ...                     config=AttackConfig(iterations=10, combine="linf"), device=torch.device("cpu"))
"""

from datacentric.attacks.autoattack import autoattack_accuracy
from datacentric.attacks.engine import L2, LINF, AttackConfig, IterativeAttack, perturb
from datacentric.attacks.evaluation import NAMED, cw_l2, run_named
from datacentric.attacks.transfer import attack_images

__all__ = ["AttackConfig", "IterativeAttack", "perturb", "LINF", "L2", "attack_images", "run_named", "NAMED", "cw_l2",
           "autoattack_accuracy"]
