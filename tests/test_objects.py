"""The object store, on files and against a real S3-protocol server (moto, server mode)."""

import pytest

from storage.objects import ChecksumMismatch, ObjectMissing, original_key, sha256_hex


@pytest.fixture(params=["fs", pytest.param("s3", marks=pytest.mark.s3)])
def store(request, fs_store):
    return fs_store if request.param == "fs" else request.getfixturevalue("s3_store")


def test_put_get_exists(store):
    data = b"%PDF-1.7 invoice bytes"
    digest = store.put_original(data)
    assert digest == sha256_hex(data)
    assert store.has_original(digest)
    assert store.get_original(digest) == data
    assert store.put_original(data) == digest  # idempotent
    assert list(store.iter_originals()) == [digest]
    assert not store.has_original("0" * 64)
    with pytest.raises(ObjectMissing):
        store.get_original("0" * 64)


def test_checksum_mismatch_is_detected(store):
    digest = store.put_original(b"original bytes")
    # Corrupt the stored object behind the store's back.
    if hasattr(store, "root"):
        (store.root / original_key(digest)).write_bytes(b"tampered bytes")
    else:
        import io

        store.client.put_object(store.bucket, original_key(digest), io.BytesIO(b"tampered"), 8)
    with pytest.raises(ChecksumMismatch):
        store.get_original(digest)


def test_named_files(store):
    store.put_file("exports/C01/2026-03.csv", b"a;b\n")
    store.put_file("exports/C02/2026-03.csv", b"c;d\n")
    assert store.get_file("exports/C01/2026-03.csv") == b"a;b\n"
    assert store.list_files("exports/C01/") == ["exports/C01/2026-03.csv"]


def test_filesystem_keys_cannot_escape(fs_store):
    with pytest.raises(ValueError, match="escapes"):
        fs_store.put_file("../outside.txt", b"x")


def test_s3_unreachable_is_unavailable_not_a_hang():
    import time

    from storage.objects import ObjectStoreUnavailable, S3ObjectStore
    from tests.conftest import free_port

    store = S3ObjectStore(f"127.0.0.1:{free_port()}", "bucket", "k", "s")
    started = time.monotonic()
    with pytest.raises(ObjectStoreUnavailable):
        store.put_original(b"x")
    assert time.monotonic() - started < 15
