"""DICOM commands of spec 8: `import-series`, `dump-dicom`, `refresh-series-parameters`.

`import-series` runs the same import as the upload task (`services.series_import`), so a file
refused over HTTP is refused here for the same reason. Command failures exit non-zero (spec 8
Re-impl), and so does an import that rejected anything.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import click
from pymongo.asynchronous.database import AsyncDatabase
from tqdm import tqdm

from circus_api.errors import CircusError
from circus_api.imaging.errors import DicomImportError
from circus_api.services import series_import
from circus_api.settings import Settings
from circus_api.wire import parse_iso_date, to_wire

SettingsLoader = Callable[..., Settings]
DatabaseRunner = Callable[[Settings, Callable[[AsyncDatabase], Awaitable[Any]]], Any]


def walk(paths: tuple[Path, ...]) -> Iterator[series_import.ImportSource]:
    """Files named on the command line, and every file under the folders named (sorted, recursive).

    A path that does not exist is still yielded, so the import reports it as unreadable.
    """
    for path in paths:
        if not path.is_dir():
            yield series_import.ImportSource(str(path), path)
            continue
        unreadable: list[OSError] = []
        for folder, subfolders, files in os.walk(path, onerror=unreadable.append):
            subfolders.sort()
            for name in sorted(files):
                file = Path(folder) / name
                yield series_import.ImportSource(str(file), file, in_folder=True)
        for error in unreadable:  # reported by the import as "cannot be read"
            yield series_import.ImportSource(str(error.filename), Path(error.filename))


def register_dicom_commands(main: click.Group, load_settings: SettingsLoader, run: DatabaseRunner) -> None:
    def run_action(settings: Settings, action: Callable[[AsyncDatabase], Awaitable[Any]]) -> Any:
        try:
            return run(settings, action)
        except CircusError as exc:
            raise click.ClickException(exc.message) from None

    @main.command("import-series")
    @click.option("--domain", "-d", required=True, help="DICOM domain of the imported series.")
    @click.option("--anonymize", is_flag=True, help="De-identify the files before storing them.")
    @click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
    def import_series(domain: str, anonymize: bool, paths: tuple[Path, ...]) -> None:
        """Import DICOM files, folders (recursively) and zip / tar.gz archives into DOMAIN."""
        settings = load_settings()
        sources = list(walk(paths))
        options = series_import.ImportOptions(domain, f"cli:{getpass.getuser()}", anonymize)
        with tqdm(total=len(sources), unit="file", desc="Importing", disable=None) as bar:

            async def progress(state: series_import.ImportProgress) -> None:
                bar.update(state.files_done - bar.n)
                bar.set_postfix(imported=state.imported, refresh=False)

            summary: series_import.ImportSummary = run_action(
                settings, lambda db: series_import.import_sources(db, settings, options, sources, progress)
            )
        for name in summary.skipped:
            click.echo(f"skipped (not DICOM): {name}")
        for rejection in summary.rejected:
            click.echo(f"rejected: {rejection.name}: {rejection.reason}", err=True)
        click.echo(series_import.summary_message(summary))
        for uid in summary.series_uids:
            click.echo(f"series: {uid}")
        if summary.rejected:
            raise SystemExit(1)

    @main.command("dump-dicom")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def dump_dicom(file: Path) -> None:
        """Print what the importer extracts from FILE, as JSON."""
        try:
            extracted = series_import.describe_file(file)
        except DicomImportError as exc:
            raise click.ClickException(f"{file}: {exc.reason}") from None
        click.echo(json.dumps(to_wire(extracted), indent=2, ensure_ascii=False))

    @main.command("refresh-series-parameters")
    @click.option("--max-date", "--maxDate", "max_date", help="Only series created at or before this ISO date.")
    def refresh_series_parameters(max_date: str | None) -> None:
        """Recompute `parameters` of every series from its lowest-numbered image."""
        try:
            until = parse_iso_date(max_date) if max_date else None
        except ValueError:
            raise click.BadParameter(f"not an ISO-8601 date: {max_date!r}", param_hint="--max-date") from None
        settings = load_settings()
        summary: series_import.RefreshSummary = run_action(
            settings, lambda db: series_import.refresh_parameters(db, settings, until)
        )
        for failure in summary.failed:
            click.echo(f"failed: {failure.name}: {failure.reason}", err=True)
        click.echo(f"Refreshed {summary.refreshed} series; {len(summary.failed)} failed.")
        if summary.failed:
            raise SystemExit(1)
