"""Keeping secrets out of everything the plugin writes or prints: the one scrubber.

What counts as a secret:

* the value of every environment variable whose name looks secret (a word ``KEY``, ``TOKEN``,
  ``SECRET``, ``PASSWORD``, ``PASSWD``, ``PASS``, ``PWD``, ``CREDENTIAL(S)``, ``APIKEY``, ``AUTH``
  in it, or a name ending in one: ``OPENAI_API_KEY``, ``AWS_SECRET_ACCESS_KEY``, ``DB_PASSWORD``,
  ``GITHUB_TOKEN`` ...), when it is at least 6 characters long (shorter ones would mangle text);
* the password of any URL in the environment (``DATABASE_URL``, ``OPENAI_BASE_URL``), and
  values registered with :func:`register` (``--rft-base-url http://user:pass@host``'s);
* anything shaped like a key: ``sk-...``, a ``Bearer`` token, and the credentials of any URL
  (``scheme://user:pass@``).

Every sink (terminal, each file written, the cache, error messages) calls :func:`scrub` on the
raw text before encoding it (JSON, HTML, XML), or :func:`scrub_data` on the data it encodes, so a
secret holding ``"`` or ``\\`` is caught whatever the encoding does to it. The same pass replaces
lone surrogates (not encodable as UTF-8) with U+FFFD; :func:`for_terminal` also makes control
characters visible, so an output can't send escape sequences to the terminal.
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
import re
from typing import Any
from urllib.parse import unquote

MASK = "***"
MIN_SECRET = 6
_WORDS = frozenset({"KEY", "KEYS", "TOKEN", "TOKENS", "SECRET", "SECRETS", "PASSWORD",
                    "PASSWORDS", "PASSWD", "PASS", "PWD", "PASSPHRASE", "CREDENTIAL",
                    "CREDENTIALS", "APIKEY", "AUTH"})
_ENDINGS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "APIKEY", "CREDENTIALS")
_NOT_SECRET = frozenset({"PWD", "OLDPWD", "SSH_AUTH_SOCK", "XAUTHORITY"})

_SHAPES = re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"  # OpenAI-style keys
                     r"|\b(?i:bearer)\s+[A-Za-z0-9._~+/\-]{8,}=*")  # an Authorization value
_URL_CREDENTIALS = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.\-]*://)[^\s/?#@\"<>\\]*@")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

_registered: set[str] = set()
_cache: tuple[Any, tuple[str, ...], tuple[str, ...]] = (None, (), ())
_environ: dict[Any, Any] = {}


def secret_name(name: str) -> bool:
    """Whether an environment variable of this name holds a secret."""
    upper = name.upper()
    if upper in _NOT_SECRET:
        return False
    return upper.endswith(_ENDINGS) or not _WORDS.isdisjoint(re.split(r"[^A-Z0-9]+", upper))


def register(value: str | None) -> None:
    """Treat ``value`` as a secret from now on; of a URL, only its password."""
    if value:
        _registered.update(_with_url_passwords(value) - {value} if "://" in value else {value})
        global _cache
        _cache = (-1, (), ())


def _with_url_passwords(value: str) -> set[str]:
    found = {value}
    for match in re.finditer(r"://([^\s/?#@:]*):([^\s/?#@]*)@", value):
        found.update({match.group(2), unquote(match.group(2))})
    return found


def _values() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The secret values (longest first), and every form they take once encoded (JSON, HTML),
    to tell quickly whether encoded text may hold one. Rebuilt when the environment changes."""
    global _cache, _environ
    environ = getattr(os.environ, "_data", os.environ)  # raw: no decoding per call
    if environ != _environ or _cache[0] != len(_registered):
        _environ = dict(environ)
        values: set[str] = set()
        for name, value in os.environ.items():
            if secret_name(name):
                values |= _with_url_passwords(value)
            elif "://" in value and "@" in value:  # DATABASE_URL, OPENAI_BASE_URL, proxies
                values |= _with_url_passwords(value) - {value}
        values |= _registered
        values = {v for v in values if len(v) >= MIN_SECRET}
        raw = tuple(sorted(values, key=len, reverse=True))
        forms = set(raw)
        for value in raw:
            for ascii_only in (False, True):
                escaped = json.dumps(value, ensure_ascii=ascii_only)[1:-1]
                forms |= {escaped, escaped.replace("&", "\\u0026").replace("<", "\\u003c")
                          .replace(">", "\\u003e")}
            forms.add(html.escape(value, quote=True))
            forms |= _repr_forms(value)
        _cache = (len(_registered), raw, tuple(sorted(forms, key=len, reverse=True)))
    return _cache[1], _cache[2]


