"""Checkpoint store: atomic saves, checksummed manifests, generations, verified loads."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import torch

from orbitlearn.errors import CheckpointError, InputError
from orbitlearn.healing import CheckpointStore
from orbitlearn.healing import checkpoint as checkpoint_module


def _state(value: float) -> dict[str, object]:
    return {
        "model": {"w": torch.full((4,), value), "b": torch.tensor([value])},
        "trainer": {"step": int(value), "rng": torch.get_rng_state(), "name": "x"},
    }


def _files(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


def test_round_trip_and_generations(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path, keep=2)
    assert store.load_latest() is None
    for step in (10, 20, 30):
        info = store.save(_state(step), step=step, metadata={"note": "ok"})
        assert info.step == step
    infos = store.generations()
    assert [i.step for i in infos] == [20, 30]  # keep=2 pruned the oldest
    assert [i.generation for i in infos] == [2, 3]
    loaded = store.load_latest()
    assert loaded is not None and loaded.rejected == ()
    assert loaded.info.step == 30 and loaded.info.metadata == {"note": "ok"}
    assert torch.equal(loaded.state["model"]["w"], torch.full((4,), 30.0))
    assert loaded.state["trainer"]["name"] == "x"
    # one manifest and one file per payload key per generation; no temp files left
    assert _files(tmp_path) == [
        "gen-00000002.manifest.json",
        "gen-00000002.model.pt",
        "gen-00000002.trainer.pt",
        "gen-00000003.manifest.json",
        "gen-00000003.model.pt",
        "gen-00000003.trainer.pt",
    ]


def test_manifest_records_sha256_of_each_payload(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    info = store.save(_state(1), step=1)
    manifest = json.loads(info.manifest_path.read_text())
    for entry in manifest["payloads"]:
        data = (tmp_path / entry["file"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["size_bytes"] == len(data)
    assert len(manifest["manifest_sha256"]) == 64


def test_flipped_byte_in_payload_falls_back_with_clear_message(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    store.save(_state(1), step=1)
    info = store.save(_state(2), step=2)
    payload = tmp_path / info.payloads[0].file
    data = bytearray(payload.read_bytes())
    data[len(data) // 2] ^= 0x10
    payload.write_bytes(bytes(data))
    actual = hashlib.sha256(bytes(data)).hexdigest()

    loaded = store.load_latest()
    assert loaded is not None
    assert loaded.info.step == 1  # the previous good generation
    assert len(loaded.rejected) == 1
    message = str(loaded.rejected[0])
    assert message == (
        f"checkpoint payload {payload} fails its checksum: expected SHA-256 "
        f"{info.payloads[0].sha256}, actual {actual}"
    )
    with pytest.raises(CheckpointError, match="fails its checksum"):
        store.load(2)


def test_truncated_payload_falls_back(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    store.save(_state(1), step=1)
    info = store.save(_state(2), step=2)
    entry = info.payloads[1]
    payload = tmp_path / entry.file
    payload.write_bytes(payload.read_bytes()[:100])
    loaded = store.load_latest()
    assert loaded is not None and loaded.info.step == 1
    assert str(loaded.rejected[0]) == (
        f"checkpoint payload {payload} has 100 bytes, expected {entry.size_bytes} "
        "(truncated or overwritten)"
    )


def test_missing_payload_and_broken_manifests_fall_back(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path, keep=5)
    store.save(_state(1), step=1)
    bad_json = store.save(_state(2), step=2)
    edited = store.save(_state(3), step=3)
    missing = store.save(_state(4), step=4)
    (tmp_path / missing.payloads[0].file).unlink()
    body = json.loads(edited.manifest_path.read_text())
    body["step"] = 99  # edited without updating the manifest checksum
    edited.manifest_path.write_text(json.dumps(body))
    bad_json.manifest_path.write_text(bad_json.manifest_path.read_text()[:40])

    loaded = store.load_latest()
    assert loaded is not None and loaded.info.step == 1
    reasons = [str(e) for e in loaded.rejected]
    assert "cannot be read" in reasons[0] and missing.payloads[0].file in reasons[0]
    assert reasons[1].startswith(f"checkpoint manifest {edited.manifest_path} fails its checksum")
    assert "is not valid JSON" in reasons[2] and "truncated or corrupt" in reasons[2]


def test_all_generations_bad_raises_listing_each(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    for step in (1, 2):
        info = store.save(_state(step), step=step)
        (tmp_path / info.payloads[0].file).write_bytes(b"garbage")
    with pytest.raises(CheckpointError) as caught:
        store.load_latest()
    message = str(caught.value)
    assert message.startswith(f"no checkpoint in {tmp_path} passes verification:")
    assert message.count("has 7 bytes") == 2


def test_crash_between_temp_write_and_rename_keeps_previous(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = CheckpointStore(tmp_path)
    store.save(_state(1), step=1)
    before = _files(tmp_path)

    real_replace = os.replace
    calls = {"n": 0}

    class Crash(BaseException):
        """Stands for the process dying (not an Exception: nothing may catch it)."""

    def dying_replace(src: str, dst: str) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the second payload's rename: first payload renamed, no manifest
            raise Crash
        real_replace(src, dst)

    monkeypatch.setattr(checkpoint_module.os, "replace", dying_replace)
    # leave the temp file behind as a real crash would: make unlink a no-op during the crash
    monkeypatch.setattr(Path, "unlink", lambda self, missing_ok=False: None)
    with pytest.raises(Crash):
        store.save(_state(2), step=2)
    monkeypatch.undo()

    leftovers = sorted(set(_files(tmp_path)) - set(before))
    assert any(name.startswith(".tmp-") for name in leftovers)  # the unrenamed temp file
    assert "gen-00000002.model.pt" in leftovers  # renamed, but never committed
    loaded = store.load_latest()
    assert loaded is not None and loaded.info.step == 1 and loaded.rejected == ()

    # the next save cleans the debris and commits a new generation after it
    info = store.save(_state(3), step=3)
    assert info.generation == 2  # the uncommitted number is reused
    assert not any(name.startswith(".tmp-") for name in _files(tmp_path))
    latest = store.load_latest()
    assert latest is not None and latest.info.step == 3


def test_failed_save_never_costs_the_last_good_generation(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path, keep=1)
    store.save(_state(1), step=1)
    before = _files(tmp_path)
    with pytest.raises(CheckpointError, match="could not write checkpoint generation 2"):
        store.save({"model": {"f": lambda: 0}}, step=2)  # not picklable
    assert _files(tmp_path) == before
    loaded = store.load_latest()
    assert loaded is not None and loaded.info.step == 1


def test_weights_only_refuses_arbitrary_objects(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    store.save({"model": {"w": torch.ones(1)}}, step=1)
    store.save({"model": {"obj": CheckpointInfoLike()}}, step=2)
    loaded = store.load_latest()
    assert loaded is not None and loaded.info.step == 1
    assert "verifies but cannot be loaded" in str(loaded.rejected[0])
    trusting = CheckpointStore(tmp_path, weights_only=False)
    latest = trusting.load_latest()
    assert latest is not None and latest.info.step == 2


class CheckpointInfoLike:
    """A plain object: torch.save pickles it, weights_only loading refuses it."""


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"keep": 0}, "Expected `keep` to be an integer >= 1, actual: 0"),
        ({"keep": 1.5}, "Expected `keep` to be an integer >= 1, actual: 1.5"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as caught:
        CheckpointStore(tmp_path, **kwargs)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_bad_state_keys(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    with pytest.raises(InputError) as caught:
        store.save({"a/b": 1}, step=0)
    assert str(caught.value) == (
        "Expected `state key` to be 1-64 characters from letters, digits, '_' and '-', "
        "actual: 'a/b'"
    )
    with pytest.raises(InputError, match="non-empty mapping"):
        store.save({}, step=0)


def test_directory_that_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("x")
    with pytest.raises(CheckpointError, match="cannot create checkpoint directory"):
        CheckpointStore(path)
