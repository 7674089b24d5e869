"""CIRCUS's own test fixtures (../shared/data/circus-fixture/fixture/*.yaml) loaded into MongoDB.

Documents get `createdAt`/`updatedAt` when they lack them, as CIRCUS's fixture loader does.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
from pathlib import Path
from typing import Any

import yaml
from pymongo.database import Database

FIXTURE_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "circus-fixture"
FIXTURE_DIR = FIXTURE_ROOT / "fixture"
DICOM_DIR = FIXTURE_ROOT / "dicom"

# the collections the API owns; the other YAML files are fixtures of CIRCUS's generic DB tests
COLLECTIONS = (
    "users", "groups", "projects", "series", "clinicalCases", "pluginDefinitions", "pluginJobs",
    "myLists", "tokens", "tasks", "serverParams", "onetimeUrls", "sequences",
)
FIXED_TIME = dt.datetime(2020, 1, 1, tzinfo=dt.UTC).replace(tzinfo=None)


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$date"}:
            raw = value["$date"]
            if isinstance(raw, int | float):
                return dt.datetime.fromtimestamp(raw / 1000, dt.UTC).replace(tzinfo=None)
            return dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00")).astimezone(dt.UTC).replace(tzinfo=None)
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


@functools.cache
def _parsed() -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for name in COLLECTIONS:
        docs = yaml.safe_load((FIXTURE_DIR / f"{name}.yaml").read_text()) or []
        for doc in docs:
            doc.setdefault("createdAt", FIXED_TIME)
            doc.setdefault("updatedAt", FIXED_TIME)
        out[name] = _decode(docs)
    return out


def fixture_documents(collection: str) -> list[dict[str, Any]]:
    return copy.deepcopy(_parsed()[collection])


def load_fixtures(db: Database, collections: tuple[str, ...] = COLLECTIONS) -> None:
    """Insert the fixtures into a (sync) pymongo database, replacing what the collections held."""
    for name in collections:
        db[name].delete_many({})
        docs = fixture_documents(name)
        if docs:
            db[name].insert_many(docs)
