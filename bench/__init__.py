"""`make bench`: measures fan-out, feed reads, HTTP, websockets and memory against baselines
taken in the same run. See bench/README.md (`python -m bench --help`)."""
