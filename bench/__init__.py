"""Benchmarks of the library (outside the package: editing one changes no training-code hash and no
DVC dependency). Run with ``python -m bench {data,train,score,all}`` or ``make bench``."""
