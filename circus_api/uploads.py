"""Receiving multipart uploads straight into a staging folder, never whole in memory (spec 0.4).

Starlette's `request.form()` spools files to the system temp directory and checks no size until
the end; here each file part is written as it arrives to `<folder>/<n>` (same filesystem as the
data directory, so the worker can take the folder over by a rename), and a file passing the
size limit stops the request at once with 413. File names sent by the client are kept as text
only; they never name anything on disk.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import anyio.to_thread
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from circus_api.errors import BadRequest, PayloadTooLarge

_FLUSH_BYTES = 1 << 20  # write to disk in pieces of about this size (bounded memory, few thread hops)
_MAX_FIELD_BYTES = 4096  # plain form fields are small options (e.g. `anonymize`)
_MAX_FIELDS = 100


@dataclass(frozen=True)
class ReceivedFile:
    name: str  # the client's file name: for messages and records, never a path
    path: Path
    size: int


@dataclass
class ReceivedUpload:
    folder: Path
    files: list[ReceivedFile] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)


class _Events:
    """python-multipart callbacks are synchronous; they queue events for the async loop."""

    def __init__(self) -> None:
        self.queue: list[tuple[str, bytes, bytes]] = []
        self._header_name = b""
        self._header_value = b""

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": lambda: self.queue.append(("begin", b"", b"")),
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": lambda: self.queue.append(("headers", b"", b"")),
            "on_part_data": lambda data, start, end: self.queue.append(("data", bytes(data[start:end]), b"")),
            "on_part_end": lambda: self.queue.append(("end", b"", b"")),
        }

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        self.queue.append(("header", self._header_name.lower(), self._header_value))
        self._header_name = self._header_value = b""


class _Receiver:
    def __init__(self, folder: Path, file_field: str, max_file_bytes: int, max_files: int) -> None:
        self.upload = ReceivedUpload(folder)
        self.file_field = file_field
        self.max_file_bytes = max_file_bytes
        self.max_files = max_files
        self.disposition = b""
        self.kind = "none"  # "file", "field" or "ignored" for the current part
        self.name = ""
        self.file: BinaryIO | None = None
        self.file_path: Path | None = None
        self.size = 0
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        self.field_value = bytearray()

    async def handle(self, event: str, a: bytes, b: bytes) -> None:
        if event == "begin":
            self.disposition = b""
        elif event == "header" and a == b"content-disposition":
            self.disposition = b
        elif event == "headers":
            await self._start_part()
        elif event == "data":
            await self._data(a)
        elif event == "end":
            await self._end_part()

    async def _start_part(self) -> None:
        _, options = parse_options_header(self.disposition)
        if b"name" not in options:
            raise BadRequest('The Content-Disposition header field "name" must be provided.')
        field_name = _decode(options[b"name"])
        self.size = 0
        if b"filename" in options:
            self.name = _decode(options[b"filename"])
            # browsers send an empty, nameless part for a file input left empty
            if field_name != self.file_field or not self.name:
                self.kind = "ignored"
                return
            if len(self.upload.files) >= self.max_files:
                raise PayloadTooLarge(f"You cannot upload more than {self.max_files} files at a time.")
            self.kind = "file"
            # opened on the first write: a file that fits in one piece costs one thread hop
            self.file_path = self.upload.folder / f"{len(self.upload.files) + 1:05d}"
        else:
            if len(self.upload.fields) >= _MAX_FIELDS:
                raise BadRequest("Too many form fields.")
            self.kind, self.name = "field", field_name
            self.field_value = bytearray()

    async def _data(self, data: bytes) -> None:
        self.size += len(data)
        if self.kind == "file":
            if self.size > self.max_file_bytes:
                raise PayloadTooLarge(
                    f"The file {self.name!r} exceeds the upload size limit of {self.max_file_bytes} bytes."
                )
            self.pending.append(data)
            self.pending_bytes += len(data)
            if self.pending_bytes >= _FLUSH_BYTES:
                await self._flush()
        elif self.kind == "field":
            if self.size > _MAX_FIELD_BYTES:
                raise BadRequest(f"The form field {self.name!r} is too long.")
            self.field_value.extend(data)

    async def _flush(self, last: bool = False) -> None:
        data = b"".join(self.pending)
        self.pending, self.pending_bytes = [], 0
        await anyio.to_thread.run_sync(self._write, data, last)

    def _write(self, data: bytes, last: bool) -> None:
        if self.file is None:
            assert self.file_path is not None  # set when the file part began
            self.file = open(self.file_path, "wb")  # noqa: SIM115 (closed with the last piece or on failure)
        self.file.write(data)
        if last:
            self.file.close()
            self.file = None

    async def _end_part(self) -> None:
        if self.kind == "file" and self.file_path is not None:
            await self._flush(last=True)
            self.upload.files.append(ReceivedFile(self.name, self.file_path, self.size))
        elif self.kind == "field":
            self.upload.fields[self.name] = _decode(bytes(self.field_value))
        self.kind = "none"


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # what Starlette does with names that are not UTF-8


async def receive_files(
    request: Request, folder: Path, *, file_field: str, max_file_bytes: int, max_files: int
) -> ReceivedUpload:
    """Write every file of `file_field` into `folder` (created here) and collect the plain fields.

    On any failure (413 for a file over `max_file_bytes`, 400 for a malformed body or a client
    that went away) the folder is removed before the error propagates: nothing half-received
    remains.
    """
    _, params = parse_options_header(request.headers.get("content-type"))
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadRequest("Missing boundary in multipart.")
    await anyio.to_thread.run_sync(lambda: folder.mkdir(parents=True))
    events = _Events()
    receiver = _Receiver(folder, file_field, max_file_bytes, max_files)
    try:
        parser = MultipartParser(boundary, events.callbacks())
        async for chunk in request.stream():
            parser.write(chunk)
            queued, events.queue = events.queue, []
            for event in queued:
                await receiver.handle(*event)
        parser.finalize()
        for event in events.queue:
            await receiver.handle(*event)
        if receiver.kind != "none":
            raise MultipartParseError("the body ends inside a part")
        return receiver.upload
    except MultipartParseError as exc:
        _discard(receiver, folder)
        raise BadRequest(f"Invalid multipart body: {exc}") from None
    except ClientDisconnect:
        _discard(receiver, folder)
        raise BadRequest("The upload was interrupted.") from None
    except BaseException:
        _discard(receiver, folder)
        raise


def _discard(receiver: _Receiver, folder: Path) -> None:
    # synchronous on purpose: it must also run when the request is being cancelled, and
    # unlinking the few files of one request is quick
    if receiver.file is not None:
        receiver.file.close()
    shutil.rmtree(folder, ignore_errors=True)
