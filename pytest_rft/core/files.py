"""Reading and writing the files the plugin touches, with one clear error per problem.

Reads take regular files only: a FIFO, a device or a folder where a file is expected is an
error, never a hang (``/dev/zero``, a named pipe) or a huge read. Paths the OS refuses (a NUL
byte, a name over 255 bytes, a path over ``PATH_MAX``) are errors naming the path and the fix.
Writes are atomic (a reader never sees half a file) and leave normal permissions (0644 less the
umask; ``mkstemp`` alone makes 0600).
"""

from __future__ import annotations

import contextlib
import io
import errno
import os
import re
import stat
import tempfile
from typing import Any
from pathlib import Path

from .errors import RftError
from .secrets import scrub

MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_NAME_BYTES = 255
"""The longest file name (one path component) Linux, macOS and Windows file systems take."""


def path_problem(path: str | os.PathLike) -> str | None:
    """Why the OS would refuse ``path`` before touching the disk (None when it would not)."""
    text = os.fspath(path)
    if "\0" in text:
        return "the path holds a NUL byte"
    try:
        encoded = os.fsencode(text)
    except UnicodeEncodeError:
        return "the path can't be encoded for this file system"
    if len(encoded) >= _path_max():
        return f"the path is {len(encoded):,} bytes long (the limit is {_path_max():,})"
    for part in encoded.split(b"/"):
        if len(part) > MAX_NAME_BYTES:
            return (f"a name in the path is {len(part):,} bytes long (the limit is "
                    f"{MAX_NAME_BYTES})")
    return None


def _path_max() -> int:
    try:
        return os.pathconf("/", "PC_PATH_MAX")
    except (AttributeError, OSError, ValueError):  # pragma: no cover - not POSIX
        return 4096


def checked(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a Path, or an RftError saying why the OS can't use it."""
    problem = path_problem(path)
    if problem:
        raise RftError(f"{what}: {problem}", where=shown_path(path), fix="give a shorter, plain path")
    return Path(path)


def shown_path(path: str | os.PathLike) -> str:
    """A path as printed in an error: NUL made visible, a very long one shortened."""
    text = os.fspath(path).replace("\0", "\\0")
    return text if len(text) <= 200 else text[:100] + "..." + text[-60:]


def under_cwd(path: str | os.PathLike) -> str:
    """``path`` relative to the working folder when it lies inside it (as a user types it),
    else unchanged."""
    text = os.fspath(path)
    try:
        relative = os.path.relpath(text)
    except ValueError:  # another drive (Windows)
        return text
    return text if relative == os.pardir or relative.startswith(os.pardir + os.sep) else relative


def read_bytes(path: str | os.PathLike, limit: int = MAX_FILE_BYTES) -> bytes:
    """A regular file's bytes, or one RftError (missing, not a regular file, too large,
    unreadable, a path the OS refuses)."""
    path = checked(path, "cannot read the file")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise RftError("file not found", where=str(path)) from None
    except OSError as exc:
        raise RftError(f"cannot read the file: {exc.strerror or exc}", where=str(path)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = ("a folder" if stat.S_ISDIR(info.st_mode) else "a named pipe (FIFO)"
                    if stat.S_ISFIFO(info.st_mode) else "a device" if
                    stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else "a socket"
                    if stat.S_ISSOCK(info.st_mode) else "not a regular file")
            raise RftError(f"{kind}, not a regular file", where=str(path),
                           fix="point to a regular file")
        if info.st_size > limit:
            raise _too_large(path, info.st_size, limit)
        with os.fdopen(fd, "rb") as handle:
            fd = -1
            data = handle.read(info.st_size + 1)  # not limit + 1: read() allocates what it's asked
            while len(data) <= limit:  # a file that grew since fstat
                more = handle.read(min(1 << 20, limit + 1 - len(data)))
                if not more:
                    break
                data += more
    except OSError as exc:
        raise RftError(f"cannot read the file: {exc.strerror or exc}", where=str(path)) from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > limit:
        raise _too_large(path, len(data), limit)
    return data


def _too_large(path: Path, size: int, limit: int) -> RftError:
    return RftError(f"file too large ({size:,} bytes; the limit is {limit:,})", where=str(path),
                    fix="split it, or point to a smaller file")


def read_text(path: str | os.PathLike, limit: int = MAX_FILE_BYTES) -> str:
    """A regular UTF-8 text file, or one RftError (the line of the first byte that isn't UTF-8)."""
    data = read_bytes(path, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise RftError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})",
                       where=f"{path}:{line}", fix="save the file as UTF-8") from None


