"""Who is calling: compare SIP URIs the way a person means them ("the duty desk's number")."""

from __future__ import annotations

import re

_URI = re.compile(r"^(?:sips?:|tel:)?(?:(?P<user>[^@;?>]*)@)?(?P<host>[^;?>:]*)(?::\d+)?", re.IGNORECASE)


def parts(uri: str) -> tuple[str, str]:
    """`"Duty" <sip:8001@pbx.example.org:5060;transport=tcp>` -> ("8001", "pbx.example.org").
    A bare number or `tel:` URI has no host."""
    text = uri.strip()
    if "<" in text and ">" in text:
        text = text[text.index("<") + 1:text.index(">")]
    if text.lower().startswith("tel:"):
        return _number(text[4:].split(";")[0]), ""
    match = _URI.match(text)
    if match is None:
        return text, ""
    user, host = match.group("user"), match.group("host")
    if user is None:  # "8001" or "sip:8001": a user part without a host
        return _number(host), ""
    return _number(user), host.lower()


def _number(user: str) -> str:
    """Phone numbers compare without separators: '+86 10-1234 5678' == '+861012345678'."""
    stripped = re.sub(r"[\s\-().]", "", user)
    return stripped if re.fullmatch(r"\+?\d+", stripped) else user


def same_party(caller: str, pattern: str) -> bool:
    """True when `caller` (baresip's peer URI) is who `pattern` names: user AND host equal. A pattern
    without a host (a bare number, `tel:`) names no SIP caller: anyone can put any number in a From
    header on any host. Ports and parameters are ignored: a call-back comes from the server's port."""
    user, host = parts(caller)
    want_user, want_host = parts(pattern)
    return bool(want_user and want_host) and user == want_user and host == want_host


def has_host(pattern: str) -> bool:
    """A full SIP URI (user@host): the only kind of allowed caller that can match."""
    user, host = parts(pattern)
    return bool(user and host)
