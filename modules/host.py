"""The module host: runs transactions and end-of-block steps through modules.

Invariants:

1. A transaction is invalid (never executed, never in a block) when its
   sender is not an active key of an active person or its nonce is not the
   sender's next one. Signature and chain id are checked before the host.
2. A valid transaction always consumes its nonce. Its module writes go to a
   TxBuffer and reach the block state only if the handler returns; a
   ModuleError rolls them back and becomes the result's code and message.
3. Module-to-module calls run on the caller's buffer, through the callee's
   declared interface only, with the callee's own state prefix.
4. Everything here is deterministic: the same state and the same
   transactions give the same writes, results and events.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from chain import encoding
from chain.tx import OK, SignedTx, TxResult
from modules.base import Ctx, Module
from modules.errors import InterfaceError, ModuleConfigError, ModuleError, TxInvalid
from modules.schema import validate
from modules.state import KV, State, TxBuffer

if TYPE_CHECKING:
    from chain.genesis import Genesis

NONCE_PREFIX = b"_app/nonce/"
ENTRY_POINT_GROUP = "egov.modules"


def load_module_classes(names: Iterable[str]) -> dict[str, type[Module]]:
    """Module classes by name from the ``egov.modules`` entry points."""
    available = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    classes: dict[str, type[Module]] = {}
    for name in names:
        if name not in available:
            raise ModuleConfigError("modules", f"no installed module named {name!r}")
        cls = available[name].load()
        if not (isinstance(cls, type) and issubclass(cls, Module)) or cls.name != name:
            raise ModuleConfigError("modules", f"entry point {name!r} is not a module")
        classes[name] = cls
    return classes


class ModuleHost:
    def __init__(self, genesis: Genesis, modules: dict[str, Module]) -> None:
        if "identity" not in modules:
            raise ModuleConfigError("modules", "the identity module is required")
        self.genesis = genesis
        self.chain_id = genesis.chain_id
        self.modules = modules

    @classmethod
    def from_genesis(
        cls, genesis: Genesis, classes: dict[str, type[Module]] | None = None
    ) -> ModuleHost:
        classes = classes or load_module_classes(genesis.modules)
        modules = {}
        for name in genesis.modules:
            config = genesis.module_config.get(name, {})
            modules[name] = classes[name](config, genesis)
        return cls(genesis, modules)

    # --- contexts and calls -------------------------------------------------

    def _ctx(
        self,
        kv: KV,
        module: str,
        height: int,
        time: int,
        tx: SignedTx | None = None,
        person: str | None = None,
        events: list[Any] | None = None,
    ) -> Ctx:
        def caller(target: str, method: str, kwargs: dict[str, Any]) -> Any:
            return self._call(kv, ctx, target, method, kwargs)

        ctx = Ctx(
            chain_id=self.chain_id,
            height=height,
            time=time,
            tx_id=tx.id if tx else None,
            sender=tx.body.sender if tx else None,
            person=person,
            caller=caller,
            module=module,
        )
        if events is not None:
            ctx.events = events
        return ctx

    def _call(
        self, kv: KV, ctx: Ctx, target: str, method: str, kwargs: dict[str, Any]
    ) -> Any:
        module = self.modules.get(target)
        if module is None:
            raise ModuleError(
                "module.unavailable", f"module {target!r} is not on this chain"
            )
        if method not in module.interface_methods:
            raise InterfaceError(f"{target}.{method} is not a declared interface")
        callee = Ctx(
            chain_id=ctx.chain_id,
            height=ctx.height,
            time=ctx.time,
            tx_id=ctx.tx_id,
            sender=ctx.sender,
            person=ctx.person,
            caller=ctx.caller,
            events=ctx.events,
            module=target,
            via=ctx.module,
        )
        return getattr(module, method)(callee, State(kv, target), **kwargs)

    # --- genesis ------------------------------------------------------------

    def init_genesis(self, kv: KV) -> list[Any]:
        events: list[Any] = []
        for name, module in self.modules.items():
            ctx = self._ctx(kv, name, 0, self.genesis.genesis_time, events=events)
            module.init_genesis(ctx, State(kv, name), self.genesis)
        return events

    # --- validity -----------------------------------------------------------

    def next_nonce(self, kv: KV, sender: bytes) -> int:
        raw = kv.get(NONCE_PREFIX + sender)
        return 1 if raw is None else int(encoding.decode_stored(raw)) + 1

    def resolve_sender(self, kv: KV, sender: bytes) -> str:
        """The person behind an active key; TxInvalid otherwise."""
        ctx = self._ctx(kv, "identity", 0, 0)
        identity: Any = self.modules["identity"]  # key_status is not an interface
        status, person = identity.key_status(ctx, State(kv, "identity"), sender)
        if status == "active":
            return str(person)
        if status == "unknown":
            raise TxInvalid("tx.unknown_sender", f"key {sender.hex()} is not enrolled")
        if status == "retired":
            raise TxInvalid("tx.retired_key", f"key {sender.hex()} has been replaced")
        raise TxInvalid("tx.revoked_sender", f"person {person} is revoked")

    def check_validity(
        self, kv: KV, tx: SignedTx, expected_nonce: int | None = None
    ) -> str:
        """Enrolment and nonce; returns the person. Signature is checked before."""
        person = self.resolve_sender(kv, tx.body.sender)
        expected = expected_nonce or self.next_nonce(kv, tx.body.sender)
        if tx.body.nonce != expected:
            raise TxInvalid(
                "tx.bad_nonce", f"nonce {tx.body.nonce}, expected {expected}"
            )
        return person

    def check_rules(self, kv: KV, tx: SignedTx, height: int, time: int) -> TxResult:
        """Dry-run the action on a throwaway buffer: what would it say now?"""
        person = self.resolve_sender(kv, tx.body.sender)
        return self._run(TxBuffer(kv), tx, person, height, time, commit=False)

    # --- execution ----------------------------------------------------------

    def execute_tx(self, kv: KV, tx: SignedTx, height: int, time: int) -> TxResult:
        """Execute a transaction whose signature was verified.

        Raises TxInvalid if it may not be in a block; otherwise consumes the
        nonce and returns the result, ok or failed.
        """
        person = self.check_validity(kv, tx)
        kv.set(NONCE_PREFIX + tx.body.sender, encoding.encode(tx.body.nonce))
        return self._run(TxBuffer(kv), tx, person, height, time, commit=True)

    def _run(
        self,
        buffer: TxBuffer,
        tx: SignedTx,
        person: str,
        height: int,
        time: int,
        *,
        commit: bool,
    ) -> TxResult:
        body = tx.body
        module = self.modules.get(body.module)
        if module is None:
            return TxResult(
                "tx.unknown_module", f"no module {body.module!r} on this chain"
            )
        act = module.actions.get(body.action)
        if act is None:
            return TxResult(
                "tx.unknown_action",
                f"module {body.module} has no action {body.action!r}",
            )
        ctx = self._ctx(buffer, body.module, height, time, tx, person)
        try:
            args = validate(act.schema, body.args)
            act.handler(module, ctx, State(buffer, body.module), args)
        except ModuleError as exc:
            return TxResult(exc.code, exc.message)
        except (ArithmeticError, LookupError, TypeError, ValueError) as exc:
            # A module bug must not halt the chain: every node hits it alike,
            # so the transaction fails everywhere with the same code.
            return TxResult("module.internal_error", type(exc).__name__)
        if commit:
            buffer.commit()
        return TxResult(OK, "", tuple(ctx.events))

    def end_block(self, kv: KV, height: int, time: int) -> TxResult:
        """Every module's end-of-block step, in genesis order; one result."""
        events: list[Any] = []
        for name, module in self.modules.items():
            ctx = self._ctx(kv, name, height, time, events=events)
            module.end_block(ctx, State(kv, name))
        return TxResult(OK, "end_block", tuple(events))

    # --- queries ------------------------------------------------------------

    def query(self, kv: KV, module: str, name: str, params: dict[str, Any]) -> Any:
        mod = self.modules.get(module)
        if mod is None:
            raise ModuleError("query.unknown_module", f"no module {module!r}")
        return mod.run_query(State(kv, module), name, params)
