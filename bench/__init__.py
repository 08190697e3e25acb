"""Benchmarks: each module measures ddbkit against its anchors in the same run and prints ratios.

Convention: one line per figure, ``<figure>: ddbkit <value> <unit> | <anchor> <value> <unit> | ratio <x>``,
so ``make bench`` can collect them into docs/performance.md. Never timed assertions in tests.
"""
