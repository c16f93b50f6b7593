"""`hub report --days 7|30 --out FILE.png|pdf`: one page of charts from the unit's own data, for a family
visit or the community doctor (hub.wellbeing.chart). Works with the hub stopped or running; matplotlib is
imported by this command only."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.cli.common import add_config_arg, load_config_or_exit

EXIT_USAGE = 2


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="charts of readings, daily rhythm and nights / 健康与生活报告图",
                       description="Blood pressure and glucose against the guideline bands, the daily rhythm as "
                                   "a heat map, nights, alarms and checks, and the findings, on one page. "
                                   "生成近 7 天或 30 天的健康与生活报告。")
    add_config_arg(p)
    p.add_argument("--days", type=int, choices=(7, 30), default=7, help="7 or 30 days / 天数")
    p.add_argument("--out", required=True, metavar="FILE", help="FILE.png or FILE.pdf / 输出文件")
    p.add_argument("--data-out", metavar="FILE.json", help="also write the figures the chart was drawn from")
    p.add_argument("--today", metavar="YYYY-MM-DD", help="report up to the day before this date (default: today)")
    p.set_defaults(func=report)


def report(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix not in (".png", ".pdf"):
        print(f"--out {args.out}: give a file ending in .png or .pdf / 请用 .png 或 .pdf 结尾", file=sys.stderr)
        return EXIT_USAGE
    config = load_config_or_exit(args)
    try:
        zone = ZoneInfo(config["hub"]["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    try:
        today = date.fromisoformat(args.today) if args.today else datetime.now(zone).date()
    except ValueError:
        print(f"--today {args.today!r}: give a date like 2026-12-06", file=sys.stderr)
        return EXIT_USAGE
    from hub.wellbeing.chart.data import collect
    from hub.wellbeing.chart.draw import draw

    h, _, m = str(config["wellbeing"]["day_start"]).partition(":")
    data = collect(config.state_dir, config.hub_id, args.days, today, zone, time(int(h), int(m)))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        draw(data, out)
        if args.data_out:
            Path(args.data_out).write_text(json.dumps(data.as_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    except OSError as exc:
        print(f"could not write the report: {exc} / 无法写入报告", file=sys.stderr)
        return 1
    print(f"{out}: {data.first} – {data.last} · {len(data.days)} 天 days, {len(data.bp)} 次血压 blood pressure and "
          f"{len(data.glucose)} 次血糖 glucose readings")
    if not data.days:
        print(f"  本期还没有每日小结 no daily summary in this period yet: a day is summed up when it ends "
              f"({config['wellbeing']['day_start']}, [wellbeing] day_start); the day in progress is not in a report "
              "(in a demo: hub sim wellbeing close)")
    return 0
