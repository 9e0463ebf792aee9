"""Crash-safe checkpoints: atomic writes, a checksummed manifest, several generations.

A checkpoint *generation* is a set of payload files (one per top-level key of the saved state,
each written with :func:`torch.save`) plus a JSON manifest that lists every payload file with its
size and SHA-256, and carries a SHA-256 of its own content. The layout in the store directory::

    gen-00000012.model.pt
    gen-00000012.optimizer.pt
    gen-00000012.trainer.pt
    gen-00000012.manifest.json      <- written last: the generation exists once this exists

Every file is written atomically: to a temporary file in the same directory, flushed and
``fsync``-ed, renamed over its final name (``os.replace``, atomic on POSIX), and then the
directory is ``fsync``-ed so the rename itself survives a power loss. The manifest is the commit
point, so a crash at any moment leaves either a complete, verifiable generation or files that no
manifest names (they are cleaned up by the next save). Older generations are deleted only after
the new one is durable and has been read back and verified, so a failed save never costs the last
good checkpoint.

:meth:`CheckpointStore.load_latest` verifies the manifest checksum, every payload's size and
SHA-256, and loads with ``torch.load(weights_only=True)``; a generation that fails any check is
skipped (with the reason kept in :attr:`LoadedCheckpoint.rejected`) and the next older one is
tried. A corrupt checkpoint is never loaded.

One store directory has one writer at a time (the onboard trainer); concurrent writers are not
supported.

>>> import tempfile, torch
>>> with tempfile.TemporaryDirectory() as d:
...     store = CheckpointStore(d, keep=2)
...     _ = store.save({"model": {"w": torch.ones(2)}}, step=10)
...     _ = store.save({"model": {"w": torch.full((2,), 2.0)}}, step=20)
...     loaded = store.load_latest()
...     (loaded.info.step, loaded.state["model"]["w"].tolist(), len(store.generations()))
(20, [2.0, 2.0], 2)
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from orbitlearn.errors import CheckpointError, InputError

__all__ = [
    "CheckpointInfo",
    "CheckpointStore",
    "LoadedCheckpoint",
    "PayloadEntry",
    "atomic_write_bytes",
]

MANIFEST_FORMAT = "orbitlearn-checkpoint"
MANIFEST_VERSION = 1
_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_GEN_PATTERN = re.compile(r"^gen-(\d{8})\.")
_MANIFEST_PATTERN = re.compile(r"^gen-(\d{8})\.manifest\.json$")
_TEMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class PayloadEntry:
    """One payload file of a generation, as the manifest records it."""

    key: str
    file: str
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class CheckpointInfo:
    """What a manifest says about one generation (read, not yet verified against payloads)."""

    generation: int
    step: int
    created_unix_s: float
    manifest_path: Path
    payloads: tuple[PayloadEntry, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def size_bytes(self) -> int:
        """Total size of the payload files."""
        return sum(p.size_bytes for p in self.payloads)


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A verified checkpoint and the newer generations that were rejected on the way to it."""

    state: dict[str, Any]
    info: CheckpointInfo
    rejected: tuple[CheckpointError, ...] = ()


