"""Errors of the modules.

A ModuleError is a module rule refusing a valid transaction: the transaction
is still included, its nonce consumed, its writes rolled back, and its result
records ``code`` (``petition.already_signed``) and ``message``. Codes are
stable: clients match on them. ModuleConfigError is a wrong genesis module
configuration, naming the field.
"""

from __future__ import annotations


class ModuleError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ModuleConfigError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InterfaceError(Exception):
    """Our own misuse: a module called an undeclared interface method."""


class TxInvalid(Exception):
    """A transaction that may not enter a block at all (DESIGN.md §3).

    Codes: ``tx.unknown_sender``, ``tx.retired_key``, ``tx.revoked_sender``,
    ``tx.bad_nonce``, plus the chain codes for encoding and signatures.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
