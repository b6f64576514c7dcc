"""eval — measuring Zhiyin: FAQ-set runner, metrics, benchmarks. Never imported by the product."""
