"""Process configuration: one frozen object, read from the environment in one place.

Runtime parameters that admins edit (server params, the job-manager switch) are data in MongoDB,
not settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_DATABASE = "circus-api"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be a boolean (true/false), got {raw!r}")


def database_name_from_url(url: str) -> str | None:
    """The database named in the path of a MongoDB URL (CIRCUS's convention), if any."""
    path = urlparse(url).path.lstrip("/")
    return path or None


@dataclass(frozen=True)
class Settings:
    mongo_url: str | None = None  # None: `circus up` starts the embedded server
    database: str = DEFAULT_DATABASE
    redis_url: str | None = None  # None: the embedded redis-server is started
    data_dir: Path = Path("var")
    blob_dir: Path = Path("var/labels")
    blob_store: str = "directory"  # or "gridfs": blobs in MongoDB, for several API nodes
    dicom_dir: Path = Path("var/dicom")
    results_dir: Path = Path("var/plugin-results")
    plugin_cache_dir: Path = Path("var/plugin-cache")
    download_dir: Path = Path("var/downloads")
    host: str = "127.0.0.1"
    port: int = 8080
    debug: bool = False
    fix_user: str | None = None
    cors_origin: str = "*"
    dicom_image_server_url: str = "http://localhost:8080/rs"
    upload_file_size_max_bytes: int = 200 * 1024 * 1024
    json_body_max_bytes: int = 1024 * 1024
    transaction_max_commit_ms: int = 10_000
    admin_email: str | None = None
    admin_password: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("CIRCUS_DATA_DIR") or "var")
        mongo_url = env.get("MONGO_URL") or None
        database = env.get("CIRCUS_DB") or (mongo_url and database_name_from_url(mongo_url)) or DEFAULT_DATABASE

        def directory(name: str, default: str) -> Path:
            return Path(env.get(name) or data_dir / default)

        return cls(
            mongo_url=mongo_url,
            database=database,
            redis_url=env.get("REDIS_URL") or None,
            data_dir=data_dir,
            blob_dir=directory("CIRCUS_BLOB_DIR", "labels"),
            blob_store=env.get("CIRCUS_BLOB_STORE") or "directory",
            dicom_dir=directory("CIRCUS_DICOM_DIR", "dicom"),
            results_dir=directory("CIRCUS_RESULTS_DIR", "plugin-results"),
            plugin_cache_dir=directory("CIRCUS_PLUGIN_CACHE_DIR", "plugin-cache"),
            download_dir=directory("CIRCUS_DOWNLOAD_DIR", "downloads"),
            host=env.get("CIRCUS_HOST") or "127.0.0.1",
            port=_int(env, "CIRCUS_PORT", 8080),
            debug=_bool(env, "CIRCUS_DEBUG", False),
            fix_user=env.get("CIRCUS_API_FIX_USER") or None,
            cors_origin=env.get("CIRCUS_CORS_ORIGIN") or "*",
            dicom_image_server_url=env.get("CIRCUS_DICOM_IMAGE_SERVER_URL") or "http://localhost:8080/rs",
            upload_file_size_max_bytes=_int(env, "CIRCUS_UPLOAD_MAX_BYTES", 200 * 1024 * 1024),
            json_body_max_bytes=_int(env, "CIRCUS_JSON_BODY_MAX_BYTES", 1024 * 1024),
            admin_email=env.get("CIRCUS_ADMIN_EMAIL") or None,
            admin_password=env.get("CIRCUS_ADMIN_PASSWORD") or None,
        )

    def __post_init__(self) -> None:
        if self.blob_store not in ("directory", "gridfs"):
            raise SettingsError(f"CIRCUS_BLOB_STORE must be 'directory' or 'gridfs', got {self.blob_store!r}")

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def storage_dirs(self) -> dict[str, Path]:
        return {
            "CIRCUS_BLOB_DIR": self.blob_dir,
            "CIRCUS_DICOM_DIR": self.dicom_dir,
            "CIRCUS_RESULTS_DIR": self.results_dir,
            "CIRCUS_PLUGIN_CACHE_DIR": self.plugin_cache_dir,
            "CIRCUS_DOWNLOAD_DIR": self.download_dir,
        }

    def ensure_dirs(self) -> None:
        """Create the storage directories, refusing to boot with a message naming the setting."""
        for name, path in self.storage_dirs().items():
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise SettingsError(f"{name}: cannot create directory {path}: {exc.strerror}") from exc
