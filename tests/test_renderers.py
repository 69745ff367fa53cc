"""The API's JSON renderer writes what DRF's renderer writes (mdcreator/renderers.py)."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid

from django.utils.translation import gettext_lazy
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer as DrfJSONRenderer

from mdcreator.renderers import JSONRenderer

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
SCALARS = st.none() | st.booleans() | INT64 | st.text() | st.uuids()
FLOATS = st.floats(allow_nan=False, allow_infinity=False)


def _both(data) -> tuple[bytes, bytes]:
    return JSONRenderer().render(data), DrfJSONRenderer().render(data)


@settings(max_examples=300, deadline=None)
@given(st.recursive(SCALARS, lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=40))
def test_renderers_bytes_equal_drf_without_floats(data):
    ours, drf = _both(data)
    assert ours == drf


@settings(max_examples=200, deadline=None)
@given(st.recursive(SCALARS | FLOATS, lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=40))
def test_renderers_same_json_with_floats(data):
    ours, drf = _both({"data": data})
    assert json.loads(ours) == json.loads(drf)


def test_renderers_types_drf_knows_are_written_its_way():
    moment = dt.datetime(2026, 12, 6, 4, 5, 6, 789123, tzinfo=dt.UTC)
    data = {
        "at": moment, "day": dt.date(2026, 12, 6), "time": dt.time(4, 5, 6, 789123), "span": dt.timedelta(seconds=90),
        "amount": decimal.Decimal("1.10"), "label": gettext_lazy("Hello"), "id": uuid.UUID(int=7), "raw": b"bytes",
        "set_like": (1, 2), "line": "a\u2028b\u2029c", "big": 2**70,
    }
    ours, drf = _both(data)
    assert ours == drf
    assert b'"2026-12-06T04:05:06.789123Z"' in ours and b"\\u2028" in ours


def test_renderers_empty_and_indented():
    assert JSONRenderer().render(None) == b""
    ours = JSONRenderer().render({"a": [1]}, "application/json; indent=2", {})
    assert ours == DrfJSONRenderer().render({"a": [1]}, "application/json; indent=2", {})
