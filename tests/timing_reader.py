"""A Server-Timing reader of the tests' own, to check what metatrace writes."""

from __future__ import annotations


def parse_server_timing(header: str) -> list[tuple[str, dict[str, str]]]:
    """RFC 9110 list of `name;param=value` entries; quoted-strings unescaped. Written apart
    from responses.py (a character scanner, not its regex), so that each checks the other."""
    entries: list[tuple[str, dict[str, str]]] = []
    current, quoted, escaped, parts = "", False, False, []
    for char in header + ",":
        if escaped:
            current += char
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char in ",;":
            parts.append(current.strip())
            current = ""
            if char == ",":
                name, *params = parts
                pairs = (param.split("=", 1) for param in params)
                entries.append((name, {key.strip(): value.strip() for key, value in pairs}))
                parts = []
        else:
            current += char
    assert not quoted, f"unterminated quoted-string in {header!r}"
    return entries
