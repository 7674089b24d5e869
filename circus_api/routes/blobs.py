"""`GET/PUT /blob/:hash` (spec 4.7): voxel label data, addressed by SHA-1."""

from __future__ import annotations

from starlette.responses import Response, StreamingResponse

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.services import blobs


async def get_blob(ctx: RequestContext) -> Response:
    headers = ctx.request.headers
    blob = await blobs.read(ctx.state.blobs, ctx.path["hash"], headers.get("range"), headers.get("if-none-match"))
    etag = f'"{ctx.path["hash"]}"'
    if blob is None:
        return Response(status_code=304, headers={"ETag": etag})
    answer_headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=31536000, immutable",
        "Content-Length": str(blob.end - blob.start),
    }
    if blob.partial:
        answer_headers["Content-Range"] = f"bytes {blob.start}-{blob.end - 1}/{blob.size}"
    return StreamingResponse(
        blob.chunks, status_code=206 if blob.partial else 200, media_type="application/octet-stream",
        headers=answer_headers,
    )


async def put_blob(ctx: RequestContext) -> None:
    encoding = ctx.request.headers.get("content-encoding", "")
    await blobs.store(ctx.state.blobs, ctx.path["hash"], ctx.request.stream(), encoding)


ROUTES = [
    ApiRoute("GET", "/blob/{hash}", get_blob, summary="Download a blob (Range, ETag)"),
    ApiRoute("PUT", "/blob/{hash}", put_blob, body="octet-stream", status=201,
             summary="Upload a blob; its SHA-1 must equal the hash (gzip accepted)"),
]
