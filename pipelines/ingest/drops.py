"""Site drops: the files a site sent, identified by their content.

A drop is a full snapshot of one site: the files named in its profile, found in
``<drop_dir>/<site_id>/``.  Its id is derived from the files' SHA-256, so the same
bytes dropped twice are the same drop and loading them again changes nothing.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipelines.ingest.profiles import SITE_ID_PATTERN, SiteProfile


class DropError(ValueError):
    """A drop that cannot be loaded as a whole; the site's previous data stays."""


@dataclass(frozen=True)
class DropFile:
    table: str
    path: Path
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class SiteDrop:
    site_id: str
    drop_id: str
    files: dict[str, DropFile]
    unexpected_files: tuple[str, ...]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def site_ids(drop_dir: Path) -> list[str]:
    """Site folders in the drop folder whose names are valid site ids, sorted."""
    if not drop_dir.is_dir():
        return []
    return sorted(
        p.name for p in drop_dir.iterdir() if p.is_dir() and not p.is_symlink() and SITE_ID_PATTERN.match(p.name)
    )


def ignored_folders(drop_dir: Path) -> list[str]:
    """Folders in the drop folder that are not site folders (a name that is not a site id, or a symbolic link, which could
    point anywhere on the server): reported, never loaded (files there are ignored)."""
    if not drop_dir.is_dir():
        return []
    return sorted(
        p.name for p in drop_dir.iterdir() if p.is_dir() and (p.is_symlink() or not SITE_ID_PATTERN.match(p.name))
    )


def find_drop(drop_dir: Path, profile: SiteProfile) -> SiteDrop:
    """The site's current drop: every file its profile names, hashed."""
    folder = drop_dir / profile.site_id
    if folder.is_symlink():
        raise DropError(
            f"{folder} is a symbolic link: the registry reads only folders and files placed in the drop folder "
            "itself (a link could point anywhere on the server); replace it with a real folder"
        )
    files: dict[str, DropFile] = {}
    for table, spec in profile.tables.items():
        path = folder / spec.file
        if path.is_symlink():
            raise DropError(
                f"{path} is a symbolic link: the registry reads only files placed in the site folder itself "
                "(a link could point anywhere on the server); copy the file there instead"
            )
        if Path(spec.file).name != spec.file or not path.is_file():
            raise DropError(
                f"{profile.site_id}: expected file '{spec.file}' for table '{table}' in {folder} (a drop is a full snapshot)"
            )
        files[table] = DropFile(table, path, sha256_of(path), path.stat().st_size)
    expected = {spec.file for spec in profile.tables.values()}
    unexpected = tuple(sorted(p.name for p in folder.iterdir() if p.name not in expected))
    combined = hashlib.sha256("".join(f"{t}:{f.sha256};" for t, f in sorted(files.items())).encode()).hexdigest()
    return SiteDrop(profile.site_id, f"{profile.site_id}-{combined[:16]}", files, unexpected)


def archive_drop(drop: SiteDrop, archive_dir: Path) -> Path:
    """Copy the drop's files byte-for-byte to ``<archive>/<site>/<drop_id>/``, named by their SHA-256.

    Archiving is idempotent; a copy whose checksum differs from the source is an error.
    """
    target = archive_dir / drop.site_id / drop.drop_id
    target.mkdir(parents=True, exist_ok=True)
    for item in drop.files.values():
        destination = target / f"{item.sha256}__{item.path.name}"
        if not destination.exists():
            partial = destination.with_suffix(destination.suffix + ".partial")
            shutil.copyfile(item.path, partial)
            partial.replace(destination)
        if sha256_of(destination) != item.sha256:
            raise DropError(f"{drop.site_id}: archived copy of {item.path.name} does not match its checksum")
    return target
