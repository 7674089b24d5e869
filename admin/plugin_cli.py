"""`circus plugin ...`: register CAD plug-in images (spec 8 `register-cad-plugin`), list them, and
build + register the sample plug-ins of plugins/ (also done by `circus up` on first start).

Command errors exit non-zero with the message (CIRCUS exits 0; spec 8 Re-impl).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import docker.errors
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.settings import Settings
from job_manager import images
from job_manager import plugins as registration

SettingsLoader = Callable[..., Settings]
DatabaseRunner = Callable[[Settings, Callable[[AsyncDatabase], Awaitable[Any]]], Any]
Echo = Callable[[str], None]

PLUGINS_DIR = Path(__file__).resolve().parent.parent / "plugins"
BASE_IMAGE = "circus-plugin-base:bookworm"
BASE_BUILD_TIMEOUT_S = 1200


@dataclass
class Sample:
    folder: Path
    name: str = ""
    version: str = ""
    tag: str = ""
    image_id: str | None = None
    status: str = "pending"


def discover_samples(plugins_dir: Path = PLUGINS_DIR, include_tests: bool = False) -> list[Path]:
    """Folders with a Dockerfile and a plugin.json: plugins/<name>/, and plugins/test/<name>/ on request."""
    roots = [plugins_dir] + ([plugins_dir / "test"] if include_tests else [])
    found = []
    for root in roots:
        for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
            if folder.name != "base" and (folder / "Dockerfile").is_file() and (folder / "plugin.json").is_file():
                found.append(folder)
    return found


def sample_tag(plugins_dir: Path, folder: Path, version: str) -> str:
    # plugins/measurement -> circus-plugin-measurement, plugins/test/hangs -> circus-plugin-test-hangs
    return "circus-plugin-" + "-".join(folder.relative_to(plugins_dir).parts) + f":{version or 'latest'}"


def ensure_base_image(plugins_dir: Path = PLUGINS_DIR, echo: Echo = click.echo, force: bool = False) -> None:
    """Run plugins/base/build.sh when the base image is missing (about a minute, needs root)."""
    if not force and images.image_exists(BASE_IMAGE):
        return
    echo(f"Building {BASE_IMAGE} with plugins/base/build.sh (about a minute)...")
    command = ["bash", str(plugins_dir / "base" / "build.sh")] + (["--force"] if force else [])
    result = subprocess.run(command, capture_output=True, text=True, timeout=BASE_BUILD_TIMEOUT_S, check=False)
    for line in (result.stdout + result.stderr).strip().splitlines()[-8:]:
        echo(f"  {line}")
    if result.returncode != 0:
        raise click.ClickException(f"plugins/base/build.sh failed with exit code {result.returncode}")


async def build_samples(plugins_dir: Path, folders: list[Path], echo: Echo = click.echo) -> list[Sample]:
    samples = []
    for folder in folders:
        sample = Sample(folder)
        samples.append(sample)
        try:
            manifest = json.loads((folder / "plugin.json").read_text(encoding="utf-8"))
            sample.name, sample.version = str(manifest.get("pluginName", "")), str(manifest.get("version", ""))
            sample.tag = sample_tag(plugins_dir, folder, sample.version)
            echo(f"Building {sample.tag} ...")
            sample.image_id = await images.build_image(folder, sample.tag)
            sample.status = "built"
        except (OSError, ValueError, images.ImageError) as exc:
            sample.status = f"build failed: {str(exc).splitlines()[0]}"
    return samples


async def register_samples(db: AsyncDatabase, samples: list[Sample], plugin_cache_dir: Path) -> None:
    for sample in samples:
        if sample.image_id is None:
            continue
        if await registration.is_installed(db, sample.image_id):
            sample.status = "already registered"
            continue
        try:
            await registration.register(db, sample.image_id, plugin_cache_dir)
            sample.status = "registered"
        except registration.RegistrationError as exc:
            sample.status = f"not registered: {exc.message.splitlines()[0]}"


def format_table(samples: list[Sample]) -> str:
    rows = [("PLUG-IN", "VERSION", "TAG", "IMAGE ID", "STATUS")]
    rows += [(s.name or s.folder.name, s.version, s.tag, (s.image_id or "-")[:12], s.status) for s in samples]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
                     for row in rows)


async def install_samples_on_first_start(db: AsyncDatabase, settings: Settings, echo: Echo = click.echo) -> None:
    """For `circus up`: when no plug-in is registered yet, build and register the samples.
    Never raises: a failure is a warning and the platform starts anyway."""
    try:
        if await registration.list_plugins(db):
            return
        echo("No plug-in registered yet: building and registering the sample plug-ins (first start)...")
        await asyncio.to_thread(ensure_base_image, PLUGINS_DIR, echo)
        samples = await build_samples(PLUGINS_DIR, discover_samples(PLUGINS_DIR), echo)
        await register_samples(db, samples, settings.plugin_cache_dir)
        echo(format_table(samples))
    except Exception as exc:  # the platform must start even when Docker or the build misbehaves
        echo(f"warning: the sample plug-ins were not installed: {exc}")


def _show_definition(definition: dict[str, Any]) -> None:
    click.echo(json.dumps(definition, indent=2, ensure_ascii=False))


def register_plugin_commands(main: click.Group, load_settings: SettingsLoader, run: DatabaseRunner) -> None:
    def run_action(action: Callable[[AsyncDatabase], Awaitable[Any]]) -> Any:
        try:
            return run(load_settings(), action)
        except registration.RegistrationError as exc:
            raise click.ClickException(exc.message) from None
        except docker.errors.DockerException as exc:
            raise click.ClickException(f"Docker engine not reachable: {exc}") from None

    @main.group()
    def plugin() -> None:
        """Manage CAD plug-ins (Docker images)."""

    @plugin.command("register")
    @click.argument("image")
    @click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
    @click.option("--timeout", type=click.IntRange(min=0), help="runConfiguration.timeout in seconds (default 900).")
    @click.option("--memory", help="runConfiguration.memory, e.g. 2g (extension; default: the job manager's).")
    @click.option("--cpus", type=click.FloatRange(min=0, min_open=True),
                  help="runConfiguration.cpus (extension; default: the job manager's).")
    def plugin_register(image: str, yes: bool, timeout: int | None, memory: str | None, cpus: float | None) -> None:
        """Register the plug-in in Docker image IMAGE (a tag or the 64-char image ID)."""
        overrides = {k: v for k, v in {"timeout": timeout, "memory": memory, "cpus": cpus}.items() if v is not None}
        settings = load_settings()

        def confirm(definition: dict[str, Any]) -> bool:
            _show_definition(definition)
            return yes or click.confirm("Is this OK?", default=False)

        definition = run_action(lambda db: registration.register(
            db, image, settings.plugin_cache_dir, run_configuration=overrides, confirm=confirm
        ))
        if definition is None:
            click.echo("Cancelled.")
            return
        click.echo(f"Registered {definition['pluginName']} v{definition['version']}")

    @plugin.command("list")
    def plugin_list() -> None:
        """List the registered plug-ins."""
        for row in run_action(registration.list_plugins):
            click.echo(f"{row['pluginId']}\t{row.get('type', '')}\t{row.get('pluginName', '')}"
                       f"\tv{row.get('version', '')}")

    @plugin.command("build-samples")
    @click.option("--register", "do_register", is_flag=True, help="Register the built images too.")
    @click.option("--tests", "include_tests", is_flag=True, help="Also the misbehaving test plug-ins of plugins/test.")
    @click.option("--force-base", is_flag=True, help="Rebuild the base image even when it exists.")
    @click.option("--plugins-dir", type=click.Path(file_okay=False, path_type=Path), default=PLUGINS_DIR,
                  show_default=True)
    def plugin_build_samples(do_register: bool, include_tests: bool, force_base: bool, plugins_dir: Path) -> None:
        """Build the sample plug-in images (and the base image if missing); with --register, register them."""
        if not images.engine_answers():
            raise click.ClickException("No Docker engine answers (run `make docker`).")
        ensure_base_image(plugins_dir, force=force_base)
        samples = asyncio.run(build_samples(plugins_dir, discover_samples(plugins_dir, include_tests)))
        if do_register:
            settings = load_settings()
            run(settings, lambda db: register_samples(db, samples, settings.plugin_cache_dir))
        click.echo(format_table(samples))
        if any(s.status.startswith("build failed") for s in samples):
            raise click.ClickException("Some sample plug-ins could not be built.")
