"""Test and benchmark support: the request a browser sends to run a dashboard callback.

Built from the app's own ``/_dash-dependencies`` list, so it matches what Dash expects;
used by ``tests/test_dashboard*.py`` (e.g. to send a viewer's confirm request directly)
and ``benchmarks/dashboard.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def callback_request(dependencies: list[dict[str, Any]], output: str,
                     values: Mapping[str, Any], changed: str | None = None) -> dict[str, Any]:
    """Body of ``POST /_dash-update-component`` for the callback writing ``output``.

    Parameters
    ----------
    dependencies
        The JSON of ``GET /_dash-dependencies``.
    output
        ``"component-id.property"`` of one of the callback's outputs.
    values
        ``"component-id.property"`` -> value for its inputs and states (missing: None).
    changed
        The input that triggered the call (default: the first input).
    """
    found = next((d for d in dependencies if output in d["output"].strip(".").split("...")),
                 None)
    if found is None:
        raise LookupError(f"no callback writes {output}")
    outputs = [{"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1]}
               for o in found["output"].strip(".").split("...")]

    def filled(items: list[dict[str, str]]) -> list[dict[str, Any]]:
        return [{"id": i["id"], "property": i["property"],
                 "value": values.get(f"{i['id']}.{i['property']}")} for i in items]

    first = found["inputs"][0]
    return {
        "output": found["output"],
        "outputs": outputs if found["output"].startswith("..") else outputs[0],
        "inputs": filled(found["inputs"]),
        "state": filled(found["state"]),
        "changedPropIds": [changed or f"{first['id']}.{first['property']}"],
    }
