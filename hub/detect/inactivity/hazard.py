"""Where to ask first: the early check's threshold as a trade between delay and checks.

A gap that starts now after this context will last G (unknown; its distribution is the context's
past gaps at this time of day, shrunk towards a prior like the limit's). An incapacitation may begin
at any moment of it, with the same chance for every minute the resident is at home, and from then on
nothing moves. Asking at x after the gap started:
- someone struck down at e < min(x, G) is found x - e later (plus the wait for an answer);
- a gap longer than x makes the well resident answer a check (cost `check_cost`), after which the
  gap starts again with the full limit: someone struck down in the rest of it (G - x) waits ~`cap`.
Expected over G, per gap: delay(x) = E[x·G - G²/2 ; G < x] + E[x²/2 + cap·(G - x) ; G >= x], and the
threshold is the x in [lo, hi] minimising delay(x) + check_cost · P(G >= x). Where silence is
common (an afternoon in the armchair) asking early buys little and costs checks; where it is
unusual (after the kettle) asking early is cheap. `check_cost` is in delay-seconds × seconds of gap.
"""

from __future__ import annotations

from bisect import bisect_left
from itertools import accumulate

STEP_S = 300.0  # candidate thresholds every 5 min


def weighted(own: list[float], pool: list[float], weight: float,
             kind: list[float] | None = None) -> list[tuple[float, float]]:
    """(gap, weight) pairs: each own gap 1, the prior (the same kind's gaps shrunk towards the pool, as
    in routine.shrunk_quantile) `weight` in all. Sorted by gap."""
    kind = kind or []
    pairs = [(g, 1.0) for g in own]
    if kind:
        pairs += [(g, weight / (len(kind) + weight)) for g in kind]
        pool_w = weight * weight / (len(kind) + weight)
    else:
        pool_w = weight
    if pool:
        pairs += [(g, pool_w / len(pool)) for g in pool]
    return sorted(pairs)


def best_threshold(samples: list[tuple[float, float]], lo: float, hi: float, cap: float,
                   check_cost: float) -> float:
    """The x in [lo, hi] (on a 5-minute grid, and hi itself) minimising the expected delay of an
    incapacitation in this gap plus `check_cost` per expected check; `samples` from `weighted`."""
    if not samples or hi <= lo:
        return max(lo, min(hi, lo))
    gaps = [g for g, _ in samples]
    w = [w for _, w in samples]
    cw = [0.0, *accumulate(w)]
    c1 = [0.0, *accumulate(wi * g for g, wi in samples)]
    c2 = [0.0, *accumulate(wi * g * g for g, wi in samples)]
    total_w, total_1 = cw[-1], c1[-1]
    best_x, best_j = hi, float("inf")
    n = int((hi - lo) // STEP_S)
    for x in [lo + i * STEP_S for i in range(n + 1)] + [hi]:
        k = bisect_left(gaps, x)  # gaps shorter than x end before the question
        w_hi, s1_hi = total_w - cw[k], total_1 - c1[k]
        delay = x * c1[k] - c2[k] / 2 + w_hi * x * x / 2 + cap * (s1_hi - w_hi * x)
        j = (delay + check_cost * w_hi) / total_w
        if j < best_j - 1e-9:
            best_x, best_j = x, j
    return best_x
