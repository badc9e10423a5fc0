"""`make bench`: measures fan-out, feed reads, the home page's round trips, HTTP (throughput, failures,
CPU per request, bytes), websockets, discovery and memory against baselines taken in the same run,
beside issue 15's targets where it sets them. `python -m bench --help`; docs/architecture.md,
section Benchmarks, says what each figure and baseline includes."""
