"""``make bench``: throughput and p99 latency of the catalogue pages against a hello-world floor, and a 100k import."""
