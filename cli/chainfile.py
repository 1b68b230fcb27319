"""The chain file: a whole chain in one file, for offline audits.

Layout (docs/CLI.md has the same description)::

    "EGOVCHAIN1"                      10 bytes of magic
    record*                           each: length (4 bytes, big endian)
                                      then that many bytes of msgpack, a
                                      map with its keys in sorted order

The records, in order:

1. the header ``{"genesis": <the genesis document as JSON text>}``;
2. one ``{"block": bytes, "commit": bytes, "height": int}`` per height from
   1 upwards, ``block`` and ``commit`` being the exact bytes the chain
   stores (the commit is the one that decided that block);
3. the trailer ``{"end": <the last height>}``, so that a file cut at a
   record boundary is recognised as cut.

Nothing in the file is trusted: ``egov audit --file`` and ``egov import``
replay it through the Application and verify every commit.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import msgpack

from cli.replay import Record

MAGIC = b"EGOVCHAIN1"
MAX_RECORD = 16 * 1024 * 1024
_LEN = 4


class ChainFileError(Exception):
    """A file that is not a complete, well-formed chain file."""

    code = "chainfile.invalid"


class ChainFileWriter:
    """Writes to ``<path>.tmp`` and renames on ``finish``: no half files."""

    def __init__(self, path: Path, genesis_doc: dict[str, Any]) -> None:
        self.path = path
        self._tmp = path.with_name(path.name + ".tmp")
        self._out: IO[bytes] = open(self._tmp, "wb")  # noqa: SIM115
        self._out.write(MAGIC)
        self._record({"genesis": json.dumps(genesis_doc, sort_keys=True)})
        self.height = 0

    def add(self, height: int, block: bytes, commit: bytes) -> None:
        if height != self.height + 1:
            raise ChainFileError(f"height {height} after {self.height}")
        self._record({"block": block, "commit": commit, "height": height})
        self.height = height

    def finish(self) -> None:
        self._record({"end": self.height})
        self._out.flush()
        os.fsync(self._out.fileno())
        self._out.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        self._out.close()
        self._tmp.unlink(missing_ok=True)

    def _record(self, value: dict[str, Any]) -> None:
        data = _pack(value)
        self._out.write(len(data).to_bytes(_LEN, "big") + data)


class ChainFileReader:
    """The genesis document, then ``records()`` one block at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._in: IO[bytes] = open(path, "rb")  # noqa: SIM115
        except OSError as exc:
            raise ChainFileError(f"cannot read {path}: {exc}") from exc
        if self._in.read(len(MAGIC)) != MAGIC:
            self.close()
            raise ChainFileError(f"{path} is not a chain file (no {MAGIC.decode()})")
        header = self._next()
        if header is None or set(header) != {"genesis"}:
            raise ChainFileError("the first record must be the genesis header")
        try:
            doc = json.loads(header["genesis"])
        except (TypeError, ValueError) as exc:
            raise ChainFileError("the genesis header is not JSON") from exc
        if not isinstance(doc, dict):
            raise ChainFileError("the genesis header is not a JSON object")
        self.genesis_doc: dict[str, Any] = doc

    def close(self) -> None:
        self._in.close()

    def __enter__(self) -> ChainFileReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def records(self) -> Iterator[Record]:
        expected = 1
        while True:
            value = self._next()
            if value is None:
                raise ChainFileError(
                    f"the file ends before its trailer (after height {expected - 1})"
                )
            if set(value) == {"end"}:
                if value["end"] != expected - 1:
                    raise ChainFileError(
                        f"the trailer says {value['end']!r} blocks, the file holds"
                        f" {expected - 1}"
                    )
                if self._in.read(1):
                    raise ChainFileError("bytes after the trailer")
                return
            if set(value) != {"block", "commit", "height"}:
                raise ChainFileError(f"record {expected} is not a block record")
            block, commit = value["block"], value["commit"]
            if value["height"] != expected or not (
                isinstance(block, bytes) and isinstance(commit, bytes)
            ):
                raise ChainFileError(f"record {expected} is malformed")
            yield Record(expected, block, commit)
            expected += 1

    def _next(self) -> dict[str, Any] | None:
        head = self._in.read(_LEN)
        if not head:
            return None
        if len(head) < _LEN:
            raise ChainFileError("the file is cut inside a record length")
        size = int.from_bytes(head, "big")
        if size > MAX_RECORD:
            raise ChainFileError(f"a record of {size} bytes is over the limit")
        data = self._in.read(size)
        if len(data) != size:
            raise ChainFileError("the file is cut inside a record")
        return _unpack(data)


# Records are packed here rather than by chain.encoding, whose 4 MiB limit
# a block at the size limit plus its commit can pass; the form is the same
# (sorted keys, bin for bytes) and is checked the same way on reading.


def _pack(value: dict[str, Any]) -> bytes:
    data: bytes = msgpack.packb(dict(sorted(value.items())), use_bin_type=True)
    return data


def _unpack(data: bytes) -> dict[str, Any]:
    try:
        value = msgpack.unpackb(data, raw=False, strict_map_key=True)
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise ChainFileError(f"a record does not decode: {exc}") from exc
    if not isinstance(value, dict):
        raise ChainFileError("a record is not a map")
    if _pack(value) != data:
        raise ChainFileError("a record is not in canonical form")
    return value
