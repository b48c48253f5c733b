"""The DuckDB registry: table definitions and the writes that keep it consistent."""
