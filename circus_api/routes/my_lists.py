"""My lists: `/mylists` and `/mylists/:myListId[/items]` (spec 4.8, endpoints 31-36)."""

from __future__ import annotations

from typing import Any

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.schemas.my_lists import ITEMS_PATCH, MY_LIST_PATCH, NEW_MY_LIST
from circus_api.services import my_lists


async def list_my_lists(ctx: RequestContext) -> list[dict[str, Any]]:
    return await my_lists.list_own(ctx.db, ctx.user_email)


async def get_my_list(ctx: RequestContext) -> dict[str, Any]:
    return await my_lists.get(ctx.db, ctx.user_email, ctx.path["myListId"])


async def create_my_list(ctx: RequestContext) -> dict[str, str]:
    body = ctx.body
    my_list_id = await my_lists.create(ctx.db, ctx.user_email, body["name"], body["resourceType"], body["public"])
    return {"myListId": my_list_id}


async def update_my_list(ctx: RequestContext) -> None:
    await my_lists.update(ctx.db, ctx.user_email, ctx.path["myListId"], ctx.body)


async def delete_my_list(ctx: RequestContext) -> None:
    await my_lists.delete(ctx.db, ctx.user_email, ctx.path["myListId"])


async def change_items(ctx: RequestContext) -> dict[str, int]:
    assert ctx.user is not None
    return await my_lists.change_items(
        ctx.db, ctx.user_email, list(ctx.user.get("groups") or []), ctx.path["myListId"],
        ctx.body["operation"], ctx.body["resourceIds"],
    )


ROUTES = [
    ApiRoute("GET", "/mylists", list_my_lists, summary="The caller's own my lists (without items)"),
    ApiRoute("GET", "/mylists/{myListId}", get_my_list,
             summary="A my list with its resource IDs (owner, or anyone when public)"),
    ApiRoute("POST", "/mylists", create_my_list, body="json", body_schema=NEW_MY_LIST, status=201,
             summary="Create an empty my list"),
    ApiRoute("PATCH", "/mylists/{myListId}", update_my_list, body="json", body_schema=MY_LIST_PATCH,
             summary="Rename a my list, change public or its editors (owner only)"),
    ApiRoute("DELETE", "/mylists/{myListId}", delete_my_list, summary="Delete a my list (owner only)"),
    ApiRoute("PATCH", "/mylists/{myListId}/items", change_items, body="json", body_schema=ITEMS_PATCH,
             summary="Add or remove items (owner or editor)"),
]
