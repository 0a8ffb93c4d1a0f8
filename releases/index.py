"""A release: the dedup state a finished run publishes, so that later runs deduplicate against it.

A release folder holds ``manifest.json`` and one Parquet table per kind of state:

    minhash/           id, source, node (the run's order key), band, band_hash, cluster: every document
                       that entered the run's MinHash stage, kept or rejected, one row per LSH band
    minhash_shingles/  id, node, shingles (sorted distinct 32-bit shingle hashes, little-endian bytes):
                       for the exact Jaccard check of candidates (written when the stage verifies)
    sentence/          h (a span hash) and owner (the id of the first document holding it), for every
                       span of the documents that entered the run's sentence dedup
    documents/         id, source, file, line, text_sha256 of every document the run shipped (exact hashes)
    decontamination/   eval_set, ngram (64-bit n-gram hashes) and decontamination_tokens/ (token, hash):
                       the evaluation-set index the run used, so a later run removes the same overlap

The manifest names the run, its config hash, the row count of every table and the parameters a later
run must share to compare its documents with these (MinHash permutations, seed, bands, rows and
shingles; sentence units and span; n-gram size). This module is the format alone (no Spark): the
stages read the tables, ``pipeline.release`` writes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from core.errors import CorpusError
from filters.dedup_text import EvalNgrams

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
MINHASH, MINHASH_SHINGLES, SENTENCE, DOCUMENTS = "minhash", "minhash_shingles", "sentence", "documents"
DECONTAMINATION, DECONTAMINATION_TOKENS = "decontamination", "decontamination_tokens"
# A release's documents come before every document of the run (any source): their order keys get this
# prefix, which sorts before the run's own keys ("00000:..."), then the release's rank in the config.
RELEASE_NODE_PREFIX = "!"


class ReleaseError(CorpusError, ValueError):
    """An earlier release that cannot be used: missing, unreadable, or made with other parameters."""


class ReleasesConfig(BaseModel):
    """The ``releases`` section: earlier releases this run deduplicates against."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    against: list[str] = Field(
        default_factory=list,
        description="release folders (written by `corpus release`) whose documents count as already kept: "
        "new documents duplicating them are rejected (dedup:minhash:release:<name>); listed first wins",
    )


@dataclass(frozen=True)
class Release:
    """An earlier release as a run uses it: its name, folder, rank (its place in ``releases.against``)
    and manifest."""

    name: str
    path: str
    rank: int
    manifest: dict[str, Any]

    def table(self, kind: str) -> str | None:
        """The folder of one of the release's tables, or None when the release has none of that kind."""
        return str(Path(self.path) / kind) if kind in self.manifest.get("tables", {}) else None

    def parameters(self, kind: str) -> dict[str, Any] | None:
        return self.manifest.get("parameters", {}).get(kind)

    @property
    def node_prefix(self) -> str:
        """Prefix of this release's order keys: before any document of the run, and of later-listed releases."""
        return f"{RELEASE_NODE_PREFIX}{self.rank:03d}{RELEASE_NODE_PREFIX}"

    def fingerprint(self) -> list[Any]:
        """What identifies the release's content for the resume hash of a run that uses it."""
        return [self.name, self.manifest.get("run_config_hash"), self.manifest.get("tables")]


def load_releases(paths: list[str]) -> tuple[Release, ...]:
    """The releases named in ``releases.against``, in order; a missing or unreadable one is an error
    naming its config key and folder."""
    releases = []
    for rank, path in enumerate(paths):
        manifest = read_manifest(path, f"releases.against[{rank}]")
        releases.append(Release(manifest["name"], str(Path(path).absolute()), rank, manifest))
    names = [r.name for r in releases]
    if len(set(names)) != len(names):
        raise ReleaseError(f"releases.against: two releases have the same name ({names}); name each one once")
    return tuple(releases)


def read_manifest(path: str | Path, key: str) -> dict[str, Any]:
    manifest_file = Path(path) / MANIFEST
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReleaseError(f"{key}: {manifest_file} not found: name a folder written by `corpus release`") from None
    except (OSError, ValueError) as err:
        raise ReleaseError(f"{key}: cannot read {manifest_file}: {err}") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise ReleaseError(
            f"{key}: {manifest_file} is not a release manifest of format {FORMAT_VERSION}: publish it again with "
            "`corpus release`"
        )
    return manifest


def check_parameters(releases: tuple[Release, ...], kind: str, config_key: str, ours: dict[str, Any]) -> None:
    """Every release holding a ``kind`` index was made with the same ``ours`` parameters (else its hashes
    mean something else): one error naming the key, both values and the release."""
    for release in releases:
        theirs = release.parameters(kind)
        if theirs is None:
            continue
        for name, value in ours.items():
            if theirs.get(name) != value:
                raise ReleaseError(
                    f"{config_key}.{name} is {value!r} here but {theirs.get(name)!r} in release {release.name!r} "
                    f"({release.path}): its {kind} index cannot be compared with this run's; set {config_key}."
                    f"{name}: {theirs.get(name)!r} or remove the release from releases.against"
                )


def eval_ngram_tables(evals: EvalNgrams) -> dict[str, pa.Table]:
    """The decontamination index as two tables (64-bit hashes stored as signed int64, bit for bit)."""
    names = [name for name, hashes in evals.sets.items() for _ in range(len(hashes))]
    ngrams = np.concatenate([np.empty(0, np.uint64), *evals.sets.values()]).view(np.int64)
    tokens = sorted(evals.token_hashes)
    token_hashes = np.array([evals.token_hashes[t] for t in tokens], dtype=np.uint64).view(np.int64)
    return {
        DECONTAMINATION: pa.table({"eval_set": pa.array(names, pa.string()), "ngram": ngrams}),
        DECONTAMINATION_TOKENS: pa.table({"token": pa.array(tokens, pa.string()), "hash": token_hashes}),
    }


def read_eval_ngrams(release: Release) -> EvalNgrams:
    """A release's decontamination index (read on the driver, as the stage reads its own evaluation sets)."""
    ngrams = pq.read_table(release.table(DECONTAMINATION))
    tokens = pq.read_table(release.table(DECONTAMINATION_TOKENS))
    token_hashes = dict(
        zip(tokens.column("token").to_pylist(), tokens.column("hash").to_numpy().view(np.uint64).tolist())
    )
    names = np.asarray(ngrams.column("eval_set").to_pylist(), dtype=object)
    hashes = ngrams.column("ngram").to_numpy().view(np.uint64)
    sets = {name: np.unique(hashes[names == name]) for name in dict.fromkeys(names.tolist())}
    return EvalNgrams(release.parameters(DECONTAMINATION)["ngram"], token_hashes, sets)


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
