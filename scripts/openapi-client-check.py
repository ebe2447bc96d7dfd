#!/usr/bin/env python3
"""Generates a Python client from a running server's OpenAPI document with openapi-python-client
and calls every read (GET) operation through it.

Usage: openapi-client-check.py BASE_URL FIXTURES_JSON [RESPONSES_FILE]

  BASE_URL        the server, e.g. http://127.0.0.1:8077
  FIXTURES_JSON   a JSON object: path template -> {parameter: value} for every GET operation that
                  takes a required parameter (path or query), e.g.
                  {"/api/v1/backtests/{id}": {"id": "bt_..."}}; optional parameters may be given
  RESPONSES_FILE  optional: a JSON list of responses the caller got from other operations (the
                  writes that made the fixtures), each {"operation_id", "status", "body"},
                  validated against the spec like the reads' bodies
  env SEXTANT_OPENAPI_KEY   the API key the client sends (an admin key reads every route)

Fails (exit 1) when:
  * the generator prints anything but its "Generating" line (a warning means it skipped or
    degraded part of the spec: duplicate operationIds once made it drop 9 operations);
  * the generated GET functions are not exactly the spec's GET operations;
  * a GET operation has no fixture for a required parameter;
  * a call answers 5xx, or a 200 with JSON content that the client does not parse into a model
    (`.parsed` None or an error model), or whose body does not validate against the operation's
    response schema (jsonschema, Draft 2020-12), or that carries a timestamp not in RFC 3339 with
    `Z` (a naive `2008-09-26 00:00:00` or `2008-09-26T00:00:00`, or `+00:00`).

Only GETs without JSON content are skipped, and only those named in NOT_JSON, which must match
the spec. Prints one JSON line per call ({"operation_id", "path", "status"}) and a summary line
({"summary": {...}}) on stdout; the Rust test `crates/sextant-server/tests/openapi_client.rs`
asserts on them.
"""

import datetime
import enum
import importlib
import inspect
import json
import os
import pathlib
import pkgutil
import re
import subprocess
import sys
import tempfile
import types
import typing
import urllib.request

import jsonschema
from dateutil.parser import isoparse

# GET operations whose 200 is not JSON: Prometheus text and a server-sent-event stream.
NOT_JSON = {"/metrics", "/api/v1/jobs/{id}/events", "/api/v1/mlops/evals/{id}/report"}

NAIVE = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00)?$")
ZULU = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def fail(msg):
    print(f"openapi-client-check: {msg}", file=sys.stderr)
    sys.exit(1)


def get_operations(spec):
    """(path, operation) of every GET in the spec."""
    return [(path, item["get"]) for path, item in spec["paths"].items() if "get" in item]


