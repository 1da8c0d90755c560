"""What the HTML formats share: their assets, inline JSON, and CSP hashes.

Pages are self-contained: stylesheets and scripts are inlined, the data
sits in the page as JSON that cannot end its ``<script>`` element, and a
Content-Security-Policy lets only the page's own inline code run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from functools import cache
from importlib import resources

__all__ = ["asset", "csp_hash", "fill", "script_json"]

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")

_SCRIPT_SAFE = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"))


@cache
def asset(package: str, name: str) -> str:
    """The text of ``_assets/NAME`` beside the format's package ``package``."""
    return (resources.files(package) / "_assets" / name).read_text(encoding="utf-8")


def script_json(value: object) -> str:
    """``value`` as JSON that can sit inside a ``<script>`` element unchanged.

    ASCII only, and with ``<``, ``>`` and ``&`` escaped, so no text in it
    can end the element or start markup.
    """
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    # str.replace scans at C speed; str.translate looks up every character.
    for unsafe, escaped in _SCRIPT_SAFE:
        text = text.replace(unsafe, escaped)
    return text


def csp_hash(text: str) -> str:
    """The CSP source (``'sha256-...'``) that allows exactly this inline text."""
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return f"'sha256-{digest}'"


def fill(template: str, values: dict[str, str]) -> str:
    """``template`` with each ``{{name}}`` replaced by ``values[name]``.

    One pass, so nothing inserted is scanned for placeholders again (a
    function name holding ``{{data}}`` stays text).
    """
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)
