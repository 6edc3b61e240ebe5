"""Plausible ranges shared by every loader: one place, so profiles, rules and flags agree."""

from datetime import date

EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2200, 12, 31)
MAX_WINDOW_DAYS = 365 * 150
