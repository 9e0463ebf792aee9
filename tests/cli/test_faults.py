"""``orbitlearn faults campaign``: JSON keys and types, the table, and pinned error messages."""

from __future__ import annotations

import json

import pytest

SMALL = ("--steps", "30", "--trials", "1", "--flips", "20", "--seed", "1")


def test_json_keys_and_types(cli) -> None:
    code, out, err = cli(
        "faults", "campaign", *SMALL, "--targets", "weights,grads,optimizer", "--format", "json"
    )
    assert code == 0, err
    doc = json.loads(out)
    for key in ("policy", "model", "task", "mode", "metric"):
        assert isinstance(doc[key], str)
    for key in ("injected", "changed", "detected", "corrected", "masked", "silent", "unrepaired"):
        assert isinstance(doc[key], int) and doc[key] >= 0
    for key in ("final_metric", "fault_free_metric", "step_overhead_ratio", "max_metric_drop_pp"):
        assert isinstance(doc[key], float)
    assert doc["policy"] == "full" and doc["targets"] == ["weights", "grads", "optimizer"]
    assert set(doc["outcomes"]) == {
        "Masked",
        "ImmediateINFNaN",
        "DelayedINFNaN",
        "SlowDegrade",
        "SharpSlowDegrade",
        "SharpDegrade",
        "LowTestAccuracy",
    }
    assert all(isinstance(v, int) for v in doc["outcomes"].values())
    assert 0.0 <= doc["final_metric"] <= 1.0 and 0.0 <= doc["fault_free_metric"] <= 1.0
    assert doc["step_overhead_ratio"] > 0.0
    assert doc["injected"] == 20 and doc["silent"] == 0 and doc["corrected"] == 20
    assert sum(c["injected"] for k, c in doc["coverage"].items() if "nonfinite" not in k) == 20
    assert len(doc["per_trial"]) == 1 and doc["per_trial"][0]["outcome"] == "Masked"
    assert doc["inputs_untouched"] is True


def test_table(cli) -> None:
    code, out, err = cli("faults", "campaign", *SMALL, "--policy", "none", "--bits", "exponent")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == (
        "mlp on digits, policy none, 1 trials x 30 steps, 20 flips per trial (bits: exponent) "
        "into weights, optimizer"
    )
    assert lines[2].split() == [
        "upsets",
        "injected",
        "changed",
        "detected",
        "corrected",
        "unrepaired",
        "masked",
        "silent",
    ]
    assert lines[3].split()[:2] == ["all", "upsets"]
    assert any(line.startswith("outcomes (He et al., ISCA 2023): ") for line in lines)
    assert any(line.startswith("step time: ") for line in lines)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ("--flips", "-1"),
            "Expected `--flips` to be an integer >= 0, actual: -1",
        ),
        (
            ("--targets", "weights,moments"),
            "Expected `--targets` to be comma-separated names from weights, grads, optimizer, "
            "buffers, activations, inputs, compute, actual: 'moments'",
        ),
        (
            ("--policy", "fulll"),
            "Expected `--policy` to be one of 'none', 'detect', 'standard', 'full', 'dmr', "
            "'tmr', actual: 'fulll'",
        ),
        (
            ("--model", "rnn"),
            "Expected `--model` to be one of 'mlp', 'cnn', actual: 'rnn'",
        ),
        (
            ("--flips", "5", "--acceleration", "1000"),
            "Expected `--flips / --acceleration / --rate-per-bit-day` to be at most one of them "
            "(an exact number of upsets, or a rate), actual: 'flips, acceleration'",
        ),
        (
            ("--bits", "high"),
            "Expected `--bits` to be one of any, sign, exponent, mantissa, sign_exponent, or "
            "comma-separated bit positions in 0..31, actual: 'high'",
        ),
        (
            ("--rate-per-bit-day", "0"),
            "Expected `--rate-per-bit-day` to be a finite number > 0, actual: 0.0",
        ),
        (
            ("--format", "xml"),
            "Expected `--format` to be one of 'table', 'json', actual: 'xml'",
        ),
        (
            ("--threads", "0"),
            "Expected `--threads` to be an integer >= 1, actual: 0",
        ),
    ],
)
def test_bad_options_are_named(cli, argv: tuple[str, ...], message: str) -> None:
    code, out, err = cli("faults", "campaign", *argv)
    assert code == 2
    assert out == ""
    assert err.strip() == f"orbitlearn: error: {message}"
