"""From a site's drop folder to typed, validated rows: plain functions, no Dagster."""
