"""The search helper (spec 3): query parameters in, filter/sort/paging out, and the runs on MongoDB."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from bson.regex import Regex
from pymongo.asynchronous.database import AsyncDatabase
from starlette.datastructures import QueryParams

from circus_api.errors import BadRequest
from circus_api.search import (
    SearchRequest,
    SearchSpec,
    combine,
    decode_extended_json,
    is_valid_filter,
    parse_paging,
    parse_search,
    parse_sort,
    run_pipeline_search,
    run_search,
    uses_patient_info,
)

FIELDS = frozenset({"modality", "seriesDate", "createdAt", "tags", "patientInfo.patientName", "patientInfo.age"})
SPEC = SearchSpec(FIELDS, (("createdAt", -1),))
UNLIMITED_SPEC = SearchSpec(FIELDS, (("createdAt", -1),), unlimited=True)
TASKS_SPEC = SearchSpec(frozenset({"status"}), (("createdAt", -1),),
                        filter_error="Filter string could not be parsed.", reject_repeated_filter=True)


def query(**params: Any) -> QueryParams:
    return QueryParams({k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()})


def search(spec: SearchSpec = SPEC, can_search_patient_info: bool = True, **params: Any) -> SearchRequest:
    return parse_search(query(**params), spec, can_search_patient_info)


def refused(**params: Any) -> str:
    spec = params.pop("spec", SPEC)
    allowed = params.pop("can_search_patient_info", True)
    with pytest.raises(BadRequest) as caught:
        search(spec, allowed, **params)
    assert caught.value.status_code == 400
    return caught.value.message


# ---- Extended JSON ---------------------------------------------------------------------------


def test_a_date_object_becomes_a_naive_utc_datetime() -> None:
    assert decode_extended_json({"$date": "2020-01-02T03:04:05.678Z"}) == dt.datetime(2020, 1, 2, 3, 4, 5, 678000)
    assert decode_extended_json({"$date": "2020-01-02T12:00:00+09:00"}) == dt.datetime(2020, 1, 2, 3, 0, 0)


def test_a_date_may_be_milliseconds_since_the_epoch() -> None:
    assert decode_extended_json({"$date": 1405266782008}) == dt.datetime(2014, 7, 13, 15, 53, 2, 8000)
    assert decode_extended_json({"$date": {"$numberLong": "0"}}) == dt.datetime(1970, 1, 1)


@pytest.mark.parametrize("raw", ["yesterday", "2020-13-01", "", 1e20])
def test_an_unreadable_date_is_a_bad_filter(raw: Any) -> None:
    with pytest.raises(BadRequest) as caught:
        decode_extended_json({"$date": raw})
    assert caught.value.message == "Bad filter."


def test_a_regex_object_becomes_a_regular_expression() -> None:
    assert decode_extended_json({"$regex": "^CT", "$options": "i"}) == Regex("^CT", "i")
    plain = decode_extended_json({"$regex": "lung"})
    assert isinstance(plain, Regex)
    assert plain.pattern == "lung"
    assert plain.flags == 0  # case-sensitive unless asked


@pytest.mark.parametrize("value", [{"$regex": 5}, {"$regex": "a", "$options": 1}, {"$regex": "a\u0000"},
                                   {"$regex": "a", "$options": "i\u0000"}])
def test_a_malformed_regex_is_a_bad_filter(value: dict[str, Any]) -> None:
    with pytest.raises(BadRequest) as caught:
        decode_extended_json(value)
    assert caught.value.message == "Bad filter."


def test_extended_json_is_decoded_at_any_depth() -> None:
    decoded = decode_extended_json({
        "$and": [{"createdAt": {"$gte": {"$date": "2020-01-01T00:00:00Z"}}},
                 {"tags": {"$in": [{"$regex": "a"}, "b"]}}],
    })
    assert decoded == {"$and": [{"createdAt": {"$gte": dt.datetime(2020, 1, 1)}},
                                {"tags": {"$in": [Regex("a"), "b"]}}]}


def test_integers_beyond_64_bits_are_read_as_doubles_as_javascript_does() -> None:
    assert search(filter='{"seriesDate": {"$gt": 99999999999999999999}}').filter == {"seriesDate": {"$gt": 1e20}}
    assert search(filter='{"seriesDate": 9223372036854775807}').filter == {"seriesDate": 9223372036854775807}


@pytest.mark.parametrize("raw", ['{"seriesDate": NaN}', '{"seriesDate": {"$lt": Infinity}}'])
def test_javascript_cannot_parse_nan_or_infinity_and_neither_do_we(raw: str) -> None:
    assert refused(filter=raw) == "Invalid JSON was passed as a filter string"


def test_a_date_object_with_extra_keys_stays_a_document() -> None:
    assert decode_extended_json({"$date": "2020-01-01T00:00:00Z", "x": 1}) == {"$date": "2020-01-01T00:00:00Z", "x": 1}


def test_the_filter_parameter_is_parsed_and_decoded() -> None:
    request = search(filter={"modality": "CT", "seriesDate": {"$lt": {"$date": "2021-01-01T00:00:00.000Z"}}})
    assert request.filter == {"modality": "CT", "seriesDate": {"$lt": dt.datetime(2021, 1, 1)}}


# ---- the filter parameter --------------------------------------------------------------------


def test_no_filter_means_everything() -> None:
    assert search().filter == {}


def test_an_unparseable_filter_is_refused_with_the_endpoints_message() -> None:
    assert refused(filter="{modality: CT}") == "Invalid JSON was passed as a filter string"
    assert refused(spec=TASKS_SPEC, filter="{") == "Filter string could not be parsed."


@pytest.mark.parametrize("raw", ["[]", "1", '"CT"', "null"])
def test_a_filter_that_is_not_an_object_is_a_bad_filter(raw: str) -> None:
    assert refused(filter=raw) == "Bad filter."


def test_a_repeated_filter_parameter_uses_the_first() -> None:
    params = QueryParams([("filter", '{"modality":"CT"}'), ("filter", "garbage")])
    assert parse_search(params, SPEC).filter == {"modality": "CT"}
    params = QueryParams([("filter", '{"modality":"CT"}'), ("filter", '{"modality":"MR"}')])
    assert parse_search(params, SPEC).filter == {"modality": "CT"}


def test_a_repeated_filter_is_refused_where_the_endpoint_says_so() -> None:
    params = QueryParams([("filter", '{"status":"finished"}'), ("filter", '{"status":"error"}')])
    with pytest.raises(BadRequest) as caught:
        parse_search(params, TASKS_SPEC)
    assert caught.value.message == "Filter string could not be parsed."
    assert parse_search(QueryParams([("filter", '{"status":"finished"}')]), TASKS_SPEC).filter == {"status": "finished"}


def test_an_ignored_filter_is_never_parsed() -> None:
    spec = SearchSpec(frozenset(), (("groupId", 1),), filter_ignored=True)
    assert search(spec, filter="not json at all").filter == {}
    assert search(spec, filter={"$where": "sleep(1000)"}).filter == {}


# ---- the whitelist ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["CT", 3, 2.5, True, {"$date": "2020-01-01T00:00:00Z"}, {"$regex": "C"},
     {"$gt": 1}, {"$gte": "a"}, {"$lt": {"$date": "2020-01-01T00:00:00Z"}}, {"$lte": 2.5}, {"$ne": False},
     {"$ne": {"$regex": "x"}}, {"$in": ["CT", "MR"]}, {"$all": ["a", {"x": None}]}, {"$gt": 1, "$lt": 5}],
)
def test_scalars_and_the_allowed_operators_pass(value: Any) -> None:
    assert search(filter={"modality": value}).filter["modality"] is not None


@pytest.mark.parametrize(
    "value",
    [None, ["CT"], {"sub": "doc"}, {}, {"$eq": "CT"}, {"$nin": ["CT"]}, {"$not": {"$regex": "C"}},
     {"$exists": True}, {"$elemMatch": {"a": 1}}, {"$where": "1"}, {"$regex": "C", "$gt": 1},
     {"$in": "CT"}, {"$all": "CT"}, {"$gt": None}, {"$gt": ["CT"]}, {"$ne": {"a": 1}}, {"$gt": 1, "$size": 1}],
)
def test_other_values_and_operators_are_a_bad_filter(value: Any) -> None:
    assert refused(filter={"modality": value}) == "Bad filter."


@pytest.mark.parametrize(
    "filter",
    [{"password": "x"}, {"$where": "this.a == 1"}, {"$nor": [{"modality": "CT"}]}, {"$expr": {"$eq": [1, 1]}},
     {"$text": {"$search": "x"}}, {"modality.sub": "x"}, {"patientInfo": {"$ne": None}}],
)
def test_a_field_outside_the_whitelist_is_a_bad_filter(filter: dict[str, Any]) -> None:
    assert refused(filter=filter) == "Bad filter."


def test_and_or_are_checked_recursively() -> None:
    good = {"$and": [{"modality": "CT"}, {"$or": [{"tags": "a"}, {"$and": [{"seriesDate": {"$gt": 1}}]}]}]}
    assert search(filter=good).filter == good
    bad = {"$and": [{"modality": "CT"}, {"$or": [{"tags": "a"}, {"$and": [{"secret": 1}]}]}]}
    assert refused(filter=bad) == "Bad filter."


@pytest.mark.parametrize("value", [{"modality": "CT"}, "CT", None, [["modality"]], ["x"]])
def test_and_or_must_hold_a_list_of_filters(value: Any) -> None:
    assert not is_valid_filter({"$and": value}, FIELDS)
    assert not is_valid_filter({"$or": value}, FIELDS)


def test_the_whitelist_only_accepts_objects() -> None:
    assert is_valid_filter({}, FIELDS)
    assert not is_valid_filter([], FIELDS)
    assert not is_valid_filter("modality", FIELDS)


# ---- patient information ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"patientInfo.patientName": "X"}, True),
        ({"modality": "CT", "patientInfo.age": {"$gt": 50}}, True),
        ({"$and": [{"modality": "CT"}, {"patientInfo.age": 3}]}, True),
        ({"$or": [{"modality": "CT"}, {"$and": [{"patientInfo.patientName": "X"}]}]}, True),
        ({"modality": "patientInfo"}, False),
        ({"$and": [{"modality": "CT"}, {"$or": [{"tags": "patientInfo"}]}]}, False),
        ({}, False),
    ],
)
def test_patient_info_use_is_detected_at_any_depth(filter: dict[str, Any], expected: bool) -> None:
    assert uses_patient_info(filter) is expected


def test_searching_patient_info_needs_the_privilege() -> None:
    nested = {"$or": [{"modality": "CT"}, {"patientInfo.patientName": {"$regex": "Ya"}}]}
    assert refused(filter=nested, can_search_patient_info=False) == "You cannot search using patient information."
    assert search(filter=nested, can_search_patient_info=True).filter["$or"][1] == {
        "patientInfo.patientName": Regex("Ya")
    }
    # other filters do not need it
    assert search(filter={"modality": "CT"}, can_search_patient_info=False).filter == {"modality": "CT"}


def test_the_whitelist_is_checked_before_the_patient_privilege() -> None:
    assert refused(filter={"patientInfo.birthDate": None}, can_search_patient_info=False) == "Bad filter."


# ---- sort ------------------------------------------------------------------------------------


def _sort(raw: str | None) -> list[tuple[str, int]]:
    params = QueryParams({} if raw is None else {"sort": raw})
    return parse_sort(params, (("createdAt", -1),))


def test_no_sort_means_the_endpoints_default() -> None:
    assert _sort(None) == [("createdAt", -1)]


def test_an_empty_sort_object_means_the_default() -> None:
    assert _sort("{}") == [("createdAt", -1)]


def test_sort_keys_keep_their_order_and_are_not_whitelisted() -> None:
    assert _sort('{"seriesDate":1,"anything.at.all":-1,"modality":1}') == [
        ("seriesDate", 1), ("anything.at.all", -1), ("modality", 1),
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{createdAt:1}", "Bad sort parameter. Invalid JSON."),
        ("", "Bad sort parameter. Invalid JSON."),
        ('["createdAt"]', "Bad sort parameter. Non-object passed."),
        ("1", "Bad sort parameter. Non-object passed."),
        ('{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1}', "Bad sort parameter. Too many sort keys."),
        ('{"createdAt":2}', "Bad sort parameter. Invalid key/value pair."),
        ('{"createdAt":"desc"}', "Bad sort parameter. Invalid key/value pair."),
        ('{"createdAt":true}', "Bad sort parameter. Invalid key/value pair."),
        ('{"createdAt":1.5}', "Bad sort parameter. Invalid key/value pair."),
        ('{"createdAt":{"$meta":"textScore"}}', "Bad sort parameter. Invalid key/value pair."),
        ('{"$natural":1}', "Bad sort parameter. Invalid key/value pair."),
        ('{"":1}', "Bad sort parameter. Invalid key/value pair."),
        ('{"a.":1}', "Bad sort parameter. Invalid key/value pair."),
        ('{".a":1}', "Bad sort parameter. Invalid key/value pair."),
        ('{"a..b":1}', "Bad sort parameter. Invalid key/value pair."),
        ('{"a.$b":1}', "Bad sort parameter. Invalid key/value pair."),
        ('{"a\\u0000":1}', "Bad sort parameter. Invalid key/value pair."),
    ],
)
def test_a_bad_sort_is_refused_with_its_reason(raw: str, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        _sort(raw)
    assert caught.value.message == message


def test_five_sort_keys_are_allowed() -> None:
    assert len(_sort('{"a":1,"b":-1,"c":1,"d":-1,"e":1}')) == 5


def test_minus_one_as_a_float_is_accepted() -> None:
    assert _sort('{"createdAt":-1.0}') == [("createdAt", -1)]


# ---- paging ----------------------------------------------------------------------------------


def _paging(unlimited: bool = False, **params: str) -> tuple[int, int]:
    return parse_paging(QueryParams(params), unlimited)


def test_paging_defaults_to_twenty_items_on_page_one() -> None:
    assert _paging() == (20, 1)
    request = search(limit="5", page="3")
    assert (request.limit, request.page, request.skip) == (5, 3, 10)
    assert search().skip == 0


def test_up_to_200_items_may_be_asked_for() -> None:
    assert _paging(limit="200") == (200, 1)
    with pytest.raises(BadRequest) as caught:
        _paging(limit="201")
    assert caught.value.message == "You cannot query more than 200 items at a time."


def test_unlimited_endpoints_take_any_limit_up_to_9999() -> None:
    assert _paging(unlimited=True, limit="5000") == (5000, 1)
    with pytest.raises(BadRequest) as caught:
        _paging(unlimited=True, limit="10000")
    assert caught.value.message == "You cannot query more than 9999 items at a time."


def test_the_unlimited_parameter_sets_the_limit_to_9999() -> None:
    assert parse_paging(QueryParams("unlimited"), True) == (9999, 1)
    assert parse_paging(QueryParams("unlimited=0&limit=5&page=2"), True) == (9999, 2)
    assert search(UNLIMITED_SPEC, unlimited="1").limit == 9999
    # on other endpoints it means nothing
    assert parse_paging(QueryParams("unlimited"), False) == (20, 1)


@pytest.mark.parametrize(("name", "raw"), [("limit", "0"), ("limit", "-1"), ("limit", "abc"), ("limit", "1.5"),
                                           ("limit", ""), ("limit", "\u00b9"), ("page", "0"), ("page", "-2"),
                                           ("page", "x"), ("page", "\u0663")])
def test_limit_and_page_must_be_positive_integers(name: str, raw: str) -> None:
    with pytest.raises(BadRequest) as caught:
        _paging(**{name: raw})
    assert caught.value.message == f"The {name} parameter must be a positive integer."


def test_a_page_far_beyond_the_data_keeps_the_skip_within_64_bits() -> None:
    request = search(page="99999999999999999999")
    assert request.page == 99999999999999999999
    assert request.skip < 2**63


def test_a_repeated_paging_parameter_uses_the_first() -> None:
    assert parse_paging(QueryParams([("limit", "5"), ("limit", "500"), ("page", "2"), ("page", "x")]), False) == (5, 2)


# ---- combining filters -----------------------------------------------------------------------


def test_the_user_filter_and_the_access_filter_are_combined_with_and() -> None:
    assert combine({"modality": "CT"}, {"domain": {"$in": ["a"]}}) == {
        "$and": [{"modality": "CT"}, {"domain": {"$in": ["a"]}}]
    }
    assert combine({"modality": "CT"}, None) == {"modality": "CT"}
    assert combine({}, {"domain": "a"}) == {"domain": "a"}
    assert combine({}, None) == {}


# ---- running on MongoDB ----------------------------------------------------------------------


async def _seed(db: AsyncDatabase) -> None:
    base = dt.datetime(2020, 1, 1)
    await db.items.insert_many([
        {"n": i, "modality": "CT" if i % 2 else "MR", "domain": "a" if i < 6 else "b",
         "createdAt": base + dt.timedelta(days=i)}
        for i in range(10)
    ])


async def test_run_search_answers_one_page_and_the_total(db: AsyncDatabase) -> None:
    await _seed(db)
    request = SearchRequest({"modality": "CT"}, [("createdAt", -1)], limit=2, page=2)
    body = await run_search(db.items, request)
    assert body["totalItems"] == 5
    assert body["page"] == 2
    assert [i["n"] for i in body["items"]] == [5, 3]
    assert all("_id" not in i for i in body["items"])


async def test_run_search_applies_the_access_filter_projection_and_shape(db: AsyncDatabase) -> None:
    await _seed(db)
    request = SearchRequest({"modality": "CT"}, [("n", 1)], limit=20, page=1)
    body = await run_search(db.items, request, access_filter={"domain": "a"}, projection={"createdAt": 0},
                            shape=lambda item: {**item, "shaped": True})
    assert body == {
        "items": [{"n": n, "modality": "CT", "domain": "a", "shaped": True} for n in (1, 3, 5)],
        "totalItems": 3,
        "page": 1,
    }


async def test_run_search_with_dates_and_regexes_from_the_query(db: AsyncDatabase) -> None:
    await _seed(db)
    spec = SearchSpec(frozenset({"modality", "createdAt"}), (("n", 1),))
    request = parse_search(query(filter={"modality": {"$regex": "^c", "$options": "i"},
                                         "createdAt": {"$gte": {"$date": "2020-01-05T00:00:00.000Z"}}}), spec)
    body = await run_search(db.items, request)
    assert [i["n"] for i in body["items"]] == [5, 7, 9]
    case_sensitive = parse_search(query(filter={"modality": {"$regex": "^c"}}), spec)
    assert (await run_search(db.items, case_sensitive))["totalItems"] == 0


async def test_an_invalid_query_is_a_400(db: AsyncDatabase) -> None:
    await _seed(db)
    for filter in ({"$and": []}, {"modality": Regex("(")}):
        with pytest.raises(BadRequest) as caught:
            await run_search(db.items, SearchRequest(filter, [("n", 1)], 20, 1))
        assert caught.value.message == "Invalid query"


async def test_a_page_far_beyond_the_data_is_empty(db: AsyncDatabase) -> None:
    await _seed(db)
    request = search(page="99999999999999999999")
    body = await run_search(db.items, request)
    assert body == {"items": [], "totalItems": 10, "page": 99999999999999999999}
    body = await run_pipeline_search(db.items, request, join_stages=[])
    assert body == {"items": [], "totalItems": 10, "page": 99999999999999999999}


async def test_run_pipeline_search_joins_matches_and_removes_helper_fields(db: AsyncDatabase) -> None:
    await _seed(db)
    request = SearchRequest({"modality": "MR"}, [("n", -1)], limit=3, page=1)
    body = await run_pipeline_search(
        db.items, request,
        join_stages=[{"$addFields": {"helper": "$domain"}}],
        access_filter={"helper": "a"},
        remove_fields=["helper", "createdAt"],
    )
    assert body == {
        "items": [{"n": n, "modality": "MR", "domain": "a"} for n in (4, 2, 0)],
        "totalItems": 3,
        "page": 1,
    }


async def test_run_pipeline_search_caps_the_total(db: AsyncDatabase) -> None:
    await _seed(db)
    request = SearchRequest({}, [("n", 1)], limit=2, page=1)
    body = await run_pipeline_search(db.items, request, join_stages=[], count_cap=4)
    assert body["totalItems"] == 4
    assert [i["n"] for i in body["items"]] == [0, 1]


async def test_run_pipeline_search_on_nothing_answers_zero(db: AsyncDatabase) -> None:
    request = SearchRequest({}, [("n", 1)], limit=2, page=1)
    assert await run_pipeline_search(db.items, request, join_stages=[]) == {"items": [], "totalItems": 0, "page": 1}
