"""The parse worker's main loop (`python -m extractors.worker`); see `extractors.limits`."""

import importlib
import os
import pickle
import struct
import sys
import warnings

_HEADER = struct.Struct("!Q")


def _limit_memory() -> None:
    try:
        import resource

        limit = int(os.environ.get("FIDUFLOW_WORKER_MEMORY", "0"))
        if limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass


def _read_exact(stream, size: int) -> bytes:
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return data


def main() -> None:
    from domain.enums import ReadErrorKind
    from extractors.errors import ReadFailure

    warnings.simplefilter("ignore")
    _limit_memory()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    # Nothing else may write to the pipe we answer on.
    sys.stdout = sys.stderr
    while True:
        try:
            (size,) = _HEADER.unpack(_read_exact(stdin, _HEADER.size))
            module, name, args = pickle.loads(_read_exact(stdin, size))  # noqa: S301
        except EOFError:
            return
        try:
            fn = getattr(importlib.import_module(module), name)
            answer = ("ok", fn(*args))
        except ReadFailure as exc:
            answer = ("fail", (exc.kind.value, exc.message))
        except MemoryError:
            answer = ("fail", (ReadErrorKind.TOO_LARGE.value, "parser ran out of memory"))
        except RecursionError:
            answer = ("fail", (ReadErrorKind.CORRUPT.value, "PDF structure nests too deeply"))
        except Exception as exc:
            answer = ("fail", (ReadErrorKind.CORRUPT.value, f"{type(exc).__name__}: {exc}"))
        try:
            body = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            body = pickle.dumps(("fail", (ReadErrorKind.TOO_LARGE.value, "result too large")))
        stdout.write(_HEADER.pack(len(body)) + body)
        stdout.flush()


if __name__ == "__main__":
    main()
