"""Personal information appears only where the rules allow (spec 2.4), exactly as in the API.

frank has DICOM domains, reads and writes the project, even holds the project's viewPersonalInfo
role and has the personalInfoView preference on, but lacks the global privilege
personalInfoView: no page may show him a patient's name or ID. guest has nothing at all. bob
(global privilege, preference on) is the positive control.

Each page is checked as rendered (its HTML, the JSON embedded for its script, the text) after its
data has loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import CircusServer, signed_in
from tests.circus_api.imaging.fixture_files import HEAD_FIRST_UID

pytestmark = pytest.mark.browser

# the fixture patients, and the uploaded files' patient (name and ID)
PATIENT_NAMES = ("Sakura", "Koume", "Anzu", "TEST^MR1")
PATIENT_IDS = ("2018021601",)
KOUME_SERIES = "111.222.333.444.888"  # vega.org
ANZU_CASE = "faeb503e97f918c882453fd2d789f50f4250267740a0b3fbcc85a529f2d7715b"  # Lung nodules, sirius.org
KOUME_CASE = "bfaeb503e97f918c882453fd2d789f50f4250267740a0b3fbcc85a529f2d7715"  # Lung nodules, vega.org


@pytest.fixture(autouse=True)
def fresh_state(circus_server: CircusServer) -> Iterator[None]:
    circus_server.reset()
    yield


def loaded(page: Any) -> str:
    """The page once its tables and panels have loaded: its HTML and its visible text."""
    page.wait_for_load_state("load")
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.dt')].some((t) => t.classList.contains('loading')"
        " || t.textContent.includes('Loading…')) && !document.body.classList.contains('busy')"
    )
    page.wait_for_timeout(200)
    return str(page.content()) + "\n" + str(page.inner_text("body"))


def assert_no_patient(text: str, where: str) -> None:
    for secret in PATIENT_NAMES + PATIENT_IDS:
        assert secret not in text, f"{secret!r} is shown on {where}"


def test_a_user_without_the_privilege_sees_no_patient_name_anywhere(page: Any, circus_server: CircusServer) -> None:
    case_ids = [c["caseId"] for c in circus_server.db.clinicalCases.find({}, {"caseId": 1})]
    assert ANZU_CASE in case_ids and KOUME_CASE in case_ids
    signed_in(page, "frank", next_path="/series")

    text = loaded(page)
    assert HEAD_FIRST_UID in text and KOUME_SERIES in text  # he does see the series themselves
    assert_no_patient(text, "the series list")
    assert "Patient" not in page.inner_text("table.grid thead")
    assert page.locator("input[name=patientName]").count() == 0  # no patient filter either

    for uid in (HEAD_FIRST_UID, KOUME_SERIES):
        page.goto(f"/series/{uid}")
        page.wait_for_function("() => document.querySelector('#series-panel dl')")
        text = loaded(page)
        assert uid in text
        assert_no_patient(text, f"the page of series {uid}")
        assert page.locator("#patient-panel").is_hidden()

    page.goto("/cases")
    text = loaded(page)
    assert page.locator("table.grid tbody tr[data-key]").count() == 4
    assert_no_patient(text, "the case list")

    for case_id in (ANZU_CASE, KOUME_CASE):
        page.goto(f"/cases/{case_id}")
        page.wait_for_function("() => document.querySelector('#case-panel dl')")
        text = loaded(page)
        assert_no_patient(text, f"the page of case {case_id}")
        assert page.locator("#patient-panel").is_hidden()

    # the tables of a my list too
    page.goto("/my-lists")
    page.click("#new-list")
    page.fill("dialog[open] input[name=name]", "Frank's series")
    page.select_option("dialog[open] select[name=resourceType]", "series")
    page.click("dialog[open] button[type=submit]")
    page.wait_for_url("**/my-lists/*")
    list_id = page.url.rsplit("/", 1)[1]
    with circus_server.api("frank") as client:
        changed = client.patch(f"/api/mylists/{list_id}/items",
                               json={"operation": "add", "resourceIds": [HEAD_FIRST_UID, KOUME_SERIES]})
        assert changed.json() == {"changedCount": 2}
    page.reload()
    page.wait_for_selector(f"tr[data-key='{KOUME_SERIES}']")
    assert_no_patient(loaded(page), "a my list of series")


def test_a_user_with_nothing_sees_nothing(page: Any) -> None:
    signed_in(page, "guest", next_path="/series")
    text = loaded(page)
    assert page.locator("table.grid tbody tr[data-key]").count() == 0
    assert_no_patient(text, "the series list")
    page.goto("/cases")
    text = loaded(page)
    assert page.locator("table.grid tbody tr[data-key]").count() == 0
    assert_no_patient(text, "the case list")
    page.goto(f"/series/{KOUME_SERIES}")
    assert "You do not have privilege to access this series." in page.inner_text("main")
    assert_no_patient(page.content(), "a series outside his domains")


def test_a_user_with_the_privilege_sees_patients_on_the_series_list(page: Any) -> None:
    signed_in(page, "bob", next_path="/series")
    text = loaded(page)
    assert "TEST^MR1" in text and "Koume" in text
    assert page.inner_text("table.grid thead").strip().startswith("Patient")
    assert page.locator("input[name=patientName]").count() == 1
    page.goto(f"/series/{KOUME_SERIES}")
    page.wait_for_function("() => document.querySelector('#series-panel dl')")
    assert "Koume" in page.inner_text("#patient-panel")


def test_the_case_page_shows_patients_only_on_projects_with_the_role(page: Any) -> None:
    # bob has the global privilege but not the project's viewPersonalInfo role: the case search
    # joins no patient for him, and the case page follows it; carol has both
    signed_in(page, "bob", next_path="/cases")
    assert_no_patient(loaded(page), "bob's case list")
    page.goto(f"/cases/{KOUME_CASE}")
    page.wait_for_function("() => document.querySelector('#case-panel dl')")
    assert page.locator("#patient-panel").is_hidden()

    page.context.clear_cookies()
    signed_in(page, "carol", next_path="/cases")
    text = loaded(page)
    assert "Koume" in text and "Anzu" in text
    page.goto(f"/cases/{KOUME_CASE}")
    page.wait_for_function("() => !document.querySelector('#patient-panel').hidden")
    assert "Koume" in page.inner_text("#patient-panel")
