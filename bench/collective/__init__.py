"""The exchange's case, measured: three labs, one distillation campaign kept under every
lab's own thresholds, detected with and without pooling through the exchange
(docs/collective-detection.md). Run it with ``python -m bench.collective``."""
