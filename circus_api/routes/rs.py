"""`/rs/series/...`: the image viewer's pixel routes (CIRCUS RS's mount, spec api.md 0.1).

Authenticated like `/api` (the same pipeline: bearer token or the web session), with the series
domain check of the series endpoints. Pixels are raw little-endian values (CT in int16 HU), the
viewer windows them in the browser:

- `GET /rs/series/:uid/metadata[?pvd=s,e,d|?images=range]`: JSON description of the volume
- `GET /rs/series/:uid/slice/:index`: one axial slice, read from its one DICOM file
- `GET /rs/series/:uid/slices/:first-:last`: consecutive axial slices in one answer (prefetching)
- `GET /rs/series/:uid/reformat/:axis/:index`: a coronal or sagittal plane (cached volume)
- `GET /rs/series/:uid/volume`: the whole (z, y, x) volume, streamed

Pixel answers carry `X-Circus-Width`/`-Height`/`-Dtype`, a strong `ETag` and
`Cache-Control: private`; If-None-Match with the current tag answers 304. A single slice also
carries `X-Circus-Modality`, `-Hounsfield` (1 for CT), `-Pixel-Spacing` (x,y mm) and, when the
file has one, `-Window` (level,width), so a viewer can draw it before the metadata arrives.
"""

from __future__ import annotations

from starlette.responses import JSONResponse, Response, StreamingResponse

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.services import viewer

_VARY = "Authorization, Cookie"


async def _view(ctx: RequestContext) -> viewer.SeriesView:
    return await viewer.open_view(
        ctx.db, ctx.privs, ctx.path["seriesUid"], ctx.query.get("pvd"), ctx.query.get("images")
    )


def _plane_response(plane: viewer.RawPlane) -> Response:
    headers = {"ETag": plane.etag, "Cache-Control": viewer.CACHE_CONTROL, "Vary": _VARY}
    if plane.data is None:
        return Response(status_code=304, headers=headers)
    headers |= {"X-Circus-Width": str(plane.width), "X-Circus-Height": str(plane.height),
                "X-Circus-Dtype": plane.dtype}
    if plane.image_number is not None:
        headers["X-Circus-Image-Number"] = str(plane.image_number)
    if plane.info is not None:
        headers["X-Circus-Modality"] = plane.info.modality
        headers["X-Circus-Hounsfield"] = "1" if plane.info.hounsfield else "0"
        headers["X-Circus-Pixel-Spacing"] = ",".join(map(str, plane.info.pixel_spacing))
        if plane.info.window is not None:
            headers["X-Circus-Window"] = ",".join(map(str, plane.info.window))
    return Response(plane.data, media_type="application/octet-stream", headers=headers)


async def get_metadata(ctx: RequestContext) -> Response:
    body = await viewer.metadata(ctx.settings.dicom_dir, await _view(ctx))
    return JSONResponse(body, headers={"Cache-Control": "private, no-cache", "Vary": _VARY})


async def get_slice(ctx: RequestContext) -> Response:
    view = await _view(ctx)
    plane = await viewer.axial_slice(
        ctx.settings.dicom_dir, view, ctx.path["index"], ctx.request.headers.get("if-none-match")
    )
    return _plane_response(plane)


async def get_slices(ctx: RequestContext) -> Response:
    view = await _view(ctx)
    planes = await viewer.axial_slices(
        ctx.settings.dicom_dir, view, ctx.path["range"], ctx.request.headers.get("if-none-match")
    )
    return _plane_response(planes)


async def get_reformat(ctx: RequestContext) -> Response:
    view = await _view(ctx)
    plane = await viewer.reformat(
        ctx.settings.dicom_dir, view, ctx.path["axis"], ctx.path["index"], ctx.request.headers.get("if-none-match")
    )
    return _plane_response(plane)


async def get_volume(ctx: RequestContext) -> Response:
    view = await _view(ctx)
    stream = await viewer.volume(ctx.settings.dicom_dir, view, ctx.request.headers.get("if-none-match"))
    headers = {
        "ETag": stream.etag, "Cache-Control": viewer.CACHE_CONTROL, "Vary": _VARY,
        "X-Circus-Size": ",".join(map(str, stream.size)), "X-Circus-Dtype": stream.dtype,
    }
    if stream.chunks is None:
        return Response(status_code=304, headers=headers)
    headers["Content-Length"] = str(stream.length)
    return StreamingResponse(stream.chunks, media_type="application/octet-stream", headers=headers)


ROUTES = [
    ApiRoute("GET", "/series/{seriesUid}/metadata", get_metadata,
             summary="Viewer metadata of a series (size, spacing, positions, pixel type, window)"),
    ApiRoute("GET", "/series/{seriesUid}/slice/{index}", get_slice,
             summary="One axial slice as raw little-endian pixels (CT: int16 HU)"),
    ApiRoute("GET", "/series/{seriesUid}/slices/{range}", get_slices,
             summary="Consecutive axial slices first-last (at most 64) concatenated, for prefetching"),
    ApiRoute("GET", "/series/{seriesUid}/reformat/{axis}/{index}", get_reformat,
             summary="A coronal or sagittal plane as raw little-endian pixels"),
    ApiRoute("GET", "/series/{seriesUid}/volume", get_volume,
             summary="The whole volume, (z, y, x) raw little-endian pixels, streamed"),
]
