"""Dagster definitions by area: ingest, analysis, automation.  Assets are thin: they call plain functions."""
