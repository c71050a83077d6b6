"""What operators watch: liveness and readiness probes, Prometheus metrics, request logs,
and the answer a request gets when the database drops its connection (docs/operations.md)."""
