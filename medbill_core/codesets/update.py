"""``medbill codes update PATH...``: recognise official release files and load them.

The user downloads what CMS, CDC and X12 publish (zips or the files inside them) and
gives them all to one command. Each file -- or each member of a zip -- is recognised
**by its content** by one :class:`ReleaseFormat` (a file's name only helps tell the
edition), the files of one format are read together into :class:`PreparedRelease`\\ s
(validated: row counts, code shapes, dates), and only when every input was read
cleanly are the releases stored. So a malformed file changes nothing, and loading the
same release twice changes nothing (the manifest keeps each release's digest).

Stored releases go to ``<code-set dir>/releases/<code set>/<effective date>/`` and are
recorded in ``manifest.json``; earlier releases stay, for earlier dates of service.

A format is a small object a code-set module declares in its ``FORMATS`` list; the
modules are listed in :data:`FORMAT_MODULES`.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import shutil
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from medbill_core.codesets.loaders import MANIFEST, read_manifest, user_data_dir
from medbill_core.codesets.model import CodeSetError
from medbill_core.codesets.releases import RELEASES_DIR, release_dir, spec

#: Bytes of each file (or zip member) a format's ``recognise`` gets to look at.
HEAD_BYTES = 64 * 1024
#: Members of a zip that are never release data (ignored without a word).
_IGNORED_SUFFIXES = (".pdf", ".doc", ".docx", ".rtf", ".htm", ".html", ".xsd", ".dtd", ".md")

#: Modules declaring ``FORMATS: list[ReleaseFormat]`` (imported on first use).
FORMAT_MODULES: tuple[str, ...] = (
    "medbill_core.codesets.icd10cm",
    "medbill_core.codesets.icd10pcs",
    "medbill_core.codesets.ncci",
    "medbill_core.codesets.mpfs",
    "medbill_core.codesets.hcpcs",
    "medbill_core.codesets.x12lists",
    "medbill_core.codesets.placeofservice",
)


@dataclass(frozen=True)
class SourceFile:
    """One input: a file given on the command line, or one member of a zip given there.

    :ivar name: the file's (or member's) base name, e.g. ``icd10cm-order-2027.txt``.
    :ivar origin: the path the user gave.
    :ivar head: its first :data:`HEAD_BYTES` bytes (for recognition).
    """

    name: str
    origin: Path
    head: bytes
    member: str | None = None
    _reader: Callable[[], bytes] = field(repr=False, compare=False, default=lambda: b"")

    @property
    def label(self) -> str:
        """How messages name it: ``file.zip:member.txt`` or ``file.txt``."""
        return f"{self.origin.name}:{self.member}" if self.member else self.origin.name

    def read_bytes(self) -> bytes:
        return self._reader()

    def text(self) -> str:
        """The content as text: UTF-8 (a BOM is dropped), else Latin-1 (older CMS files)."""
        raw = self.read_bytes()
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return raw.decode("latin-1")

    def head_text(self) -> str:
        return self.head.decode("utf-8-sig", errors="replace")

    def sha256(self) -> str:
        return hashlib.sha256(self.read_bytes()).hexdigest()


@dataclass(frozen=True)
class PreparedRelease:
    """A release read and validated from official files, not yet stored.

    :ivar code_set: the :class:`~medbill_core.codesets.releases.CodeSetSpec` key.
    :ivar release: its name, e.g. ``ICD-10-CM FY2027``.
    :ivar effective: first date of service it governs; ``through``: last (None: open).
    :ivar rows: records read (shown to the user, kept in the manifest).
    :ivar sources: the inputs it was read from.
    :ivar digest: identifies the content (same release loaded twice = same digest).
    :ivar write: writes the release's files into the (empty) folder it is given; it must
        not write anywhere else. The owner module reads that folder back.
    """

    code_set: str
    release: str
    effective: date
    through: date | None
    rows: int
    sources: tuple[SourceFile, ...]
    digest: str
    write: Callable[[Path], None] = field(repr=False, compare=False)


@dataclass(frozen=True)
class ReleaseFormat:
    """An official file layout medbill can load.

    :ivar name: what the file is, for people ("CMS ICD-10-CM order file").
    :ivar recognise: True when a source is this format (look at ``head`` and ``name``).
    :ivar prepare: reads every source recognised as this format (one call per format) into
        releases; raises :class:`CodeSetError` naming the file and line when one is malformed.
    """

    name: str
    recognise: Callable[[SourceFile], bool]
    prepare: Callable[[Sequence[SourceFile]], list[PreparedRelease]]


@dataclass(frozen=True)
class UpdateOutcome:
    """What one release of a ``codes update`` did: ``loaded`` or ``unchanged``."""

    prepared: PreparedRelease
    action: str
    stored_at: Path


def formats() -> list[ReleaseFormat]:
    out: list[ReleaseFormat] = []
    for module_name in FORMAT_MODULES:
        out.extend(getattr(importlib.import_module(module_name), "FORMATS", []))
    return out


def digest_of(sources: Sequence[SourceFile]) -> str:
    """A digest over the sources' contents, independent of their order and file names."""
    total = hashlib.sha256()
    for one in sorted(s.sha256() for s in sources):
        total.update(one.encode())
    return total.hexdigest()


