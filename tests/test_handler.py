"""Handler internals: background construction of the renderer."""

from __future__ import annotations

import pytest

from gcnotify.errors import RenderError
from gcnotify.handler import _Background


def test_background_returns_the_result() -> None:
    """get() waits for the thread and returns what it built."""
    assert 42 == _Background(lambda: 42).get()


def test_background_reraises_the_error_on_get() -> None:
    """A failure while building surfaces where the value is needed, as the original error."""

    def broken() -> int:
        raise RenderError("report.html is missing")

    pending = _Background(broken)
    with pytest.raises(RenderError, match=r"report\.html is missing"):
        pending.get()
    with pytest.raises(RenderError):  # every caller sees it, not only the first
        pending.get()
