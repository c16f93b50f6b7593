"""Draw a ReportData on one page: blood pressure and glucose against the guideline bands, the daily
rhythm as a heat map (hour x day), night-time getting up and toilet visits, alarms and checks, and the
findings in words. Chinese labels with English beside them, in a CJK font from Debian
(fonts-wqy-microhei or fonts-noto-cjk); without one the labels fall back to English only.

Bands: blood pressure by the Chinese hypertension guideline (2018): 140/90 grade 1, 160/100 grade 2,
180/110 grade 3. Glucose by the Chinese type 2 diabetes guideline (2020): fasting target 4.4-7.0 mmol/L,
below 3.9 low, 10.0 the non-fasting upper line.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from hub.wellbeing.chart.data import ReportData
from hub.wellbeing.norm import MIN_DAYS

log = logging.getLogger(__name__)

CJK_FONTS = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans CJK JP", "Droid Sans Fallback",
             "WenQuanYi Zen Hei", "AR PL UMing CN")


def _setup() -> tuple[Any, bool]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    names = {f.name for f in font_manager.fontManager.ttflist}
    found = next((n for n in CJK_FONTS if n in names), None)
    if found:
        plt.rcParams["font.family"] = ["DejaVu Sans", found]
    else:
        log.warning("no CJK font (apt install fonts-wqy-microhei): report labels in English only")
    plt.rcParams["axes.unicode_minus"] = False
    return plt, found is not None


def label(zh: str, en: str, cjk: bool) -> str:
    return f"{zh} {en}" if cjk else en


def draw(data: ReportData, out: Path) -> None:
    plt, cjk = _setup()
    first = date.fromisoformat(data.first)
    n_days = (date.fromisoformat(data.last) - first).days + 1
    fig = plt.figure(figsize=(8.27, 11.69), dpi=100)
    grid = fig.add_gridspec(5, 1, height_ratios=[1.2, 1.0, 1.4, 0.9, 0.9], hspace=0.55,
                            left=0.1, right=0.93, top=0.91, bottom=0.04)
    fig.suptitle(label("居家养老 健康与生活报告", "Wellbeing report", cjk)
                 + f"\n{data.hub_id}  {data.first} – {data.last}", fontsize=13)
    _bp(fig.add_subplot(grid[0]), data, first, n_days, cjk)
    _glucose(fig.add_subplot(grid[1]), data, first, n_days, cjk)
    _rhythm(fig, fig.add_subplot(grid[2]), data, first, n_days, cjk)
    _nights(fig.add_subplot(grid[3]), data, first, n_days, cjk)
    _findings(fig.add_subplot(grid[4]), data, cjk)
    fig.savefig(out, format=out.suffix.lstrip(".") or "png", metadata=_metadata(out))
    plt.close(fig)


def _metadata(out: Path) -> dict[str, Any]:
    # Fixed metadata: the same data gives the same file (no creation date or software version in it).
    if out.suffix == ".pdf":
        return {"CreationDate": None, "Producer": None, "Creator": None}
    return {"Software": None}


def _x(iso: str, first: date, day_start: str = "00:00") -> float:
    """Days since the period began at `day_start`: the columns are wellbeing days, like the heat map's rows."""
    when = datetime.fromisoformat(iso)
    h, m = (int(v) for v in day_start.split(":"))
    begin = datetime.combine(first, datetime.min.time(), when.tzinfo) + timedelta(hours=h, minutes=m)
    return (when - begin).total_seconds() / 86400


def _days_axis(ax: Any, first: date, n_days: int) -> None:
    step = 1 if n_days <= 10 else 5
    ticks = list(range(0, n_days, step))
    ax.set_xticks([t + 0.5 for t in ticks])
    ax.set_xticklabels([(first + timedelta(days=t)).strftime("%m-%d") for t in ticks], fontsize=8)
    ax.set_xlim(0, n_days)


