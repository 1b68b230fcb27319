"""Node configuration: ``HOME/config.toml`` with defaults, and the home layout.

HOME/
  config.toml      this file
  genesis.json     the chain's genesis
  keys/            validator.key and node.key (hex seeds, mode 0600)
  data/            the LevelDB store (data/db) and the consensus log (data/wal)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from node.errors import NodeError
from storage.store import (
    DEFAULT_BLOCK_CACHE_BYTES,
    DEFAULT_MAX_OPEN_FILES,
    DEFAULT_NODE_CACHE_BYTES,
    DEFAULT_WRITE_BUFFER_BYTES,
    MIN_OPEN_FILES,
)


class ConfigError(NodeError):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__("config.invalid", f"{field_name}: {message}")
        self.field = field_name


@dataclass
class Peer:
    node_key: bytes
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Peer:
        """``<node key hex>@host:port``."""
        try:
            key_hex, address = text.split("@", 1)
            host, port = address.rsplit(":", 1)
            key = bytes.fromhex(key_hex)
            if len(key) != 32 or not 0 < int(port) < 65536:
                raise ValueError
        except ValueError as exc:
            raise ConfigError("p2p.peers", f"{text!r} is not key@host:port") from exc
        return cls(key, host, int(port))

    def __str__(self) -> str:
        return f"{self.node_key.hex()}@{self.host}:{self.port}"


@dataclass
class Config:
    moniker: str = "node"
    mode: str = "validator"  # validator | observer
    # Worker processes verifying a block's signatures while it executes:
    # -1 for one fewer than the cores, 0 for none (threads verify first).
    verify_processes: int = -1
    p2p_listen: str = "127.0.0.1:26656"
    peers: list[str] = field(default_factory=list)
    api_listen: str = "127.0.0.1:26657"
    mempool_max_txs: int = 20_000
    mempool_max_bytes: int = 64 * 1024 * 1024
    mempool_check_rules: bool = True
    store_node_cache_mb: int = DEFAULT_NODE_CACHE_BYTES >> 20
    store_block_cache_mb: int = DEFAULT_BLOCK_CACHE_BYTES >> 20
    store_max_open_files: int = DEFAULT_MAX_OPEN_FILES
    store_write_buffer_mb: int = DEFAULT_WRITE_BUFFER_BYTES >> 20
    log_level: str = "info"

    # (section, key) for each field in the TOML file
    LAYOUT: ClassVar[dict[str, tuple[str, str]]] = {
        "moniker": ("node", "moniker"),
        "mode": ("node", "mode"),
        "verify_processes": ("node", "verify_processes"),
        "p2p_listen": ("p2p", "listen"),
        "peers": ("p2p", "peers"),
        "api_listen": ("api", "listen"),
        "mempool_max_txs": ("mempool", "max_txs"),
        "mempool_max_bytes": ("mempool", "max_bytes"),
        "mempool_check_rules": ("mempool", "check_rules"),
        "store_node_cache_mb": ("store", "node_cache_mb"),
        "store_block_cache_mb": ("store", "block_cache_mb"),
        "store_max_open_files": ("store", "max_open_files"),
        "store_write_buffer_mb": ("store", "write_buffer_mb"),
        "log_level": ("log", "level"),
    }

    def peer_list(self) -> list[Peer]:
        return [Peer.parse(p) for p in self.peers]

    @staticmethod
    def split_address(text: str, name: str) -> tuple[str, int]:
        try:
            host, port = text.rsplit(":", 1)
            return host, int(port)
        except ValueError as exc:
            raise ConfigError(name, f"{text!r} is not host:port") from exc

    @classmethod
    def load(cls, path: Path) -> Config:
        try:
            doc = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError("file", f"{path}: {exc}") from exc
        config = cls()
        known = {(s, k) for s, k in cls.LAYOUT.values()}
        for section, table in doc.items():
            if not isinstance(table, dict):
                raise ConfigError(section, "must be a table")
            for key in table:
                if (section, key) not in known:
                    raise ConfigError(f"{section}.{key}", "unknown setting")
        for f in fields(cls):
            section, key = cls.LAYOUT[f.name]
            if key in doc.get(section, {}):
                value = doc[section][key]
                default = getattr(config, f.name)
                if type(value) is not type(default):
                    raise ConfigError(
                        f"{section}.{key}", f"must be {type(default).__name__}"
                    )
                setattr(config, f.name, value)
        if config.store_node_cache_mb < 1:
            raise ConfigError("store.node_cache_mb", "must be at least 1")
        if config.store_block_cache_mb < 1:
            raise ConfigError("store.block_cache_mb", "must be at least 1")
        if config.store_write_buffer_mb < 1:
            raise ConfigError("store.write_buffer_mb", "must be at least 1")
        if config.store_max_open_files < MIN_OPEN_FILES:
            raise ConfigError(
                "store.max_open_files", f"must be at least {MIN_OPEN_FILES}"
            )
        if config.verify_processes < -1:
            raise ConfigError("node.verify_processes", "must be -1 (auto) or more")
        if config.mode not in ("validator", "observer"):
            raise ConfigError("node.mode", "must be validator or observer")
        config.peer_list()
        cls.split_address(config.p2p_listen, "p2p.listen")
        cls.split_address(config.api_listen, "api.listen")
        return config

    def dump(self) -> str:
        sections: dict[str, list[str]] = {}
        for f in fields(self):
            section, key = self.LAYOUT[f.name]
            sections.setdefault(section, []).append(
                f"{key} = {_toml(getattr(self, f.name))}"
            )
        return "\n".join(
            f"[{name}]\n" + "\n".join(lines) + "\n" for name, lines in sections.items()
        )


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(type(value))


@dataclass(frozen=True)
class Home:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def genesis(self) -> Path:
        return self.root / "genesis.json"

    @property
    def validator_key(self) -> Path:
        return self.root / "keys" / "validator.key"

    @property
    def node_key(self) -> Path:
        return self.root / "keys" / "node.key"

    @property
    def db(self) -> Path:
        return self.root / "data" / "db"

    @property
    def wal(self) -> Path:
        return self.root / "data" / "wal"
