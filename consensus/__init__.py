"""Tendermint BFT consensus (DESIGN.md §6).

The pure core (``core``, ``machine``, ``tally``, ``proposer``, ``timeouts``,
``buffer``, ``inputs``, ``outputs``, ``state``) imports no trio, no plyvel
and no nacl, reads no clock and signs nothing: it turns inputs (facts) into
outputs (commands). ``driver`` is the thin Trio loop that performs those
outputs against the abstract application and transport of ``protocols``.
See docs/CONSENSUS.md.
"""
