"""Where the warehouse lives: a local folder, or object storage given as a URI
(``s3a://bucket/prefix``; any scheme fsspec and Hadoop both know).

Paths under it are ``UPath`` objects (universal-pathlib): a local one is a ``pathlib.Path``, a
remote one has the same methods over fsspec, and its ``str`` is the URI Spark and delta-rs take.
Credentials and the endpoint come only from the environment (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``, ``AWS_ENDPOINT_URL``) or the providers' standard
chains, never from settings or files of the repository.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import pyarrow.fs as pafs
from pydantic import PlainSerializer, PlainValidator, WithJsonSchema
from upath import UPath

LOCAL_SCHEMES = ("", "file", "local")


def as_location(value: Any) -> UPath:
    """A local path (or file:// URI) as a ``pathlib.Path``; any other URI as a remote UPath."""
    path = value if isinstance(value, UPath) else UPath(value)
    return UPath(path.path) if path.protocol in LOCAL_SCHEMES else path


# A settings field holding a location: read from a path or a URI, written back as that text.
Location = Annotated[
    UPath,
    PlainValidator(as_location),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string"}),
]


def is_local(path: UPath | Path) -> bool:
    return isinstance(path, Path)


def arrow_files(uris: list[str]) -> tuple[list[str], pafs.FileSystem | None]:
    """Files listed by delta-rs, as pyarrow reads them: local paths as they are (pyarrow's own
    filesystem); remote URIs through their fsspec filesystem (pyarrow does not know s3a://)."""
    if not uris or "://" not in uris[0]:
        return uris, None
    filesystem = pafs.PyFileSystem(pafs.FSSpecHandler(UPath(uris[0]).fs))
    return [UPath(uri).path for uri in uris], filesystem


def as_url(uri: str) -> str:
    """A URL for readers that want one (Petastorm): local paths become file:// URLs."""
    return uri if "://" in uri else f"file://{uri}"


def s3a_conf() -> dict[str, str]:
    """Hadoop S3A settings from the standard AWS environment: a custom endpoint (an
    S3-compatible store, such as MinIO or moto's server) is addressed path-style."""
    conf = {
        # the SDK's own chain: environment, profile, web identity (IRSA), instance role
        "spark.hadoop.fs.s3a.aws.credentials.provider": (
            "software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider"
        ),
    }
    if region := os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"):
        conf["spark.hadoop.fs.s3a.endpoint.region"] = region
    if endpoint := os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"):
        conf["spark.hadoop.fs.s3a.endpoint"] = endpoint
        conf["spark.hadoop.fs.s3a.path.style.access"] = "true"
        conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = str(
            endpoint.startswith("https:")
        ).lower()
    return conf
