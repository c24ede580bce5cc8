"""A stock GraphQL client against the running API: graphql-core (the reference implementation's
Python port) and urllib, nothing of ours. Run by GraphQLTests.stockClient.

- The served schema, read by introspection (the standard introspection query, POST), is the
  committed SDL (docs/graphql/schema.graphql), both printed by graphql-core in name order.
- A product list over GET, with variables, answers application/json; with
  Accept: application/graphql-response+json, a query that fails validation is a 400.
- The caller's cart and notifications with the customer's bearer token; the cart is null
  with UNAUTHENTICATED without one.
"""
import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

from graphql import build_client_schema, build_schema, get_introspection_query, lexicographic_sort_schema, print_schema


def call(url, method="POST", body=None, token=None, accept=None):
    headers = {}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = "Bearer " + token
    if accept:
        headers["Accept"] = accept
    request = urllib.request.Request(url, method=method, headers=headers, data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get("Content-Type", ""), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), json.loads(error.read())


def check(condition, message):
    if not condition:
        print("FAIL:", message)
        sys.exit(1)
    print("ok:", message)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--token", required=True)
    arguments = parser.parse_args()

    status, media, answer = call(arguments.url, body={"query": get_introspection_query(descriptions=True)})
    check(status == 200 and "errors" not in answer, f"introspection answers ({status}, {str(answer)[:300]})")
    # Compared with types and fields in name order: introspection lists fields by name, the SDL
    # in declaration order.
    served = print_schema(lexicographic_sort_schema(build_client_schema(answer["data"])))
    with open(arguments.schema, encoding="utf-8") as file:
        committed = print_schema(lexicographic_sort_schema(build_schema(file.read())))
    if served != committed:
        import difflib

        print("\n".join(difflib.unified_diff(committed.splitlines(), served.splitlines(), "committed", "served", lineterm="")))
    check(served == committed, "the served schema is docs/graphql/schema.graphql")

    query = "query Page($first: Int) { products(first: $first) { nodes { sku stock } pageInfo { hasNextPage endCursor } } }"
    parameters = urllib.parse.urlencode({"query": query, "variables": json.dumps({"first": 2})})
    status, media, answer = call(arguments.url + "?" + parameters, method="GET")
    nodes = answer.get("data", {}).get("products", {}).get("nodes")
    check(status == 200 and media.startswith("application/json") and isinstance(nodes, list) and len(nodes) <= 2, f"GET runs a query with variables ({status}, {media}, {str(answer)[:300]})")

    status, media, answer = call(arguments.url, body={"query": "{ products { nodes { noSuchField } } }"}, accept="application/graphql-response+json")
    check(status == 400 and media.startswith("application/graphql-response+json") and "data" not in answer and answer.get("errors"), f"a query that fails validation is a 400 in graphql-response+json ({status}, {media})")

    status, media, answer = call(arguments.url, body={"query": "{ cart { status lines { sku } } notifications { unreadCount } }"}, token=arguments.token)
    check(status == 200 and "errors" not in answer and answer["data"]["cart"]["status"] == "open" and answer["data"]["notifications"]["unreadCount"] == 0, f"the customer's cart and notifications ({str(answer)[:300]})")

    status, media, answer = call(arguments.url, body={"query": "{ cart { status } }"})
    codes = [error.get("extensions", {}).get("code") for error in answer.get("errors", [])]
    check(status == 200 and answer.get("data") == {"cart": None} and codes == ["UNAUTHENTICATED"], f"no token: the cart is null, UNAUTHENTICATED ({answer})")


if __name__ == "__main__":
    main()
