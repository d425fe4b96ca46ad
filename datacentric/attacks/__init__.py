"""Adversarial attacks: the ensemble MI/TI/DI/logit transfer attack, the evaluation attacks, and the attack stage."""
