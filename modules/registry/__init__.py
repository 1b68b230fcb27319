"""registry — state registers: records, their owners, and every change.

A register (``land``, ``vehicles``) is configured in genesis; its registrars
are the persons holding the identity role ``registrar:<register>``.

Invariants:

1. A record's owners are distinct persons with positive integer shares that
   sum exactly to the record's ``denominator`` (the whole). Shares are never
   reduced or rounded: what the parties signed is what is stored.
2. Every change to a record bumps its ``version`` and appends exactly one
   history entry naming the transaction, height, time and signer; the old
   value of anything overwritten is kept in that entry.
3. A record has at most one open transfer offer. The parties consented to the
   record as it was, so any other change to the record voids the offer.
4. No transfer step (offer, consent, acceptance, approval, award) while an
   arrest or a mortgage is in force; a lease does not block a transfer.
5. A record locked for sale by another module (an auction) changes owners
   only through that module's award; its owners can make no offer meanwhile.
6. Archived records are read-only.

State (under ``registry/``):

- ``record/<register>/<id>``: the record
- ``history/<register>/<id>/<version>``: one entry per change (10 digits)
- ``owner/<person>/<register>/<id>``: 1, an index of each owner's records
- ``offer/<n>``: a transfer offer (``seq/offer`` numbers them)

Files: ``common`` (configuration, fields, helpers), ``records`` (lookups,
writing a change, registration, correction, archive, encumbrances),
``transfers`` (offers and mandates), ``module`` (interface and queries).
``docs/modules/registry.md`` is the reference.
"""

from modules.registry.common import Register, parse_config
from modules.registry.module import RegistryModule

__all__ = ["Register", "RegistryModule", "parse_config"]
