"""The bedtime check (hub/detect/inactivity/bedtime.py): with a bed mat, not in bed by the latest time
this resident has gone to bed, and nothing since, is asked about then — not at the next morning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.detect.inactivity.bedtime import is_bed
from hub.detect.inactivity.detector import InactivityDetector
from hub.detect.inactivity.history import History
from hub.detect.inactivity.params import Params

T0 = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday, 00:00
H = timedelta(hours=1)
M = timedelta(minutes=1)
QUIET = Params(early_checks_per_day=0)  # the fixed rules alone, no early check


def evenings(det: InactivityDetector, days: int, bed_at: list[timedelta]) -> datetime:
    """Kitchen every 10 min 08:00-20:00, the armchair from 20:00, to bed at bed_at[d] (after midnight
    from 24 h), up at 08:00."""
    for d in range(days):
        base = T0 + timedelta(days=d)
        for minute in range(8 * 60, 20 * 60, 10):
            det.note(base + timedelta(minutes=minute), "M-Kitchen-Pir:ON")
        det.note(base + 20 * H, "P-Living-Seat:ON")
        bed = base + bed_at[d % len(bed_at)]
        det.note(bed - 2 * M, "P-Living-Seat:OFF")
        det.note(bed, "P-Bedroom-Bed:ON")
        det.note(base + timedelta(days=1, hours=8), "P-Bedroom-Bed:OFF")
    return T0 + timedelta(days=days)


def test_bed_mats_are_named_bed() -> None:
    assert is_bed("P-Bedroom-Bed:ON") and is_bed("P-bed-bed:ON")
    assert not is_bed("P-Bedroom-Bed:OFF") and not is_bed("P-Living-Seat:ON") and not is_bed("M-Bedroom-Pir:ON")


def test_not_in_bed_by_the_latest_bedtime_is_asked_then() -> None:
    det = InactivityDetector(QUIET, tz=UTC)
    day = evenings(det, 8, [23 * H, 24 * H, 25 * H])  # to bed at 23:00, 00:00 or 01:00
    assert det.routine.bedtimes.latest(day) == 13 * 60  # 01:00 is 13 h after noon
    det.note(day + 8 * H, "M-Kitchen-Pir:ON")
    det.note(day + 20 * H, "P-Living-Seat:ON")  # sat down at 20:00, and nothing after
    check = det.tick(day + 32 * H)[0]
    assert check.kind == "check" and check.reason == "bedtime" and check.at == day + 25 * H
    assert det.expectation("P-Living-Seat:ON", day + 20 * H)[0] > 5 * 3600  # the limit alone: later


def test_in_bed_early_is_not_asked_and_homes_without_a_bed_mat_never_are() -> None:
    det = InactivityDetector(QUIET, tz=UTC)
    day = evenings(det, 8, [24 * H, 25 * H])
    det.note(day + 8 * H, "M-Kitchen-Pir:ON")
    det.note(day + 21 * H, "P-Bedroom-Bed:ON")  # to bed at 21:00, earlier than ever: the mat says so
    assert det.plan is not None and det.plan.reason != "bedtime"
    plain = InactivityDetector(QUIET, tz=UTC)  # the same evenings on a seat and a PIR, no bed mat
    for d in range(8):
        base = T0 + timedelta(days=d)
        plain.note(base + 8 * H, "M-Kitchen-Pir:ON")
        plain.note(base + 20 * H, "P-Living-Seat:ON")
        plain.note(base + 25 * H, "P-Living-Seat:OFF")
    assert plain.routine.bedtimes.latest(T0 + timedelta(days=8)) is None


def test_a_bathroom_visit_does_not_move_the_night_s_bedtime() -> None:
    det = InactivityDetector(QUIET, tz=UTC)
    base = T0 + timedelta(days=1)
    det.note(base - 9 * H, "M-Kitchen-Pir:ON")  # 15:00 the day before: history begins
    det.note(base + 23 * H, "P-Bedroom-Bed:ON")
    det.note(base + 27 * H, "P-Bedroom-Bed:OFF")  # 03:00, four hours of sleep, then the bathroom
    det.note(base + 27 * H + 5 * M, "M-Bathroom-Pir:ON")
    det.note(base + 27 * H + 10 * M, "P-Bedroom-Bed:ON")
    det.note(base + 32 * H, "P-Bedroom-Bed:OFF")
    assert [off for _, off in det.routine.bedtimes.rows] == [11 * 60]  # 23:00, not 03:10


def test_bedtimes_survive_a_restart(tmp_path: Path) -> None:
    det = InactivityDetector(QUIET, tz=UTC)
    day = evenings(det, 6, [24 * H])
    History(tmp_path).save(det.to_dict())
    again = InactivityDetector(QUIET, tz=UTC)
    data = History(tmp_path).load()
    assert data is not None
    again.load(data)
    assert again.routine.bedtimes.latest(day) == det.routine.bedtimes.latest(day) == 12 * 60
