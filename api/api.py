"""The API object: routers, authentication defaults, error handlers and the OpenAPI document.

django-ninja generates the OpenAPI 3.1 document from the operations' type hints and api.schemas;
`TweetHubAPI.get_openapi_schema` adds what ninja cannot infer: errors are served as
application/problem+json, the two security schemes are described in words, and links tell
stateful clients (schemathesis among them) that a posted tweet's id feeds the tweet operations.
"""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI, Swagger
from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation

from api import problems
from api.auth import Anonymous
from api.renderers import JSONRenderer
from api.views import (
    bookmarks,
    likes,
    messages,
    notifications,
    people,
    relations,
    replies,
    reposts,
    timelines,
    tokens,
    tweets,
)

DESCRIPTION = """\
TweetHub's JSON API: the site's own services and selectors, with the same rules and rate limits
as its pages.

**Authentication.** A personal access token (Settings → API tokens, or `POST /api/v1/tokens` from a
logged-in browser), sent as `Authorization: Bearer thp_...`, with scopes `read`, `write` and
`messages`; or the browser's session cookie, with the `X-CSRFToken` header on unsafe methods.
Public reads (profiles, tweets, tags, trending, search) need neither.

**Lists** return `{"items": [...], "next_cursor": "..."}`; pass `next_cursor` back as `?cursor=`
for the next page (null on the last). Pages never skip or repeat an item.

**Errors** are RFC 9457 problem details (`application/problem+json`): `type`, `title`,
`status`, `detail`, and `errors` (field, message) for invalid input. 429 carries `Retry-After`.
"""

# OpenAPI links from a posted tweet to the operations on it: ids that exist, for stateful tests.
_TWEET_LINKS = {
    "GetTweet": "get_tweet",
    "PinTweet": "pin_tweet",
    "UnpinTweet": "unpin_tweet",
    "DeleteTweet": "delete_tweet",
    "ReplyToTweet": "reply_to_tweet",
    "GetThread": "tweet_thread",
    "LikeTweet": "like_tweet",
    "UnlikeTweet": "unlike_tweet",
    "BookmarkTweet": "bookmark_tweet",
    "UnbookmarkTweet": "unbookmark_tweet",
    "RepostTweet": "repost_tweet",
    "UnrepostTweet": "unrepost_tweet",
    "QuoteTweet": "quote_tweet",
}


class TweetHubAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        return operation.view_func.__name__

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        public = self._public_operation_ids()
        for path_item in schema["paths"].values():
            for operation in path_item.values():
                _problem_media_type(operation)
                if operation.get("operationId") in public:
                    operation["security"] = [*operation.get("security", []), {}]  # no credentials: a visitor
                if operation.get("operationId") == "create_tweet":
                    operation["responses"][201]["links"] = {
                        name: {"operationId": target, "parameters": {"tweet_id": "$response.body#/id"}}
                        for name, target in _TWEET_LINKS.items()
                    }
        schemes = schema.get("components", {}).get("securitySchemes", {})
        if "TokenAuth" in schemes:
            schemes["TokenAuth"]["description"] = "A personal access token: Authorization: Bearer thp_..."
        if "SessionAuth" in schemes:
            schemes["SessionAuth"]["description"] = "The browser's session (send X-CSRFToken on unsafe methods)."
        return schema

    def _public_operation_ids(self) -> set[str]:
        found = set()
        for _prefix, router in self._routers:
            for path_view in router.path_operations.values():
                for operation in path_view.operations:
                    if any(isinstance(callback, Anonymous) for callback in operation.auth_callbacks):
                        found.add(self.get_openapi_operation_id(operation))
        return found


def _problem_media_type(operation: dict[str, Any]) -> None:
    for status, response in operation.get("responses", {}).items():
        content = response.get("content", {})
        if int(status) >= 400 and "application/json" in content:
            content[problems.MEDIA_TYPE] = content.pop("application/json")


api = TweetHubAPI(
    title="TweetHub API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    openapi_url="/schema/",
    docs=Swagger(settings={"persistAuthorization": False}),
    docs_url="/docs/",
    renderer=JSONRenderer(),
)
problems.install(api)
# One router per area or feature (api/views/<module>.py): a feature that lands later is one more
# module here, its operations over its own services.
for module in (
    people,
    relations,
    tweets,
    replies,
    likes,
    bookmarks,
    reposts,
    timelines,
    notifications,
    messages,
    tokens,
):
    api.add_router("", module.router)
