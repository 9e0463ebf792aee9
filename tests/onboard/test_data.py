"""The data contract: resumable positions for ResumableBatches, DataLoaders and re-iterables."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from orbitlearn.errors import CheckpointError, DataError, InputError
from orbitlearn.onboard import BatchStream, ResumableBatches

from .conftest import dataset


def _draw(stream: BatchStream, n: int) -> list[list[int]]:
    out = []
    for _ in range(n):
        batch = stream.next_batch()
        assert batch is not None
        out.append(batch[1].tolist() if batch[1].dim() else [int(batch[1])])
    return out


def _flat(batches: list[list[int]]) -> list[int]:
    return [i for batch in batches for i in batch]


def _ids(n: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.arange(float(n)).reshape(n, 1), torch.arange(n)


def test_resumable_batches_cover_every_sample_once_per_epoch() -> None:
    x, y = _ids(20)
    data = ResumableBatches(x, y, batch_size=6, seed=3)
    assert len(data) == 4
    stream = BatchStream(data)
    epoch0 = _flat(_draw(stream, 4))
    epoch1 = _flat(_draw(stream, 4))
    assert sorted(epoch0) == sorted(epoch1) == list(range(20))
    assert epoch0 != epoch1  # reshuffled per epoch
    assert len(ResumableBatches(x, y, batch_size=6, drop_last=True)) == 3
    in_order = BatchStream(ResumableBatches(x, y, batch_size=6, shuffle=False))
    assert _flat(_draw(in_order, 1)) == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize("kind", ["resumable", "loader", "loader_generator", "list"])
def test_resume_mid_epoch_continues_identically(kind: str) -> None:
    x, y = _ids(20)

    def make() -> object:
        if kind == "resumable":
            return ResumableBatches(x, y, batch_size=6, seed=1)
        if kind == "loader":
            return DataLoader(TensorDataset(x, y), batch_size=6, shuffle=True)
        if kind == "loader_generator":
            return DataLoader(
                TensorDataset(x, y),
                batch_size=6,
                shuffle=True,
                generator=torch.Generator().manual_seed(4),
            )
        return [(x[i : i + 6], y[i : i + 6]) for i in range(0, 20, 6)]

    torch.manual_seed(11)
    straight = BatchStream(make())
    expected = _draw(straight, 11)  # crosses two epoch boundaries

    torch.manual_seed(11)
    first = BatchStream(make())
    head = _draw(first, 6)
    first.peek()  # a peeked batch is not consumed: the saved position excludes it
    state = first.state_dict()
    rng_after = torch.get_rng_state()
    torch.manual_seed(999)  # the resumed process starts from another random state ...
    resumed = BatchStream(make())
    resumed.load_state_dict(state)
    torch.set_rng_state(rng_after)  # ... and the trainer restores its own stream afterwards
    assert head + _draw(resumed, 5) == expected


def test_one_shot_iterators_end_training_and_cannot_rewind() -> None:
    x, y = _ids(12)
    stream = BatchStream(iter([(x[:6], y[:6]), (x[6:], y[6:])]))
    assert stream.one_shot
    state = stream.state_dict()
    assert len(_draw(stream, 2)) == 2 and stream.next_batch() is None
    with pytest.raises(
        CheckpointError, match="one-shot iterator at batch 2; it cannot move to batch 0"
    ):
        stream.load_state_dict(state)
    stream.load_state_dict(state, rewind_one_shot=False)  # after a reset: keep going


def test_batches_must_be_pairs() -> None:
    x, y = _ids(4)
    stream = BatchStream([(x, y, y)])
    with pytest.raises(DataError) as caught:
        stream.next_batch()
    assert (
        str(caught.value)
        == "Expected each batch to be an (inputs, targets) pair, actual: tuple of length 3"
    )
    with pytest.raises(DataError, match="yielded no batch in a whole pass"):
        BatchStream([]).next_batch()


def test_position_kind_must_match() -> None:
    x, y = dataset()
    state = BatchStream(ResumableBatches(x, y, batch_size=8)).state_dict()
    with pytest.raises(
        CheckpointError, match="for 'resumable' data, but the trainer was given 'iterable' data"
    ):
        BatchStream([(x, y)]).load_state_dict(state)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (
            (torch.zeros(4, 1), torch.zeros(4)),
            {"batch_size": 0},
            "Expected `batch_size` to be an integer >= 1, actual: 0",
        ),
        (
            (torch.zeros(4, 1), torch.zeros(3)),
            {"batch_size": 2},
            "Expected `targets` to be as many samples as inputs (4), actual: '3 samples'",
        ),
        (
            (torch.zeros(0, 1), torch.zeros(0)),
            {"batch_size": 2},
            "Expected `inputs` to be at least one sample, actual: '0 samples'",
        ),
        (
            (5,),
            {"batch_size": 2},
            "Expected `inputs` to be a tensor or a map-style dataset with len(), actual: 'int'",
        ),
    ],
)
def test_resumable_batches_validation(
    args: tuple[object, ...], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(InputError) as caught:
        ResumableBatches(*args, **kwargs)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_map_style_dataset_is_collated() -> None:
    x, y = _ids(10)
    stream = BatchStream(ResumableBatches(TensorDataset(x, y), batch_size=4, shuffle=False))
    batch = stream.next_batch()
    assert batch is not None and batch[0].shape == (4, 1) and batch[1].tolist() == [0, 1, 2, 3]