def write_atomic(path: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file in the same folder, fsynced,
    then renamed over it) with normal permissions. OSError on failure (the old file is kept)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_open(path) as handle:
        handle.write(raw)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", encoding: str | None = None):
    """A handle whose writes replace ``path`` whole when the block ends (a temporary file in
    the same folder, fsynced, renamed over it, normal permissions), or leave it as it was when
    the block raises. A device already at ``path`` (``/dev/null``) is written in place
    (``open_device``); a named pipe, a socket or a folder there is an OSError."""
    path = Path(path)
    device = open_device(path)
    if device is not None:  # never renamed over: as root, a rename would replace /dev/null
        with device if "b" in mode else io.TextIOWrapper(device, encoding=encoding) as handle:
            yield handle
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:100]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def open_device(path: str | os.PathLike) -> Any:
    """For a path that exists and is no regular file: a character device (``/dev/null``,
    ``/dev/full``) opened for writing, as a shell redirection would write to it; an OSError for
    a folder, a FIFO or a socket (a write would wait for a reader). None for a regular file or
    no file: write it atomically. An atomic write never renames over a device: run as root,
    the rename would replace ``/dev/null`` with a file."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "a folder is in the way", os.fspath(path))
    if not stat.S_ISCHR(mode):
        raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
    return os.fdopen(os.open(path, os.O_WRONLY | getattr(os, "O_NONBLOCK", 0)), "wb")


def append_text(path: str | os.PathLike, text: str) -> None:
    """Append ``text`` to a regular file (or a device such as /dev/null); a FIFO or a folder is
    an OSError at once, never a write that blocks for a reader that never comes."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0),
                 0o666)
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode)):
            raise OSError(errno.EINVAL, "not a regular file")
        data = text.encode("utf-8")
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_problem(exc: BaseException) -> str:
    """An OSError of a write as a few words (disk full, read-only, a folder in the way ...)."""
    if isinstance(exc, OSError):
        known = {errno.ENOSPC: "the disk is full", errno.EROFS: "the file system is read-only",
                 errno.EACCES: "permission denied", errno.EPERM: "not permitted",
                 errno.EISDIR: "a folder is in the way", errno.ENOTDIR: "a file is in the way "
                 "of a folder", errno.EEXIST: "a file is in the way of a folder",
                 errno.ENAMETOOLONG: "the name is too long",
                 errno.ENXIO: "a named pipe nobody reads",
                 errno.EDQUOT: "the disk quota is exceeded"}
        return known.get(exc.errno, exc.strerror or str(exc))
    return f"{type(exc).__name__}: {exc}"


_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


def safe_filename(name: str, suffix: str = "") -> str:
    """``name`` as one file name: no folder separators, no ``..``, no control or reserved
    characters, at most 255 bytes with ``suffix``; distinct names stay distinct (a name that
    had to change keeps a short digest of the original)."""
    # a secret is masked first: once characters are replaced, it can't be found any more
    clean = _UNSAFE.sub("_", scrub(name)).strip(" .") or "_"
    room = MAX_NAME_BYTES - len(suffix.encode("utf-8")) - 9
    if clean != name or len(clean.encode("utf-8")) > room:
        import hashlib

        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        cut = clean.encode("utf-8")[:room].decode("utf-8", "ignore")
        clean = f"{cut}-{digest}"
    return clean + suffix
