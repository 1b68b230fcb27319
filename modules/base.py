"""The module interface (DESIGN.md §5).

A module declares:

- ``name``: its state prefix and the ``module`` field of its transactions;
- actions, by the ``@action`` decorator: name, argument schema, who may call
  it (for the reference) and the handler. A handler reads and writes its own
  State, raises ModuleError to refuse, and emits events through the Ctx;
- ``interface``: methods other modules may call through ``ctx.call``;
- ``queries``: named read-only views for the API;
- ``init_genesis`` and ``end_block`` (deadlines that fell due at the block's
  time).

Handlers are deterministic: they see only their arguments, the Ctx (height,
BFT time, sender, person) and state. No clock, no randomness, no IO.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from chain.tx import Event
from modules.errors import ModuleError
from modules.schema import Field
from modules.state import State, time_key

if TYPE_CHECKING:
    from chain.genesis import Genesis

Handler = Callable[[Any, "Ctx", State, dict[str, Any]], None]
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Action:
    name: str
    schema: dict[str, Field]
    who: str
    handler: Handler
    doc: str = ""


def action(name: str, schema: dict[str, Field], who: str) -> Callable[[F], F]:
    """Mark a method as the handler of action ``name``."""

    def mark(fn: F) -> F:
        fn.__egov_action__ = Action(  # type: ignore[attr-defined]
            name, schema, who, fn, (fn.__doc__ or "").strip()
        )
        return fn

    return mark


def interface(fn: F) -> F:
    """Mark a method as callable by other modules through ``ctx.call``."""
    fn.__egov_interface__ = True  # type: ignore[attr-defined]
    return fn


def query(name: str) -> Callable[[F], F]:
    """Mark a method ``(self, state, params) -> value`` as a named query."""

    def mark(fn: F) -> F:
        fn.__egov_query__ = name  # type: ignore[attr-defined]
        return fn

    return mark


@dataclass
class Ctx:
    """What a handler may know: the block, the transaction, its signer.

    ``person`` is the identity of the signer (stable across key rotation);
    ``sender`` the key that signed. Both are None in end-of-block steps.
    ``call`` routes to another module's declared interface within the same
    transaction, so its writes commit or roll back together with ours; the
    callee sees the caller's name in ``via``.
    """

    chain_id: str
    height: int
    time: int
    tx_id: bytes | None
    sender: bytes | None
    person: str | None
    caller: Callable[[str, str, dict[str, Any]], Any]
    events: list[Event] = field(default_factory=list)
    module: str = ""
    via: str = ""  # the module whose interface call this is; "" for a transaction

    def emit(self, type_: str, **attrs: Any) -> None:
        self.events.append(Event(f"{self.module}.{type_}", attrs))

    def call(self, module: str, method: str, **kwargs: Any) -> Any:
        return self.caller(module, method, kwargs)

    def require_person(self) -> str:
        if self.person is None:
            raise ModuleError("tx.no_person", "this action needs an enrolled signer")
        return self.person

    def has_role(self, role: str, person: str | None = None) -> bool:
        who = person if person is not None else self.person
        if who is None:
            return False
        return bool(self.call("identity", "has_role", person=who, role=role))

    def require_role(self, role: str) -> str:
        person = self.require_person()
        if not self.has_role(role):
            raise ModuleError(
                f"{self.module}.forbidden", f"signer {person} lacks role {role}"
            )
        return person

    def tx_hex(self) -> str:
        return self.tx_id.hex() if self.tx_id is not None else ""

    def stamp(self) -> dict[str, Any]:
        """Where something happened: the block and, for a transaction, its id."""
        return {"height": self.height, "time": self.time, "tx": self.tx_hex()}


class Module:
    """Base class; subclasses set ``name`` and decorate their methods."""

    name: ClassVar[str] = ""
    actions: ClassVar[dict[str, Action]]
    interface_methods: ClassVar[frozenset[str]]
    queries: ClassVar[dict[str, str]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        actions: dict[str, Action] = {}
        iface: set[str] = set()
        queries: dict[str, str] = {}
        for attr in dir(cls):
            member = getattr(cls, attr, None)
            found = getattr(member, "__egov_action__", None)
            if isinstance(found, Action):
                actions[found.name] = found
            if getattr(member, "__egov_interface__", False):
                iface.add(attr)
            qname = getattr(member, "__egov_query__", None)
            if isinstance(qname, str):
                queries[qname] = attr
        cls.actions = actions
        cls.interface_methods = frozenset(iface)
        cls.queries = queries

    def __init__(self, config: dict[str, Any], genesis: Genesis | None = None) -> None:
        self.config = config

    def init_genesis(self, ctx: Ctx, state: State, genesis: Genesis) -> None:
        """Write the module's initial state; default: nothing."""

    def end_block(self, ctx: Ctx, state: State) -> None:
        """Handle what fell due at ``ctx.time``; default: nothing."""

    def run_query(self, state: State, name: str, params: dict[str, Any]) -> Any:
        method = self.queries.get(name)
        if method is None:
            raise ModuleError("query.unknown", f"{self.name} has no query {name!r}")
        return getattr(self, method)(state, params)


