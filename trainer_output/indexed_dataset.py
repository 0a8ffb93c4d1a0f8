"""Megatron-LM indexed datasets (``.bin`` tokens + ``.idx`` index): a writer and an independent reader.

Format (Megatron-LM ``megatron/core/datasets/indexed_dataset.py``), all little-endian:

``.bin``  the token ids of every sequence, back to back, in the dataset's dtype.
``.idx``  ``b"MMIDIDX\\x00\\x00"`` | version ``<Q`` = 1 | dtype code ``<B`` | sequence count ``<Q`` |
          document count ``<Q`` | sequence lengths ``int32[sequence count]`` |
          sequence byte pointers into ``.bin`` ``int64[sequence count]`` |
          document indices ``int64[document count]``.

Document indices start at 0 and list, after each document, the number of sequences so far;
with one sequence per document (GPT pretraining) they are ``0, 1, ..., n`` and the document
count is ``n + 1``. Token dtype: ``uint16`` when the vocabulary has fewer than 65,500 entries,
otherwise ``int32`` (Megatron's ``DType.optimal_dtype``).
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

INDEX_MAGIC = b"MMIDIDX\x00\x00"
INDEX_VERSION = 1
UINT16_VOCAB_LIMIT = 65_500
DTYPE_CODES = {
    np.dtype(np.uint8): 1,
    np.dtype(np.int8): 2,
    np.dtype(np.int16): 3,
    np.dtype(np.int32): 4,
    np.dtype(np.int64): 5,
    np.dtype(np.float64): 6,
    np.dtype(np.float32): 7,
    np.dtype(np.uint16): 8,
}


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dtype_for_vocab(vocab_size: int) -> np.dtype:
    """Token dtype Megatron uses for a vocabulary of ``vocab_size`` entries."""
    return np.dtype(np.uint16) if vocab_size < UINT16_VOCAB_LIMIT else np.dtype(np.int32)


@dataclass(frozen=True)
class WrittenShard:
    """What a finished shard is: its prefix, sizes and the sha256 of both files."""

    prefix: Path
    documents: int
    tokens: int
    bin_sha256: str
    idx_sha256: str


class IndexedDatasetWriter:
    """Write one ``<prefix>.bin``/``<prefix>.idx`` pair, one sequence per document.

    Both files are written under temporary names and renamed into place by ``finalize``, so a
    reader never sees a half-written shard. ``tmp_suffix`` keeps concurrent attempts apart.
    """

    def __init__(self, prefix: Path, dtype: np.dtype, tmp_suffix: str = "tmp"):
        self.prefix = Path(prefix)
        self.dtype = np.dtype(dtype)
        if self.dtype not in DTYPE_CODES:
            raise ValueError(f"{self.prefix}: unsupported token dtype {self.dtype}")
        self._bin_tmp = self.prefix.with_name(f"{self.prefix.name}.bin.{tmp_suffix}")
        self._idx_tmp = self.prefix.with_name(f"{self.prefix.name}.idx.{tmp_suffix}")
        self._bin = open(self._bin_tmp, "wb")
        self._bin_hash = hashlib.sha256()
        self._lengths: list[np.ndarray] = []

    def add_document(self, tokens) -> None:
        """Append one document (any integer sequence)."""
        array = np.asarray(tokens, dtype=self.dtype)
        self.add_documents(array.tobytes(), np.array([array.size], dtype=np.int32))

    def add_documents(self, token_bytes, lengths: np.ndarray) -> None:
        """Append documents whose tokens are already encoded in the dtype, back to back."""
        lengths = np.asarray(lengths, dtype=np.int32)
        if len(token_bytes) != int(lengths.sum(dtype=np.int64)) * self.dtype.itemsize:
            raise ValueError(f"{self.prefix}: token bytes do not match the document lengths")
        self._bin.write(token_bytes)
        self._bin_hash.update(token_bytes)
        self._lengths.append(lengths)

    def finalize(self) -> WrittenShard:
        """Write the index and move both files into place."""
        self._bin.close()
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, dtype=np.int32)
        pointers = np.zeros(lengths.size, dtype=np.int64)
        np.cumsum(lengths[:-1], dtype=np.int64, out=pointers[1:])
        pointers *= self.dtype.itemsize
        document_indices = np.arange(lengths.size + 1, dtype=np.int64)
        index = b"".join(
            [
                INDEX_MAGIC,
                struct.pack("<Q", INDEX_VERSION),
                struct.pack("<B", DTYPE_CODES[self.dtype]),
                struct.pack("<Q", lengths.size),
                struct.pack("<Q", document_indices.size),
                lengths.astype("<i4").tobytes(),
                pointers.astype("<i8").tobytes(),
                document_indices.astype("<i8").tobytes(),
            ]
        )
        with open(self._idx_tmp, "wb") as handle:
            handle.write(index)
        os.replace(self._bin_tmp, f"{self.prefix}.bin")
        os.replace(self._idx_tmp, f"{self.prefix}.idx")
        return WrittenShard(
            self.prefix,
            int(lengths.size),
            int(lengths.sum(dtype=np.int64)),
            self._bin_hash.hexdigest(),
            hashlib.sha256(index).hexdigest(),
        )

    def abort(self) -> None:
        """Drop the temporary files of an unfinished shard."""
        self._bin.close()
        for path in (self._bin_tmp, self._idx_tmp):
            path.unlink(missing_ok=True)


# The reader below is deliberately written from the format description alone (it shares no code
# or constants with the writer), so the round-trip tests check the writer against the spec.
_READER_DTYPES = {1: "<u1", 2: "<i1", 3: "<i2", 4: "<i4", 5: "<i8", 6: "<f8", 7: "<f4", 8: "<u2"}


class IndexedDatasetReader:
    """Read a Megatron indexed dataset: ``reader[i]`` is the token array of sequence ``i``."""

    def __init__(self, prefix: str | Path):
        idx_path, bin_path = f"{prefix}.idx", f"{prefix}.bin"
        raw = Path(idx_path).read_bytes()
        if raw[:9] != b"MMIDIDX\x00\x00":
            raise ValueError(f"{idx_path}: not a Megatron index (bad magic)")
        (version,) = struct.unpack_from("<Q", raw, 9)
        if version != 1:
            raise ValueError(f"{idx_path}: unsupported index version {version}")
        (code,) = struct.unpack_from("<B", raw, 17)
        if code not in _READER_DTYPES:
            raise ValueError(f"{idx_path}: unknown dtype code {code}")
        self.dtype = np.dtype(_READER_DTYPES[code])
        sequence_count, document_count = struct.unpack_from("<QQ", raw, 18)
        offset = 34
        self.sequence_lengths = np.frombuffer(raw, dtype="<i4", count=sequence_count, offset=offset)
        offset += 4 * sequence_count
        self.sequence_pointers = np.frombuffer(raw, dtype="<i8", count=sequence_count, offset=offset)
        offset += 8 * sequence_count
        self.document_indices = np.frombuffer(raw, dtype="<i8", count=document_count, offset=offset)
        offset += 8 * document_count
        if offset != len(raw):
            raise ValueError(f"{idx_path}: {len(raw) - offset} unexpected trailing bytes")
        self._data = np.memmap(bin_path, dtype=np.uint8, mode="r") if os.path.getsize(bin_path) else b""

    def __len__(self) -> int:
        return int(self.sequence_lengths.size)

    def __getitem__(self, i: int) -> np.ndarray:
        start, count = int(self.sequence_pointers[i]), int(self.sequence_lengths[i])
        return np.frombuffer(self._data, dtype=self.dtype, count=count, offset=start)
