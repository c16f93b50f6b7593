"""The learned limit's statistic: a tail quantile of this source's gaps shrunk towards a prior (every
gap at this time of day, or the gaps after the same kind of activity), docs/detection.md "The learned
routine"."""

from __future__ import annotations

from bisect import bisect_right


def shrunk_quantile(own: list[float], pool: list[float], risk: float, weight: float,
                    kind: list[float] | None = None, cover_own: bool = True) -> float:
    """Smallest x with P(gap > x) <= risk, P estimated from this source's gaps shrunk towards a prior.

    P_s(>x) = (N_own(>x) + weight * F_prior(>x)) / (n_own + weight): a source seen rarely borrows the
    prior's tail; one seen often with only short gaps earns a short limit. The prior is every gap at
    this time of day (the pool), or, given `kind` (gaps after the same kind of activity), those shrunk
    in turn towards the pool: F_prior(>x) = (N_kind(>x) + weight * F_pool(>x)) / (n_kind + weight).
    Every gap this source has had is covered (x >= its longest): one of them may be routine that is
    simply rare. Lists sorted ascending; pool not empty.
    """
    budget = risk * (len(own) + weight)
    kind = kind or []

    def over(values: list[float], x: float) -> int:
        return len(values) - bisect_right(values, x)

    def ok(x: float) -> bool:
        prior = (over(kind, x) + weight * over(pool, x) / len(pool)) / (len(kind) + weight)
        return over(own, x) + weight * prior <= budget

    floor = own[-1] if own and cover_own else 0.0
    candidates = sorted({floor} | {v for v in own if v > floor} | {v for v in pool if v > floor}
                        | {v for v in kind if v > floor})
    lo, hi = 0, len(candidates) - 1  # the largest candidate always passes: nothing is above it
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(candidates[mid]):
            hi = mid
        else:
            lo = mid + 1
    return candidates[lo]
