"""De-identification: a subset of the DICOM PS3.15 Annex E basic profile.

Options applied (recorded in DeidentificationMethod): Retain Patient Characteristics (age,
sex, size, weight stay, CIRCUS shows them), Retain Longitudinal Temporal Information with Full
Dates (seriesDate must survive), descriptions retained (SeriesDescription is CIRCUS's series
label). Instance UIDs are replaced through a caller-owned map, so all files of one upload
(one series, one study) keep pointing at each other.
"""

from __future__ import annotations

import copy
import io
from collections.abc import MutableMapping
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.uid import UID, generate_uid

from circus_api.imaging.dicom_reading import lenient_values, read_dataset

# LO allows 64 characters per value, hence several values
DEIDENTIFICATION_METHOD = [
    "CIRCUS: PS3.15 basic profile subset",
    "Retain Patient Characteristics",
    "Retain Longitudinal Temporal Information Full Dates",
    "Descriptions retained",
]

# Z: type 2 elements that must stay present, emptied
BLANKED = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "ReferringPhysicianName",
    "AccessionNumber",
    "StudyID",
    "ContentCreatorName",
)

# X: removed wherever they occur, nested sequences included
REMOVED = (
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionCodeSequence",
    "InstitutionalDepartmentName",
    "PhysiciansOfRecord",
    "PhysiciansOfRecordIdentificationSequence",
    "PerformingPhysicianName",
    "PerformingPhysicianIdentificationSequence",
    "NameOfPhysiciansReadingStudy",
    "PhysiciansReadingStudyIdentificationSequence",
    "OperatorsName",
    "OperatorIdentificationSequence",
    "ReferringPhysicianAddress",
    "ReferringPhysicianTelephoneNumbers",
    "ReferringPhysicianIdentificationSequence",
    "RequestingPhysician",
    "RequestingService",
    "RequestAttributesSequence",
    "ReferencedPatientSequence",
    "StationName",
    "DeviceSerialNumber",
    "IssuerOfPatientID",
    "OtherPatientIDs",
    "OtherPatientIDsSequence",
    "OtherPatientNames",
    "PatientBirthName",
    "PatientBirthTime",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "PatientMotherBirthName",
    "MilitaryRank",
    "BranchOfService",
    "MedicalRecordLocator",
    "EthnicGroup",
    "Occupation",
    "AdditionalPatientHistory",
    "PatientComments",
    "PatientReligiousPreference",
    "CountryOfResidence",
    "RegionOfResidence",
    "PatientInsurancePlanCodeSequence",
    "MedicalAlerts",
    "Allergies",
    "ResponsiblePerson",
    "ResponsibleOrganization",
    "PerformedLocation",
    "PerformedStationName",
    "PerformedProcedureStepID",
    "ScheduledProcedureStepID",
    "RequestedProcedureID",
    "CommentsOnThePerformedProcedureStep",
    "ImageComments",
    "StudyComments",
    "PersonName",
    "VerifyingObserverName",
    "ContentCreatorIdentificationCodeSequence",
)
_REMOVED = frozenset(REMOVED)
_OVERLAY_GROUPS = range(0x6000, 0x6100, 2)


def anonymize(source: bytes | Path | Dataset, uid_map: MutableMapping[str, str]) -> bytes:
    """A de-identified Part 10 file. `uid_map` (old UID -> new UID) is read and extended, so
    passing the same map for every file of an upload keeps their references consistent."""
    with lenient_values():
        ds = copy.deepcopy(source) if isinstance(source, Dataset) else read_dataset(source)
        ds.remove_private_tags()
        _clean(ds, uid_map)
        for keyword in BLANKED:
            if keyword in ds:
                ds[keyword].value = ""
        ds.PatientIdentityRemoved = "YES"
        ds.DeidentificationMethod = DEIDENTIFICATION_METHOD
        ds.LongitudinalTemporalInformationModified = "UNMODIFIED"
        meta = ds.file_meta
        # the sender's AE title can name the site
        meta.pop("SourceApplicationEntityTitle", None)
        if "MediaStorageSOPInstanceUID" in meta:
            meta.MediaStorageSOPInstanceUID = UID(_new_uid(str(meta.MediaStorageSOPInstanceUID), uid_map))
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=True)
        return out.getvalue()


def _clean(ds: Dataset, uid_map: MutableMapping[str, str]) -> None:
    for elem in list(ds):
        tag = elem.tag
        # group lengths would be stale after removals; overlays can carry burnt-in text
        if tag.element == 0 or tag.group in _OVERLAY_GROUPS or elem.keyword in _REMOVED:
            del ds[tag]
        elif elem.VR == "SQ":
            for item in elem.value:
                _clean(item, uid_map)
        elif elem.VR == "UI" and elem.value:
            if elem.VM > 1:
                elem.value = [_new_uid(str(uid), uid_map) for uid in elem.value]
            else:
                elem.value = _new_uid(str(elem.value), uid_map)


def _new_uid(uid: str, uid_map: MutableMapping[str, str]) -> str:
    """Registered standard UIDs (SOP classes, transfer syntaxes, coding schemes) are not
    identifying and stay; every other UID is an instance UID and is replaced."""
    if UID(uid).name != uid:
        return uid
    if uid not in uid_map:
        uid_map[uid] = generate_uid()
    return uid_map[uid]
