"""The stored shape of every document the API owns (spec 6.1-6.13), for `circus db-check` (spec 8).

CIRCUS validates each document it reads against its collection's schema, with every listed field
required (plus `_id`, `createdAt`, `updatedAt`) and no unknown field; documents written by this
project must pass these schemas so that CIRCUS (and `db-check`) can read them.

The schemas check the shape (fields, types, enums, lengths), not string formats: no format checker
is applied, because stored IDs of any shape must keep working (spec 9.1). Request schemas are
reused where the stored field is the request field; their ISO date strings become BSON dates here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bson import ObjectId
from jsonschema import Draft7Validator, validators
from jsonschema.protocols import Validator

from circus_api.schemas.admin import NEW_GROUP, NEW_PROJECT
from circus_api.schemas.cases import NEW_REVISION
from circus_api.schemas.common import DATE, DICOM_UID, PARTIAL_VOLUME_DESCRIPTOR, STRING_ARRAY, strict_object
from circus_api.schemas.feedback import ACTION_LOG_ENTRY
from circus_api.schemas.plugins import CAD, REMOTE, definition_schema
from circus_api.schemas.preferences import PREFERENCES
from circus_api.schemas.users import MY_LIST_ENTRY

# pymongo returns BSON dates as `datetime` and `_id` as ObjectId: two JSON Schema types of our own
_TYPES = Draft7Validator.TYPE_CHECKER.redefine_many({
    "date": lambda _checker, value: isinstance(value, dt.datetime),
    "objectId": lambda _checker, value: isinstance(value, ObjectId),
})
DocumentValidator = validators.extend(Draft7Validator, type_checker=_TYPES)

STORED_DATE: dict[str, Any] = {"type": "date"}
_DATE_OR_NULL: dict[str, Any] = {"type": ["date", "null"]}
_STRING: dict[str, Any] = {"type": "string"}
_STRING_OR_NULL: dict[str, Any] = {"type": ["string", "null"]}
_NUMBER: dict[str, Any] = {"type": "number"}
_BOOLEAN: dict[str, Any] = {"type": "boolean"}
_OBJECT: dict[str, Any] = {"type": "object"}


def stored(schema: Any) -> Any:
    """A request schema as its value is stored: ISO date strings are BSON dates in the database."""
    if schema == DATE:
        return STORED_DATE
    if isinstance(schema, dict):
        return {key: stored(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [stored(value) for value in schema]
    return schema


def document(fields: dict[str, Any]) -> dict[str, Any]:
    """A top-level document: every field required, plus `_id`, `createdAt`, `updatedAt`; no other."""
    properties = {"_id": {"type": "objectId"}, **fields, "createdAt": STORED_DATE, "updatedAt": STORED_DATE}
    return strict_object(properties, list(properties))


def _array(items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "array", "items": items, **extra}


# ---- 6.1 users --------------------------------------------------------------------------------

USER = document({
    "userEmail": _STRING,
    "loginId": _STRING,
    "password": _STRING,
    "lastLoginTime": STORED_DATE,
    "lastLoginIp": _STRING,
    "preferences": PREFERENCES,  # every key optional, unknown keys refused (spec 4.2)
    "loginEnabled": _BOOLEAN,
    "description": _STRING,
    "groups": _array({"type": "integer"}),
    "myLists": _array(stored(MY_LIST_ENTRY)),
})

# ---- 6.2 groups, 6.3 projects: the admin request fields, all of them ---------------------------

GROUP = document(NEW_GROUP["properties"])
PROJECT = document(NEW_PROJECT["properties"])

# ---- 6.4 series -------------------------------------------------------------------------------

PATIENT_INFO = strict_object({
    "patientId": _STRING,
    "patientName": _STRING,
    "age": _NUMBER,
    "birthDate": _STRING,
    "sex": {"enum": ["F", "M", "O"]},
    "size": _NUMBER,
    "weight": _NUMBER,
})

SERIES = document({
    "seriesUid": DICOM_UID,
    "studyUid": DICOM_UID,
    "width": _NUMBER,
    "height": _NUMBER,
    "images": _STRING,
    "seriesDate": _DATE_OR_NULL,
    "modality": {"type": "string", "maxLength": 10},
    "seriesDescription": _STRING,
    "bodyPart": _STRING,
    "stationName": _STRING,
    "modelName": _STRING,
    "manufacturer": _STRING,
    "storageId": _NUMBER,
    "patientInfo": PATIENT_INFO,
    "parameters": _OBJECT,
    "domain": _STRING,
})

# ---- 6.5 clinicalCases ------------------------------------------------------------------------

_REVISION_FIELDS = {**NEW_REVISION["properties"], "creator": _STRING, "date": STORED_DATE}
REVISION = strict_object(_REVISION_FIELDS, list(_REVISION_FIELDS))

CLINICAL_CASE = document({
    "caseId": _STRING,
    "projectId": _STRING,
    "tags": STRING_ARRAY,
    "latestRevision": REVISION,
    "revisions": _array(REVISION),
    "domains": STRING_ARRAY,
})

# ---- 6.6 pluginDefinitions: two shapes told apart by `type` ------------------------------------


def _plugin_shape(plugin_type: str) -> dict[str, Any]:
    # every field required, `pluginId` too (a remote plug-in's request may omit it: the server computes it)
    return document(definition_schema(plugin_type, complete=True)["properties"])


PLUGIN = {
    "if": {"properties": {"type": {"const": REMOTE}}, "required": ["type"]},
    "then": _plugin_shape(REMOTE),
    "else": _plugin_shape(CAD),
}

# ---- 6.7 pluginJobs ---------------------------------------------------------------------------

JOB_SERIES = strict_object(
    {"seriesUid": DICOM_UID, "partialVolumeDescriptor": PARTIAL_VOLUME_DESCRIPTOR, "requiredPrivateTags": _STRING},
    ["seriesUid", "partialVolumeDescriptor"],
)
_FEEDBACK_FIELDS = {
    "feedbackId": _STRING,
    "userEmail": _STRING,
    "isConsensual": _BOOLEAN,
    "createdAt": STORED_DATE,
    "data": {},  # any JSON, shaped by the plug-in's displays (spec 5.7)
    "actionLog": _array(stored(ACTION_LOG_ENTRY)),
}
FEEDBACK_ENTRY = strict_object(_FEEDBACK_FIELDS, list(_FEEDBACK_FIELDS))

PLUGIN_JOB = document({
    "jobId": _STRING,
    "pluginId": _STRING,
    "userEmail": _STRING,
    "status": {"enum": ["in_queue", "processing", "finished", "cancelled", "failed", "invalidated"]},
    "errorMessage": _STRING_OR_NULL,
    "series": _array(JOB_SERIES, minItems=1),
    "feedbacks": _array(FEEDBACK_ENTRY),
    "startedAt": _DATE_OR_NULL,
    "finishedAt": _DATE_OR_NULL,
    "results": {"type": ["object", "null"]},
})

# ---- 6.9 myLists, 6.10 tokens, 6.11 tasks, 6.12 serverParams, 6.13 onetimeUrls ---------------

MY_LIST = document({
    "myListId": _STRING,
    "items": _array(strict_object({"resourceId": _STRING, "createdAt": STORED_DATE}, ["resourceId", "createdAt"])),
})

TOKEN = document({
    "accessToken": _STRING,
    "accessTokenExpiresAt": STORED_DATE,
    "refreshToken": _STRING,
    "refreshTokenExpiresAt": STORED_DATE,
    "clientId": _STRING,
    "userId": _STRING,
    "permanentTokenId": _STRING_OR_NULL,
    "permanentTokenDescription": {"type": ["string", "null"], "maxLength": 1024},
})

TASK = document({
    "taskId": _STRING,
    "userEmail": _STRING,
    "name": _STRING,
    "status": {"enum": ["processing", "finished", "error"]},
    "errorMessage": _STRING_OR_NULL,
    "finishedMessage": _STRING_OR_NULL,
    "endedAt": _DATE_OR_NULL,
    "downloadFileType": _STRING_OR_NULL,
    "dismissed": _BOOLEAN,
})

SERVER_PARAM = document({"key": _STRING, "value": {}})

ONETIME_URL = document({"onetimeUrlId": _STRING, "userEmail": _STRING, "onetimeString": _STRING})

# ---- the models of `db-check --target`, in the spec's order ---------------------------------


class Model:
    """A collection as `db-check` names it: its schema and the field that identifies a document."""

    def __init__(self, name: str, collection: str, key_field: str, schema: dict[str, Any]) -> None:
        self.name = name
        self.collection = collection
        self.key_field = key_field
        self.validator: Validator = DocumentValidator(schema)


MODELS: dict[str, Model] = {
    model.name: model
    for model in (
        Model("user", "users", "userEmail", USER),
        Model("group", "groups", "groupId", GROUP),
        Model("project", "projects", "projectId", PROJECT),
        Model("series", "series", "seriesUid", SERIES),
        Model("clinicalCase", "clinicalCases", "caseId", CLINICAL_CASE),
        Model("serverParam", "serverParams", "key", SERVER_PARAM),
        # a token's own key is a secret: it is named by `_id`
        Model("token", "tokens", "_id", TOKEN),
        Model("task", "tasks", "taskId", TASK),
        Model("plugin", "pluginDefinitions", "pluginId", PLUGIN),
        Model("pluginJob", "pluginJobs", "jobId", PLUGIN_JOB),
        Model("myList", "myLists", "myListId", MY_LIST),
        Model("onetimeUrl", "onetimeUrls", "onetimeUrlId", ONETIME_URL),
    )
}
