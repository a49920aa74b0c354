"""Load benchmarks of real `authsvc serve` processes driven by wrk; run `python -m bench`."""
