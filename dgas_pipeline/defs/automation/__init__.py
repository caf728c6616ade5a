"""What runs without anyone: the market clock sensor, the watchlist sensor and job, the
schedules, and the reconciliation of runs that could not write their own end."""
