"""Schemathesis hooks for scripts/api-fuzz.sh (loaded through SCHEMATHESIS_HOOKS).

A query parameter drawn as an empty list or object is not sent at all: HTTP has no way to carry
it, so the request on the wire is the same as one without the parameter. Schemathesis 4.32 still
counts such a case as "negative" when another location (here the `Authorization` header, which a
cookie session makes irrelevant) is negated too, and then reports the API for accepting it
(a false ST201: `GET /api/admin/campaigns` with `status=[]`, seen once in CI on 2026-12-04).
Those cases are dropped before they are sent; every other drawn query is kept.

CPython 3.11's `ast.parse` is not thread-safe (SystemError "AST constructor recursion depth
mismatch", python/cpython#106905, fixed in later releases): Hypothesis parses sources to describe
Schemathesis's filters, and the two workers may do it at once. The hooks module is loaded before
the workers start, so it serialises `ast.parse` behind one lock.
"""

import ast
import threading

import schemathesis

_parse = ast.parse
_parsing = threading.Lock()


def _parse_alone(*args, **kwargs):
    """`ast.parse`, one thread at a time."""
    with _parsing:
        return _parse(*args, **kwargs)


ast.parse = _parse_alone


def _carried_by_http(value):
    """Whether a query value reaches the server at all."""
    return value not in ([], {})


@schemathesis.hook
def filter_query(ctx, query):
    return not query or all(_carried_by_http(value) for value in query.values())
