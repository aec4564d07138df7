"""Rendering and delivery of one message (the worker's job)."""

from __future__ import annotations


def message_deliver_now(message_id: int) -> str:
    """Render and send one message; returns the outcome. (Being built: issue 6.)"""
    return "pending"
