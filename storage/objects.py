"""The object store: originals by SHA-256, and named files (exports).

Two backends behind one small interface: files under a folder (the embedded default) and
MinIO/S3. A write is only reported done after it has been verified, so "acknowledged"
can honestly mean "stored". On the filesystem, originals and exports are readable by
their owner only (files 0600, folders 0700): they are clients' documents and books.
"""

import contextlib
import hashlib
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from domain.settings import Settings
from storage.private import PRIVATE_FILE, private_dirs


class ObjectStoreUnavailable(RuntimeError):
    """The store cannot be reached or refused the write; callers answer "retry later"."""


class ChecksumMismatch(RuntimeError):
    """What was read back is not what its name promises: corruption, never served."""


class ObjectMissing(KeyError):
    pass


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def original_key(sha256: str) -> str:
    # Two levels of fan-out keep directories small on the filesystem backend.
    return f"originals/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def _check_sha(sha256: str) -> None:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")


class ObjectStore(Protocol):
    def put_original(self, data: bytes) -> str:
        """Store bytes under their SHA-256 (idempotent), verify, return the hash."""
        ...

    def get_original(self, sha256: str) -> bytes:
        """The bytes, checked against their hash (ChecksumMismatch otherwise)."""
        ...

    def has_original(self, sha256: str) -> bool: ...

    def iter_originals(self) -> Iterator[str]:
        """Every stored original's hash (for `fiduflow check`)."""
        ...

    def put_file(self, key: str, data: bytes, content_type: str = ...) -> None: ...

    def get_file(self, key: str) -> bytes: ...

    def list_files(self, prefix: str) -> list[str]: ...

    def ping(self) -> None: ...


class FilesystemObjectStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        private_dirs(self.root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"object key escapes the store: {key!r}")
        return path

    def _write_atomically(self, path: Path, data: bytes) -> None:
        private_dirs(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            os.fchmod(fd, PRIVATE_FILE)  # mkstemp's 0600 today; stated, not assumed
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself must survive a power cut
        finally:
            os.close(dir_fd)

    def put_original(self, data: bytes) -> str:
        digest = sha256_hex(data)
        path = self._path(original_key(digest))
        try:
            if path.exists() and sha256_hex(path.read_bytes()) == digest:
                return digest
            self._write_atomically(path, data)
            if sha256_hex(path.read_bytes()) != digest:
                raise ObjectStoreUnavailable(f"verification failed after writing {digest}")
        except OSError as exc:
            raise ObjectStoreUnavailable(f"cannot write to {self.root}: {exc}") from exc
        return digest

    def get_original(self, sha256: str) -> bytes:
        _check_sha(sha256)
        try:
            data = self._path(original_key(sha256)).read_bytes()
        except FileNotFoundError as exc:
            raise ObjectMissing(sha256) from exc
        except OSError as exc:
            raise ObjectStoreUnavailable(str(exc)) from exc
        if sha256_hex(data) != sha256:
            raise ChecksumMismatch(f"object {sha256} is corrupt")
        return data

    def has_original(self, sha256: str) -> bool:
        _check_sha(sha256)
        return self._path(original_key(sha256)).is_file()

    def iter_originals(self) -> Iterator[str]:
        base = self.root / "originals"
        if base.exists():
            for path in sorted(base.glob("*/*/*")):
                if not path.name.startswith(".tmp-"):
                    yield path.name

    def put_file(self, key: str, data: bytes, content_type: str = "application/octet-stream"):
        try:
            self._write_atomically(self._path(key), data)
        except OSError as exc:
            raise ObjectStoreUnavailable(str(exc)) from exc

    def get_file(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc

    def list_files(self, prefix: str) -> list[str]:
        base = self.root
        return sorted(
            str(p.relative_to(base))
            for p in base.rglob("*")
            if p.is_file() and str(p.relative_to(base)).startswith(prefix)
        )

    def ping(self) -> None:
        if not os.access(self.root, os.W_OK):
            raise ObjectStoreUnavailable(f"{self.root} is not writable")


class S3ObjectStore:
    """MinIO / S3 through the `minio` client. The ETag of a single-part upload is the MD5
    of the bytes the server stored; comparing it with our own MD5 verifies the write."""

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        access_key: str | None,
        secret_key: str | None,
        *,
        secure: bool = False,
        region: str = "us-east-1",
    ):
        from minio import Minio
        from urllib3 import PoolManager, Retry, Timeout

        # Fail fast and let intake answer "retry later", instead of hanging a mail session.
        http = PoolManager(
            timeout=Timeout(connect=3, read=30),
            retries=Retry(total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
            maxsize=16,
        )
        self.bucket = bucket
        self.client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http,
        )
        self._bucket_checked = False

    def _ensure_bucket(self) -> None:
        if self._bucket_checked:
            return
        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
        except Exception as exc:
            raise ObjectStoreUnavailable(f"S3 bucket {self.bucket}: {exc}") from exc
        self._bucket_checked = True

    def _put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str]) -> None:
        self._ensure_bucket()
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        try:
            result = self.client.put_object(
                self.bucket,
                key,
                io.BytesIO(data),
                len(data),
                content_type=content_type,
                metadata=dict(metadata.items()),  # minio's wider value type
            )
        except Exception as exc:
            raise ObjectStoreUnavailable(f"S3 write of {key} failed: {exc}") from exc
        if (result.etag or "").strip('"') != md5:
            raise ObjectStoreUnavailable(f"S3 write of {key} not verified (ETag mismatch)")

    def put_original(self, data: bytes) -> str:
        digest = sha256_hex(data)
        self._put(original_key(digest), data, "application/octet-stream", {"sha256": digest})
        return digest

    def _get(self, key: str) -> bytes:
        self._ensure_bucket()
        from minio.error import S3Error

        try:
            response = self.client.get_object(self.bucket, key)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                raise ObjectMissing(key) from exc
            raise ObjectStoreUnavailable(str(exc)) from exc
        except Exception as exc:
            raise ObjectStoreUnavailable(str(exc)) from exc

    def get_original(self, sha256: str) -> bytes:
        _check_sha(sha256)
        data = self._get(original_key(sha256))
        if sha256_hex(data) != sha256:
            raise ChecksumMismatch(f"object {sha256} is corrupt")
        return data

    def has_original(self, sha256: str) -> bool:
        _check_sha(sha256)
        self._ensure_bucket()
        from minio.error import S3Error

        try:
            self.client.stat_object(self.bucket, original_key(sha256))
            return True
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "ResourceNotFound"):
                return False
            raise ObjectStoreUnavailable(str(exc)) from exc
        except Exception as exc:
            raise ObjectStoreUnavailable(str(exc)) from exc

    def iter_originals(self) -> Iterator[str]:
        self._ensure_bucket()
        for obj in self.client.list_objects(self.bucket, prefix="originals/", recursive=True):
            yield obj.object_name.rsplit("/", 1)[-1]

    def put_file(self, key: str, data: bytes, content_type: str = "application/octet-stream"):
        self._put(key, data, content_type, {})

    def get_file(self, key: str) -> bytes:
        return self._get(key)

    def list_files(self, prefix: str) -> list[str]:
        self._ensure_bucket()
        return sorted(
            o.object_name
            for o in self.client.list_objects(self.bucket, prefix=prefix, recursive=True)
        )

    def ping(self) -> None:
        self._bucket_checked = False
        self._ensure_bucket()


def open_object_store(settings: Settings) -> ObjectStore:
    if settings.s3_endpoint:
        secret = settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else None
        return S3ObjectStore(
            settings.s3_endpoint,
            settings.s3_bucket,
            settings.s3_access_key,
            secret,
            secure=settings.s3_secure,
            region=settings.s3_region,
        )
    return FilesystemObjectStore(settings.objects_dir)
