"""petition — e-petitions to configured addressees (modules/petition/module.py)."""

from modules.petition.module import PetitionModule

__all__ = ["PetitionModule"]
