"""Speed checks behind `make perf` and docs/PERFORMANCE.md."""
