"""`circus case ...`: the case scripts of spec 8 (`register-case`, `export-case`).

`case` is the click group; `register_case_commands` fills it and attaches it to `circus`.
Command errors exit non-zero with the message (CIRCUS exits 0; spec 8 Re-impl).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click
from pymongo.asynchronous.database import AsyncDatabase
from tqdm import tqdm

from admin import accounts
from blob_store import create_blob_store
from circus_api.errors import CircusError
from circus_api.privileges import compute_privileges
from circus_api.services import case_export, cases
from circus_api.settings import Settings

SettingsLoader = Callable[..., Settings]
DatabaseRunner = Callable[[Settings, Callable[[AsyncDatabase], Awaitable[Any]]], Any]

_SERIES_ARGUMENT = re.compile(r"([^:]+)(?::(-?\d+):(-?\d+):(-?\d+))?")


@click.group()
def case() -> None:
    """Register and export cases."""


def parse_series_argument(text: str) -> dict[str, Any]:
    """`uid` or `uid:start:end:delta` -> a series entry; without numbers the descriptor is None
    (the first contiguous image segment with delta 1, resolved by the service)."""
    match = _SERIES_ARGUMENT.fullmatch(text)
    if match is None:
        raise click.BadParameter(f"{text!r} is not UID or UID:START:END:DELTA (three integers).")
    pvd = None
    if match.group(2) is not None:
        pvd = {"start": int(match.group(2)), "end": int(match.group(3)), "delta": int(match.group(4))}
    return {"seriesUid": match.group(1), "partialVolumeDescriptor": pvd}


def register_case_commands(main: click.Group, load_settings: SettingsLoader, run: DatabaseRunner) -> click.Group:
    """Add the case commands to `case` and `case` to `main`; returns the group so that other
    commands (`circus case export`) can be added to it."""

    def run_action(settings: Settings, action: Callable[[AsyncDatabase], Awaitable[Any]]) -> Any:
        try:
            return run(settings, action)
        except CircusError as exc:
            raise click.ClickException(exc.message) from None

    @case.command("register")
    @click.argument("project")
    @click.argument("series", nargs=-1, required=True)
    @click.option("--user", "user_name", required=True, help="E-mail or login ID of the case's creator.")
    @click.option("--tags", default="", help="Comma-separated tags, e.g. a,b.")
    def register(project: str, series: tuple[str, ...], user_name: str, tags: str) -> None:
        """Create a case like POST /api/cases, with USER's privileges, and print its ID.

        PROJECT is a project ID or exact name; each SERIES is UID or UID:START:END:DELTA (default:
        the first contiguous run of the series' images, delta 1).
        """
        entries = [parse_series_argument(text) for text in series]
        tag_list = [tag for tag in tags.split(",") if tag]
        settings = load_settings()

        async def action(db: AsyncDatabase) -> str:
            user = await accounts.resolve_user(db, user_name)
            privileges = await compute_privileges(db, user)
            return await cases.register(db, settings, user["userEmail"], privileges, project, entries, tag_list)

        click.echo(run_action(settings, action))

    @case.command("export")
    @click.argument("case_ids", metavar="CASEID...", nargs=-1, required=True)
    @click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                  default=Path("case-exports"), show_default=True, help="Folder for the archives.")
    @click.option("--type", "-t", "label_pack_type", type=click.Choice(["isolated", "combined"]),
                  default="isolated", show_default=True, help="One label volume per label, or one per series.")
    @click.option("--zip", "use_zip", is_flag=True, help="Write .zip archives instead of .tar.gz.")
    @click.option("--continue", "-c", "keep_going", is_flag=True, help="Print an error and go on with the next case.")
    def export(case_ids: tuple[str, ...], out_dir: Path, label_pack_type: str, use_zip: bool, keep_going: bool) -> None:
        """Write each case as <OUT>/<CASEID>.tar.gz (or .zip): its last revision in the MHD export
        format (LF line endings), the same archive as POST /api/cases/export-mhd."""
        settings = load_settings()
        out_dir.mkdir(parents=True, exist_ok=True)
        compression_format = "zip" if use_zip else "tgz"

        async def action(db: AsyncDatabase) -> int:
            blobs = create_blob_store(settings.blob_store, directory=settings.blob_dir, db=db)
            failed = 0
            with tqdm(case_ids, unit="case", file=sys.stderr) as bar:
                for case_id in bar:
                    bar.set_postfix_str(case_id)
                    try:
                        await case_export.export_case_to_file(
                            db, blobs, settings.dicom_dir, case_id, label_pack_type, compression_format, out_dir
                        )
                    except Exception as exc:  # any failure of one case: reported, then --continue decides
                        failed += 1
                        bar.write(click.style(f"{case_id}: {exc}", fg="red"), file=sys.stderr)
                        if not keep_going:
                            break
            return failed

        failed = run_action(settings, action)
        if failed:
            raise click.ClickException(f"{failed} of {len(case_ids)} case(s) could not be exported.")
        click.echo(f"Exported {len(case_ids)} case(s) to {out_dir}.")


    main.add_command(case)
    return case
