"""Source code (``format: code``): one repository (a local folder) per input, one document per source file.

Each document's ``meta`` holds ``repo`` (the folder's name), ``path`` (inside the repository), ``language``
(from the file name, filters/code.py) and ``license``: the file's own ``SPDX-License-Identifier`` header,
else the repository's licence, detected from its LICENSE/LICENCE/COPYING files with pre-commit's
``identify`` (an edit-distance match against the texts of the common licences), ``unknown`` when none is
recognised (a text cut short of a known licence, such as Apache-2.0 without its appendix, is matched
against the same length of it). A record's ``line`` is the file's number in the repository's sorted file list.

Files that are not training text are skipped with a reason and counted (``skipped:code:<kind>``): binary
files (a NUL byte in the first 8,000 bytes, as git decides), vendored files (dependency folders), build
output (``__pycache__``, ``dist``, ``build``), generated files (minified, source-map, protobuf and lock files;
GitHub linguist's vendor.yml and generated.rb list these), files
over ``MAX_FILE_BYTES`` (Codex kept files under 1 MB) and files of no known language (a ``.txt``, a licence
text). Hidden files and folders (``.git``) are not read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from filters.code import binary_by_name, combined_license, language_of, spdx_header, truncated_license_id
from filters.text_decode import decode_text
from pipeline.config import IngestConfig, SourceConfig
from pipeline.readers.records import Record, check_text, quarantine, skip

MAX_FILE_BYTES = 1_000_000  # Codex (Chen et al. 2021, 3.1): Python files under 1 MB
BINARY_PROBE_BYTES = 8000  # git's buffer_is_binary looks for a NUL byte in the first 8,000 bytes
LICENSE_FILE = re.compile(r"^(LICEN[CS]E|COPYING|UNLICENSE)([-._].*)?$", re.IGNORECASE)
VENDORED_FOLDERS = frozenset(  # other projects' code copied in (GitHub linguist's vendor.yml)
    {"node_modules", "bower_components", "vendor", "vendors", "third_party", "third-party", "thirdparty", "external"}
    | {"extern", "site-packages", "venv", "Pods", "Carthage", "_vendor", "_vendored"}  # pip's and setuptools' own
)
BUILD_FOLDERS = frozenset({"dist", "build", "__pycache__", "target", "out"})  # what a build writes
GENERATED_NAMES = re.compile(
    r"(\.min\.(js|css)|\.map|[-.]bundle\.js|_pb2(_grpc)?\.pyi?|\.pb\.(go|cc|h)|\.designer\.cs|\.g\.dart|"
    r"^package-lock\.json|^yarn\.lock|^pnpm-lock\.yaml|^poetry\.lock|^Cargo\.lock|^Gemfile\.lock|^composer\.lock)$"
)


def is_repository(folder: str) -> bool:
    """A folder is one repository when it holds ``.git`` or a licence file; otherwise each folder in it is one."""
    names = os.listdir(folder)
    licence_files = (name for name in names if LICENSE_FILE.match(name))  # not a repository named license-...
    return ".git" in names or any(os.path.isfile(os.path.join(folder, name)) for name in licence_files)


def repository_folders(folder: str) -> list[str]:
    """The repositories a source path names: the folder itself, or the folders in it (sorted, hidden skipped)."""
    if is_repository(folder):
        return [folder]
    return [
        os.path.join(folder, name)
        for name in sorted(os.listdir(folder))
        if not name.startswith((".", "_")) and os.path.isdir(os.path.join(folder, name))
    ]


def repository_license(root: str) -> str:
    """The licence of the repository at ``root`` from its top-level licence files (``unknown``: none found)."""
    from identify.identify import license_id

    found = []
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if LICENSE_FILE.match(name) and os.path.isfile(path):
            try:
                detected = license_id(path)
                if detected is None:
                    with open(path, encoding="utf-8", errors="replace") as licence:
                        detected = truncated_license_id(licence.read())
            except (OSError, UnicodeDecodeError):
                detected = None
            if detected:
                found.append(detected)
    return combined_license(found)


def repository_files(root: str) -> Iterator[tuple[str, str | None]]:
    """(path inside the repository, skip kind or None) for every file, sorted; vendored folders as one skip
    per file in them, so the counts say how much was left out."""
    for parent, folders, names in os.walk(root, followlinks=False):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        parts = set(os.path.relpath(parent, root).split(os.sep))
        folder_kind = "vendored" if parts & VENDORED_FOLDERS else ("build_output" if parts & BUILD_FOLDERS else None)
        for name in sorted(names):
            if name.startswith("."):
                continue
            relative = os.path.relpath(os.path.join(parent, name), root)
            yield relative, folder_kind or ("generated" if GENERATED_NAMES.search(name) else None)


def read_code(source: SourceConfig, path: str, ingest: IngestConfig) -> Iterator[Record]:
    repo_license = repository_license(path)
    repo = os.path.basename(os.path.normpath(path))
    for number, (relative, skipped) in enumerate(repository_files(path), start=1):
        if skipped:
            yield skip(number, f"code:{skipped}", relative)
            continue
        yield _read_source_file(source, path, relative, number, ingest, (repo, repo_license))


def _read_source_file(
    source: SourceConfig, root: str, relative: str, number: int, ingest: IngestConfig, repo: tuple[str, str]
) -> Record:
    """One file as a document, or the reason it is skipped or quarantined."""
    full = os.path.join(root, relative)
    if binary_by_name(relative):
        return skip(number, "code:binary", relative)
    language = language_of(relative)
    if language is None:
        return skip(number, "code:no_language", relative)
    limit = min(MAX_FILE_BYTES, ingest.max_doc_bytes)
    try:
        if os.path.getsize(full) > limit:
            return skip(number, "code:too_large", f"{relative}: over {limit} bytes")
        with open(full, "rb") as stream:
            raw = stream.read()
    except OSError as exc:  # one unreadable file (permissions, a broken link): the repository's others are read
        return quarantine(number, "unreadable_file", f"{relative}: {type(exc).__name__}: {exc}")
    if b"\x00" in raw[:BINARY_PROBE_BYTES]:
        return skip(number, "code:binary", relative)
    decoded = decode_text(raw, ingest.text_decoding)
    if decoded.text is None:
        return quarantine(number, "invalid_utf8", f"{relative}: not UTF-8 (ingest.text_decoding: strict)")
    reason, detail = check_text(decoded.text)
    if reason:
        return quarantine(number, reason, f"{relative}: {detail}")
    name, repo_license = repo
    meta = {"repo": name, "path": relative, "language": language, "license": spdx_header(decoded.text) or repo_license}
    return Record(number, text=decoded.text, meta=meta)
