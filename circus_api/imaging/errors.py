"""The imaging error tree; callers map these to HTTP errors or task failures."""

from __future__ import annotations


class ImagingError(Exception):
    """Base of every error raised by `circus_api.imaging`."""


class InvalidUidError(ImagingError, ValueError):
    """A string that is not a DICOM UID was about to name something on disk."""


class DicomImportError(ImagingError):
    """An uploaded file cannot be imported; `reason` is a short message for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class VolumeError(ImagingError):
    """A volume cannot be built from the requested images (missing, inconsistent, undecodable)."""


class OrientationError(ImagingError):
    """Spec 5.3 failures; the message is CIRCUS's (`no image`, `invalid image`)."""


class DicomReadError(ImagingError):
    """Bytes or a stored file that pydicom cannot read as DICOM."""
