"""Secrets out of every message: one function, `redact`, for URLs and any text that may hold one.

Used by every log line (a filter on the console's log handlers), every error a person reads, and every place that
shows a URL. User info (`scheme://user:pass@`) and the values of query parameters named like secrets (password,
token, key, secret, sig, ...) become ***, and so does any secret the caller knows (a stream's password).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote

MASK = "***"

# userinfo in any URL-looking text: scheme://user:pass@  or scheme://user@
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s'\"]+@")
# query or fragment parameters whose NAME says they carry a secret (api_key, X-Amz-Signature, access_token, ...)
# plus the short names cameras take credentials under (?usr=&pwd=, ?pas=, ?psw=, ?pw=, ?loginuse=&loginpas=), and
# the user name beside them: exact names only, so `?pwr=` or `?user_agent=` are not touched.
_SECRET_NAME = (r"[a-z0-9_.\-]*(?:password|passwd|pwd|pass|psw|token|auth|key|secret|signature|sig|credential|"
                r"session|jwt)[a-z0-9_.\-]*|pw|pas|loginpas|user|username|usr|loginuse|login")
_SECRET_QUERY = re.compile(r"(?i)(?P<lead>[?&;#](?:" + _SECRET_NAME + r")=)[^&#;\s'\"]*")


def redact(text: object, secrets: tuple[str, ...] = ()) -> str:
    """`text` with URL credentials, secret-looking parameter values and the given secrets replaced by ***."""
    out = _USERINFO.sub(r"\g<scheme>" + MASK + "@", str(text))
    out = _SECRET_QUERY.sub(r"\g<lead>" + MASK, out)
    for secret in secrets:
        if secret and len(secret) >= 2:
            for form in {secret, quote(secret, safe=""), quote(secret)}:
                out = out.replace(form, MASK)
    return out


class RedactingFilter(logging.Filter):
    """Puts every record that passes a handler through `redact` (its message, arguments and traceback text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = redact(message), None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
