"""Clients of the tests: dummy credentials, region us-east-1, the fake server's endpoint."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

SECRET_KEY = "SECRETKEY-never-recorded"
SESSION_TOKEN = "SESSIONTOKEN-never-recorded"


def make_client(server: Any, service: str = "bedrock-runtime") -> Any:
    """A boto3 client on ``server`` that never retries (fault tests stay quick)."""
    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=server.url,
        aws_access_key_id="AKIATEST",
        aws_secret_access_key=SECRET_KEY,
        aws_session_token=SESSION_TOKEN,
        config=Config(retries={"total_max_attempts": 1}),
    )
