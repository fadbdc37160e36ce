"""Whether a posted form is UTF-8 text, as the pages send it.

Starlette decodes a form leniently: an urlencoded field that is not UTF-8 with replacement
characters, a multipart one as Latin-1. Such a form would be recorded with other text than
was sent, where the JSON API refuses a body that is not UTF-8; so the pages refuse it too.
The check reads the raw body again (at most the 1 MiB the body limit lets through).
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import create_form_parser, parse_options_header


def _urlencoded(body: bytes) -> list[tuple[bytes, bytes]]:
    fields = []
    for pair in body.split(b"&"):
        name, _, value = pair.partition(b"=")
        fields.append((unquote_to_bytes(name.replace(b"+", b" ")),
                       unquote_to_bytes(value.replace(b"+", b" "))))
    return fields


def _multipart(content_type: str, body: bytes) -> list[tuple[bytes, bytes]]:
    """The text fields (not the files) of a multipart body, as bytes."""
    fields: list[tuple[bytes, bytes]] = []
    parser = create_form_parser(
        {"Content-Type": content_type},
        lambda field: fields.append((field.field_name or b"", field.value or b"")),
        lambda file: file.close())
    try:
        parser.write(body)
        parser.finalize()
    except (FormParserError, ValueError):
        return []  # malformed: Starlette's parser has refused it already (400)
    return fields


def not_utf8(content_type: str, body: bytes) -> str | None:
    """The name of the form's first field whose name or value is not UTF-8 (replacement
    characters for what is not), or None when every field is."""
    kind, _ = parse_options_header(content_type)
    if kind == b"application/x-www-form-urlencoded":
        fields = _urlencoded(body)
    elif kind == b"multipart/form-data":
        fields = _multipart(content_type, body)
    else:
        return None
    for name, value in fields:
        try:
            name.decode("utf-8")
            value.decode("utf-8")
        except UnicodeDecodeError:
            return name.decode("utf-8", "replace")
    return None
