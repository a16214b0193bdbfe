"""An uploaded recipe (Export & share "Load a recipe", Interpolate "Add a recipe") that is not usable JSON
(nested 100 000 deep, bad UTF-8) is a ValueError the pages show as "That file is not a usable recipe",
never an uncaught RecursionError."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from explorer.explore.latents import Limits
from explorer.ui import handoff

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("data", [DEEP, DEEP.encode(), b"\xff\xfe{", '{"model": ' * 40_000])
def test_unusable_recipe_uploads_are_value_errors(data):
    assert handoff.recipe_model(data) is None
    eng = SimpleNamespace(name="m", meta={"sha256": ""}, limits=lambda: Limits())   # never reached
    with pytest.raises(ValueError, match="JSON"):
        handoff.recipe_for_upload(data, eng)


def test_a_recipe_file_over_the_limit_is_refused_before_it_is_parsed():
    from explorer.explore.recipes import MAX_RECIPE_BYTES
    huge = b'{"model": "m", "pad": "' + b"x" * MAX_RECIPE_BYTES + b'"}'
    assert handoff.recipe_model(huge) is None
    eng = SimpleNamespace(name="m", meta={"sha256": ""}, limits=lambda: Limits())
    with pytest.raises(ValueError, match=r"too large for a recipe: 1\.0 MB \(the limit is 1 MB\)"):
        handoff.recipe_for_upload(huge, eng)
