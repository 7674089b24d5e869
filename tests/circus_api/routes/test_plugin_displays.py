"""`GET /plugin-displays/:pluginId/:path+` (spec 4.9 #39): public, served from the display cache,
extracted once per plug-in from the image's `/displays`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.database import Database

from circus_api.errors import NotFound, ServiceUnavailable
from circus_api.services.plugin_displays import DisplayCache
from circus_api.settings import Settings
from job_manager import images
from tests.circus_api.conftest import Api
from tests.circus_fixtures import fixture_documents, load_fixtures

PLUGIN = "d135e1fbb368e35f940ae8e6deb171e90273958dc3938de5a8237b73bb42d9c2"
REMOTE = "rmt-" + PLUGIN
UNKNOWN = "0" * 64
ENTRY_JS = "var CircusCsModule = {}; // remoteEntry\n"
NOT_FOUND = {"error": "Not found"}


def url(plugin_id: str, path: str) -> str:
    return f"/api/plugin-displays/{plugin_id}/{path}"


@pytest.fixture
def cached(api: Api, app_settings: Settings) -> Path:
    """A display cache an operator filled: no Docker needed to serve it."""
    folder = app_settings.plugin_cache_dir / PLUGIN / "displays"
    (folder / "assets").mkdir(parents=True)
    (folder / "remoteEntry.js").write_text(ENTRY_JS)
    (folder / "assets" / "style.css").write_text("body {}\n")
    (folder / "assets" / "chunk.mjs").write_text("export {};\n")
    (folder / "assets" / "data.bin").write_bytes(b"\x00")
    return folder


@pytest.fixture
def no_docker(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Makes any extraction fail the test; returns the list of attempted extractions."""
    attempts: list[str] = []

    async def refuse(image: str, src: str, dest: Path, client: Any = None) -> list[str]:
        attempts.append(image)
        raise AssertionError("Docker must not be asked when the cache holds the displays")

    monkeypatch.setattr(images, "extract_dir_from_image", refuse)
    return attempts


