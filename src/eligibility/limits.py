"""Plausible date range, window size and lab age limit shared by profile, rules and CLI checks.

One place so that a profile, a rules file and `--as-of` / `--max-lab-age` are refused
by the same bounds: dates outside them overflow date arithmetic or are typos.
"""

from datetime import date

EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2200, 12, 31)
MAX_WINDOW_DAYS = 365 * 150

DEFAULT_MAX_LAB_AGE_DAYS = 90
"""A lab or vital result older than this before the as-of date does not decide a criterion:
screening asks for current values, and a four-year-old ALT says little about the liver today."""
