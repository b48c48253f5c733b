"""Runtime configuration, read from environment variables with documented defaults.

Every variable is listed in the README.  Paths are resolved against the working
directory so the quick start works from a fresh clone.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

DEMO_KEY = "gist-registry-demo-key-not-secret"
MIN_KEY_BYTES = 32  # an HMAC key of at least 256 bits, e.g. `openssl rand -hex 32`
BUNDLED_DROPS = Path(__file__).resolve().parent.parent / "fixtures" / "sample_drops"  # the only data --demo may load
QUALITY_THRESHOLDS = Path(__file__).resolve().parent.parent / "quality_thresholds.yaml"  # the asset checks' thresholds


class ConfigurationError(RuntimeError):
    """Raised when the environment does not allow a safe run."""


@dataclass(frozen=True)
class Settings:
    drop_dir: Path
    profiles_dir: Path
    duckdb_path: Path
    archive_dir: Path
    output_dir: Path
    data_cutoff: dt.date | None
    min_cell_count: int
    pseudonym_key: bytes
    demo: bool
    publish_dir: Path = Path("data/published")  # the read-only copy for analysts (pipelines/publish.py)
    duckdb_memory_limit: str = "1GB"  # DuckDB's buffer pool; beyond it DuckDB spills to disk instead of growing
    lock_timeout_seconds: float = 120.0  # how long a second writer waits for the registry file before it gives up
    analyst_dates: str = "shift"  # the analyst tier's dates: shifted per patient, or coarsened to 'month' / 'year' (pipelines/publish.py)
    analyst_date_shift_days: int = (
        182  # with 'shift': each patient's dates move by the same 1..N days, earlier or later
    )
    quality_thresholds: Path = QUALITY_THRESHOLDS  # per check and site: the failing share that blocks a refresh

    @property
    def duckdb_config(self) -> dict[str, str]:
        """Configuration of every connection to the registry file.

        jemalloc's background threads return freed memory to the system as it decays, rather than
        when DuckDB next allocates: reading an analysis frame of a million subjects peaks ~0.14 GB
        lower and holds ~0.18 GB less afterwards (benchmarks, docs/scaling.md).

        No vacuum tasks: at each checkpoint DuckDB would merge the partly filled row groups a site's
        insert leaves behind with the next site's, rewriting every row group after them (~5 s of the
        ingest at 1M patients, for a handful of fuller row groups).  The row groups a replaced drop
        empties are still dropped whole; only rows deleted from a row group shared with rows that stay
        remain as tombstones until that row group empties too.
        """
        return {
            "memory_limit": self.duckdb_memory_limit,
            "allocator_background_threads": "true",
            "max_vacuum_tasks": "0",
        }

    @property
    def plots_dir(self) -> Path:
        return self.output_dir / "plots"

    @property
    def report_path(self) -> Path:
        return self.output_dir / "report.html"


def _env_path(name: str, default: str) -> Path:
    return Path(os.environ.get(name, default)).expanduser().resolve()


def _pseudonym_key(demo: bool) -> bytes:
    """The secret key: long enough to resist guessing, never the public demo key outside the demo."""
    key_file = os.environ.get("GIST_PSEUDONYM_KEY_FILE")
    if key_file:
        try:
            key = Path(key_file).expanduser().read_bytes().strip()
        except OSError as err:
            raise ConfigurationError(
                f"GIST_PSEUDONYM_KEY_FILE={key_file}: cannot read the key file ({err.strerror})"
            ) from err
        source = f"GIST_PSEUDONYM_KEY_FILE ({key_file})"
    else:
        key, source = os.environ.get("GIST_PSEUDONYM_KEY", "").encode(), "GIST_PSEUDONYM_KEY"
    if not key:
        if demo:
            return DEMO_KEY.encode()
        raise ConfigurationError(
            "No pseudonymisation key: set GIST_PSEUDONYM_KEY or GIST_PSEUDONYM_KEY_FILE "
            "(or run the bundled demo with GIST_DEMO=1, which uses a public demo key)."
        )
    if key == DEMO_KEY.encode() and not demo:
        raise ConfigurationError(
            f"{source}: that is the public demo key; real data needs a secret key (`openssl rand -hex 32`)"
        )
    if len(key) < MIN_KEY_BYTES:
        raise ConfigurationError(
            f"{source}: the key has {len(key)} bytes; a pseudonymisation key needs at least "
            f"{MIN_KEY_BYTES} (e.g. `openssl rand -hex 32`), or anyone could guess it and re-identify ids"
        )
    return key


def _env_number(name: str, default: float, parse: type, minimum: float, meaning: str) -> float:
    """``name`` read as ``parse`` (int or float), at least ``minimum``; the variable named when it is not."""
    text = os.environ.get(name, str(default)).strip()
    try:
        value = parse(text)
    except ValueError:
        kind = "a whole number" if parse is int else "a number"
        raise ConfigurationError(f"{name}={text!r}: not {kind} ({meaning})") from None
    if not value >= minimum:
        raise ConfigurationError(f"{name}={text}: must be at least {minimum} ({meaning})")
    return value


def _cutoff() -> dt.date | None:
    text = os.environ.get("GIST_DATA_CUTOFF", "").strip()
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        raise ConfigurationError(f"GIST_DATA_CUTOFF={text!r}: not an ISO date (YYYY-MM-DD)") from None


def _drop_dir(demo: bool) -> Path:
    drop_dir = _env_path("GIST_DROP_DIR", str(BUNDLED_DROPS))
    if demo and drop_dir != BUNDLED_DROPS:
        raise ConfigurationError(
            f"GIST_DEMO=1 (--demo) only runs on the bundled sample drops ({BUNDLED_DROPS}), not on "
            f"GIST_DROP_DIR={drop_dir}: the public demo key must never pseudonymise real patients"
        )
    return drop_dir


ANALYST_DATE_MODES = ("shift", "month", "year")
MAX_DATE_SHIFT_DAYS = 3650


def _analyst_dates() -> tuple[str, int]:
    """GIST_ANALYST_DATES and GIST_ANALYST_DATE_SHIFT_DAYS, checked (how the analyst tier protects dates)."""
    mode = os.environ.get("GIST_ANALYST_DATES", "shift").strip().lower()
    if mode not in ANALYST_DATE_MODES:
        raise ConfigurationError(f"GIST_ANALYST_DATES must be one of {', '.join(ANALYST_DATE_MODES)}, not {mode!r}.")
    days = os.environ.get("GIST_ANALYST_DATE_SHIFT_DAYS", "182").strip()
    if not days.isdigit() or not 1 <= int(days) <= MAX_DATE_SHIFT_DAYS:
        raise ConfigurationError(
            f"GIST_ANALYST_DATE_SHIFT_DAYS must be a whole number of days from 1 to {MAX_DATE_SHIFT_DAYS}, not {days!r}."
        )
    return mode, int(days)


def load_settings(*, with_key: bool = True) -> Settings:
    """Read and check the configuration from the environment (see README, 'Configuration'); a bad value names its variable.

    ``with_key=False`` leaves the pseudonymisation key out (empty): what loading the Dagster code location
    needs, so it loads without a secret; every run step that needs the key reads the settings again.
    """
    demo = os.environ.get("GIST_DEMO", "0").lower() in {"1", "true", "yes"}
    analyst_dates, analyst_date_shift_days = _analyst_dates()
    return Settings(
        drop_dir=_drop_dir(demo),
        profiles_dir=_env_path("GIST_PROFILES_DIR", "fixtures/profiles"),
        duckdb_path=_env_path("GIST_DUCKDB_PATH", "data/gist_registry.duckdb"),
        archive_dir=_env_path("GIST_ARCHIVE_DIR", "data/archive"),
        output_dir=_env_path("GIST_OUTPUT_DIR", "data/outputs"),
        data_cutoff=_cutoff(),
        min_cell_count=_env_number("GIST_MIN_CELL_COUNT", 5, int, 2, "published counts below it are suppressed"),
        pseudonym_key=_pseudonym_key(demo) if with_key else b"",
        demo=demo,
        publish_dir=_env_path("GIST_PUBLISH_DIR", "data/published"),
        quality_thresholds=_env_path("GIST_QUALITY_THRESHOLDS", str(QUALITY_THRESHOLDS)),
        duckdb_memory_limit=os.environ.get("GIST_DUCKDB_MEMORY_LIMIT", "1GB"),
        lock_timeout_seconds=_env_number(
            "GIST_LOCK_TIMEOUT_SECONDS", 120.0, float, 0, "seconds a second writer waits for the registry"
        ),
        analyst_dates=analyst_dates,
        analyst_date_shift_days=analyst_date_shift_days,
    )