def _fsync_directory(directory: Path) -> None:
    """Make a rename/unlink in ``directory`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, *, sync_directory: bool = True) -> None:
    """Write ``data`` to ``path`` so that ``path`` holds either the old or the new content.

    Writes a temporary file in the same directory, flushes and fsyncs it, renames it over
    ``path`` and fsyncs the directory. On any error the temporary file is removed and ``path``
    is untouched.
    """
    path = Path(path)
    temp = path.with_name(f"{_TEMP_PREFIX}{secrets.token_hex(4)}-{path.name}")
    try:
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    if sync_directory:
        _fsync_directory(path.parent)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical_json(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


class CheckpointStore:
    """A directory of checkpoint generations with atomic saves and verified loads.

    Args:
        directory: where generations live (created if missing).
        keep: how many committed generations to retain (>= 1); older ones are pruned after each
            successful save.
        weights_only: load payloads with ``torch.load(weights_only=True)`` (tensors, numbers,
            strings, lists, tuples and dicts only). Set False only for trusted stores whose
            state holds other Python objects.

    Raises:
        InputError: for ``keep < 1``.
        CheckpointError: if ``directory`` exists and is not a directory, or cannot be created.
    """

    def __init__(
        self, directory: str | os.PathLike[str], *, keep: int = 3, weights_only: bool = True
    ):
        if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
            raise InputError("keep", keep, "an integer >= 1")
        self.directory = Path(directory)
        self.keep = keep
        self.weights_only = weights_only
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CheckpointError(
                f"cannot create checkpoint directory {self.directory}: {exc.strerror or exc}"
            ) from exc
        if not self.directory.is_dir():
            raise CheckpointError(f"checkpoint path {self.directory} exists and is not a directory")

    # ------------------------------------------------------------------ listing
    def _manifest_path(self, generation: int) -> Path:
        return self.directory / f"gen-{generation:08d}.manifest.json"

    def _payload_name(self, generation: int, key: str) -> str:
        return f"gen-{generation:08d}.{key}.pt"

    def _committed_generations(self) -> list[int]:
        found = []
        for entry in os.listdir(self.directory):
            match = _MANIFEST_PATTERN.match(entry)
            if match:
                found.append(int(match.group(1)))
        return sorted(found)

    def _highest_generation_on_disk(self) -> int:
        highest = 0
        for entry in os.listdir(self.directory):
            name = entry
            if name.startswith(_TEMP_PREFIX):
                # .tmp-<hex>-gen-00000012....
                name = name.split("-", 2)[-1]
            match = _GEN_PATTERN.match(name)
            if match:
                highest = max(highest, int(match.group(1)))
        return highest

    def generations(self) -> list[CheckpointInfo]:
        """The committed generations whose manifests parse and verify, oldest first.

        Payloads are not read; use :meth:`verify` or :meth:`load` for that.
        """
        infos = []
        for generation in self._committed_generations():
            try:
                infos.append(self._read_manifest(generation))
            except CheckpointError:
                continue
        return infos

    # ------------------------------------------------------------------ saving
    def save(
        self,
        state: Mapping[str, Any],
        *,
        step: int,
        metadata: Mapping[str, Any] | None = None,
    ) -> CheckpointInfo:
        """Write ``state`` as a new generation and prune generations beyond ``keep``.

        Args:
            state: a mapping from payload key (letters, digits, ``_``, ``-``; at most 64
                characters) to the object saved in that key's file with :func:`torch.save`.
            step: the training step this state belongs to (recorded in the manifest).
            metadata: JSON-serialisable extra facts recorded in the manifest.

        Returns:
            The :class:`CheckpointInfo` of the new, verified generation.

        Raises:
            InputError: for an empty state or a bad key.
            CheckpointError: if writing fails or the written generation does not verify; older
                generations are then left untouched.
        """
        if not state:
            raise InputError("state", dict(state), "a non-empty mapping of payload key to object")
        for key in state:
            if not isinstance(key, str) or not _KEY_PATTERN.match(key):
                raise InputError(
                    "state key", key, "1-64 characters from letters, digits, '_' and '-'"
                )
        self._remove_uncommitted()
        generation = self._highest_generation_on_disk() + 1
        entries = []
        try:
            for key, value in state.items():
                buffer = io.BytesIO()
                torch.save(value, buffer)
                data = buffer.getvalue()
                name = self._payload_name(generation, key)
                atomic_write_bytes(self.directory / name, data, sync_directory=False)
                entries.append(PayloadEntry(key, name, len(data), _sha256(data)))
            # one directory fsync makes all payload renames durable before the manifest commits
            _fsync_directory(self.directory)
            body: dict[str, Any] = {
                "format": MANIFEST_FORMAT,
                "version": MANIFEST_VERSION,
                "generation": generation,
                "step": int(step),
                "created_unix_s": time.time(),
                "payloads": [
                    {"key": e.key, "file": e.file, "size_bytes": e.size_bytes, "sha256": e.sha256}
                    for e in entries
                ],
                "metadata": dict(metadata or {}),
            }
            body["manifest_sha256"] = _sha256(_canonical_json(body))
            atomic_write_bytes(self._manifest_path(generation), _canonical_json(body) + b"\n")
        except Exception as exc:  # serialisation and I/O errors alike: nothing half-committed
            self._remove_generation_files(generation)
            raise CheckpointError(
                f"could not write checkpoint generation {generation} in {self.directory}: {exc}"
            ) from exc
        try:
            info = self.verify(generation)  # read back before anything older is removed
        except CheckpointError:
            self._remove_generation_files(generation)
            raise
        self._prune()
        return info

    def _remove_uncommitted(self) -> None:
        """Delete temp files and payloads that no manifest commits (left by a crash)."""
        committed = set(self._committed_generations())
        for entry in os.listdir(self.directory):
            path = self.directory / entry
            if entry.startswith(_TEMP_PREFIX):
                with contextlib.suppress(OSError):
                    path.unlink()
                continue
            match = _GEN_PATTERN.match(entry)
            if match and int(match.group(1)) not in committed:
                with contextlib.suppress(OSError):
                    path.unlink()

    def _remove_generation_files(self, generation: int) -> None:
        prefix = f"gen-{generation:08d}."
        manifest = self._manifest_path(generation)
        # uncommit first: a crash mid-removal leaves orphans, never a manifest without payloads
        with contextlib.suppress(OSError):
            manifest.unlink()
        for entry in os.listdir(self.directory):
            if entry.startswith(prefix) or (entry.startswith(_TEMP_PREFIX) and prefix in entry):
                with contextlib.suppress(OSError):
                    (self.directory / entry).unlink()

    def _prune(self) -> None:
        committed = self._committed_generations()
        for generation in committed[: max(0, len(committed) - self.keep)]:
            self._remove_generation_files(generation)
        _fsync_directory(self.directory)

    # ------------------------------------------------------------------ verifying / loading
    def _read_manifest(self, generation: int) -> CheckpointInfo:
        path = self._manifest_path(generation)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CheckpointError(f"checkpoint manifest {path} cannot be read: {exc}") from exc
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckpointError(
                f"checkpoint manifest {path} is not valid JSON ({exc}); it is truncated or corrupt"
            ) from exc
        if not isinstance(body, dict) or body.get("format") != MANIFEST_FORMAT:
            raise CheckpointError(
                f"checkpoint manifest {path} is not an orbitlearn checkpoint manifest "
                f"(expected format {MANIFEST_FORMAT!r})"
            )
        expected = body.pop("manifest_sha256", None)
        try:
            actual = _sha256(_canonical_json(body))
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"checkpoint manifest {path} has invalid content: {exc}") from exc
        if expected != actual:
            raise CheckpointError(
                f"checkpoint manifest {path} fails its checksum: expected SHA-256 {expected}, "
                f"actual {actual}"
            )
        if body.get("version") != MANIFEST_VERSION:
            raise CheckpointError(
                f"checkpoint manifest {path} has version {body.get('version')!r}; "
                f"this orbitlearn reads version {MANIFEST_VERSION}"
            )
        try:
            payloads = tuple(
                PayloadEntry(str(p["key"]), str(p["file"]), int(p["size_bytes"]), str(p["sha256"]))
                for p in body["payloads"]
            )
            info = CheckpointInfo(
                generation=int(body["generation"]),
                step=int(body["step"]),
                created_unix_s=float(body["created_unix_s"]),
                manifest_path=path,
                payloads=payloads,
                metadata=dict(body.get("metadata") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"checkpoint manifest {path} lacks field {exc}") from exc
        if info.generation != generation:
            raise CheckpointError(
                f"checkpoint manifest {path} names generation {info.generation}, "
                f"expected {generation}"
            )
        return info

    def _read_payload(self, entry: PayloadEntry) -> bytes:
        path = self.directory / entry.file
        if Path(entry.file).name != entry.file:
            raise CheckpointError(
                f"checkpoint payload name {entry.file!r} is not a plain file name"
            )
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CheckpointError(f"checkpoint payload {path} cannot be read: {exc}") from exc
        if len(data) != entry.size_bytes:
            raise CheckpointError(
                f"checkpoint payload {path} has {len(data)} bytes, expected {entry.size_bytes} "
                "(truncated or overwritten)"
            )
        actual = _sha256(data)
        if actual != entry.sha256:
            raise CheckpointError(
                f"checkpoint payload {path} fails its checksum: expected SHA-256 {entry.sha256}, "
                f"actual {actual}"
            )
        return data

    def verify(self, generation: int) -> CheckpointInfo:
        """Check one generation's manifest and every payload's size and SHA-256.

        Raises:
            CheckpointError: naming the file and, for a checksum failure, the expected and
                actual SHA-256.
        """
        info = self._read_manifest(generation)
        for entry in info.payloads:
            self._read_payload(entry)
        return info

    def load(self, generation: int) -> LoadedCheckpoint:
        """Verify and load one generation.

        Raises:
            CheckpointError: if the manifest or any payload fails verification or cannot be
                deserialised.
        """
        info = self._read_manifest(generation)
        state: dict[str, Any] = {}
        for entry in info.payloads:
            data = self._read_payload(entry)
            try:
                state[entry.key] = torch.load(
                    io.BytesIO(data), map_location="cpu", weights_only=self.weights_only
                )
            except Exception as exc:  # torch raises several unpickling error types
                raise CheckpointError(
                    f"checkpoint payload {self.directory / entry.file} verifies but cannot be "
                    f"loaded: {exc}"
                ) from exc
        return LoadedCheckpoint(state=state, info=info)

    def load_latest(self) -> LoadedCheckpoint | None:
        """Load the newest generation that verifies, falling back to older ones.

        Returns:
            The newest good checkpoint with the errors of any newer generations it skipped, or
            None if the store holds no committed generation at all.

        Raises:
            CheckpointError: if generations exist but none verifies; the message lists each
                generation's problem.
        """
        rejected: list[CheckpointError] = []
        for generation in reversed(self._committed_generations()):
            try:
                loaded = self.load(generation)
            except CheckpointError as exc:
                rejected.append(exc)
                continue
            return LoadedCheckpoint(loaded.state, loaded.info, tuple(rejected))
        if rejected:
            reasons = "\n  ".join(str(e) for e in rejected)
            raise CheckpointError(
                f"no checkpoint in {self.directory} passes verification:\n  {reasons}"
            )
        return None
