"""auction — public auctions of state assets (english, sealed, dutch).

See ``modules/auction/module.py`` for the state machine and its invariants,
``modules/auction/rules.py`` for the pure rules (prices, rankings, the
commitment hash) and ``docs/modules/auction.md`` for the reference.
"""

from modules.auction.module import AuctionModule
from modules.auction.rules import commitment_hash, dutch_price

__all__ = ["AuctionModule", "commitment_hash", "dutch_price"]