def schedule(state: State, when: int, kind: str, item: str) -> None:
    """Remember that ``item`` of ``kind`` falls due at time ``when``."""
    state.put(f"due/{time_key(when)}/{kind}/{item}", 1)


def unschedule(state: State, when: int, kind: str, item: str) -> None:
    state.delete(f"due/{time_key(when)}/{kind}/{item}")


def pop_due(state: State, now: int) -> Iterator[tuple[int, str, str]]:
    """(time, kind, item) of everything due at or before ``now``, in time order.

    Each entry is removed as it is yielded; the scan stops at the first entry
    after ``now``, so the cost is the number of due items, not the backlog.
    """
    due: list[tuple[int, str, str, str]] = []
    for path, _ in state.scan("due/"):
        _, stamp, kind, item = path.split("/", 3)
        if int(stamp) > now:
            break
        due.append((int(stamp), kind, item, path))
    for ts, kind, item, path in due:
        state.delete(path)
        yield ts, kind, item


def param_int(params: dict[str, Any], name: str) -> int | None:
    """A query parameter as a positive-or-zero integer: an int, or decimal
    digits (HTTP query strings carry text); None for anything else."""
    value = params.get(name)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value) if len(value) <= 18 else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


PAGE_DEFAULT = 100
PAGE_MAX = 1000


def query_str(params: dict[str, Any], name: str, default: str = "") -> str:
    """A query parameter that names one path segment (no ``/``)."""
    value = params.get(name, default)
    if not isinstance(value, str) or "/" in value:
        raise ModuleError("query.invalid", f"{name} must be a plain string")
    return value


def query_limit(params: dict[str, Any]) -> int:
    """The ``limit`` of a paged query: 1..PAGE_MAX, PAGE_DEFAULT if absent;
    an int or its decimal digits (as an HTTP query string carries it)."""
    if "limit" not in params:
        return PAGE_DEFAULT
    limit = param_int(params, "limit")
    if limit is None:
        raise ModuleError("query.invalid", "limit must be an integer")
    if not 1 <= limit <= PAGE_MAX:
        raise ModuleError("query.invalid", f"limit must be within 1..{PAGE_MAX}")
    return limit


def query_page(state: State, prefix: str, params: dict[str, Any]) -> list[str]:
    """The last path segments under ``prefix``: after ``after``, at most ``limit``."""
    after, limit = query_str(params, "after"), query_limit(params)
    out: list[str] = []
    for path, _ in state.scan(prefix):
        name = path[len(prefix) :]
        if name > after:
            out.append(name)
            if len(out) == limit:
                break
    return out
