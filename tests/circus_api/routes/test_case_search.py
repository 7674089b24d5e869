"""`GET /api/cases` and `/api/cases/list/:myListId`: the case search joined with series (spec 3.4)."""

from __future__ import annotations

from pymongo.database import Database

from tests.circus_api.conftest import Api

ANZU_CASE = "faeb503e97f918c882453fd2d789f50f4250267740a0b3fbcc85a529f2d7715b"
KOUME_CASES = {
    "bfaeb503e97f918c882453fd2d789f50f4250267740a0b3fbcc85a529f2d7715",
    "gfdrjivu4w8p57nv95p7n485n3p891ygy6543wedfuyt67oiulkjhtrw312wergr",
    "ankutrdbn53780cmm3489yxj01cmrm0cregtjcmveuhbi987gdhbtrdc780yn3er",
}
BOBS_CASE_LIST = "01ewes10a08z21bjnysd4p1m3f"
BOBS_SERIES_LIST = "01ex36wt9c94s93j0rmk98nsj0"


def test_readers_of_the_project_find_its_cases_with_patient_info_only_where_allowed(api: Api) -> None:
    # carol: read + viewPersonalInfo on the project, the global privilege and the preference
    carol = api.as_user("carol").get("/api/cases").json()
    assert carol["totalItems"] == 4
    by_id = {item["caseId"]: item for item in carol["items"]}
    assert set(by_id) == {ANZU_CASE, *KOUME_CASES}
    assert by_id[ANZU_CASE]["patientInfo"] == {"patientId": "003", "patientName": "Anzu", "weight": 20, "sex": "F"}
    assert set(by_id[ANZU_CASE]) == {
        "caseId", "projectId", "tags", "latestRevision", "domains", "createdAt", "updatedAt", "patientInfo"
    }
    # bob reads the project but has no viewPersonalInfo role on it: nothing joined, nothing shown
    bob = api.as_user("bob").get("/api/cases").json()
    assert bob["totalItems"] == 4
    assert all("patientInfo" not in item for item in bob["items"])
    # guest reads no project
    assert api.as_user("guest").get("/api/cases").json() == {"items": [], "totalItems": 0, "page": 1}


def test_patient_filters_match_only_where_patient_info_is_joined(api: Api) -> None:
    query = {"filter": '{"patientInfo.patientName": "Koume"}'}
    carol = api.as_user("carol").get("/api/cases", params=query).json()
    assert {item["caseId"] for item in carol["items"]} == KOUME_CASES
    assert api.as_user("bob").get("/api/cases", params=query).json()["totalItems"] == 0
    refused = api.as_user("guest").get("/api/cases", params=query)
    assert refused.status_code == 400
    assert refused.json() == {"error": "You cannot search using patient information."}


def test_filters_sorting_and_paging(api: Api) -> None:
    carol = api.as_user("carol")
    page = carol.get("/api/cases", params={"sort": '{"caseId": 1}', "limit": 3, "page": 2}).json()
    assert page["totalItems"] == 4
    assert page["page"] == 2
    assert [item["caseId"] for item in page["items"]] == [sorted([ANZU_CASE, *KOUME_CASES])[3]]
    one = carol.get("/api/cases", params={"filter": f'{{"caseId": "{ANZU_CASE}"}}'}).json()
    assert [item["caseId"] for item in one["items"]] == [ANZU_CASE]
    assert carol.get("/api/cases", params={"filter": '{"revisions": 1}'}).json() == {"error": "Bad filter."}


def test_cases_whose_series_are_gone_drop_out(api: Api, sync_db: Database) -> None:
    sync_db.series.delete_one({"seriesUid": "111.222.333.444.666"})
    body = api.as_user("carol").get("/api/cases").json()
    assert {item["caseId"] for item in body["items"]} == KOUME_CASES


def test_the_cases_of_ones_own_my_list_newest_addition_first(api: Api) -> None:
    bob = api.as_user("bob")
    body = bob.get(f"/api/cases/list/{BOBS_CASE_LIST}").json()
    assert [item["caseId"] for item in body["items"]] == [
        "ankutrdbn53780cmm3489yxj01cmrm0cregtjcmveuhbi987gdhbtrdc780yn3er",
        "gfdrjivu4w8p57nv95p7n485n3p891ygy6543wedfuyt67oiulkjhtrw312wergr",
    ]
    assert all("addedToListAt" not in item for item in body["items"])

    wrong_type = bob.get(f"/api/cases/list/{BOBS_SERIES_LIST}")
    assert wrong_type.status_code == 400
    assert wrong_type.json() == {"error": "This my list is not for cases"}
    # a public list of someone else is not one's own
    others = api.as_user("carol").get(f"/api/cases/list/{BOBS_CASE_LIST}")
    assert others.status_code == 404
    assert others.json() == {"error": "This my list does not exist"}
