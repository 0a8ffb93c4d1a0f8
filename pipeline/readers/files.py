"""Input files: resolving a source's paths (local or fsspec URLs) to files, and opening them decompressed.

Local paths are walked with ``os`` (symlinked files are read, symlinked folders are not followed, so a link
loop cannot hang the walk); a URL (``s3://``, ``gs://``, ``hf://``, ``https://``) is resolved with fsspec and
the filesystem its protocol names (installed separately: ``s3fs`` is pinned). Credentials never pass through
the config: fsspec takes them from the environment or the ``profile`` named in ``storage_options``.
"""

from __future__ import annotations

import glob
import gzip
import io
import logging
import lzma
import os
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from core.errors import InputError
from pipeline.config import SourceConfig

log = logging.getLogger("corpus")
_GLOB_CHARS = "*?["


@dataclass(frozen=True)
class InputFile:
    source: str
    path: str  # absolute path or full URL, as opened
    key: str  # stable name used in ids: the path relative to its glob's base folder


def is_url(path: str) -> bool:
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", path) is not None


def filesystem(path: str, storage_options: dict[str, Any]) -> tuple[Any, str]:
    """(fsspec filesystem, path inside it) for a URL; a missing protocol package is one clear error."""
    import fsspec

    try:
        return fsspec.core.url_to_fs(path, **storage_options)
    except ImportError as exc:
        raise InputError(f"{path}: reading this protocol needs a package that is not installed ({exc})") from None
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from None


def expand_paths(source: SourceConfig) -> list[InputFile]:
    """Resolve a source's paths (files, folders, globs; local or URLs) to a sorted list of files.

    A file's key (part of its documents' ids) is its path relative to the common folder of all
    the source's patterns, so ``a/*.jsonl`` and ``b/*.jsonl`` with the same file names differ,
    and moving the whole input tree elsewhere (another folder, a bucket) keeps the ids.
    """
    matched: list[tuple[str, str]] = []  # (file, its pattern's base folder)
    for pattern in source.paths:
        if source.format == "code":
            base, matches = _repositories(source, pattern)
        else:
            base, matches = _remote_matches(source, pattern) if is_url(pattern) else _local_matches(pattern)
        if not matches:
            raise InputError(f"source {source.name!r}: no input files match {pattern!r}")
        matched += [(match, base) for match in matches]
    root = os.path.commonpath([_path_part(base) or "/" for _, base in matched])
    files: dict[str, InputFile] = {}
    for match, _ in matched:
        files.setdefault(match, InputFile(source.name, match, os.path.relpath(_path_part(match), root)))
    return sorted(files.values(), key=lambda f: f.key + "\x00" + f.path)


def _path_part(path: str) -> str:
    """The path of a URL after its protocol (``bucket/folder/file``), rooted; a local path as it is."""
    return "/" + path.split("://", 1)[1].lstrip("/") if is_url(path) else path


def _repositories(source: SourceConfig, pattern: str) -> tuple[str, list[str]]:
    """``format: code``: the repository folders a path names (itself, or the folders in it), each read by one
    task; the base is the path's parent for one repository, so its key is the repository's name."""
    from pipeline.readers.code import is_repository, repository_folders

    folder = os.path.abspath(pattern)
    if is_url(pattern) or not os.path.isdir(folder):
        raise InputError(f"source {source.name!r}: format code reads local folders of repositories, not {pattern!r}")
    return (os.path.dirname(folder) if is_repository(folder) else folder), repository_folders(folder)


def _tree_stamp(folder: str) -> tuple[int, str]:
    """(total size, latest modification) of the files under a folder: a changed file in a repository reruns."""
    size, latest = 0, 0
    for parent, _, names in os.walk(folder, followlinks=False):
        for name in names:
            stat = os.lstat(os.path.join(parent, name))
            size, latest = size + stat.st_size, max(latest, stat.st_mtime_ns)
    return size, str(latest)


def _local_matches(pattern: str) -> tuple[str, list[str]]:
    pattern = os.path.abspath(pattern)  # absolute: executors of a cluster do not share the driver's working folder
    if os.path.isdir(pattern):
        return pattern, _walk_folder(pattern)
    if os.path.lexists(pattern):  # a file name may itself contain glob characters: "dump [2023].jsonl"
        return os.path.dirname(pattern), [pattern]
    matches = [m for m in glob.glob(pattern, recursive=True) if not os.path.isdir(m)]
    return _glob_base(pattern), [os.path.abspath(m) for m in matches]


def _walk_folder(folder: str) -> list[str]:
    """Every file under ``folder`` except hidden and ``_`` names; a broken symlink is kept (its read is
    quarantined), a symlinked folder is logged and not followed."""
    files = []
    for parent, folders, names in os.walk(folder, followlinks=False):
        for name in folders:
            if os.path.islink(os.path.join(parent, name)):
                log.warning("[ingest] %s: a symlinked folder, not followed", os.path.join(parent, name))
        folders[:] = sorted(name for name in folders if not name.startswith((".", "_")))
        files += [os.path.join(parent, name) for name in sorted(names) if not name.startswith((".", "_"))]
    return files


