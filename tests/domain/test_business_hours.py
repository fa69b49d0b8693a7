"""Working-time arithmetic across business hours, weekends, holidays and daylight-saving changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from supportdesk.domain.business_hours import ALWAYS, Calendar, CalendarError, from_epoch, to_epoch

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def london(*parts: int) -> float:
    return datetime(*parts, tzinfo=LONDON).timestamp()  # type: ignore[misc]


def hours(seconds: float) -> float:
    return seconds / 3600


def test_working_time_inside_one_day() -> None:
    office = Calendar.from_definition("Europe/London", WEEKDAYS)
    assert hours(office.elapsed(london(2026, 11, 24, 10, 0), london(2026, 11, 24, 12, 30))) == 2.5
    assert hours(office.elapsed(london(2026, 11, 24, 7, 0), london(2026, 11, 24, 20, 0))) == 8


def test_a_weekend_does_not_count() -> None:
    office = Calendar.from_definition("Europe/London", WEEKDAYS)
    friday_late, monday_early = london(2026, 11, 27, 16, 30), london(2026, 11, 30, 9, 45)
    assert office.elapsed(friday_late, monday_early) == 75 * 60
    assert office.add(friday_late, 75 * 60) == monday_early


def test_a_holiday_is_skipped() -> None:
    office = Calendar.from_definition("Europe/London", WEEKDAYS, ["2026-12-25"])
    christmas_eve = london(2026, 12, 24, 16, 0)
    # one hour on Thursday, Friday is a holiday, the weekend is closed: Monday 10:00
    assert office.add(christmas_eve, 2 * 3600) == london(2026, 12, 28, 10, 0)
    assert office.elapsed(christmas_eve, london(2026, 12, 28, 10, 0)) == 2 * 3600


def test_an_instant_outside_hours_starts_at_the_next_opening() -> None:
    office = Calendar.from_definition("Europe/London", WEEKDAYS)
    assert office.add(london(2026, 11, 28, 13, 0), 30 * 60) == london(2026, 11, 30, 9, 30)


def test_split_days_and_a_lunch_break() -> None:
    office = Calendar.from_definition("Europe/London", {"mon": [["13:00", "17:00"], ["08:00", "12:00"]]})
    monday = london(2026, 11, 30, 11, 0)
    assert office.add(monday, 2 * 3600) == london(2026, 11, 30, 14, 0)
    assert office.add(monday, 6 * 3600) == london(2026, 12, 7, 9, 0)


def test_business_hours_follow_the_local_clock_across_spring_forward() -> None:
    office = Calendar.from_definition("America/New_York", WEEKDAYS)
    friday = datetime(2026, 3, 6, 16, 0, tzinfo=NEW_YORK)  # EST, 21:00 UTC
    deadline = from_epoch(office.add(to_epoch(friday), 2 * 3600) or 0)
    # clocks sprang forward on Sunday 8 March: Monday 10:00 is EDT, 14:00 UTC
    assert deadline == datetime(2026, 3, 9, 10, 0, tzinfo=NEW_YORK)
    assert deadline.hour == 14


def test_a_round_the_clock_day_lasts_25_hours_when_summer_time_ends() -> None:
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    always = Calendar.from_definition("Europe/London", {d: [["00:00", "24:00"]] for d in days})
    saturday_noon, sunday_noon = london(2026, 10, 24, 12, 0), london(2026, 10, 25, 12, 0)
    assert hours(always.elapsed(saturday_noon, sunday_noon)) == 25
    assert always.add(saturday_noon, 24 * 3600) == london(2026, 10, 25, 11, 0)
    spring = london(2026, 3, 28, 12, 0)
    assert hours(always.elapsed(spring, london(2026, 3, 29, 12, 0))) == 23


def test_round_the_clock_without_a_calendar_is_wall_time() -> None:
    start = london(2026, 10, 24, 12, 0)
    assert ALWAYS.elapsed(start, start + 90_000) == 90_000
    assert ALWAYS.add(start, 60) == start + 60


@pytest.mark.parametrize(
    ("timezone", "hours_", "holidays", "message"),
    [
        ("Mars/Olympus", WEEKDAYS, [], "not a time zone"),
        ("UTC", {"funday": [["09:00", "17:00"]]}, [], "not a day"),
        ("UTC", {"mon": [["09:00", "25:00"]]}, [], "not a time of day"),
        ("UTC", {"mon": [["17:00", "09:00"]]}, [], "ends before it starts"),
        ("UTC", {"mon": [["09:00", "13:00"], ["12:00", "17:00"]]}, [], "overlap"),
        ("UTC", {"mon": []}, [], "no opening hours"),
        ("UTC", WEEKDAYS, ["2026-02-30"], "not a date"),
    ],
)
def test_bad_calendars_are_refused_with_a_reason(
    timezone: str, hours_: dict[str, object], holidays: list[str], message: str
) -> None:
    with pytest.raises(CalendarError, match=message):
        Calendar.from_definition(timezone, hours_, holidays)  # type: ignore[arg-type]


def test_a_calendar_that_never_opens_again_has_no_deadline() -> None:
    mondays = [(datetime(2026, 11, 30) + timedelta(weeks=w)).date().isoformat() for w in range(600)]
    office = Calendar.from_definition("UTC", {"mon": [["09:00", "10:00"]]}, mondays)
    assert office.add(london(2026, 11, 28, 12, 0), 60) is None