def generate(spec_text, out_dir):
    spec_file = out_dir / "spec.json"
    spec_file.write_text(spec_text)
    client_dir = out_dir / "sextant_client"
    venv_bin = str(pathlib.Path(sys.executable).parent)
    env = dict(os.environ, PATH=venv_bin + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run(
        [os.path.join(venv_bin, "openapi-python-client"), "generate", "--path", str(spec_file),
         "--output-path", str(client_dir), "--meta", "none"],
        capture_output=True, text=True, env=env,
    )
    said = [l for l in (proc.stdout + proc.stderr).splitlines() if l.strip()]
    extra = [l for l in said if not l.startswith("Generating ")]
    if proc.returncode != 0 or extra:
        fail("the generator did not take the spec cleanly:\n" + "\n".join(said))
    return client_dir


def generated_functions(pkg_name):
    """operation module -> (module, HTTP method) for every generated endpoint module."""
    api = importlib.import_module(f"{pkg_name}.api")
    found = {}
    for tag in pkgutil.iter_modules(api.__path__):
        tag_pkg = importlib.import_module(f"{pkg_name}.api.{tag.name}")
        for op in pkgutil.iter_modules(tag_pkg.__path__):
            mod = importlib.import_module(f"{pkg_name}.api.{tag.name}.{op.name}")
            src = inspect.getsource(mod._get_kwargs)
            method = re.search(r'"method": "(\w+)"', src)
            if method is None:
                fail(f"{mod.__name__}: no HTTP method in _get_kwargs")
            found[op.name] = (mod, method.group(1))
    return found


def convert(value, annotation):
    """A fixture value (JSON) as the generated signature wants it: enums, dates, datetimes."""
    options = typing.get_args(annotation) if isinstance(annotation, types.UnionType) or \
        typing.get_origin(annotation) is typing.Union else (annotation,)
    for t in options:
        if isinstance(t, type) and issubclass(t, enum.Enum):
            return t(value)
        if t is datetime.datetime:
            return isoparse(value)
        if t is datetime.date:
            return datetime.date.fromisoformat(value)
    return value


def call_args(fn, path, op, fixtures):
    """Keyword arguments for `fn` from the fixture of `path`; every required parameter is set."""
    given = dict(fixtures.get(path, {}))
    sig = inspect.signature(fn)
    names = {p.rstrip("_"): p for p in sig.parameters}
    kwargs = {}
    for param in op.get("parameters", []):
        name = param["name"]
        py = names.get(re.sub(r"[^0-9a-zA-Z]+", "_", name).lower().strip("_"))
        if py is None:
            fail(f"GET {path}: the generated function has no argument for {name!r}")
        if name in given:
            kwargs[py] = convert(given.pop(name), sig.parameters[py].annotation)
        elif param.get("required"):
            fail(f"GET {path}: no fixture for its required parameter {name!r}")
    if given:
        fail(f"GET {path}: fixture parameters the operation does not take: {sorted(given)}")
    return kwargs


def bad_times(value, where="$"):
    """Paths of strings in `value` that are timestamps without a `Z` zone."""
    if isinstance(value, dict):
        return [b for k, v in value.items() for b in bad_times(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [b for i, v in enumerate(value) for b in bad_times(v, f"{where}[{i}]")]
    if isinstance(value, str) and NAIVE.match(value):
        return [f"{where} = {value!r}"]
    return []


def zulu_count(value):
    if isinstance(value, dict):
        return sum(zulu_count(v) for v in value.values())
    if isinstance(value, list):
        return sum(zulu_count(v) for v in value)
    return int(isinstance(value, str) and bool(ZULU.match(value)))


def check_body(spec, what, op, status, body):
    """Problems of a JSON body against the operation's schema for `status`, and its timestamps."""
    content = op["responses"].get(str(status), {}).get("content", {})
    if "application/json" not in content:
        return [f"{what}: {status} has no JSON content in the spec"]
    schema = dict(content["application/json"]["schema"], components=spec["components"])
    found = sorted(jsonschema.Draft202012Validator(schema).iter_errors(body),
                   key=lambda e: list(e.absolute_path))
    out = [f"{what}: body does not match its {status} schema at "
           f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}"
           for e in found[:5]]
    out += [f"{what}: timestamp not RFC 3339 with Z: {b}" for b in bad_times(body)[:5]]
    return out


def main():
    if len(sys.argv) not in (3, 4):
        fail(__doc__)
    base, fixtures = sys.argv[1].rstrip("/"), json.loads(sys.argv[2])
    recorded = json.loads(pathlib.Path(sys.argv[3]).read_text()) if len(sys.argv) == 4 else []
    key = os.environ.get("SEXTANT_OPENAPI_KEY") or fail("SEXTANT_OPENAPI_KEY is not set")
    with urllib.request.urlopen(f"{base}/api/v1/openapi.json") as r:
        spec_text = r.read().decode()
    spec = json.loads(spec_text)
    gets = get_operations(spec)
    unknown = set(fixtures) - {p for p, _ in gets}
    if unknown:
        fail(f"fixtures for paths that have no GET operation: {sorted(unknown)}")
    for path in NOT_JSON:
        op = spec["paths"].get(path, {}).get("get")
        if op is None:
            fail(f"NOT_JSON names {path}, which has no GET operation")
        if "application/json" in op["responses"].get("200", {}).get("content", {}):
            fail(f"NOT_JSON names {path}, whose 200 is JSON: call it instead")

    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp)
        generate(spec_text, out)
        sys.path.insert(0, str(out))
        functions = generated_functions("sextant_client")
        all_ops = [op for item in spec["paths"].values() for m, op in item.items()
                   if m in ("get", "post", "put", "patch", "delete")]
        if len(functions) != len(all_ops):
            fail(f"{len(functions)} generated functions for {len(all_ops)} operations")
        generated_gets = sorted(n for n, (_, m) in functions.items() if m == "get")
        spec_gets = sorted(op["operationId"] for _, op in gets)
        if generated_gets != spec_gets:
            fail(f"generated GET functions {generated_gets} are not the spec's {spec_gets}")

        client_mod = importlib.import_module("sextant_client")
        types_mod = importlib.import_module("sextant_client.types")
        problem = importlib.import_module("sextant_client.models.problem").Problem
        client = client_mod.AuthenticatedClient(base_url=base, token=key, timeout=120.0,
                                                raise_on_unexpected_status=False)
        called, statuses, zulu, errors = 0, {}, 0, []
        for path, op in gets:
            if path in NOT_JSON:
                continue
            name = op["operationId"]
            mod, _ = functions[name]
            kwargs = call_args(mod.sync_detailed, path, op, fixtures)
            resp = mod.sync_detailed(client=client, **kwargs)
            called += 1
            code = int(resp.status_code)
            statuses[str(code)] = statuses.get(str(code), 0) + 1
            print(json.dumps({"operation_id": name, "path": path, "status": code}), flush=True)
            if code >= 500:
                errors.append(f"GET {path} ({name}): {code} {resp.content[:300]!r}")
                continue
            if code != 200:
                continue
            if resp.parsed is None or isinstance(resp.parsed, problem) or \
                    isinstance(resp.parsed, types_mod.Unset):
                errors.append(f"GET {path} ({name}): 200 not parsed into a model: {resp.parsed!r}")
                continue
            body = json.loads(resp.content)
            errors.extend(check_body(spec, f"GET {path} ({name})", op, 200, body))
            zulu += zulu_count(body)
        by_id = {op["operationId"]: op for item in spec["paths"].values()
                 for m, op in item.items() if m in ("get", "post", "put", "patch", "delete")}
        for r in recorded:
            op = by_id.get(r["operation_id"])
            if op is None:
                errors.append(f"recorded response of unknown operation {r['operation_id']!r}")
                continue
            errors.extend(check_body(spec, r["operation_id"], op, r["status"], r["body"]))
            zulu += zulu_count(r["body"])
        print(json.dumps({"summary": {
            "get_operations": len(gets), "called": called, "skipped": sorted(NOT_JSON),
            "recorded_checked": len(recorded),
            "statuses": statuses, "rfc3339_z_timestamps": zulu, "errors": len(errors)}}))
        if errors:
            fail(f"{len(errors)} problems:\n" + "\n".join(errors))


if __name__ == "__main__":
    main()
