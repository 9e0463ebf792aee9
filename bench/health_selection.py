"""How the settings of ``bench/health.py`` were chosen, on training data only.

Nothing here reads a test label:

* ``opssat`` - repeated stratified k-fold cross-validation on the 1,594 rows of the official
  OPS-SAT-AD *training* split (the 529 test rows are dropped before anything else;
  :func:`orbitlearn.workloads.evaluate.cross_validate_opssat`). Every candidate sees the same
  folds and model seeds; the candidate with the best mean F1 over the folds is the default of
  :func:`~orbitlearn.workloads.evaluate.evaluate_opssat`.
* ``msl`` - forecast error on the held-out last 20 % (in time) of every channel's *training*
  series (:func:`orbitlearn.workloads.evaluate.validate_telemanom`), and the anomalies the
  detector raises there: the training series are nominal telemetry, so every sequence
  flagged in them is a false alarm; from stage 4 on, detection of anomalies injected into
  that held-out stretch (:mod:`orbitlearn.workloads.synthetic_anomalies`). The test series
  and ``labeled_anomalies.csv``'s sequences are not used.

Usage::

    python bench/health_selection.py --data ../shared/data --sections opssat,msl
        [--stage NAME] [--msl-seeds 0,1] [--format table|json]

Each stage is a named list of candidates (:data:`OPSSAT_STAGES`, :data:`MSL_STAGES`); the
stages were run in order and each one's winner fixed before the next was defined.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from orbitlearn.workloads.settings import TelemanomSettings
from orbitlearn.workloads.synthetic_anomalies import ALL_KINDS

#: OPS-SAT-AD candidates per stage: name -> keyword arguments of cross_validate_opssat.
OPSSAT_STAGES: dict[str, dict[str, dict[str, Any]]] = {
    # 1: inputs, at the previous default model (8 x 64 ensemble, 2,000 steps).
    # Measured: 0.9097, 0.9205, 0.8905, 0.9041 -> standard+channel.
    "inputs": {
        "standard": {"transform": "standard", "channels": False, "sampling": False},
        "standard+channel": {"transform": "standard", "channels": True, "sampling": True},
        "log": {"transform": "log", "channels": False, "sampling": False},
        "log+channel": {"transform": "log", "channels": True, "sampling": True},
    },
    # 2: around the winner of 1 (standard+channel): both input maps, regularisation, steps,
    # ensemble size (12 x 64 members: 97,548 parameters).
    # Measured: 0.9154, 0.9194, 0.9174, 0.9200, 0.9198 -> none beats standard+channel.
    "model": {
        "both+channel": {"transform": "both", "channels": True, "sampling": True},
        "standard+channel dropout 0.3": {"transform": "standard", "dropout": 0.3},
        "standard+channel 1000 steps": {"transform": "standard", "steps": 1000},
        "standard+channel 4000 steps": {"transform": "standard", "steps": 4000},
        "standard+channel 12 members": {"transform": "standard", "members": 12},
    },
    # 3: nothing in 2 beat standard+channel; features measured against the row's own channel.
    # Measured: 0.9160, 0.9188 (AUC-ROC 0.989 against 0.983, F1 lower) -> standard+channel.
    "relative": {
        "relative+channel": {"transform": "relative"},
        "relative+channel dropout 0.3": {"transform": "relative", "dropout": 0.3},
    },
    # 4: still standard+channel; regularisation, batch size, fewer wider or more narrower members.
    # Measured: 0.9180, 0.9199, 0.9157, 0.9187 -> standard+channel stays the default.
    "shape": {
        "weight decay 1e-2": {"transform": "standard", "weight_decay": 1e-2},
        "batch 128": {"transform": "standard", "batch_size": 128},
        "4 members x 96": {"transform": "standard", "members": 4, "hidden": 96},
        "16 members x 40": {"transform": "standard", "members": 16, "hidden": 40},
    },
    # 5: a wider search (run outside this script, see OPSSAT_WIDE_SEARCH) found no single
    # setting above the plateau, but pairs of ensembles reading differently scaled inputs did
    # (standard + nominal: 0.920-0.923 against 0.913 for either alone, 3 x 5 folds). Here the
    # pair is one 8-member model, 4 members per input block (same parameter count).
    # Measured in the stage-5 harness (3 x 5 folds, plain AdamW loop): 0.9135, 0.9133, 0.9186
    # (the weight-decay variant not run there) -> standard+nominal. On the official test split
    # (bench/health.py, after the choice) it did not beat standard: see the report.
    "blocks": {
        "standard": {"transform": "standard"},
        "nominal": {"transform": "nominal"},
        "standard+nominal": {"transform": "standard+nominal"},
        "standard+nominal weight decay 1e-2": {
            "transform": "standard+nominal",
            "weight_decay": 1e-2,
        },
    },
    # 7 (after stage 6, see OPSSAT_STAGE6_SEARCH): more, narrower members within the 100k
    # parameter budget (79,120 and 77,292 parameters; the default 65,032), by the same rule
    # (beat the default's mean F1 on the same folds by >= 0.007, fixed before running;
    # `cross_validate_opssat(..., repeats=3)`). Measured: default 0.9192, 16 x 48 0.9182,
    # 12 x 56 0.9223 -> the default stays. Two threshold ideas were checked outside this
    # script the same way and dropped: flagging the share of a held-out fold's segments equal
    # to the training folds' anomaly rate (plain random 3 x 5 folds, so the rates differ as
    # the test split's does): 0.8804 against 0.9168 at 0.5; and self-training on the
    # held-out fold's unlabelled rows (pseudo-labels at p > 0.9 / < 0.1, or all at 0.5),
    # which gave the default's F1 exactly on the first folds (the model reproduces its own
    # pseudo-labels), so it was stopped.
    "members": {
        "standard+nominal 8 x 64 (default)": {"repeats": 3},
        "16 x 48": {"repeats": 3, "members": 16, "hidden": 48},
        "12 x 56": {"repeats": 3, "members": 12, "hidden": 56},
    },
}

#: Stage 5's wider search: mean F1 of 3 x 5-fold cross-validation on the training rows, every
#: candidate with the same folds and model seeds, the 8 x 64 ensemble trained by a plain AdamW
#: loop (not the onboard trainer) on 16 cores; options outside ``cross_validate_opssat`` (cosine
#: learning rate, input noise, label smoothing, class weights) were tried there. The spread of
#: a mean over 15 folds is about 0.007 (fold standard deviation 0.025-0.03), so everything
#: from 0.905 to 0.918 is one plateau.
OPSSAT_WIDE_SEARCH: dict[str, float] = {
    "standard+channel (default)": 0.9135,
    "cosine 4000 steps, weight decay 1e-2": 0.9176,
    "cosine 4000 steps, dropout 0.2": 0.9173,
    "label smoothing 0.05": 0.9172,
    "batch 128": 0.9168,
    "weight decay 1e-2": 0.9166,
    "nominal (asinh), weight decay 1e-2": 0.9164,
    "12 members": 0.9145,
    "channel-relative": 0.9140,
    "nominal (asinh)": 0.9133,
    "standard + log": 0.9127,
    "dropout 0 / 0.3": 0.9117,
    "3 members x 128": 0.9146,
    "24 members x 32": 0.9132,
    "1000 / 4000 / 6000 steps": 0.9152,
    "nominal (raw z, no asinh)": 0.9110,
    "input noise 0.1": 0.9090,
    "class weight 2 / 3": 0.9061,
    "quantile-normal + standard": 0.9058,
    "log": 0.9026,
    "nominal without channel inputs (the dataset authors' scaling)": 0.9004,
    "previous segment's features added": 0.8998,
    "quantile-normal alone": 0.8936,
    "input noise 0.3": 0.8762,
    "pairs: standard (cosine 4000, wd 1e-2) + nominal (wd 1e-2), 16 members": 0.9223,
    "pairs: standard (batch 128) + nominal (wd 1e-2), 16 members": 0.9227,
    "pairs: standard + channel-relative, 16 members": 0.9171,
}

#: Stage 6 (this session): one more round of single changes, by the same 3 x 5-fold
#: cross-validation on the training rows (plain AdamW loop, the 8 x 64 standard+nominal
#: ensemble, 2,000 steps; harness outside this script). None clears the plateau by more
#: than its spread (about 0.007), so the default is unchanged. The pooled out-of-fold
#: probabilities of the default put the best F1 threshold at 0.5 (0.9195), so no threshold
#: shift either (`cross_validate_opssat(..., repeats=3)`).
OPSSAT_STAGE6_SEARCH: dict[str, float] = {
    "standard+nominal (default)": 0.9186,
    "bagging (Poisson(1) sample weights per member)": 0.9106,
    "mixup (alpha 0.2)": 0.9079,
    "weight averaging over the last 500 steps (SWA)": 0.9209,
    "bagging + weight averaging": 0.9122,
    "k-NN novelty inputs (distances to nominal training rows, log space)": 0.8976,
}

#: Stage 8 (scratch harness /tmp/ops/ple.py through ``cross_validate_opssat(repeats=3)``, the
#: stage-7 protocol; rule fixed before running: beat the default's 0.9192 by >= 0.007 within
#: 100k parameters): piecewise-linear encoding of the 18 features (Gorishniy et al. 2022,
#: "On Embeddings for Numerical Features in Tabular Deep Learning"; quantile bins of the
#: training folds, each bin's fraction clipped to [0, 1]) in place of, or beside, the
#: standardised features. AUC-ROC rose (0.985-0.986 vs 0.9825) but F1 did not clear the bar,
#: so the default is unchanged. Values: mean F1 (parameters).
OPSSAT_STAGE8_PLE: dict[str, tuple[float, int]] = {
    "PLE 4 bins, 8 x 64": (0.8892, 89_096),
    "PLE 6 bins, 8 x 56": (0.8954, 86_472),
    "PLE 8 bins, 8 x 40": (0.8975, 63_688),
    "standard + PLE 3 bins (one block), 8 x 56": (0.9212, 73_928),
}

#: Why selection stopped (diagnostics read from the *test* labels after every choice was made;
#: nothing was chosen from them; scratch scripts outside the repository). Whether the default's
#: test F1 falls short of the FCNN's 0.946 because of its threshold: the best of the thresholds
#: 0.05 .. 0.95 picked on the test labels gives 0.941 / 0.9455 / 0.942 (seeds 0/1/2; 0.931 at
#: 0.5), below 0.946 still; the training folds' pooled best threshold is 0.5
#: (``cross_validate_opssat(repeats=3)``: 0.9195 there). How well cross-validation ranks models
#: for this test set: scikit-learn ExtraTrees (300 trees, the same inputs) scores 0.906 in the
#: stage-7 folds (the default 0.919) but 0.939 on the test split (5 seeds, 0.936-0.945; the
#: default 0.933). How far the test split separates figures: the 95 % bootstrap interval of
#: the default's mean F1 over its 529 segments is 0.898-0.964 (``bench/health.py``), and holds
#: 0.946; 22 % of the resamples reach it. So a model that meets the target on this split
#: could only be told from ours by choosing it on the test labels.
OPSSAT_TEST_DIAGNOSTICS: dict[str, dict[str, float]] = {
    "f1 at the best test-picked threshold": {"seed 0": 0.9412, "seed 1": 0.9455, "seed 2": 0.9422},
    "extra trees, cross-validation and test": {"cv": 0.906, "test": 0.939},
    "default f1 95 % bootstrap interval": {"low": 0.898, "high": 0.964},
}

#: The two finalists of MSL stage 4 (stage 5 reruns them with more injected anomalies).
_CNN_W250_E10: dict[str, Any] = {
    "kind": "cnn",
    "window": 250,
    "hidden": 128,
    "residual": True,
    "command_lags": 8,
    "horizon": 10,
    "error_step": 10,
}
_ABSOLUTE_MLP_W250_E1: dict[str, Any] = {
    "window": 250,
    "hidden": 128,
    "residual": False,
    "command_lags": 8,
    "horizon": 10,
    "error_step": 1,
}

#: The winner of MSL stage 5 with three anomalies of each kind per channel.
_MSL_DEFAULT: dict[str, Any] = {**_ABSOLUTE_MLP_W250_E1, "synthetic_repeats": 3}

#: The winner of MSL stage 7 (the default of ``evaluate_telemanom``), three anomalies per kind.
_MSL_CHOSEN: dict[str, Any] = {**_MSL_DEFAULT, "novelty_window": 1, "members": 3}

#: What every MSL candidate starts from: the settings of the stage-1 baseline (a 64-value
#: window, 64 hidden units, next-value targets, no command rows, one forecaster, no novelty
#: term); each candidate's options replace some of them. (``validate_telemanom`` itself now
#: starts from the chosen default, :class:`~orbitlearn.workloads.settings.TelemanomSettings`.)
MSL_SELECTION_BASE = TelemanomSettings(
    window=64, hidden=64, horizon=1, command_lags=0, members=1, novelty_window=0
)

#: MSL candidates per stage: name -> keyword arguments of validate_telemanom. They are applied
#: to :data:`MSL_SELECTION_BASE`.
MSL_STAGES: dict[str, dict[str, dict[str, Any]]] = {
    # 1: forecaster input window and architecture, 600 steps per channel.
    # Measured nMSE: 2.097, 2.061, 11.81, 3.802, 2.046 -> mlp w250 h128.
    "forecaster": {
        "mlp w64 (previous default)": {"kind": "mlp", "window": 64},
        "mlp w250": {"kind": "mlp", "window": 250},
        "cnn w64": {"kind": "cnn", "window": 64},
        "cnn w250": {"kind": "cnn", "window": 250},
        "mlp w250 h128": {"kind": "mlp", "window": 250, "hidden": 128},
    },
    # 2: the winner of 1 (mlp w250 h128, lowest validation nMSE) with: the change from the
    # last value as target, the command rows of the last 8 steps, telemanom's 10-step targets.
    # Measured nMSE: 0.735, 2.680, 2.583, 0.509 -> residual lags8.
    "inputs": {
        "w250 h128 residual": {"window": 250, "hidden": 128, "residual": True},
        "w250 h128 lags8": {"window": 250, "hidden": 128, "command_lags": 8},
        "w250 h128 horizon10": {"window": 250, "hidden": 128, "horizon": 10},
        "w250 h128 residual lags8": {
            "window": 250,
            "hidden": 128,
            "residual": True,
            "command_lags": 8,
        },
    },
    # 3: around the winner of 2 (residual, lags 8): a shorter window, more command rows, a
    # narrower network, 10-step targets, twice the steps.
    # Measured nMSE: 0.473, 0.540, 0.489, 0.743, 0.453. 1,200 steps is lowest, w64 within 5 %
    # of it with half the training time, the lowest raw MSE and a 186-point shorter blind
    # start of each test series -> w64 h128 residual lags8, 600 steps.
    "around": {
        "w64 h128 residual lags8": {
            "window": 64,
            "hidden": 128,
            "residual": True,
            "command_lags": 8,
        },
        "w250 h128 residual lags16": {
            "window": 250,
            "hidden": 128,
            "residual": True,
            "command_lags": 16,
        },
        "w250 h64 residual lags8": {
            "window": 250,
            "hidden": 64,
            "residual": True,
            "command_lags": 8,
        },
        "w250 h128 residual lags8 horizon10": {
            "window": 250,
            "hidden": 128,
            "residual": True,
            "command_lags": 8,
            "horizon": 10,
        },
        "w250 h128 residual lags8 1200 steps": {
            "window": 250,
            "hidden": 128,
            "residual": True,
            "command_lags": 8,
            "steps": 1200,
        },
    },
    # 4: forecast error says little about detection (the residual forecaster of stage 3 tracks
    # a slow anomaly one step behind it, so its one-step errors stay small). Judged instead by
    # the anomalies injected into each channel's held-out training stretch
    # (synthetic_f0_5; orbitlearn.workloads.synthetic_anomalies), telemanom's published
    # thresholding parameters unchanged. error_step: the errors of the forecast that many
    # values ahead (e10: the tenth).
    # Measured (seed 0, 108 injected; synthetic F0.5, found, clean false alarms):
    # 0.585 29 6 | 0.671 44 11 | 0.676 40 7 | 0.696 44 8 | 0.597 32 8 | 0.707 52 13 |
    # 0.661 46 14. For residual forecasters, errors 10 values ahead beat next-value errors by ~0.1;
    # the two best (cnn w250 e10, absolute mlp w250 e1) are within one or two detections of
    # each other, so stage 5 repeats them with three anomalies of each kind.
    "errors": {
        "mlp w64 h1 e1 (stage 3)": {
            "window": 64,
            "hidden": 128,
            "residual": True,
            "command_lags": 8,
        },
        "mlp w64 h10 e10": {
            "window": 64,
            "hidden": 128,
            "residual": True,
            "command_lags": 8,
            "horizon": 10,
            "error_step": 10,
        },
        "mlp w250 h10 e10": {**_ABSOLUTE_MLP_W250_E1, "residual": True, "error_step": 10},
        "cnn w250 h10 e10": _CNN_W250_E10,
        "cnn w250 h10 e1": {**_CNN_W250_E10, "error_step": 1},
        "absolute mlp w250 h10 e1": _ABSOLUTE_MLP_W250_E1,
        "cnn w64 h10 e10": {
            "kind": "cnn",
            "window": 64,
            "hidden": 128,
            "residual": True,
            "command_lags": 8,
            "horizon": 10,
            "error_step": 10,
        },
    },
    # 5: the two best of stage 4 with three anomalies of each kind per channel (324 injected).
    # Measured (seed 0): 0.747 (132 found, 8 clean false alarms) | 0.770 (149, 12) -> the
    # absolute MLP on 250 values, trained on 10 values ahead, judged on the next value.
    "errors x3": {
        "cnn w250 h10 e10": {**_CNN_W250_E10, "synthetic_repeats": 3},
        "absolute mlp w250 h10 e1": _MSL_DEFAULT,
    },
    # 6: the winner of 5, alone or as the mean forecast of 3 independently trained copies
    # (seeds s, s + 1000, s + 2000), three anomalies of each kind per channel.
    # Measured (seed 0): 0.770 (149 found, 12 clean false alarms) | 0.774 (153, 13; 357,150
    # parameters, 3x the training). Four more detections of 324 are within the noise of this
    # check, so the single model stays the default (a third of the onboard training cost).
    "ensemble": {
        "absolute mlp w250 h10 e1": _MSL_DEFAULT,
        "absolute mlp w250 h10 e1 x3": {**_MSL_DEFAULT, "members": 3},
    },
    # 7: a second view beside the forecast error. The error judged at a point becomes the
    # forecast error plus the distance of the last w values to the nearest w consecutive
    # training values (root-mean-square, units of the values; novelty_distances), so a level
    # or shape the channel never showed in training counts whatever the forecaster makes of
    # it. On the winner of 5 (single model), three anomalies of each kind per channel.
    # Measured (seed 0; synthetic F0.5, found, clean false alarms): default 0.770 149 12 |
    # w1 0.785 157 12 | w8 0.791 157 10 | w32 0.719 122 9 | w8 x2 0.772 147 10 |
    # w8 x0.5 0.785 152 9 | w8 judged 10 ahead 0.759 139 9 | w8 1,200 steps 0.793 158 10.
    # Seed 1: default 0.779 152 11 | w1 0.803 165 11 | w8 0.779 154 12 | w8 1,200 steps
    # 0.784 155 11. Three forecasters (mean forecast, seeds s, s + 1000, s + 2000): w8 seed 0
    # 0.794 155 8; w1 seed 0 0.798 164 12, seed 1 0.807 166 10.
    # Rule fixed before any test figure of a candidate was seen: the highest mean synthetic
    # F0.5 over seeds 0 and 1 replaces the default if it beats it by at least 0.01.
    # Means: default 0.774, w1 0.794, w8 0.785, w8 1,200 steps 0.789, w1 x3 0.803 -> w1 x3
    # (the default of evaluate_telemanom: novelty_window 1, members 3). Every difference here
    # is a few detections of 324 per seed; the rule, not the margin, decided.
    # On the test split, run once after the choice (bench/health.py, seeds 0-2): precision
    # 0.829, recall 0.491, F0.5 0.728 (0.742 / 0.708 / 0.733) against 0.744 (0.833 / 0.685 /
    # 0.714) for the previous default: no gain in the mean, a quarter of the seed spread.
    # The synthetic anomalies (level shifts, spikes, noise, freezes of a quarter of the
    # range) reward a level-novelty term more than MSL's labelled anomalies do.
    "novelty": {
        "absolute mlp w250 h10 e1": {**_MSL_DEFAULT},
        "+ novelty w1": {**_MSL_DEFAULT, "novelty_window": 1},
        "+ novelty w8": {**_MSL_DEFAULT, "novelty_window": 8},
        "+ novelty w32": {**_MSL_DEFAULT, "novelty_window": 32},
        "+ novelty w8 x2": {**_MSL_DEFAULT, "novelty_window": 8, "novelty_weight": 2.0},
        "+ novelty w8 x0.5": {**_MSL_DEFAULT, "novelty_window": 8, "novelty_weight": 0.5},
        "+ novelty w8 e10": {**_MSL_DEFAULT, "novelty_window": 8, "error_step": 10},
        "+ novelty w8 1200 steps": {**_MSL_DEFAULT, "novelty_window": 8, "steps": 1200},
        "+ novelty w8 x3": {**_MSL_DEFAULT, "novelty_window": 8, "members": 3},
        "+ novelty w1 x3": _MSL_CHOSEN,
    },
    # 8: beside the level novelty, the novelty of each step (the change from the previous
    # value against the nearest step of the training values): a jump of a size the channel
    # never made. Same rule as 7, fixed before running. Measured (synthetic F0.5, found,
    # clean false alarms): default seed 0 0.798 164 12, seed 1 0.807 166 10 (mean 0.803, as
    # in 7); + step novelty (weight 1) seed 0 0.791 160 12, seed 1 0.802 163 10 (mean 0.796)
    # -> the default stays; the test split was not run.
    "step novelty": {
        "default (novelty w1 x3)": _MSL_CHOSEN,
        "+ step novelty x1": {**_MSL_CHOSEN, "step_novelty_weight": 1.0},
    },
    # 9: the synthetic check did not predict the labelled anomalies well (stage 7), and its
    # kinds move the values by a quarter of the range, which favours a level-novelty term.
    # Here it also injects contextual kinds that stay inside the channel's known range
    # (subtle shift, warp, transplant, reverse; 8 kinds x 3 = 648 injected per seed). Same
    # rule as 7, fixed before running. Measured (synthetic F0.5, found, clean false alarms):
    # default seed 0 0.772 281 12, seed 1 0.762 269 10 (mean 0.767); without the novelty
    # term 0.741 255 13, 0.717 233 11 (0.729); novelty w8 0.767 270 8, 0.757 261 8 (0.762)
    # -> the default stays, test split not run. The level-novelty term helps on the in-range
    # kinds too (subtle 35 vs 30, transplant 27 vs 22 found on seed 0).
    "contextual": {
        "default (novelty w1 x3)": {**_MSL_CHOSEN, "synthetic_kinds": ALL_KINDS},
        "no novelty x3": {**_MSL_CHOSEN, "novelty_window": 0, "synthetic_kinds": ALL_KINDS},
        "novelty w8 x3": {**_MSL_CHOSEN, "novelty_window": 8, "synthetic_kinds": ALL_KINDS},
    },
}


#: A recurrent forecaster (telemanom's two LSTM layers of 80 units over the 250 values, with
#: the default's command inputs, novelty term and training; one model per channel), trained
#: on a GPU (``validate_telemanom`` / ``evaluate_telemanom`` with ``torch_device="cuda"``,
#: H100, the five runs in parallel, ~320 s each; script outside the repository). It costs
#: 135,370 parameters and 7.4 GFLOPs per training step (the default's three MLPs: 357,150
#: and 0.098 GFLOPs), 0.26 s per step on one core here (~70 min per seed on a CPU).
#: Synthetic check with one anomaly of each kind per channel (108 injected; the stages above
#: used three, so these figures do not enter their rule): seed 0 0.765 (60 found, 11 clean
#: false alarms), seed 1 0.773 (60, 10); the default on the same check (CPU, here): 0.737
#: (56, 12), 0.758 (57, 10). Test split (event-wise, seeds 0/1/2): tp 18/21/17, fp 5/4/5,
#: F0.5 0.703 / 0.772 / 0.685 (mean 0.720; the default 0.728). Not adopted as the default:
#: its +0.02 on the synthetic check was not a stage-7 comparison (one anomaly per kind), the
#: test figure was already seen and is no better, and the default must train on a CPU (the
#: LSTM ~70 min per seed). It stays an option (``kind="lstm"``, ``torch_device="cuda"``).
#: Once more the synthetic check's ordering did not carry over to the labelled anomalies.
MSL_LSTM_GPU_TRIAL: dict[str, dict[str, float]] = {
    "synthetic_f0_5 (x1)": {"seed 0": 0.765, "seed 1": 0.773},
    "default synthetic_f0_5 (x1)": {"seed 0": 0.737, "seed 1": 0.758},
    "test_f0_5": {"seed 0": 0.703, "seed 1": 0.772, "seed 2": 0.685},
}


#: telemanom reproduced (:mod:`orbitlearn.workloads.telemanom_baseline`: its forecaster and
#: training loop from its published configuration, judged by our detection and scoring), MSL
#: test F0.5 per seed, H100. These are baselines, not candidates: nothing was chosen from
#: them. "all columns" is telemanom; "value only" drops the 54 command columns (an ablation).
#: The first and third rows come from a scratch copy of the same model and loop (5 seeds in
#: parallel, ~150 s each); the second from ``bench/health.py --sections msl --msl-seeds S
#: --telemanom-baseline cuda`` (the committed module), beside ours in the same processes
#: (ours: 0.742 / 0.708 / 0.733). Every variant lands at 0.69-0.73, as ours does; none near
#: the published 0.868 (precision 0.926): all columns raise recall (0.58-0.60 vs 0.51) and cost
#: more precision (0.72-0.76 vs 0.82).
MSL_TELEMANOM_REPRODUCTION: dict[str, dict[str, float]] = {
    "all columns, scratch copy": {
        "seed 0": 0.691,
        "seed 1": 0.673,
        "seed 2": 0.641,
        "seed 3": 0.694,
        "seed 4": 0.724,
    },
    "all columns, bench/health.py": {"seed 0": 0.714, "seed 1": 0.714, "seed 2": 0.729},
    "all columns + our novelty term, scratch copy": {
        "seed 0": 0.743,
        "seed 1": 0.673,
        "seed 2": 0.676,
        "seed 3": 0.703,
        "seed 4": 0.772,
    },
    "value only, scratch copy": {
        "seed 0": 0.759,
        "seed 1": 0.703,
        "seed 2": 0.781,
        "seed 3": 0.682,
        "seed 4": 0.703,
    },
}


#: MSL stage 10 (scratch harness /tmp/ops/stage10.py: ``validate_telemanom`` on channels cut to
#: their value column, the stage-9 protocol: all eight kinds x 3 per channel, seeds 0 and 1;
#: rule fixed before running: beat the default's stage-9 mean 0.767 by >= 0.01, only then run
#: the test split): the default forecaster without the 54 command columns (149,790 parameters).
#: The candidate came from the value-only ablation of the telemanom reproduction above, whose
#: test figure was seen, so it is a test-informed candidate; the rule rejected it anyway
#: (mean synthetic F0.5 0.744: it found fewer injected anomalies, 254 / 254 vs 281 / 269 of
#: 648, with as many clean false alarms, 11 / 10 vs 12 / 10), so the test split was not run
#: and the default is unchanged.
MSL_STAGE10_VALUE_ONLY: dict[str, dict[str, float]] = {
    "synthetic_f0_5": {"seed 0": 0.744, "seed 1": 0.745},
    "default synthetic_f0_5 (stage 9)": {"seed 0": 0.772, "seed 1": 0.762},
}


def opssat_stage(data: Path, stage: str) -> dict[str, Any]:
    from orbitlearn.workloads.evaluate import cross_validate_opssat

    return {
        name: cross_validate_opssat(data / "opssat", **options)
        for name, options in OPSSAT_STAGES[stage].items()
    }


def msl_stage(data: Path, stage: str, seeds: tuple[int, ...] = (0,)) -> dict[str, Any]:
    """Each candidate of ``stage`` validated with each seed (named ``"<candidate> / seed s"``
    when there are several)."""
    from orbitlearn.workloads.evaluate import validate_telemanom

    out = {}
    for name, options in MSL_STAGES[stage].items():
        for seed in seeds:
            key = name if len(seeds) == 1 else f"{name} / seed {seed}"
            out[key] = validate_telemanom(
                data / "msl", seed=seed, settings=MSL_SELECTION_BASE, **options
            )
    return out


def render(section: str, stage: str, results: dict[str, Any]) -> str:
    lines = [f"{section} / {stage}"]
    if section == "opssat":
        lines.append(
            f"  {'candidate':<28} {'F1 mean':>8} {'sd':>6} {'AUC':>6} {'best t':>6} {'F1@t':>6} {'s':>6}"
        )
        for name, r in results.items():
            lines.append(
                f"  {name:<28} {r['f1']:>8.4f} {r['f1_std']:>6.3f} {r['auc_roc']:>6.4f} "
                f"{r['best_threshold']:>6.2f} {r['f1_at_best_threshold']:>6.4f} {r['seconds']:>6.0f}"
            )
    else:
        lines.append(
            f"  {'candidate':<28} {'val nMSE':>9} {'false alarms':>12} {'synth F0.5':>10} "
            f"{'found':>9} {'clean FA':>8} {'params':>7} {'s':>6}"
        )
        for name, r in results.items():
            found = f"{r['synthetic_found']}/{r['synthetic_injected']}"
            lines.append(
                f"  {name:<28} {r['normalised_mse']:>9.4f} {r['false_alarms']:>12} "
                f"{r['synthetic_f0_5']:>10.3f} {found:>9} {r['synthetic_false_alarms']:>8} "
                f"{r['params']:>7} {r['seconds']:>6.0f}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--sections", default="opssat,msl")
    parser.add_argument("--stage", default=None, help="one stage (default: all, in order)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--msl-seeds", default="0", help="model seeds of the MSL stages")
    args = parser.parse_args(argv)
    msl_seeds = tuple(int(s) for s in args.msl_seeds.split(","))
    out: dict[str, Any] = {}
    started = time.perf_counter()
    for section in [s.strip() for s in args.sections.split(",") if s.strip()]:
        stages = OPSSAT_STAGES if section == "opssat" else MSL_STAGES
        for stage in [args.stage] if args.stage else list(stages):
            if stage not in stages:
                continue
            results = (
                opssat_stage(args.data, stage)
                if section == "opssat"
                else msl_stage(args.data, stage, msl_seeds)
            )
            out[f"{section}/{stage}"] = results
            if args.format == "table":
                print(render(section, stage, results), flush=True)
    out["wall_seconds"] = time.perf_counter() - started
    if args.format == "json":
        print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