def _expand(path: Path) -> list[SourceFile]:
    if not path.exists():
        raise CodeSetError(f"{path}: no such file")
    if path.is_dir():
        raise CodeSetError(f"{path}: is a folder; give the files (or zips) in it")
    try:
        # an xlsx is a zip too, but one file to a format, not a folder of release files
        if zipfile.is_zipfile(path) and path.suffix.lower() != ".xlsx":
            return _members(zipfile.ZipFile(path), path, "")
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    except (OSError, zipfile.BadZipFile) as exc:
        raise CodeSetError(f"{path.name}: cannot read: {exc}") from exc
    return [SourceFile(path.name, path, head, None, lambda: path.read_bytes())]


def _members(archive: zipfile.ZipFile, origin: Path, prefix: str) -> list[SourceFile]:
    """The release files in ``archive`` (``prefix``: its own path inside ``origin``, for
    nested zips, which CMS ships for PCS and the MPFS); read-me files and folders skipped."""
    out = []
    for info in archive.infolist():
        base = Path(info.filename).name
        if info.is_dir() or not base or base.startswith(".") \
                or base.lower().endswith(_IGNORED_SUFFIXES):
            continue
        member = f"{prefix}{info.filename}"
        if base.lower().endswith(".zip"):
            try:
                inner = zipfile.ZipFile(io.BytesIO(archive.read(info)))
            except zipfile.BadZipFile as exc:
                raise CodeSetError(f"{origin.name}:{member}: cannot read: {exc}") from exc
            out.extend(_members(inner, origin, f"{member}/"))
            continue
        with archive.open(info) as handle:
            head = handle.read(HEAD_BYTES)
        out.append(SourceFile(base, origin, head, member,
                              _member_reader(archive, info.filename)))
    return out


def _member_reader(archive: zipfile.ZipFile, member: str) -> Callable[[], bytes]:
    return lambda: archive.read(member)


def recognise(paths: Sequence[Path]) -> dict[ReleaseFormat, list[SourceFile]]:
    """Sort the inputs by format. A plain file no format recognises is an error; a zip
    member none recognises is skipped (zips carry read-me files and other tables), but a
    zip with nothing recognised is an error."""
    known = formats()
    sorted_: dict[ReleaseFormat, list[SourceFile]] = {}
    for path in paths:
        sources = _expand(Path(path))
        matched = 0
        for source in sources:
            fmt = next((f for f in known if f.recognise(source)), None)
            if fmt is None:
                if source.member is None:
                    raise CodeSetError(
                        f"{source.label}: not an official release file medbill recognises"
                        " (`medbill codes update --help` lists the files it reads)")
                continue
            sorted_.setdefault(fmt, []).append(source)
            matched += 1
        if not matched:
            raise CodeSetError(f"{Path(path).name}: nothing in it is an official release file"
                               " medbill recognises")
    return sorted_


