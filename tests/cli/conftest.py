"""Fixtures for CLI tests: a home built without consensus, a fake node, a runner."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from chain.genesis import Genesis
from chain.keys import PrivateKey, dev_key, save_key
from chain.tx import SignedTx
from cli.context import Settings
from cli.main import main
from node.application import Application
from node.config import Home
from node.devnet import authority_key, dev_genesis
from storage.store import Store
from tests.cli.fakenode import FakeNode
from tests.node.chainkit import Driver, make_tx

GENESIS_DOC = dev_genesis(4, modules=("identity",))
ADMIN = authority_key("authority/identity")


def gen() -> Genesis:
    return Genesis.from_json(GENESIS_DOC)


def enrol(g: Genesis, nonce: int, name: str) -> SignedTx:
    return make_tx(
        g,
        ADMIN,
        nonce,
        "identity",
        "enrol",
        key=dev_key(f"cli/{name}").public,
        name=name,
    )


def fill(app: Application, blocks: int, per_block: int = 2) -> None:
    """``blocks`` blocks of ``per_block`` enrolments each."""
    driver = Driver(app)
    nonce = app.next_nonce(ADMIN.public)
    for _ in range(blocks):
        txs = [enrol(app.genesis, nonce + i, f"c{nonce + i}") for i in range(per_block)]
        nonce += per_block
        driver.step(txs)


@dataclass
class ChainHome:
    root: Path
    genesis_file: Path

    @property
    def db(self) -> Path:
        return Home(self.root).db


def build_home(tmp_path: Path, blocks: int = 4) -> ChainHome:
    from cli.home import init_home
    from node.config import Config

    root = tmp_path / "home"
    init_home(
        root,
        genesis_doc=GENESIS_DOC,
        config=Config(),
        validator=dev_key("cli/validator"),
        node=dev_key("cli/node"),
    )
    with Store.open(Home(root).db) as store:
        app = Application(store, gen())
        app.init_chain()
        fill(app, blocks)
    return ChainHome(root, genesis_file(tmp_path))


def genesis_file(tmp_path: Path) -> Path:
    path = tmp_path / "genesis.json"
    if not path.exists():
        path.write_text(json.dumps(GENESIS_DOC))
    return path


def key_file(tmp_path: Path, key: PrivateKey, name: str) -> Path:
    path = tmp_path / f"{name}.key"
    save_key(path, key, overwrite=True)
    return path


@pytest.fixture
def home(tmp_path: Path) -> ChainHome:
    return build_home(tmp_path)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[FakeNode]:
    store = Store.open(tmp_path / "node-db")
    app = Application(store, gen())
    app.init_chain()
    fill(app, 2)
    yield FakeNode(app, GENESIS_DOC)
    store.close()


Run = Callable[..., Result]


@pytest.fixture
def run() -> Run:
    """Invoke ``egov``; ``node=`` answers HTTP from a FakeNode."""

    def invoke(*args: Any, node: FakeNode | None = None, **kw: Any) -> Result:
        settings = Settings(
            transport=node.transport if node else None,
            poll_interval=0,
            sleep=lambda _: None,
        )
        return CliRunner().invoke(main, [str(a) for a in args], obj=settings, **kw)

    return invoke
