"""Test set-up shared by all tests."""

from __future__ import annotations

import os

import pytest
from django.utils import translation

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def english_outside_requests():
    """Service messages are asserted in English; requests still choose their language."""
    with translation.override("en"):
        yield
