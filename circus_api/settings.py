"""Process configuration: one frozen object, read from the environment in one place.

Runtime parameters that admins edit (server params, the job-manager switch) are data in MongoDB,
not settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

DEFAULT_DATABASE = "circus-api"
DEFAULT_JOB_POLL_SECONDS = 0.25


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


def _float(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


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
    upload_dir: Path = Path("var/uploads")  # staging of uploaded files until their import ends
    quarantine_dir: Path = Path("var/quarantine")  # rejected uploads, kept for an admin to inspect
    host: str = "127.0.0.1"
    port: int = 8080
    debug: bool = False
    fix_user: str | None = None
    cors_origin: str = "*"
    dicom_image_server_url: str = "http://localhost:8080/rs"
    upload_file_size_max_bytes: int = 200 * 1024 * 1024
    upload_max_files: int = 10_000  # files in one multipart request
    # archive limits: bytes expanded from one uploaded file (zip bombs), members of one archive
    upload_expanded_max_bytes: int = 2 * 1024**3
    upload_archive_max_members: int = 100_000
    json_body_max_bytes: int = 1024 * 1024
    transaction_max_commit_ms: int = 10_000
    admin_email: str | None = None
    admin_password: str | None = None
    # plug-in job manager (job_manager/): concurrent jobs, GPU jobs counted apart, the lease a
    # heartbeat renews, claims of one job before it fails, the containers' working folders
    job_slots: int = 1
    job_gpu_slots: int = 1  # 0: leave GPU plug-ins to other managers
    job_lease_seconds: float = 30.0
    job_max_attempts: int = 3
    job_work_dir: Path = Path("var/jobs")
    # how often an idle manager looks at the queue: a new job waits half of it on average (CIRCUS:
    # 1 s, which alone cost a no-op job 0.5-0.6 s, bench/jobs.py); each look is 2-3 small queries
    job_poll_seconds: float = DEFAULT_JOB_POLL_SECONDS
    job_stop_grace_seconds: float = 10.0  # SIGTERM: running jobs get this long, then go back to the queue
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
            upload_dir=directory("CIRCUS_UPLOAD_DIR", "uploads"),
            quarantine_dir=directory("CIRCUS_QUARANTINE_DIR", "quarantine"),
            host=env.get("CIRCUS_HOST") or "127.0.0.1",
            port=_int(env, "CIRCUS_PORT", 8080),
            debug=_bool(env, "CIRCUS_DEBUG", False),
            fix_user=env.get("CIRCUS_API_FIX_USER") or None,
            cors_origin=env.get("CIRCUS_CORS_ORIGIN") or "*",
            dicom_image_server_url=env.get("CIRCUS_DICOM_IMAGE_SERVER_URL") or "http://localhost:8080/rs",
            upload_file_size_max_bytes=_int(env, "CIRCUS_UPLOAD_MAX_BYTES", 200 * 1024 * 1024),
            upload_max_files=_int(env, "CIRCUS_UPLOAD_MAX_FILES", 10_000),
            upload_expanded_max_bytes=_int(env, "CIRCUS_UPLOAD_EXPANDED_MAX_BYTES", 2 * 1024**3),
            upload_archive_max_members=_int(env, "CIRCUS_UPLOAD_ARCHIVE_MAX_MEMBERS", 100_000),
            json_body_max_bytes=_int(env, "CIRCUS_JSON_BODY_MAX_BYTES", 1024 * 1024),
            admin_email=env.get("CIRCUS_ADMIN_EMAIL") or None,
            admin_password=env.get("CIRCUS_ADMIN_PASSWORD") or None,
            job_slots=_int(env, "CIRCUS_JOB_SLOTS", 1),
            job_gpu_slots=_int(env, "CIRCUS_JOB_GPU_SLOTS", 1),
            job_lease_seconds=_float(env, "CIRCUS_JOB_LEASE_SECONDS", 30.0),
            job_max_attempts=_int(env, "CIRCUS_JOB_MAX_ATTEMPTS", 3),
            job_work_dir=directory("CIRCUS_JOB_WORK_DIR", "jobs"),
            job_poll_seconds=_float(env, "CIRCUS_JOB_POLL_SECONDS", DEFAULT_JOB_POLL_SECONDS),
            job_stop_grace_seconds=_float(env, "CIRCUS_JOB_STOP_GRACE_SECONDS", 10.0),
        )

    def __post_init__(self) -> None:
        if self.blob_store not in ("directory", "gridfs"):
            raise SettingsError(f"CIRCUS_BLOB_STORE must be 'directory' or 'gridfs', got {self.blob_store!r}")
        if self.job_slots < 0 or self.job_gpu_slots < 0:
            raise SettingsError("CIRCUS_JOB_SLOTS and CIRCUS_JOB_GPU_SLOTS must not be negative")
        if self.job_lease_seconds <= 0 or self.job_poll_seconds <= 0:
            raise SettingsError("CIRCUS_JOB_LEASE_SECONDS and CIRCUS_JOB_POLL_SECONDS must be positive")
        if self.job_max_attempts < 1:
            raise SettingsError("CIRCUS_JOB_MAX_ATTEMPTS must be at least 1")

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def storage_dirs(self) -> dict[str, Path]:
        return {
            "CIRCUS_BLOB_DIR": self.blob_dir,
            "CIRCUS_DICOM_DIR": self.dicom_dir,
            "CIRCUS_RESULTS_DIR": self.results_dir,
            "CIRCUS_PLUGIN_CACHE_DIR": self.plugin_cache_dir,
            "CIRCUS_DOWNLOAD_DIR": self.download_dir,
            "CIRCUS_UPLOAD_DIR": self.upload_dir,
            "CIRCUS_QUARANTINE_DIR": self.quarantine_dir,
            "CIRCUS_JOB_WORK_DIR": self.job_work_dir,
        }

    def ensure_dirs(self) -> None:
        """Create the storage directories, refusing to boot with a message naming the setting."""
        for name, path in self.storage_dirs().items():
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise SettingsError(f"{name}: cannot create directory {path}: {exc.strerror}") from exc