def _repr_forms(value: str) -> set[str]:
    """``value`` as Python's ``repr`` / ``ascii`` write it inside a quoted string (an error
    message showing a value with ``!r``), in both quoting styles: the style depends on the whole
    string the secret is part of."""
    forms = set()
    for show in (repr, ascii):
        forms.add(show(value + "'\"")[1:-4])  # single-quoted: ' escaped, " as it is
        if '"' not in value:
            forms.add(show("'" + value)[2:-1])  # double-quoted: ' as it is
    return forms


def scrub(text: str) -> str:
    """``text`` with every secret replaced by ``***`` and lone surrogates by U+FFFD. A secret
    is found as it is and as JSON or HTML would write it: a model's JSON answer quoting a
    secret holds it escaped."""
    if not text:
        return text
    if not isinstance(text, str):
        text = str(text)
    if "sk-" in text or "earer" in text or "EARER" in text:
        text = _SHAPES.sub(_mask_shape, text)
    _, values = _values()
    found = True
    while found:  # again: a replacement may complete another secret (text only shrinks)
        found = False
        for value in values:
            if value in text:
                text = text.replace(value, MASK)
                found = True
    if "://" in text and "@" in text:
        text = _URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    return without_surrogates(text)


def without_surrogates(text: str) -> str:
    """``text`` with each lone surrogate (not encodable as UTF-8, so not writable anywhere)
    replaced by U+FFFD, as a UTF-8 decoder does with a broken sequence."""
    if text.isascii() or not _has_surrogate(text):
        return text
    return _SURROGATE.sub("\ufffd", text)


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _mask_shape(match: re.Match) -> str:
    token = match.group(0)
    if token[:3] == "sk-":
        return "sk-" + MASK
    if token[:6].lower() == "bearer":
        return token[:6] + " " + MASK
    return MASK


def suspect(encoded: str) -> bool:
    """Whether ``encoded`` text (JSON, HTML ...) may hold a secret or a lone surrogate: a
    cheap test telling a sink when to scrub its data before encoding it again."""
    _, forms = _values()
    for form in forms:
        if form in encoded:
            return True
    if ("sk-" in encoded or "earer" in encoded or "EARER" in encoded) \
            and _SHAPES.search(encoded):
        return True
    if "://" in encoded and "@" in encoded and _URL_CREDENTIALS.search(encoded):
        return True
    return not encoded.isascii() and _has_surrogate(encoded)


def scrub_data(value: Any) -> Any:
    """A copy of ``value`` (dicts, lists, dataclasses, strings) with every string, keys
    included, scrubbed: what a sink encodes when :func:`suspect` says it must."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub_data(k) if isinstance(k, str) else k: scrub_data(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_data(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: scrub_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps(value, **kwargs)`` with every string scrubbed before it is encoded (the
    fast path encodes once and re-encodes scrubbed data only when the text may hold a secret)."""
    text = json.dumps(value, **kwargs)
    if suspect(text):
        text = json.dumps(scrub_data(value), **kwargs)
    return text


def for_terminal(text: str) -> str:
    """:func:`scrub`, with control characters (escape sequences, bells, bidi overrides) shown
    as ``\\x1b``-style escapes: model outputs and item ids never drive the terminal."""
    text = scrub(text)
    if text.isascii() and text.isprintable():
        return text
    return _CONTROL.sub(lambda m: ascii(m.group(0))[1:-1], text)


class ScrubbingStream:
    """A text stream that scrubs what is written to it (the ``pytest-rft`` command's stdout
    and stderr: every subcommand's output goes through it)."""

    def __init__(self, stream: Any):
        self._stream = stream

    def write(self, text: str) -> int:
        # carriage returns stay: a progress line may rewrite itself
        return self._stream.write("\r".join(for_terminal(part) for part in text.split("\r")))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