def prepare(paths: Sequence[Path]) -> list[PreparedRelease]:
    """Recognise and read every input; raises :class:`CodeSetError` before anything is stored."""
    if not paths:
        raise CodeSetError("give at least one file")
    prepared: list[PreparedRelease] = []
    for fmt, sources in recognise(paths).items():
        prepared.extend(fmt.prepare(sources))
    if not prepared:
        raise CodeSetError(f"{', '.join(Path(p).name for p in paths)}: no release could be"
                           " read from it")
    seen: dict[tuple[str, date], PreparedRelease] = {}
    for release in prepared:
        key = (release.code_set, release.effective)
        if key in seen and seen[key].digest != release.digest:
            raise CodeSetError(
                f"two different {release.release} releases given"
                f" ({', '.join(s.label for s in seen[key].sources)} and"
                f" {', '.join(s.label for s in release.sources)})")
        seen[key] = release
    return list(seen.values())


def update(paths: Sequence[Path | str], *, data_dir: Path | str | None = None,
           on_progress: Callable[[int, int], None] | None = None) -> list[UpdateOutcome]:
    """Load the releases in ``paths`` into the user code-set directory.

    Everything is read and validated first; then each release that is new (or whose
    content changed) is written to a temporary folder and moved into place, and the
    manifest is written last. Raises :class:`CodeSetError`; nothing is stored then.
    """
    target = user_data_dir(data_dir)
    prepared = prepare([Path(p) for p in paths])
    manifest = read_manifest(target)
    releases = manifest.setdefault("releases", {})
    outcomes = []
    total = len(prepared)
    for done, release in enumerate(prepared, start=1):
        spec(release.code_set)  # an unknown code set is a programming error: fail loudly
        folder = release_dir(target, release.code_set, release.effective)
        entry = (releases.get(release.code_set) or {}).get(release.effective.isoformat())
        if entry and entry.get("digest") == release.digest and folder.is_dir():
            outcomes.append(UpdateOutcome(release, "unchanged", folder))
            continue
        staging = folder.with_name(folder.name + ".tmp")
        try:
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            release.write(staging)
            if folder.exists():
                shutil.rmtree(folder)
            staging.replace(folder)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise CodeSetError(f"cannot write to {target}: {exc.strerror or exc}") from exc
        releases.setdefault(release.code_set, {})[release.effective.isoformat()] = {
            "release": release.release,
            "through": release.through.isoformat() if release.through else None,
            "rows": release.rows,
            "digest": release.digest,
            "files": sorted({s.label for s in release.sources}),
            "loaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        outcomes.append(UpdateOutcome(release, "loaded", folder))
        if on_progress is not None:
            on_progress(done, total)
    if any(o.action == "loaded" for o in outcomes):
        try:
            tmp = target / (MANIFEST + ".tmp")
            tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
            tmp.replace(target / MANIFEST)
        except OSError as exc:
            raise CodeSetError(f"cannot write to {target}: {exc.strerror or exc}") from exc
        reset_caches()
    return outcomes


def reset_caches() -> None:
    """Forget every cached table so the next lookup reads the new releases."""
    from medbill_core.codesets import mpfs
    from medbill_core.codesets.ncci import reset_default_ncci
    from medbill_core.codesets.registry import reset_default_codesets
    from medbill_core.codesets.releases import forget_listed_releases

    reset_default_codesets()
    forget_listed_releases()
    reset_default_ncci()
    mpfs.reset_cache()


__all__ = ["FORMAT_MODULES", "RELEASES_DIR", "PreparedRelease", "ReleaseFormat", "SourceFile",
           "UpdateOutcome", "digest_of", "formats", "prepare", "recognise", "update"]
