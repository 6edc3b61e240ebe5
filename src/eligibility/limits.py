"""Plausible date range and window size shared by profile, rules and CLI checks.

One place so that a profile, a rules file and `--as-of` / `--max-lab-age` are refused
by the same bounds: dates outside them overflow date arithmetic or are typos.
"""

from datetime import date

EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2200, 12, 31)
MAX_WINDOW_DAYS = 365 * 150
