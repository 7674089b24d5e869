"""DICOM and volume handling: the only package that imports pydicom, SimpleITK or numpy.

No HTTP, no MongoDB. Every function is synchronous; async callers run them in a worker thread
(`anyio.to_thread.run_sync`). Modules, one concept each:

- `ranges`: multi-integer ranges (`series.images`) and partial volume descriptors (spec 5.1)
- `dicom_files`: the DICOM repository on disk (spec 5.2 storage layout, spec 7)
- `dicom_reading`: reading DICOM with pydicom, tolerant of legacy values
- `dicom_values`: DICOM element values as JSON/BSON-safe values
- `dicom_dates`: DA/TM/timezone handling
- `patient_info`: the series' `patientInfo` (spec 5.2)
- `dicom_import`: one uploaded file -> series fields (spec 5.2)
- `upload_archive`: safe walking of uploaded zip / tar.gz archives
- `anonymize`: PS3.15 basic-profile de-identification
- `pixels`: one slice's pixels in the volume pixel type (CT -> int16 HU)
- `volumes`: the one volume builder (geometry, streaming slices, whole volumes)
- `orientation`: head-first / foot-first and `auto` PVDs (spec 5.3)
- `mhd`: MetaImage headers (spec 5.4)
- `labels`: voxel label blobs placed in a volume, plane by plane (spec 5.1)
- `archives`: streaming tar.gz / zip writers with parallel deflate
- `mhd_archive`: the MHD export layout of a case (spec 5.4)
- `cs_volume`: the CS volume export / plug-in input layout (spec 5.5)
"""
