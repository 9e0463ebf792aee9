"""Where a smooth function of time is positive: windows from samples, refined to milliseconds.

This is the search shared by ground contacts and inter-satellite links. Each *item* (a
satellite-station pair, a satellite pair, ...) has a visibility function ``F(t)`` in metres,
positive while the item is visible. The caller gives ``F`` sampled on a time grid, a bound on
``|dF/dt|`` per item, and a vectorised evaluator of ``F`` and ``dF/dt`` at any time inside a grid
interval (from interpolated states: no further propagation).

1. A sign change of ``F`` between two samples brackets one edge (the grid is fine enough that
   ``F`` has at most one extremum per interval; callers choose it so).
2. A window that opens and closes between two samples with ``F <= 0`` at both is possible only
   where ``F`` could climb above zero: with ``|dF/dt| <= L``, the largest value inside
   ``[t_k, t_k+1]`` is at most ``(F_k + F_k+1 + L h) / 2``. Where that bound is positive and the
   slope turns from rising to falling (``F'_k >= 0 > F'_k+1``), the maximum is located by a root
   search on ``dF/dt``; if ``F`` is positive there, the interval holds a whole window and the
   maximum splits it into two edge brackets. Gaps inside a window (``F`` dipping below zero
   between two positive samples) are found the same way from the minimum.
3. All edges are refined together by Newton's method kept inside its bracket (the slope comes
   with the value), started from the zero of the cubic Hermite interpolant of the sampled
   ``F`` and ``dF/dt``; hidden extrema by the Illinois variant of regula falsi (Dowell &
   Jarratt, BIT 11, 1971), which needs no second derivative. Both keep the bracket and stop
   at ``tol_s``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: ``fn(idx, t) -> (F, dF/dt)`` for a subset ``idx`` of prepared (item, interval) pairs.
PieceFunction = Callable[[IntArray, FloatArray], tuple[FloatArray, FloatArray]]
#: ``prepare(rows, k) -> fn``: gathers what evaluating items ``rows`` in grid intervals ``k``
#: needs, once, for a root search that evaluates them many times.
Preparer = Callable[[IntArray, IntArray], PieceFunction]

#: ``rate_at_samples(window, j)``: the rate of the maximised quantity for windows ``window`` at
#: grid samples ``j`` (exact sample states, no interpolation).
SampleRate = Callable[[IntArray, IntArray], FloatArray]
#: ``prepare_rate(window, k) -> fn(idx, t) -> (rate, d rate/dt)`` inside grid intervals ``k``.
RatePreparer = Callable[[IntArray, IntArray], PieceFunction]

#: Edge tolerance by default: one millisecond (well under the one second that is asked for).
DEFAULT_TOLERANCE_S = 1e-3
_MAX_ITERATIONS = 80


@dataclass(frozen=True)
class Windows:
    """Windows found: one entry per window, sorted by (item, start)."""

    item: IntArray
    start_unix_s: FloatArray
    end_unix_s: FloatArray
    start_clipped: NDArray[np.bool_]
    end_clipped: NDArray[np.bool_]


def illinois_root(
    fun: Callable[[IntArray, FloatArray], FloatArray],
    a: FloatArray,
    b: FloatArray,
    fa: FloatArray,
    fb: FloatArray,
    tol_s: float,
) -> FloatArray:
    """Roots of ``fun`` bracketed by ``[a, b]``, vectorised over brackets.

    ``fun(idx, t)`` evaluates the function of the brackets ``idx`` at times ``t``. In each
    bracket ``fa > 0`` and ``fb > 0`` must differ (zero counts as not positive). Returns the
    midpoint of a final bracket narrower than ``tol_s``: the point where the function turns
    positive (or stops being so) within ``tol_s / 2``.
    """
    a, b, fa, fb = a.copy(), b.copy(), fa.copy(), fb.copy()
    last_side = np.zeros(a.size, dtype=np.int8)  # -1: a moved last, +1: b moved last
    active = np.flatnonzero(b - a > tol_s)
    for _ in range(_MAX_ITERATIONS):
        if active.size == 0:
            break
        aa, bb, faa, fbb = a[active], b[active], fa[active], fb[active]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = (aa * fbb - bb * faa) / (fbb - faa)
        inside = np.isfinite(x) & (x > aa) & (x < bb)
        x = np.where(inside, x, 0.5 * (aa + bb))
        fx = fun(active, x)
        like_a = (fx > 0) == (faa > 0)
        # Illinois: when the same end moves twice in a row, halve the other end's value so
        # that the next false-position point lands on the other side of the root.
        move_a, move_b = active[like_a], active[~like_a]
        a[move_a], fa[move_a] = x[like_a], fx[like_a]
        b[move_b], fb[move_b] = x[~like_a], fx[~like_a]
        repeat_a = move_a[last_side[move_a] == -1]
        repeat_b = move_b[last_side[move_b] == 1]
        fb[repeat_a] *= 0.5
        fa[repeat_b] *= 0.5
        last_side[move_a] = -1
        last_side[move_b] = 1
        # A value that is not finite (a failed propagation) cannot be bracketed further.
        stuck = ~np.isfinite(fx)
        done = (b[active] - a[active] <= tol_s) | stuck
        active = active[~done]
    return 0.5 * (a + b)


def _false_position(a: FloatArray, b: FloatArray, fa: FloatArray, fb: FloatArray) -> FloatArray:
    """The secant point of each bracket, or its midpoint where that is not strictly inside."""
    with np.errstate(divide="ignore", invalid="ignore"):
        x = (a * fb - b * fa) / (fb - fa)
    return np.where(np.isfinite(x) & (x > a) & (x < b), x, 0.5 * (a + b))


def newton_root(
    fun: Callable[[IntArray, FloatArray], tuple[FloatArray, FloatArray]],
    a: FloatArray,
    b: FloatArray,
    fa: FloatArray,
    fb: FloatArray,
    tol_s: float,
    x0: FloatArray | None = None,
) -> FloatArray:
    """Roots bracketed by ``[a, b]`` by Newton's method kept inside the bracket.

    ``fun(idx, t)`` returns the function and its time derivative for brackets ``idx``. Starts
    from ``x0`` (default: the false-position point); a Newton step that leaves the (shrinking) bracket is replaced
    by the bracket's false-position point, or its midpoint after two such steps in a row (the
    safeguard of ``rtsafe`` in Press et al., *Numerical Recipes*, 3rd ed., sec. 9.4). Stops
    when a step is shorter than ``tol_s / 2`` or the bracket narrower than ``tol_s``.
    """
    a, b, fa, fb = a.copy(), b.copy(), fa.copy(), fb.copy()
    a_positive = fa > 0
    x = _false_position(a, b, fa, fb) if x0 is None else np.clip(x0, a, b)
    fell_back = np.zeros(a.size, dtype=bool)
    active = np.flatnonzero(b - a > tol_s)
    for _ in range(_MAX_ITERATIONS):
        if active.size == 0:
            break
        xa = x[active]
        f, df = fun(active, xa)
        like_a = (f > 0) == a_positive[active]
        aa = np.where(like_a, xa, a[active])
        bb = np.where(like_a, b[active], xa)
        faa = np.where(like_a, f, fa[active])
        fbb = np.where(like_a, fb[active], f)
        a[active], b[active], fa[active], fb[active] = aa, bb, faa, fbb
        with np.errstate(divide="ignore", invalid="ignore"):
            new = xa - f / df
        # A Newton step that leaves the bracket (it overshoots where the function bends away
        # from its tangent) is replaced by the bracket's false-position point, or by its
        # midpoint when the previous step was already such a replacement (regula falsi alone
        # can creep towards a root from one side).
        ok = np.isfinite(new) & (new >= aa) & (new <= bb)
        fallback = np.where(fell_back[active], 0.5 * (aa + bb), _false_position(aa, bb, faa, fbb))
        new = np.where(ok, new, fallback)
        fell_back[active] = ~ok
        x[active] = new
        done = (np.abs(new - xa) < 0.5 * tol_s) | (bb - aa <= tol_s) | ~np.isfinite(f)
        active = active[~done]
    return x


class WindowSearch:
    """Collects edge brackets block by block, then refines them all at once.

    The grid of ``F`` is usually too large to hold at once and is best scanned in blocks that
    fit the CPU cache; the refinement, on the other hand, is cheapest as one vectorised search
    over every edge. Items are identified by global integer ids chosen by the caller.

    Args:
        times_unix_s: the grid, shape ``(n_times,)``, at least two samples.
        prepare: ``prepare(items, k)`` gathers what evaluating ``F`` of ``items`` inside grid
            intervals ``k`` needs and returns ``fn(idx, t) -> (F, dF/dt)`` for the subset
            ``idx`` of those (item, interval) pairs at times ``t``.
        slope_at_samples: ``(items, j) -> dF/dt`` at grid samples ``j`` from the exact sample
            states.
        tol_s: edge tolerance, seconds.
    """

    def __init__(
        self,
        times_unix_s: FloatArray,
        prepare: Preparer,
        slope_at_samples: SampleRate,
        *,
        tol_s: float = DEFAULT_TOLERANCE_S,
    ) -> None:
        self.times = times_unix_s
        self.prepare = prepare
        self.slope_at_samples = slope_at_samples
        self.tol_s = tol_s
        self._edges: list[tuple[IntArray, IntArray, FloatArray, FloatArray, NDArray[np.bool_]]]
        self._edges = []  # (item, k, f_lo, f_hi, is_rise)
        self._turning: list[
            tuple[IntArray, IntArray, FloatArray, FloatArray, NDArray[np.bool_]]
        ] = []  # (item, k, slope at t_k, slope at t_k+1, is a maximum)
        self._open: list[IntArray] = []
        self._close: list[IntArray] = []

    def add_block(self, values: FloatArray, lipschitz: FloatArray | float, items: IntArray) -> None:
        """Scan one block of the grid.

        Args:
            values: ``F`` on the grid, shape ``(n_rows, n_times)``, metres; NaN where it cannot
                be computed (not visible; an edge next to a NaN sample is put on the
                neighbouring finite sample instead of refined).
            lipschitz: a bound on ``|dF/dt|`` per row (shape ``(n_rows,)``) or for all, m/s.
            items: the global id of each row, shape ``(n_rows,)``.
        """
        times = self.times
        positive = values > 0
        # Sign changes between neighbouring samples: one pass over the block, then classify.
        row, k = np.nonzero(positive[:, 1:] != positive[:, :-1])
        is_rise = positive[row, k + 1]
        self._edges.append((items[row], k, values[row, k], values[row, k + 1], is_rise))
        self._open.append(items[np.flatnonzero(positive[:, 0])])
        self._close.append(items[np.flatnonzero(positive[:, -1])])

        # A whole window between two non-positive samples is possible only where F could climb
        # above zero in between, (F_k + F_k+1 + L h) / 2 > 0, and where the slope turns from
        # + to -; a whole gap between two positive samples (a link blocked for a moment), only
        # where F could fall to zero, (L h - F_k - F_k+1) / 2 > 0, and the slope turns - to +.
        bound = np.asarray(lipschitz, dtype=np.float64)
        bound = bound[:, None] if bound.ndim == 1 else bound
        with np.errstate(invalid="ignore"):
            total = values[:, :-1] + values[:, 1:]
            reach = bound * np.diff(times)
            reachable = np.abs(total) < reach  # windows where total <= 0, gaps where > 0
        row, k = np.nonzero(reachable)  # NaN samples compare False: never candidates
        before, after = positive[row, k], positive[row, k + 1]
        peak = ~before & ~after
        keep = peak | (before & after)
        row, k, peak = row[keep], k[keep], peak[keep]
        if row.size == 0:
            return
        d0 = self.slope_at_samples(items[row], k)
        d1 = self.slope_at_samples(items[row], k + 1)
        turning = np.where(peak, (d0 >= 0) & (d1 < 0), (d0 <= 0) & (d1 > 0))
        self._turning.append(
            (items[row[turning]], k[turning], d0[turning], d1[turning], peak[turning])
        )

    def finish(self) -> Windows:
        """Refine every edge and pair them into windows, sorted by item then start."""
        times, tol_s = self.times, self.tol_s
        if not self._edges:
            empty = np.empty(0, dtype=np.int64)
            return _pair_edges(empty, np.empty(0), np.empty(0, bool), empty, empty, 0.0, 0.0)
        item, k, f_lo, f_hi, is_rise = (
            np.concatenate(parts) for parts in zip(*self._edges, strict=True)
        )
        lo, hi = times[k], times[k + 1]
        n_grid_edges = item.size
        peak_item, peak_k, t_peak, f_peak, is_peak = self._hidden_extrema()
        # A window (gap) inside one interval is split by its extremum into a rise (set) bracket
        # and a set (rise) bracket.
        item = np.concatenate([item, peak_item, peak_item])
        k = np.concatenate([k, peak_k, peak_k])
        lo = np.concatenate([lo, times[peak_k], t_peak])
        hi = np.concatenate([hi, t_peak, times[peak_k + 1]])
        f_lo = np.concatenate([f_lo, self._sample(peak_item, peak_k), f_peak])
        f_hi = np.concatenate([f_hi, f_peak, self._sample(peak_item, peak_k + 1)])
        is_rise = np.concatenate([is_rise, is_peak, ~is_peak])
        # Next to a failed (NaN) sample there is nothing to refine: a window opens at the first
        # finite positive sample and closes at the last one.
        edge_t = np.where(is_rise, hi, lo)
        sel = np.flatnonzero(np.isfinite(f_lo) & np.isfinite(f_hi))
        if sel.size:
            guess = _false_position(lo[sel], hi[sel], f_lo[sel], f_hi[sel])
            grid_edges = sel[sel < n_grid_edges]
            guess[: grid_edges.size] = self._cubic_guess(
                item[grid_edges], k[grid_edges], f_lo[grid_edges], f_hi[grid_edges]
            )
            fn = self.prepare(item[sel], k[sel])
            edge_t[sel] = newton_root(fn, lo[sel], hi[sel], f_lo[sel], f_hi[sel], tol_s, guess)
        open_items = np.concatenate(self._open)
        close_items = np.concatenate(self._close)
        return _pair_edges(
            item, edge_t, is_rise, open_items, close_items, float(times[0]), float(times[-1])
        )

    def _cubic_guess(
        self, item: IntArray, k: IntArray, f0: FloatArray, f1: FloatArray
    ) -> FloatArray:
        """Zero of the cubic Hermite interpolant of ``F`` itself on ``[t_k, t_k+1]``.

        Uses the sampled values and slopes only (no interpolated states): a start for Newton's
        method that is usually within a fraction of a second of the edge.
        """
        t0 = self.times[k]
        h = self.times[k + 1] - t0
        m0 = self.slope_at_samples(item, k) * h
        m1 = self.slope_at_samples(item, k + 1) * h
        s = np.clip(f0 / (f0 - f1), 0.0, 1.0)
        for _ in range(4):  # Newton on the scalar cubic, from the secant point
            s2 = s * s
            value = (
                (2 * s2 * s - 3 * s2 + 1) * f0
                + (s2 * s - 2 * s2 + s) * m0
                + (3 * s2 - 2 * s2 * s) * f1
                + (s2 * s - s2) * m1
            )
            slope = (6 * s2 - 6 * s) * (f0 - f1) + (3 * s2 - 4 * s + 1) * m0 + (3 * s2 - 2 * s) * m1
            with np.errstate(divide="ignore", invalid="ignore"):
                s = np.clip(s - value / slope, 0.0, 1.0)
        s = np.where(np.isfinite(s), s, 0.5)
        return t0 + s * h

    def _sample(self, item: IntArray, j: IntArray) -> FloatArray:
        """``F`` at grid samples, by evaluating the pieces at their ends."""
        if item.size == 0:
            return np.empty(0, dtype=np.float64)
        k = np.minimum(j, self.times.size - 2)
        return self.prepare(item, k)(np.arange(item.size), self.times[j])[0]

    def _hidden_extrema(
        self,
    ) -> tuple[IntArray, IntArray, FloatArray, FloatArray, NDArray[np.bool_]]:
        """Windows (and gaps) that begin and end inside one grid interval.

        Returns ``(item, k, t_extremum, F_extremum, is_window)``: a window has ``F > 0`` at its
        maximum, a gap ``F <= 0`` at its minimum.
        """
        if not self._turning:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, np.empty(0), np.empty(0), np.empty(0, dtype=bool)
        item, k, d0, d1, peak = (
            np.concatenate(parts) for parts in zip(*self._turning, strict=True)
        )
        fn = self.prepare(item, k)
        # Find where sign * slope turns positive: -slope at a maximum, +slope at a minimum.
        sign = np.where(peak, -1.0, 1.0)
        t_ext = illinois_root(
            lambda idx, t: sign[idx] * fn(idx, t)[1],
            self.times[k],
            self.times[k + 1],
            sign * d0,
            sign * d1,
            self.tol_s,
        )
        f_ext, _ = fn(np.arange(item.size), t_ext)
        hidden = np.where(peak, f_ext > 0, f_ext <= 0)
        return item[hidden], k[hidden], t_ext[hidden], f_ext[hidden], peak[hidden]


def _pair_edges(
    item: IntArray,
    edge_t: FloatArray,
    is_rise: NDArray[np.bool_],
    open_items: IntArray,
    close_items: IntArray,
    first_t: float,
    last_t: float,
) -> Windows:
    """Windows from rises and sets; per item they alternate in time, so sorting pairs them."""
    n_rise = int(is_rise.sum())
    start_item = np.concatenate([item[is_rise], open_items])
    start_t = np.concatenate([edge_t[is_rise], np.full(open_items.size, first_t)])
    start_clip = np.concatenate([np.zeros(n_rise, bool), np.ones(open_items.size, bool)])
    end_item = np.concatenate([item[~is_rise], close_items])
    end_t = np.concatenate([edge_t[~is_rise], np.full(close_items.size, last_t)])
    end_clip = np.concatenate([np.zeros(item.size - n_rise, bool), np.ones(close_items.size, bool)])
    start_order = np.lexsort((start_t, start_item))
    end_order = np.lexsort((end_t, end_item))
    row = start_item[start_order]
    if start_order.size != end_order.size or not np.array_equal(row, end_item[end_order]):
        raise RuntimeError(  # pragma: no cover - a broken invariant is a bug, not bad input
            f"window search paired {start_order.size} starts with {end_order.size} ends"
        )
    start_sorted = start_t[start_order]
    return Windows(
        item=row.astype(np.int64),
        start_unix_s=start_sorted,
        end_unix_s=np.maximum(end_t[end_order], start_sorted),
        start_clipped=start_clip[start_order],
        end_clipped=end_clip[end_order],
    )


def window_maximum(
    start_unix_s: FloatArray,
    end_unix_s: FloatArray,
    times_unix_s: FloatArray,
    rate_at_samples: SampleRate,
    prepare_rate: RatePreparer,
    tol_s: float,
) -> FloatArray:
    """Time of the maximum, within each window, of a quantity with one maximum per window.

    The rate (anything with the sign of the quantity's time derivative) is evaluated at the
    window's ends and at the grid samples inside it; the first point where it is no longer
    positive brackets the maximum inside one grid interval, where the rate's zero is refined by
    Newton's method in its bracket. A window that starts falling has its maximum at its start;
    one still rising at its end, at its end.

    Returns:
        Times, shape ``(n_windows,)``, within ``tol_s`` of the maximum.
    """
    n = start_unix_s.size
    if n == 0:
        return np.empty(0, dtype=np.float64)
    last = times_unix_s.size - 2
    k_start = np.clip(np.searchsorted(times_unix_s, start_unix_s, side="right") - 1, 0, last)
    k_end = np.clip(np.searchsorted(times_unix_s, end_unix_s, side="right") - 1, 0, last)
    k_end = np.maximum(k_end, k_start)
    # Ragged sequence per window: start, interior samples k_start+1 .. k_end, end.
    n_inner = k_end - k_start
    length = n_inner + 2
    offset = np.concatenate([[0], np.cumsum(length)[:-1]])
    window = np.repeat(np.arange(n), length)
    position = np.arange(window.size) - offset[window]
    inner = (position > 0) & (position < length[window] - 1)
    is_end = position == length[window] - 1

    seq_t = np.where(is_end, end_unix_s[window], start_unix_s[window])
    seq_rate = np.empty(window.size, dtype=np.float64)
    sample_j = k_start[window[inner]] + position[inner]
    seq_t[inner] = times_unix_s[sample_j]
    seq_rate[inner] = rate_at_samples(window[inner], sample_j)
    ends = np.flatnonzero(~inner)
    end_k = np.where(is_end[ends], k_end[window[ends]], k_start[window[ends]])
    ends_fn = prepare_rate(window[ends], end_k)
    seq_rate[ends] = ends_fn(np.arange(ends.size), seq_t[ends])[0]

    big = np.iinfo(np.int64).max
    falling = np.where(seq_rate <= 0, position, big)
    first = np.minimum.reduceat(falling, offset)
    result = np.where(first == 0, start_unix_s, end_unix_s)
    mid = np.flatnonzero((first > 0) & (first < big))
    if mid.size:
        left = offset[mid] + first[mid] - 1
        k = k_start[mid] + first[mid] - 1
        result[mid] = newton_root(
            prepare_rate(mid, k),
            seq_t[left],
            seq_t[left + 1],
            seq_rate[left],
            seq_rate[left + 1],
            tol_s,
        )
    return result
