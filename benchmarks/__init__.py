"""Speed and memory of the pipeline at registry scale (issue 5).

    python3 -m uv run --frozen python -m benchmarks --sizes 10000 100000 1000000 --out benchmarks/results/latest.json

Each size runs in fresh processes (so peak RSS is per size): the fixtures generator writes
the cohort, ``benchmarks.stages`` times the floor and every stage as the plain functions the
assets call, ``benchmarks.refresh`` times the full refresh through Dagster (what
``gist-registry run`` does).  ``benchmarks.report`` prints the table and the targets.
``benchmarks.bounds`` (run on its own) times what the brief's two written layers cost before any
check, against the ingest target.
"""