def _bp(ax: Any, data: ReportData, first: date, n_days: int, cjk: bool) -> None:
    ax.axhspan(140, 160, color="#fde9a9", lw=0)
    ax.axhspan(160, 180, color="#f9c38a", lw=0)
    ax.axhspan(180, 230, color="#f29b8a", lw=0)
    for line in (90, 100, 110):
        ax.axhline(line, color="#999999", lw=0.6, ls="--")
    for y, zh, en in ((150, "1级", "G1"), (170, "2级", "G2"), (200, "3级", "G3")):
        ax.text(1.005, y, zh if cjk else en, transform=ax.get_yaxis_transform(), va="center", fontsize=8)
    if data.bp:
        xs = [_x(t, first, data.day_start) for t, _s, _d in data.bp]
        ax.plot(xs, [s for _t, s, _d in data.bp], "o-", color="#c0392b", ms=4,
                label=label("收缩压", "systolic", cjk))
        ax.plot(xs, [d for _t, _s, d in data.bp], "s-", color="#2c3e50", ms=4,
                label=label("舒张压", "diastolic", cjk))
        ax.legend(loc="upper left", fontsize=8, ncol=2)
    else:
        ax.text(0.5, 0.5, label("本期没有血压读数", "no readings", cjk), transform=ax.transAxes, ha="center")
    ax.set_ylim(50, 230)
    ax.set_title(label("血压 (mmHg)", "blood pressure; bands: grade 1/2/3", cjk), fontsize=10, loc="left")
    _days_axis(ax, first, n_days)


def _glucose(ax: Any, data: ReportData, first: date, n_days: int, cjk: bool) -> None:
    ax.axhspan(4.4, 7.0, color="#d5f5e3", lw=0)
    ax.axhline(3.9, color="#2980b9", lw=0.8, ls="--")
    ax.axhline(10.0, color="#e67e22", lw=0.8, ls="--")
    if data.glucose:
        ax.plot([_x(t, first, data.day_start) for t, _v, _m in data.glucose], [v for _t, v, _m in data.glucose], "o",
                color="#8e44ad", ms=5)
    else:
        ax.text(0.5, 0.5, label("本期没有血糖读数", "no readings", cjk), transform=ax.transAxes, ha="center")
    ax.set_ylim(2, 20)
    ax.set_title(label("血糖 (mmol/L)", "glucose; green: fasting target 4.4-7.0", cjk), fontsize=10, loc="left")
    _days_axis(ax, first, n_days)


def _rhythm(fig: Any, ax: Any, data: ReportData, first: date, n_days: int, cjk: bool) -> None:
    # A day the unit has no summary of, and the hours of a partial day before it was counting, are "no
    # record" (grey), never 0: a blank day must not look like a day she did not move at all.
    grid, order = rhythm_grid(data, first, n_days)
    import matplotlib

    cmap = matplotlib.colormaps["YlGnBu"].copy()
    cmap.set_bad("#d0d0d0")
    top = max([v for row in grid for v in row if v == v] + [1.0])
    image = ax.imshow(grid, aspect="auto", cmap=cmap, vmin=0, vmax=top, extent=(0, 24, n_days, 0),
                      interpolation="nearest")
    ax.set_xticks([i + 0.5 for i in range(0, 24, 3)])
    ax.set_xticklabels([f"{order[i]:02d}" for i in range(0, 24, 3)], fontsize=8)
    step = 1 if n_days <= 10 else 5
    ax.set_yticks([r + 0.5 for r in range(0, n_days, step)])
    ax.set_yticklabels([(first + timedelta(days=r)).strftime("%m-%d") for r in range(0, n_days, step)], fontsize=8)
    ax.set_title(label("每日活动节律 (每小时活动次数；灰色：无记录)", "activity per hour; grey: no record", cjk),
                 fontsize=10, loc="left")
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.01)


