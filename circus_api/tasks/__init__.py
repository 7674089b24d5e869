"""Long operations (DICOM import, exports) run as dramatiq tasks on worker processes."""
