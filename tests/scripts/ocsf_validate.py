#!/usr/bin/python3
"""Validates NDJSON files of driftwatch's OCSF output (one object a line) against the OCSF 1.8.0
JSON Schemas of the shared folder, with Debian's python3-jsonschema. Used by ocsf_schema.sh.

  ocsf_validate.py SCHEMA_DIR [--pair DRIFTWATCH.ndjson OCSF.ndjson]... [OCSF.ndjson]...

Every object must
  * be valid under the schema of its class (2003 Compliance Finding, 2004 Detection Finding);
  * use only attributes the schema defines (outside json_t data and `unmapped`) and declare in
    metadata.profiles every profile whose attributes it uses, the OCSF validator's rule, which
    the schemas leave open (see ../shared/ocsf/README.md);
  * hold the mapping's invariants (doc/ocsf_mapping.md): activity and status agree, compliance
    status follows the finding's, type_uid, metadata.version 1.8.0, profile cloud.
--pair also checks that the OCSF file is the driftwatch file object for object: same finding,
status, kind, severity, resolution and event time, so that there is exactly one OCSF object per
status change. Exit 0 when everything holds, 1 otherwise (every problem printed), 2 on a usage
error or a missing schema.
"""

import json
import sys
from pathlib import Path

try:
    from jsonschema.validators import validator_for
except ImportError:
    print("ocsf_validate: python3-jsonschema is not installed for /usr/bin/python3 "
          "(scripts/install-deps.sh installs it)", file=sys.stderr)
    sys.exit(2)

CLASSES = {2003: "compliance_finding", 2004: "detection_finding"}
SEVERITY_ID = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
RESOLUTIONS = {"state", "expired", "closed"}
MAX_PROBLEMS = 50

problems = []


def problem(where, what):
    problems.append(f"{where}: {what}")


def load_schemas(schema_dir):
    schemas = {}
    for uid, name in CLASSES.items():
        path = Path(schema_dir) / f"{name}.schema.json"
        if not path.is_file():
            print(f"ocsf_validate: OCSF schema {path} not found", file=sys.stderr)
            sys.exit(2)
        schema = json.loads(path.read_text(encoding="utf-8"))
        cls = validator_for(schema)
        cls.check_schema(schema)
        schemas[uid] = (schema, cls(schema))
    return schemas


def resolve(schema, root):
    while "$ref" in schema:
        schema = root["$defs"][schema["$ref"].split("/")[-1]]
    return schema


def lint(instance, schema, root, profiles, where, out):
    """Unknown attributes and profile attributes used without declaring the profile."""
    schema = resolve(schema, root)
    if isinstance(instance, list) and "items" in schema:
        for i, item in enumerate(instance):
            lint(item, schema["items"], root, profiles, f"{where}[{i}]", out)
    elif isinstance(instance, dict) and "properties" in schema:
        for key, value in instance.items():
            sub = schema["properties"].get(key)
            path = f"{where}.{key}" if where else key
            if sub is None:
                out.append(f"unknown attribute {path}")
                continue
            needed = sub.get("x-ocsf-profiles")
            if needed and not set(needed) & profiles:
                out.append(f"{path} needs metadata.profiles to list one of {needed}")
            lint(value, sub, root, profiles, path, out)


def invariants(o, where):
    activity, status = o.get("activity_id"), o.get("status_id")
    if o.get("type_uid") != o.get("class_uid", 0) * 100 + (activity or 0):
        problem(where, "type_uid is not class_uid * 100 + activity_id")
    meta = o.get("metadata", {})
    if meta.get("version") != "1.8.0":
        problem(where, f"metadata.version {meta.get('version')!r}, want '1.8.0'")
    if meta.get("profiles") != ["cloud"]:
        problem(where, f"metadata.profiles {meta.get('profiles')!r}, want ['cloud']")
    if meta.get("product", {}).get("name") != "driftwatch":
        problem(where, "metadata.product.name is not driftwatch")
    if o.get("cloud", {}).get("provider") != "AWS":
        problem(where, "cloud.provider is not AWS")
    info = o.get("finding_info", {})
    if not info.get("uid"):
        problem(where, "finding_info.uid empty")
    types = info.get("types", [])
    if len(types) != 2:
        problem(where, f"finding_info.types {types!r}: want [rule id, category]")
    if activity == 1:
        if status != 1 or "status_detail" in o:
            problem(where, "Create must have status_id 1 New and no status_detail")
        # An event without a readable time (placeholders in the corpus) leaves the finding's
        # times unknown: time 0 and no *_seen_time, as driftwatch's format leaves them empty.
        if o.get("time") != info.get("last_seen_time", 0):
            problem(where, "Create: time is not finding_info.last_seen_time")
    elif activity == 3:
        if status != 4 or o.get("status_detail") not in RESOLUTIONS:
            problem(where, "Close must have status_id 4 Resolved and status_detail "
                           f"state|expired|closed, got {status!r} {o.get('status_detail')!r}")
    else:
        problem(where, f"activity_id {activity!r}: driftwatch writes 1 Create or 3 Close")
    time = o.get("time")
    if not isinstance(time, int) or time < 0:
        problem(where, f"time {time!r} is not epoch milliseconds")
    elif "first_seen_time" in info and time < info["first_seen_time"]:
        problem(where, "time is before finding_info.first_seen_time")
    elif "first_seen_time" in info and time < 10**11:
        problem(where, f"time {time!r} is not epoch milliseconds")
    if o.get("class_uid") == 2003:
        c = o.get("compliance", {})
        # Fail while open and when closed by hand (not seen to comply), Pass once resolved.
        want = 3 if activity == 1 or o.get("status_detail") == "closed" else 1
        if c.get("status_id") != want:
            problem(where, f"compliance.status_id {c.get('status_id')!r}, want {want}")
        if types and c.get("control") != types[0]:
            problem(where, "compliance.control is not the rule id")
        if not c.get("standards"):
            problem(where, "compliance.standards empty")
    elif "compliance" in o:
        problem(where, "a Detection Finding with compliance")
    for e in o.get("evidences", []):
        if "uid" in e and e.get("data", {}).get("event_id") != e["uid"]:
            problem(where, "evidence uid and data.event_id differ")