def test_a_cached_display_is_served_without_authentication(api: Api, cached: Path, no_docker: list[str]) -> None:
    response = api.as_user(None).get(url(PLUGIN, "displays/remoteEntry.js"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.text == ENTRY_JS
    assert no_docker == []


def test_other_display_files_get_the_type_of_their_extension(api: Api, cached: Path, no_docker: list[str]) -> None:
    expected = {"assets/style.css": "text/css", "assets/chunk.mjs": "text/javascript",
                "assets/data.bin": "application/octet-stream"}
    for path, content_type in expected.items():
        response = api.as_user(None).get(url(PLUGIN, f"displays/{path}"))
        assert response.status_code == 200, path
        assert response.headers["content-type"].split(";")[0] == content_type, path


def test_bad_ids_and_paths_are_404(api: Api, cached: Path, no_docker: list[str], app_settings: Settings) -> None:
    (cached.parent / "outside.js").write_text("not a display")
    (cached / "passwd.js").symlink_to("/etc/passwd")
    for plugin_id, path in (
        (REMOTE, "displays/remoteEntry.js"),  # remote plug-ins have no displays
        (PLUGIN.upper(), "displays/remoteEntry.js"),
        (PLUGIN, "displays/%2E%2E/displays/remoteEntry.js"),
        (PLUGIN, "displays/assets/%2E%2E/remoteEntry.js"),
        (PLUGIN, "displays/missing.js"),
        (PLUGIN, "displays/assets"),  # a folder
        (PLUGIN, "outside.js"),  # in the plug-in's cache, but not a display
        (PLUGIN, "displays/passwd.js"),  # a link out of the cache
        (PLUGIN, "/etc/passwd"),
        (UNKNOWN, "displays/remoteEntry.js"),  # a well-formed ID of no plug-in
    ):
        response = api.as_user(None).get(url(plugin_id, path))
        assert (response.status_code, response.json()) == (404, NOT_FOUND), (plugin_id, path)
    assert no_docker == []


def test_an_unknown_plugin_is_404_even_with_a_cache(api: Api, app_settings: Settings, no_docker: list[str]) -> None:
    folder = app_settings.plugin_cache_dir / UNKNOWN / "displays"
    folder.mkdir(parents=True)
    (folder / "remoteEntry.js").write_text(ENTRY_JS)
    response = api.as_user(None).get(url(UNKNOWN, "displays/remoteEntry.js"))
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


# ---- extraction (Docker replaced by a fake, so these tests are about the caching rules) --------


@pytest.fixture
async def plugin_db(db: AsyncDatabase, sync_db: Database) -> AsyncDatabase:
    load_fixtures(sync_db, ("pluginDefinitions",))
    return db


async def test_concurrent_first_requests_share_one_extraction(
    plugin_db: AsyncDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str, Path]] = []

    async def fake_extract(image: str, src: str, dest: Path, client: Any = None) -> list[str]:
        calls.append((image, src, dest))
        await asyncio.sleep(0.2)  # long enough for every request to arrive
        dest.mkdir(parents=True)
        (dest / "remoteEntry.js").write_text(ENTRY_JS)
        return ["remoteEntry.js"]

    monkeypatch.setattr(images, "extract_dir_from_image", fake_extract)
    cache = DisplayCache(tmp_path / "cache")
    results = await asyncio.gather(
        *(cache.display_file(plugin_db, PLUGIN, "displays/remoteEntry.js") for _ in range(5))
    )
    assert calls == [(PLUGIN, "/displays", tmp_path / "cache" / PLUGIN / "displays")]
    assert set(results) == {(tmp_path / "cache" / PLUGIN / "displays" / "remoteEntry.js", "text/javascript")}
    await cache.display_file(plugin_db, PLUGIN, "displays/remoteEntry.js")
    assert len(calls) == 1


async def test_an_image_without_displays_is_remembered_as_empty(
    plugin_db: AsyncDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    async def no_displays(image: str, src: str, dest: Path, client: Any = None) -> list[str]:
        calls.append(image)
        raise images.PathNotFound("No such file or directory in the image: /displays")

    monkeypatch.setattr(images, "extract_dir_from_image", no_displays)
    cache = DisplayCache(tmp_path)
    for _ in range(2):
        with pytest.raises(NotFound):
            await cache.display_file(plugin_db, PLUGIN, "displays/remoteEntry.js")
    assert calls == [PLUGIN]
    assert (tmp_path / PLUGIN / "displays").is_dir()


async def test_an_engine_that_does_not_answer_is_503_and_retried(
    plugin_db: AsyncDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    async def engine_down(image: str, src: str, dest: Path, client: Any = None) -> list[str]:
        calls.append(image)
        raise ConnectionError("Docker socket not found")

    monkeypatch.setattr(images, "extract_dir_from_image", engine_down)
    cache = DisplayCache(tmp_path)
    for _ in range(2):
        with pytest.raises(ServiceUnavailable):
            await cache.display_file(plugin_db, PLUGIN, "displays/remoteEntry.js")
    assert calls == [PLUGIN, PLUGIN]
    assert not (tmp_path / PLUGIN / "displays").exists()


async def test_a_missing_image_is_404_and_not_remembered(
    plugin_db: AsyncDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_image(image: str, src: str, dest: Path, client: Any = None) -> list[str]:
        raise images.ImageNotFound(f"No such image: {image}")

    monkeypatch.setattr(images, "extract_dir_from_image", no_image)
    with pytest.raises(NotFound):
        await DisplayCache(tmp_path).display_file(plugin_db, PLUGIN, "displays/remoteEntry.js")
    assert not (tmp_path / PLUGIN).exists()


# ---- a real image -------------------------------------------------------------------------------


@pytest.mark.docker
def test_displays_are_extracted_from_the_plugins_image(
    api: Api, sync_db: Database, app_settings: Settings, tmp_path: Path
) -> None:
    from tests.docker_support import build_scratch_image, connect

    client = connect()
    image_id = build_scratch_image(client, tmp_path / "image", "circus-test-plugins:displays", {
        "displays/remoteEntry.js": ENTRY_JS.encode(), "displays/assets/style.css": b"body {}\n"})
    definition = {**fixture_documents("pluginDefinitions")[0], "pluginId": image_id}
    sync_db.pluginDefinitions.insert_one(definition)
    response = api.as_user(None).get(url(image_id, "displays/remoteEntry.js"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.text == ENTRY_JS
    cache = app_settings.plugin_cache_dir / image_id / "displays"
    assert sorted(p.relative_to(cache).as_posix() for p in cache.rglob("*")) == [
        "assets", "assets/style.css", "remoteEntry.js"]
    assert api.as_user(None).get(url(image_id, "displays/assets/style.css")).text == "body {}\n"
