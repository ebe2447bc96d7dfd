#!/usr/bin/env python3
"""Golden file of the NYSE (XNYS) trading calendar, taken from the `exchange_calendars` package.

Installs nothing itself. Set up its venv once (versions pinned in requirements-calendar.txt):

    python3.11 -m venv $HOME/.cache/sextant/venv-calendar
    $HOME/.cache/sextant/venv-calendar/bin/pip install -r scripts/golden/requirements-calendar.txt

then, from the repository root:

    $HOME/.cache/sextant/venv-calendar/bin/python scripts/golden/make_calendar_golden.py

Output: crates/sextant-quality/tests/golden/xnys_sessions.txt, a plain-text file for the Rust
calendar tests. Lines starting with `#` are comments (source package and version, date range).
Every other line is one of, sorted by date:

    closed YYYY-MM-DD         a Monday..Friday in the range that is not a session
                              (regular holidays and ad-hoc closures alike)
    early YYYY-MM-DD HH:MM    a session that closes before the regular 16:00; HH:MM is the
                              close in America/New_York local time
    session YYYY-MM-DD        a session on a Saturday or Sunday (none for XNYS in this range;
                              the kind exists so that the file states it rather than assumes it)

Every weekday not listed as `closed` is a regular 09:30-16:00 session unless listed as `early`.
The script fails if the calendar has a late open or a break in the range, since the file has no
line kind for those.

The early closes are derived from `cal.closes` (every session whose local close is not 16:00) and
cross-checked against `cal.early_closes`; the closed days from `cal.sessions` and cross-checked
against the calendar's regular and ad-hoc holidays. The output is deterministic.

Note: exchange_calendars models the exchange's published rules and listed closures; it does not
model every intraday disruption in history (e.g. the shortened sessions after the October 1987
crash are not early closes here).
"""

import argparse
import sys
from datetime import date, timedelta
from pathlib import Path

import exchange_calendars as xcals
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "crates" / "sextant-quality" / "tests" / "golden" / "xnys_sessions.txt"

START = "1980-01-01"
END = "2027-12-31"
REGULAR_OPEN = "09:30"
REGULAR_CLOSE = "16:00"


def weekdays(start: date, end: date):
    d = start
    while d <= end:
        if d.weekday() < 5:
            yield d
        d += timedelta(days=1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()

    # The package's default start is 20 years before today; ask for 1980 explicitly.
    cal = xcals.get_calendar("XNYS", start=START, end=END)
    tz = str(cal.tz)
    assert tz == "America/New_York", tz

    start, end = date.fromisoformat(START), date.fromisoformat(END)
    sessions = [ts.date() for ts in cal.sessions]
    assert sessions[0] >= start and sessions[-1] <= end, (sessions[0], sessions[-1])
    session_set = set(sessions)

    # (a) weekdays that are not sessions
    closed = [d for d in weekdays(start, end) if d not in session_set]
    # sessions on a weekend (expected: none)
    weekend_sessions = [d for d in sessions if d.weekday() >= 5]

    # (b) early closes, from the close times themselves
    closes_local = cal.closes.dt.tz_convert(tz)
    early = []
    for session, close in closes_local.items():
        hm = close.strftime("%H:%M")
        # a close on another calendar day would need a different line format
        assert close.date() == session.date(), (session, close)
        if hm != REGULAR_CLOSE:
            assert hm < REGULAR_CLOSE, (session, hm)
            early.append((session.date(), hm))
    listed_early = {ts.date() for ts in cal.early_closes}
    assert listed_early == {d for d, _ in early}, sorted(listed_early ^ {d for d, _ in early})

    # no line kind for late opens or breaks: refuse rather than drop them silently
    opens_local = cal.opens.dt.tz_convert(tz)
    late = [s.date() for s, o in opens_local.items() if o.strftime("%H:%M") != REGULAR_OPEN]
    assert not late, f"late opens / other opens: {late[:10]}"
    assert len(cal.late_opens) == 0
    assert not cal.has_break

    # cross-check the closed days against the calendar's own holiday lists
    regular = {ts.date() for ts in cal.regular_holidays.holidays(start, end)}
    adhoc = {ts.date() for ts in cal.adhoc_holidays if start <= ts.date() <= end}
    holidays = {d for d in regular | adhoc if d.weekday() < 5}
    assert holidays == set(closed), sorted(holidays ^ set(closed))

    lines = [("closed", d, f"closed {d.isoformat()}") for d in closed]
    lines += [("early", d, f"early {d.isoformat()} {hm}") for d, hm in early]
    lines += [("session", d, f"session {d.isoformat()}") for d in weekend_sessions]
    lines.sort(key=lambda t: (t[1], t[0]))

    header = [
        "# XNYS (New York Stock Exchange) trading calendar golden file.",
        f"# Source: exchange_calendars {xcals.__version__} (PyPI), "
        f'xcals.get_calendar("XNYS", start="{START}", end="{END}"), '
        f"pandas {pd.__version__}.",
        "# Written by scripts/golden/make_calendar_golden.py; do not edit by hand.",
        f"# Range: {START} to {END} inclusive; first session {sessions[0]}, "
        f"last session {sessions[-1]}, {len(sessions)} sessions.",
        f"# Regular session {REGULAR_OPEN}-{REGULAR_CLOSE} {tz}; no late opens or breaks in range.",
        "# Lines: 'closed YYYY-MM-DD' = a Mon-Fri that is not a session (holiday or closure);",
        "#        'early YYYY-MM-DD HH:MM' = session closing early, HH:MM local New York time;",
        "#        'session YYYY-MM-DD' = a session on a Saturday/Sunday.",
        f"# Counts: {len(closed)} closed weekdays, {len(early)} early closes, "
        f"{len(weekend_sessions)} weekend sessions.",
    ]
    text = "\n".join(header + [t[2] for t in lines]) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)

    # Report: the closed weekdays that are not regular holidays (ad-hoc closures).
    print(f"wrote {args.out}: {len(closed)} closed weekdays, {len(early)} early closes, "
          f"{len(weekend_sessions)} weekend sessions, {len(sessions)} sessions")
    print("closed weekdays that are not regular holidays:")
    for d in sorted(set(closed) - regular):
        print(f"  {d} {d.strftime('%a')}")
    print("early closes by time:", pd.Series([hm for _, hm in early]).value_counts().to_dict())
    print("ad-hoc early closes:", [str(ts.date()) for _, idx in cal.special_closes_adhoc
                                   for ts in idx if start <= ts.date() <= end])
    return 0


if __name__ == "__main__":
    sys.exit(main())
