"""`offset` and `limit` of the documents' limit/offset lists: out of range is a 400 naming the parameter, never a 500.

An offset past what the database's OFFSET holds (PostgreSQL: bigint) once reached it and failed there; the
largest offset accepted (2^31 - 1, as in every other list) gives an empty page.
"""

import pytest

from documents.tests.factories import DocumentFactory
from documents.tests.helpers import assert_validation, doc_url

pytestmark = pytest.mark.django_db

LISTS = {
    "attachments": ("/attachments", "attachments"),
    "comments": ("/comments", "comments"),
    "versions": ("/versions", "versions"),
    "snapshots": ("/snapshots", None),
}
HUGE = ["54532148641888403456", str(2**63), str(2**31), "-1", "1e3"]


@pytest.mark.parametrize("offset", HUGE)
@pytest.mark.parametrize("name", LISTS)
def test_api_list_offsets_out_of_range_is_400(team, name, offset):
    document = DocumentFactory(workspace=team.workspace)
    path, _ = LISTS[name]
    response = team.client("viewer").get(f"{doc_url(document, path)}?offset={offset}")
    assert_validation(response, "offset")


@pytest.mark.parametrize("name", LISTS)
def test_api_list_offsets_the_largest_offset_is_an_empty_page(team, name):
    document = DocumentFactory(workspace=team.workspace)
    path, key = LISTS[name]
    response = team.client("viewer").get(f"{doc_url(document, path)}?offset={2**31 - 1}")
    assert response.status_code == 200, response.content
    if key:
        assert response.json()[key] == []


def test_api_list_offsets_search_and_client_lists_stay_in_range(team):
    client = team.client("viewer")
    assert_validation(client.get(f"/api/v1/search?q=a&offset={2**63}"), "offset")
    assert_validation(client.get(f"/api/v1/documents/workspace/{team.workspace.pk}?skip={2**63}"), "skip")
