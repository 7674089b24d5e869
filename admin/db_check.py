"""`db-check` (spec 8): read every document of the API's collections through its stored schema.

CIRCUS fails a read with 500 when a document misses a field; this finds such documents before a
user does. The check stops at the first invalid document, as CIRCUS's command does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db.document_schemas import MODELS, Model
from circus_api.validation import ajv_error


@dataclass(frozen=True)
class CheckedCollection:
    model: str
    collection: str
    documents: int


@dataclass(frozen=True)
class InvalidDocument:
    model: str
    collection: str
    key_field: str
    key: Any
    errors: list[str]  # "<path>: <message>", the path `(document)` for the top level


@dataclass
class CheckReport:
    """The collections found valid, in check order, and the invalid document that stopped the check."""

    checked: list[CheckedCollection] = field(default_factory=list)
    invalid: InvalidDocument | None = None


def selected_models(targets: Iterable[str]) -> list[Model]:
    """The models named (all of them when none), in the spec's order; ValueError for an unknown name."""
    wanted = set(targets)
    unknown = sorted(wanted - set(MODELS))
    if unknown:
        raise ValueError(f"unknown model {unknown[0]!r}; the models are {', '.join(MODELS)}")
    return [model for name, model in MODELS.items() if not wanted or name in wanted]


def _error_lines(model: Model, document: dict[str, Any]) -> list[str]:
    errors = sorted(model.validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{ajv_error(error)['dataPath'] or '(document)'}: {error.message}" for error in errors]


async def check_collections(
    db: AsyncDatabase,
    targets: Iterable[str] = (),
    on_checked: Callable[[CheckedCollection], None] | None = None,
) -> CheckReport:
    """Validate the documents of each selected collection, streamed in `_id` order.

    `on_checked` hears of each valid collection as soon as it is done (the CLI prints it then)."""
    report = CheckReport()
    for model in selected_models(targets):
        count = 0
        async for document in db[model.collection].find({}).sort("_id", 1):
            errors = _error_lines(model, document)
            if errors:
                key = document.get(model.key_field, document.get("_id"))
                key_field = model.key_field if model.key_field in document else "_id"
                report.invalid = InvalidDocument(model.name, model.collection, key_field, key, errors)
                return report
            count += 1
        checked = CheckedCollection(model.name, model.collection, count)
        report.checked.append(checked)
        if on_checked:
            on_checked(checked)
    return report
