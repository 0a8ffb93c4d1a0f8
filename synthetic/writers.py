"""JSONL.gz shards written so that the same records always give the same bytes (tests compare digests)."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import IO


class ShardWriter:
    """Deterministic JSONL.gz shards (gzip mtime 0, no file name) of ``per_shard`` records each."""

    def __init__(self, out_dir: Path, source: str, per_shard: int, compresslevel: int):
        self.dir, self.source, self.per_shard, self.level = out_dir / source, source, per_shard, compresslevel
        self.dir.mkdir(parents=True, exist_ok=True)
        self.shard, self.line, self.records = -1, 0, 0
        self.stream: IO[bytes] | None = None
        self.buffer: list[bytes] = []
        self.buffered = 0
        self.files: list[str] = []
        self.raw_bytes = 0

    def write(self, line: bytes) -> tuple[str, int]:
        """Append one record; returns (file name, line number from 1)."""
        if self.stream is None or self.line == self.per_shard:
            self._open_next()
        self.line += 1
        self.records += 1
        self.buffer.append(line)
        self.buffered += len(line)
        if self.buffered > 1 << 20:
            self._flush()
        return self.files[-1], self.line

    def _open_next(self) -> None:
        self.close()
        self.shard += 1
        name = f"{self.source}-{self.shard:05d}.jsonl.gz"
        self.files.append(name)
        self.stream = gzip.GzipFile(
            filename="", mode="wb", compresslevel=self.level, fileobj=open(self.dir / name, "wb"), mtime=0
        )
        self.line = 0

    def _flush(self) -> None:
        if self.buffer and self.stream is not None:
            data = b"".join(self.buffer)
            self.stream.write(data)
            self.raw_bytes += len(data)
        self.buffer, self.buffered = [], 0

    def close(self) -> None:
        if self.stream is not None:
            self._flush()
            fileobj = self.stream.fileobj
            self.stream.close()
            fileobj.close()
            self.stream = None