def rhythm_grid(data: ReportData, first: date, n_days: int) -> tuple[list[list[float]], list[int]]:
    """Rows: the period's days; columns: hours from the day's start (so a night sits at the right); NaN:
    no record (a day without a summary, the hours of a partial day before the unit was counting)."""
    nan = float("nan")
    grid = [[nan] * 24 for _ in range(n_days)]
    begin = int(data.day_start.split(":")[0])
    order = list(range(begin, 24)) + list(range(0, begin))
    for day in data.days:
        row = (date.fromisoformat(day["date"]) - first).days
        if 0 <= row < n_days:
            hourly = [float(v) for v in day.get("hourly", [0] * 24)]
            grid[row] = [hourly[h] for h in order]
            for col in range(_uncounted_hours(day)):
                grid[row][col] = nan
    return grid, order


def _uncounted_hours(day: dict[str, Any]) -> int:
    """Whole hours at the start of a partial day before the unit was counting (0 for a full day)."""
    try:
        start, since = datetime.fromisoformat(day["from"]), datetime.fromisoformat(day["covered_from"])
    except (KeyError, TypeError, ValueError):
        return 0
    return max(0, min(24, int((since - start).total_seconds() // 3600)))


def _nights(ax: Any, data: ReportData, first: date, n_days: int, cjk: bool) -> None:
    xs, ups, baths, alarms, checks = [], [], [], [], []
    for day in data.days:
        xs.append((date.fromisoformat(day["date"]) - first).days + 0.5)
        ups.append(day.get("night_up", 0))
        baths.append(day.get("night_bathroom", 0))
        alarms.append(day.get("alarms", 0))
        checks.append(day.get("checks", 0) + day.get("checkins_missed", 0))
    ax.bar([x - 0.2 for x in xs], ups, width=0.4, color="#5d6d7e", label=label("夜间起床", "up at night", cjk))
    ax.bar([x + 0.2 for x in xs], baths, width=0.4, color="#48c9b0", label=label("夜间如厕", "night toilet", cjk))
    for x, a, c in zip(xs, alarms, checks, strict=True):
        if a:
            ax.annotate(f"⚠{a}" if cjk else f"A{a}", (x, 0), xytext=(0, 2), textcoords="offset points",
                        ha="center", color="#c0392b", fontsize=8)
        if c:
            ax.annotate(f"?{c}", (x, 0), xytext=(0, 12), textcoords="offset points", ha="center",
                        color="#d68910", fontsize=8)
    ax.set_title(label("夜间起床与如厕 · 报警(⚠) 询问(?)", "nights; alarms, checks", cjk), fontsize=10, loc="left")
    ax.legend(loc="upper left", fontsize=8, ncol=2)
    _days_axis(ax, first, n_days)
    ax.set_ylim(0, max([3, *ups, *baths]) + 2)


def _findings(ax: Any, data: ReportData, cjk: bool) -> None:
    ax.axis("off")
    lines = [f"{d['date'][5:]}  " + (f["zh"] if cjk else f["en"]) for d in data.days for f in d.get("findings", [])]
    partial = sum(1 for d in data.days if d.get("partial"))
    missing = (date.fromisoformat(data.last) - date.fromisoformat(data.first)).days + 1 - len(data.days)
    head = label("与平时相比", "compared with her usual days", cjk)
    if not lines and not data.judged:  # a new unit has no norm yet: nothing was compared, so say so
        lines = [label(f"还不能比较：需要至少 {MIN_DAYS} 个完整的天了解她的日常",
                       f"not compared yet: her usual days need {MIN_DAYS} complete days first", cjk)]
    elif not lines:
        lines = [label("没有明显变化", "nothing unusual", cjk)]
    notes = []
    if partial or missing:
        notes.append(label(f"不完整 {partial} 天，缺 {missing} 天", f"{partial} partial, {missing} missing days", cjk))
    text = "\n".join([head + ":", *lines[-8:], *notes])
    ax.text(0.0, 1.0, text, transform=ax.transAxes, va="top", fontsize=9)
