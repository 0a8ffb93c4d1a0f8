"""E-mail to its own prose: the headers, quoted replies, attribution lines, signatures and mailing-list
footers removed. Pure functions, on the standard library's MIME parser.

A raw message is mostly routing headers (``Received:``, ``X-...``), and a reply repeats the message it
answers; left in, the heuristics judge headers and the dedup stages see every quoted copy. What is left
then goes through the web rules, as any other text (the ``mail`` recipe).
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage

from filters.html_text import html_to_text

_HEADER_LINE = re.compile(r"^(From |[A-Za-z][A-Za-z0-9-]*:)")
_ATTRIBUTION = re.compile(r"^(On .{0,200}(wrote|said):|.{0,120} (wrote|writes|said):)\s*$")
_ORIGINAL = re.compile(r"^-{2,}\s*(Original Message|Forwarded message)\s*-{2,}", re.IGNORECASE)
_SIGNATURE = re.compile(r"^-- ?$")
# mailing-list footers follow a rule: Mailman's underscores, Yahoo Groups' "----- Yahoo! Groups Sponsor -----"
_FOOTER_RULE = re.compile(r"^(_{10,}|-{10,}.*(Sponsor|~-->).*)$")


@dataclass(frozen=True)
class CleanedMail:
    text: str
    lines_removed: int  # quoted, attribution, signature and footer lines (headers not counted)


def clean_mail(raw: str) -> CleanedMail:
    """The body of a raw message (its text/plain part, else the text of its first text part), without
    quoted replies, attributions, what follows a signature marker or a forwarded original, and list
    footers. Text that does not start with headers is taken as a body already."""
    body = _body(raw) if _HEADER_LINE.match(raw) else raw
    kept: list[str] = []
    lines = body.splitlines()
    for line in lines:
        stripped = line.strip()
        if _SIGNATURE.match(line) or _ORIGINAL.match(stripped) or _FOOTER_RULE.match(stripped):
            break
        if stripped.startswith(">") or _ATTRIBUTION.match(stripped):
            continue
        kept.append(line)
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return CleanedMail(text, len(lines) - len(kept))


def _body(raw: str) -> str:
    message = email.message_from_string(raw, _class=EmailMessage, policy=email.policy.default)
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # an unknown charset or a broken transfer encoding
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else str(payload)
    if part.get_content_type() == "text/html":
        return html_to_text(content)
    return content
