"""The S3 artifact bucket: files too large to attach, stored for their download links.

Objects are written with SSE-S3 (``AES256``) under one key prefix per report and business date,
so a report's files of one day sit together and the bucket's lifecycle rule expires them. This
module is storage only: it puts objects and presigns short-lived GETs, and maps every AWS
failure to ``StorageError`` naming the bucket and the fix. Who may download what is decided by
the signed token (``gcnotify.core.links``), not here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from gcnotify.core.errors import StorageError

if TYPE_CHECKING:
    from botocore.config import Config

__all__ = [
    "KEY_PREFIX",
    "PRESIGNED_SECONDS",
    "ArtifactStore",
    "S3Client",
    "StoredObject",
    "artifact_key",
    "artifact_prefix",
    "client_config",
]

KEY_PREFIX = "standup"
# Long enough to follow a redirect on a slow phone, short enough that a forwarded URL is dead.
PRESIGNED_SECONDS = 300
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_SEGMENT = 200


class S3Client(Protocol):
    """The two calls of boto3's S3 client this seam makes (boto3's client satisfies it)."""

    def put_object(self, **kwargs: Any) -> Mapping[str, Any]: ...

    def generate_presigned_url(
        self, ClientMethod: str, Params: Mapping[str, Any], ExpiresIn: int
    ) -> str: ...


def client_config() -> Config:
    """The S3 client's config: SigV4, which every region accepts for presigned URLs (boto3 still
    presigns with the legacy SigV2 in us-east-1, which newer regions refuse)."""
    from botocore.config import Config

    return Config(signature_version="s3v4")


def _segment(text: str) -> str:
    """One key segment of safe characters: no slash, no leading dot, never empty."""
    safe = _UNSAFE.sub("_", text).lstrip(".")[:_MAX_SEGMENT]
    return safe or "file"


def artifact_prefix(report_id: str, business_date: date, *, prefix: str = KEY_PREFIX) -> str:
    """``standup/<report id>/<YYYY-MM-DD>``: one report's files of one day together."""
    return f"{prefix}/{_segment(report_id)}/{business_date.isoformat()}"


def artifact_key(
    report_id: str, business_date: date, filename: str, *, prefix: str = KEY_PREFIX
) -> str:
    """The object key of one file; a re-run of the same day replaces it rather than adding one."""
    return f"{artifact_prefix(report_id, business_date, prefix=prefix)}/{_segment(filename)}"


def _content_disposition(filename: str) -> str:
    """Saved under its own name, non-ASCII included (RFC 6266 ``filename*``)."""
    fallback = _segment(filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@dataclass(frozen=True)
class StoredObject:
    """What was written: the bucket and key a token names, and the file's size."""

    bucket: str
    key: str
    size_bytes: int


class ArtifactStore:
    """One bucket; writes are single PutObject calls with server-side encryption."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        if not bucket:
            raise StorageError(
                "no artifact bucket is set; set GCNOTIFY_ARTIFACT_BUCKET (template.yaml sets "
                "the stack's ArtifactBucket)"
            )
        self._client = client
        self.bucket = bucket
        self.calls = 0

    def __repr__(self) -> str:
        return f"ArtifactStore(bucket={self.bucket!r}, calls={self.calls})"

    def _error(self, action: str, key: str, exc: BaseException, fix: str) -> StorageError:
        """Our error for any failure of the AWS SDK or below it (a closed connection included)."""
        response = getattr(exc, "response", None)
        error = response.get("Error") if isinstance(response, Mapping) else None
        code = error.get("Code") if isinstance(error, Mapping) else None
        fixes = {
            "NoSuchBucket": "the bucket does not exist: check GCNOTIFY_ARTIFACT_BUCKET names the "
            "stack's ArtifactBucket",
            "AccessDenied": fix,
            "AllAccessDisabled": fix,
        }
        reason = code or type(exc).__name__
        if reason == "NoCredentialsError":
            hint = "no AWS credentials: Lambda provides its role's; locally configure them"
        else:
            hint = fixes.get(
                reason,
                "check the bucket exists, the function's IAM permissions, "
                "and that S3 is reachable (AWS_ENDPOINT_URL)",
            )
        return StorageError(
            f"artifact bucket {self.bucket!r} could not {action} {key!r} ({reason}); {hint}"
        )

    def put(self, key: str, content: bytes, *, content_type: str, filename: str) -> StoredObject:
        """Write one file, encrypted at rest (SSE-S3), saved under ``filename`` when downloaded."""
        self.calls += 1
        try:
            self._client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=content,
                ContentType=content_type,
                ContentDisposition=_content_disposition(filename),
                ServerSideEncryption="AES256",
            )
        except Exception as exc:
            raise self._error(
                "store",
                key,
                exc,
                f"grant the report function s3:PutObject on arn:aws:s3:::{self.bucket}/*",
            ) from None
        return StoredObject(bucket=self.bucket, key=key, size_bytes=len(content))

    def presigned_get(self, key: str, *, expires_in: int = PRESIGNED_SECONDS) -> str:
        """A GET URL for ``key`` valid ``expires_in`` seconds (or until the signing credentials
        expire, whichever is first: with a role's temporary credentials, keep it short)."""
        if not 1 <= expires_in <= 3600:
            raise ValueError(f"expires_in must be 1 to 3600 seconds, got {expires_in}")
        try:
            return self._client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": key},
                ExpiresIn=expires_in,
            )
        except Exception as exc:
            raise self._error(
                "presign a download of",
                key,
                exc,
                f"grant the download function s3:GetObject on arn:aws:s3:::{self.bucket}/*",
            ) from None