def _remote_matches(source: SourceConfig, pattern: str) -> tuple[str, list[str]]:
    try:
        return _list_remote(source, pattern)
    except InputError:
        raise
    except Exception as exc:  # no credentials, no such bucket, endpoint unreachable: the user's to fix
        raise InputError(
            f"source {source.name!r}: cannot list {pattern!r} ({type(exc).__name__}: {exc}); credentials come "
            "from the environment (AWS_ACCESS_KEY_ID, ...) or storage_options.profile"
        ) from None


def _list_remote(source: SourceConfig, pattern: str) -> tuple[str, list[str]]:
    fs, path = filesystem(pattern, dict(source.storage_options))
    protocol = pattern.split("://", 1)[0]
    if fs.isdir(path):
        base = path
        found = [p for p in fs.find(path) if not any(part.startswith((".", "_")) for part in p[len(path) :].split("/"))]
    elif any(ch in path for ch in _GLOB_CHARS) and not fs.isfile(path):
        base, found = _glob_base(path), [p for p in fs.glob(path) if not fs.isdir(p)]
    else:
        base, found = os.path.dirname(path), [path] if fs.exists(path) else []
    return f"{protocol}://{base}", [f"{protocol}://{p}" for p in found]


def _glob_base(pattern: str) -> str:
    fixed = []
    for part in Path(pattern).parts:
        if any(ch in part for ch in _GLOB_CHARS):
            break
        fixed.append(part)
    return str(Path(*fixed)) if fixed else ""


def input_fingerprint(sources: list[SourceConfig]) -> list[tuple[str, str, int, str]]:
    """(source, file, size, modification stamp) of every input file: a changed or added file reruns ingest."""
    fingerprint = []
    for source in sources:
        for f in expand_paths(source):
            if is_url(f.path):
                fs, path = filesystem(f.path, dict(source.storage_options))
                info = fs.info(path)
                stamp = str(info.get("ETag") or info.get("mtime") or info.get("LastModified") or "")
                fingerprint.append((f.source, f.path, int(info.get("size") or 0), stamp))
            elif os.path.isdir(f.path):  # a repository (format: code)
                fingerprint.append((f.source, f.path, *_tree_stamp(f.path)))
            else:
                stat = os.lstat(f.path) if not os.path.exists(f.path) else os.stat(f.path)  # a broken link too
                fingerprint.append((f.source, f.path, stat.st_size, str(stat.st_mtime_ns)))
    return fingerprint


def open_raw(path: str, storage_options: dict[str, Any]) -> IO[bytes]:
    """The file's bytes as stored (local or remote)."""
    if is_url(path):
        fs, inner = filesystem(path, storage_options)
        return fs.open(inner, "rb")
    return open(path, "rb")


@contextmanager
def open_input(path: str, storage_options: dict[str, Any]) -> Iterator[IO[bytes]]:
    """The file's bytes, decompressing .gz, .zst and .xz on the fly; both streams closed at the end."""
    with open_raw(path, storage_options) as raw:
        if path.endswith(".gz"):
            stream: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="rb")
        elif path.endswith(".zst"):
            stream = io.BufferedReader(_ZstdStream(raw), buffer_size=1 << 20)
        elif path.endswith(".xz"):
            stream = lzma.LZMAFile(raw, "rb")
        else:
            yield raw
            return
        with stream:
            yield stream


def file_size(path: str, storage_options: dict[str, Any]) -> int:
    if is_url(path):
        fs, inner = filesystem(path, storage_options)
        return int(fs.size(inner) or 0)
    return os.path.getsize(path)


class _ZstdStream(io.RawIOBase):
    """Streaming zstd decompression over one or more frames that notices a truncated last frame."""

    def __init__(self, raw: IO[bytes]):
        import zstandard

        self._raw, self._new = raw, zstandard.ZstdDecompressor().decompressobj
        self._decoder, self._pending, self._finished = self._new(), b"", False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending and not self._finished:
            chunk = self._raw.read(1 << 20)
            if not chunk:
                if not self._decoder.eof:
                    raise EOFError("zstd stream ends inside a frame")
                self._finished = True
                break
            self._pending = self._decode(chunk)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def _decode(self, chunk: bytes) -> bytes:
        out = []
        while chunk:
            if self._decoder.eof:
                self._decoder = self._new()
            out.append(self._decoder.decompress(chunk))
            chunk = self._decoder.unused_data if self._decoder.eof else b""
        return b"".join(out)

    def close(self) -> None:
        self._raw.close()
        super().close()


def truncation_errors() -> tuple[type[BaseException], ...]:
    """A compressed stream that ends early or is not what its name says."""
    import zstandard

    return EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile, zstandard.ZstdError


def unreadable_errors() -> tuple[type[BaseException], ...]:
    """A file that cannot be opened or is not what its format says (corrupt Parquet)."""
    return OSError, pa.ArrowException
