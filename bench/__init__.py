"""metatrace benchmarks: `python -m bench [--quick] [NAME ...]` (see `python -m bench --help`).

Every benchmark runs what it compares in one process, interleaved round by round, and reports
medians of per-round ratios next to absolute figures.
"""
