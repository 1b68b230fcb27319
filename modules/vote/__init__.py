"""vote — ballots and citizens' proposals (modules/vote/module.py)."""

from modules.vote.module import VoteModule

__all__ = ["VoteModule"]
