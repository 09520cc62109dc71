"""Per-framework implementations of the benchmark workloads (one small file each)."""
