"""Custom result displays of plug-ins (spec 4.9 #39, plugins-and-jobs 7.6).

The browser loads `/api/plugin-displays/<pluginId>/displays/remoteEntry.js` and what it
imports. The files come from the directory `/displays` of the plug-in's Docker image, copied
once into `<plugin cache dir>/<pluginId>/displays`; later requests, and every request once that
folder exists (for example pre-populated by an operator), are served without Docker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from functools import partial
from pathlib import Path

import anyio.to_thread
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db import plugin_definitions
from circus_api.errors import NotFound, ServiceUnavailable
from circus_api.services.attachments import content_type
from job_manager import images

log = logging.getLogger(__name__)

PLUGIN_ID = re.compile(r"[a-z0-9]+")  # so `rmt-` (remote) plug-ins never have displays
NOT_FOUND = "Not found"
IMAGE_FOLDER = "/displays"
CACHE_FOLDER = "displays"
JAVASCRIPT = "text/javascript"


class DisplayCache:
    """The extracted displays of every plug-in, with one extraction at a time per plug-in.

    One per application (its locks belong to the app's event loop), kept on `app.state`."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = Path(cache_dir)
        self._locks: dict[str, asyncio.Lock] = {}

    async def display_file(self, db: AsyncDatabase, plugin_id: str, rel_path: str) -> tuple[Path, str]:
        """The file to serve for `<pluginId>/<rel_path>` and its content type; 404 for a bad ID
        or path, an unknown plug-in, or a missing file."""
        if not PLUGIN_ID.fullmatch(plugin_id) or ".." in rel_path or rel_path.startswith("/"):
            raise NotFound(NOT_FOUND)
        if await plugin_definitions.find(db, plugin_id) is None:
            raise NotFound(NOT_FOUND)
        folder = self.cache_dir / plugin_id / CACHE_FOLDER
        if not await anyio.to_thread.run_sync(folder.is_dir):
            # concurrent first requests wait for the one extraction instead of starting their own
            async with self._locks.setdefault(plugin_id, asyncio.Lock()):
                if not await anyio.to_thread.run_sync(folder.is_dir):
                    await _extract(plugin_id, folder)
        path = await anyio.to_thread.run_sync(partial(_resolve, folder, rel_path))
        return path, JAVASCRIPT if path.suffix in (".js", ".mjs") else content_type(path.name)


async def _extract(plugin_id: str, folder: Path) -> None:
    try:
        await images.extract_dir_from_image(plugin_id, IMAGE_FOLDER, folder)
    except (images.PathNotFound, images.UnsafeArchive) as exc:
        # the image will not change (its ID is its content): remember "no displays" with an
        # empty folder, as CIRCUS does, instead of asking Docker on every request
        log.warning("plug-in displays not extracted", extra={"plugin_id": plugin_id, "reason": str(exc)})
        await anyio.to_thread.run_sync(partial(folder.mkdir, parents=True, exist_ok=True))
    except images.ImageNotFound:
        raise NotFound(NOT_FOUND) from None  # not cached: the image may be loaded later
    except Exception as exc:  # engine down or unreachable: worth retrying later
        log.warning("plug-in displays extraction failed", exc_info=True, extra={"plugin_id": plugin_id})
        raise ServiceUnavailable("The displays of this plug-in cannot be extracted now.") from exc


def _resolve(folder: Path, rel_path: str) -> Path:
    # the URL path starts with `displays/`, matching the folder's name under <cache>/<pluginId>
    root = os.path.realpath(folder)
    candidate = os.path.realpath(os.path.join(folder.parent, rel_path))
    if not candidate.startswith(root + os.sep) or not os.path.isfile(candidate):
        raise NotFound(NOT_FOUND)
    return Path(candidate)
