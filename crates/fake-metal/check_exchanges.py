#!/usr/bin/env python3
"""Validates every exchange of a fake-metal exchange log against the official Metal OpenAPI spec.

Usage: check_exchanges.py SPEC LOG

Each line of LOG is one API exchange (method, path, query, has_token, request_body, status,
response_body). The request (path and query parameters, body) and, for the status codes the spec
documents for that operation, the response are validated with openapi-core. Fault answers the
spec does not list for an operation (429, 5xx) are validated against its Error schema. Exits 1
with every failure listed; prints a one-line summary otherwise."""
import json
import sys
from urllib.parse import parse_qs

import yaml

from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_schema_validator import OAS30Validator

HOST = "https://api.equinix.com"


def main(spec_path, log_path):
    spec = OpenAPI.from_file_path(spec_path)
    with open(spec_path) as f:
        raw = yaml.safe_load(f)
    error_schema = raw["components"]["schemas"]["Error"]
    error_validator = OAS30Validator(error_schema)
    failures = []
    counts = {"requests": 0, "responses": 0, "error_bodies": 0}
    with open(log_path) as f:
        lines = [l for l in f if l.strip()]
    if not lines:
        print("no exchanges to check", file=sys.stderr)
        return 1
    for n, line in enumerate(lines, 1):
        x = json.loads(line)
        args = {k: v for k, v in parse_qs(x["query"]).items()}
        headers = {"X-Auth-Token": "checked-by-the-fake"} if x["has_token"] else {}
        body = x["request_body"]
        data = json.dumps(body).encode() if body is not None else None
        req = MockRequest(
            HOST,
            x["method"].lower(),
            x["path"],
            args=args,
            headers=headers,
            data=data,
            content_type="application/json" if data is not None else None,
        )
        where = f"line {n}: {x['method']} {x['path']}?{x['query']} -> {x['status']}"
        try:
            spec.validate_request(req)
            counts["requests"] += 1
        except Exception as e:  # noqa: BLE001 - every failure is reported
            failures.append(f"{where}: request: {e}")
        status = x["status"]
        out = x["response_body"]
        if status in (429,) or status >= 500:
            try:
                error_validator.validate(out)
                counts["error_bodies"] += 1
            except Exception as e:  # noqa: BLE001
                failures.append(f"{where}: fault body is not an Error: {e}")
            continue
        resp = MockResponse(
            json.dumps(out).encode() if out is not None else b"",
            status_code=status,
            content_type="application/json" if out is not None else None,
        )
        try:
            spec.validate_response(req, resp)
            counts["responses"] += 1
        except Exception as e:  # noqa: BLE001
            failures.append(f"{where}: response: {e}")
    if failures:
        print("\n".join(failures), file=sys.stderr)
        return 1
    print(
        f"{len(lines)} exchanges valid against the spec: {counts['requests']} requests, "
        f"{counts['responses']} responses, {counts['error_bodies']} fault bodies"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