def check_file(path, schemas, counts):
    objects = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            where = f"{path}:{n}"
            try:
                o = json.loads(line)
            except ValueError as e:
                problem(where, f"not JSON: {e}")
                continue
            objects.append(o)
            uid = o.get("class_uid") if isinstance(o, dict) else None
            if uid not in schemas:
                problem(where, f"class_uid {uid!r} is not 2003 or 2004")
                continue
            schema, validator = schemas[uid]
            for e in sorted(validator.iter_errors(o), key=lambda e: list(e.absolute_path)):
                problem(where, "schema: " + "/".join(map(str, e.absolute_path)) + ": " + e.message)
            found = []
            lint(o, schema, schema, set(o.get("metadata", {}).get("profiles", [])), "", found)
            for p in found:
                problem(where, "lint: " + p)
            invariants(o, where)
            key = (uid, o.get("activity_name"))
            counts[key] = counts.get(key, 0) + 1
    return objects


def check_pair(native_path, ocsf_objects, ocsf_path):
    with open(native_path, encoding="utf-8") as f:
        native = [json.loads(line) for line in f]
    if len(native) != len(ocsf_objects):
        problem(ocsf_path, f"{len(ocsf_objects)} OCSF objects for {len(native)} status changes "
                           f"in {native_path}")
        return
    for n, (d, o) in enumerate(zip(native, ocsf_objects), 1):
        where = f"{ocsf_path}:{n}"
        info = o.get("finding_info", {})
        want = {
            "finding_info.uid": d["finding_id"],
            "class_uid": 2003 if d["kind"] == "posture" else 2004,
            "activity_id": 1 if d["status"] == "open" else 3,
            "severity_id": SEVERITY_ID[d["severity"]],
            "finding_info.types": [d["rule_id"], d["category"]],
            "status_detail": d.get("resolution"),
            "resources[0].type": d["resource"]["type"] or None,
            "unmapped.kind": d["kind"],
        }
        got = {
            "finding_info.uid": info.get("uid"),
            "class_uid": o.get("class_uid"),
            "activity_id": o.get("activity_id"),
            "severity_id": o.get("severity_id"),
            "finding_info.types": info.get("types"),
            "status_detail": o.get("status_detail"),
            "resources[0].type": (o.get("resources") or [{}])[0].get("type"),
            "unmapped.kind": o.get("unmapped", {}).get("kind"),
        }
        for k in want:
            if want[k] != got[k]:
                problem(where, f"{k} {got[k]!r}, want {want[k]!r} (from {native_path}:{n})")
        # The triggering events: the finding's event ids but the one that undid the drift.
        undid = (d.get("resolution_detail") or {}).get("event_id") \
            if d.get("resolution") == "state" else None
        triggers = [i for i in d["event_ids"] if i != undid]
        ids = [e["uid"] for e in o.get("evidences", []) if "uid" in e]
        if ids != triggers:
            problem(where, f"evidence uids {ids} are not the finding's triggering event ids "
                           f"{triggers}")


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    schemas = load_schemas(argv[1])
    counts = {}
    args = argv[2:]
    files = 0
    while args:
        if args[0] == "--pair":
            if len(args) < 3:
                print("ocsf_validate: --pair needs two files", file=sys.stderr)
                return 2
            objects = check_file(args[2], schemas, counts)
            check_pair(args[1], objects, args[2])
            args = args[3:]
        else:
            check_file(args[0], schemas, counts)
            args = args[1:]
        files += 1
    total = sum(counts.values())
    summary = ", ".join(f"{CLASSES[u]} {a}: {c}" for (u, a), c in sorted(counts.items()))
    print(f"ocsf_validate: {total} object(s) in {files} file(s) ({summary or 'none'})")
    if problems:
        for p in problems[:MAX_PROBLEMS]:
            print("  " + p, file=sys.stderr)
        if len(problems) > MAX_PROBLEMS:
            print(f"  ... and {len(problems) - MAX_PROBLEMS} more", file=sys.stderr)
        print(f"ocsf_validate: FAIL: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
