"""OnboardTrainer: budgeted slices, resume identity, resets, state round trips."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from orbitlearn.errors import CheckpointError, DataError, InputError
from orbitlearn.faults import FaultInjector
from orbitlearn.healing import CheckpointStore, bitwise_equal
from orbitlearn.onboard import DeviceProfile, OnboardTrainer

from .conftest import batches, dataset, make_model

SLOW_DEVICE = DeviceProfile(
    "slow", sustained_flop_per_s=1e5, power_w={"train": 4.0, "idle": 1.0}, memory_bytes=1 << 30
)


def _injector(seed: int = 0, **kwargs: Any) -> FaultInjector:
    return FaultInjector(
        ["weights", "optimizer", "grads", "activations"],
        rate_per_bit_s=kwargs.pop("rate_per_bit_s", 3e-5),
        seed=seed,
        **kwargs,
    )


def _trainer(
    *,
    healing: str = "full",
    faults: FaultInjector | None = None,
    store: CheckpointStore | None = None,
    data: Any = None,
    every: int = 0,
    device: Any = SLOW_DEVICE,
) -> OnboardTrainer:
    model = make_model()
    return OnboardTrainer(
        model,
        torch.optim.Adam(model.parameters(), lr=1e-2),
        batches() if data is None else data,
        loss_fn=nn.functional.cross_entropy,
        healing=healing,
        faults=faults,
        device=device,
        checkpoints=store,
        checkpoint_every_steps=every,
        seed=3,
    )


def _same_state(a: OnboardTrainer, b: OnboardTrainer) -> bool:
    sa, sb = a.model.state_dict(), b.model.state_dict()
    if not all(bitwise_equal(sa[k], sb[k]) for k in sa):
        return False
    oa, ob = a.optimizer.state_dict()["state"], b.optimizer.state_dict()["state"]
    return all(bitwise_equal(oa[i][k], ob[i][k]) for i in oa for k in oa[i])


@pytest.mark.parametrize("healing", ["full", "standard", "tmr"])
def test_save_kill_resume_continues_bit_for_bit(tmp_path: Path, healing: str) -> None:
    straight = _trainer(healing=healing, faults=_injector())
    for _ in range(4):  # slices of 10 steps
        straight.train_slice(max_steps=10)
    assert straight.step == 40 and len(straight.faults.events) > 20  # type: ignore[union-attr]

    store = CheckpointStore(tmp_path)
    first = _trainer(healing=healing, faults=_injector(), store=store)
    first.train_slice(max_steps=10)
    first.train_slice(max_steps=10)
    first.save_checkpoint()
    first.train_slice(max_steps=3)  # work after the checkpoint, lost with the process
    del first

    # a new process: fresh model, optimizer, data, injector and trainer objects
    resumed = _trainer(healing=healing, faults=_injector(seed=99), store=store)
    assert resumed.resume()
    assert resumed.step == 20
    resumed.train_slice(max_steps=10)
    resumed.train_slice(max_steps=10)
    assert _same_state(resumed, straight)
    assert resumed.time_s == straight.time_s and resumed.energy_j == straight.energy_j
    assert [e.to_dict() for e in resumed.faults.events] == [  # type: ignore[union-attr]
        e.to_dict()
        for e in straight.faults.events  # type: ignore[union-attr]
    ]
    assert (
        resumed.healing.report.as_dict()["by_detector"]
        == straight.healing.report.as_dict()["by_detector"]
    )


def test_resume_with_a_shuffling_dataloader(tmp_path: Path) -> None:
    x, y = dataset()

    def loader() -> DataLoader[Any]:
        return DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)

    straight = _trainer(healing="standard", data=loader())
    straight.train_slice(max_steps=13)  # crosses the 8-batch epoch
    first = _trainer(healing="standard", data=loader(), store=CheckpointStore(tmp_path))
    first.train_slice(max_steps=6)
    first.save_checkpoint()
    torch.manual_seed(12345)  # the new process's global RNG differs
    resumed = _trainer(healing="standard", data=loader(), store=CheckpointStore(tmp_path))
    assert resumed.resume()
    resumed.train_slice(max_steps=7)
    assert _same_state(resumed, straight)


def test_resets_lose_at_most_one_checkpoint_interval(tmp_path: Path) -> None:
    every = 5
    injector = FaultInjector(["weights"], rate_per_bit_s=0.0, reset_rate_per_s=0.1, seed=4)
    trainer = _trainer(
        healing="standard", faults=injector, store=CheckpointStore(tmp_path), every=every
    )
    step_s = SLOW_DEVICE.seconds_for_flops(trainer.step_flops(*batches().batch(0, 0)).total)
    resets, lost, last_time = 0, [], 0.0
    while trainer.updates < 150 and resets < 50:
        result = trainer.train_slice(max_steps=30)
        assert result.end_time_s >= last_time  # the clock never runs back
        last_time = result.end_time_s
        if result.reset:
            resets += 1
            lost.append(result.lost_steps)
            assert trainer.step % every == 0  # back at a checkpoint (or the start)
            assert result.stop_reason == "reset"
            saved = CheckpointStore(tmp_path).load_latest()
            if saved is not None and saved.info.step == trainer.step:
                assert all(
                    bitwise_equal(v, trainer.model.state_dict()[k])
                    for k, v in saved.state["model"].items()
                )
    assert resets >= 3
    assert max(lost) < every  # at most one checkpoint interval of work
    assert trainer.resets == resets and trainer.lost_steps == sum(lost)
    assert math.isclose(trainer.time_s, last_time) and trainer.time_s > 150 * step_s


def test_reset_without_checkpoints_goes_back_to_the_start() -> None:
    injector = FaultInjector(["weights"], reset_rate_per_s=1e9, seed=0)  # resets at once
    trainer = _trainer(healing="none", faults=injector)
    trainer.train_slice(max_steps=3)
    initial = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    result = trainer.train_slice(max_steps=3)
    assert result.reset and result.steps == 0 and trainer.step == 0
    assert all(torch.equal(initial[k], v) for k, v in trainer.model.state_dict().items())


def test_joule_and_second_budgets_stop_on_time() -> None:
    trainer = _trainer(healing="none")
    flops = trainer.step_flops(*batches().batch(0, 0))
    step_s = flops.total / SLOW_DEVICE.sustained_flop_per_s
    step_j = step_s * 4.0
    result = trainer.train_slice(max_joules=10.5 * step_j)
    assert result.stop_reason == "max_joules" and result.steps == 10
    assert result.joules <= 10.5 * step_j < result.joules + step_j
    assert math.isclose(result.seconds, 10 * step_s) and math.isclose(result.joules, 10 * step_j)
    assert result.flops_per_step == flops.total
    result = trainer.train_slice(max_seconds=3 * step_s, start_time_s=1000.0)
    assert result.stop_reason == "max_seconds" and result.steps == 3
    assert result.start_time_s == 1000.0 and math.isclose(result.end_time_s, 1000.0 + 3 * step_s)
    assert trainer.train_slice(max_joules=0.5 * step_j).steps == 0


def test_recomputes_are_charged() -> None:
    trainer = _trainer(healing="tmr")
    result = trainer.train_slice(max_steps=4)
    step_s = result.flops_per_step / SLOW_DEVICE.sustained_flop_per_s
    assert result.executions == 12 and math.isclose(result.seconds, 12 * step_s)


def test_caller_rng_untouched_and_dropout_reproducible() -> None:
    a = _trainer(healing="none")
    torch.manual_seed(42)
    before = torch.get_rng_state()
    a.train_slice(max_steps=5)
    assert torch.equal(torch.get_rng_state(), before)
    b = _trainer(healing="none")
    torch.manual_seed(7)  # another global state: the trainer's own stream decides dropout
    b.train_slice(max_steps=5)
    assert _same_state(a, b)


def test_data_exhaustion_ends_the_slice() -> None:
    x, y = dataset()
    stream = ((x[i : i + 32], y[i : i + 32]) for i in range(0, 96, 32))
    trainer = _trainer(healing="standard", data=stream)
    result = trainer.train_slice(max_steps=10)
    assert result.steps == 3 and result.stop_reason == "data_exhausted"


def test_bad_batches_raise_a_data_error() -> None:
    x, y = dataset()
    trainer = _trainer(healing="none", data=[(x, y, y)])
    with pytest.raises(DataError, match="pair, actual: tuple of length 3"):
        trainer.train_slice(max_steps=1)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda t: t.train_slice(),
            "Expected `budget` to be at least one of max_steps, max_seconds, max_joules, actual: 'none'",
        ),
        (
            lambda t: t.train_slice(max_steps=1, start_time_s=-1.0),
            "Expected `start_time_s` to be >= the trainer's clock (0.0 s), actual: -1.0",
        ),
        (
            lambda t: t.save_checkpoint(),
            "Expected `checkpoints` to be a CheckpointStore to save checkpoints, actual: None",
        ),
    ],
)
def test_trainer_call_errors(call: Any, message: str) -> None:
    with pytest.raises(InputError) as caught:
        call(_trainer(healing="none"))
    assert str(caught.value) == message


def test_trainer_argument_errors() -> None:
    model = make_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(
        InputError, match=r"Expected `optimizer` to be a torch\.optim\.Optimizer, actual: 'str'"
    ):
        OnboardTrainer(model, "adam", batches(), loss_fn=nn.functional.cross_entropy)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="Expected `checkpoint_every_steps` to be an integer >= 0"):
        OnboardTrainer(
            model, opt, batches(), loss_fn=nn.functional.cross_entropy, checkpoint_every_steps=-1
        )
    tiny = DeviceProfile(
        "tiny", sustained_flop_per_s=1.0, power_w={"train": 1.0, "idle": 1.0}, memory_bytes=1024
    )
    with pytest.raises(InputError) as caught:
        OnboardTrainer(model, opt, batches(), loss_fn=nn.functional.cross_entropy, device=tiny)
    assert str(caught.value).startswith(
        "Expected `model` to be at most the 1024 bytes of memory of device 'tiny'"
    )


def test_loading_a_state_that_does_not_fit(tmp_path: Path) -> None:
    trainer = _trainer(healing="standard")
    trainer.train_slice(max_steps=2)
    state = trainer.state_dict()
    other_model = nn.Sequential(nn.Linear(10, 5), nn.ReLU(), nn.Linear(5, 3))
    other = OnboardTrainer(
        other_model,
        torch.optim.Adam(other_model.parameters()),
        batches(),
        loss_fn=nn.functional.cross_entropy,
        healing="standard",
    )
    with pytest.raises(
        CheckpointError, match="the checkpoint's model state does not fit this model"
    ):
        other.load_state_dict(state)
    with pytest.raises(CheckpointError, match="lacks model, optimizer"):
        other.load_state_dict({"trainer": {}})
    with pytest.raises(CheckpointError, match="healing state does not fit"):
        _trainer(healing="full").load_state_dict(state)
