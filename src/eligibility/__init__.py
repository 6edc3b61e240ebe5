"""Screen patients against clinical-trial eligibility criteria with explicit, auditable rules."""

__version__ = "0.1.0"
