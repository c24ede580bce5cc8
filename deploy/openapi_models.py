"""Writes the API models' schemas in the OpenAPI document from the Swift types that define them.

  python deploy/openapi_models.py --emporium .build/debug/emporium          (make openapi)
  python deploy/openapi_models.py --emporium .build/debug/emporium --check  (make test)

The shape of each model (its properties in order, which are required, their types, formats that
follow from the type, enum cases, arrays, references to other models) comes from the Swift type,
read through its Decodable conformance (`emporium openapi shapes`; each domain lists its models,
DomainModule.apiModels). What a type cannot say stays as written in the document and is kept:
descriptions, examples, bounds (minimum, maxLength, pattern, ...), formats such as `email`, a
closed set of words a Swift String keeps as text, and a schema built with allOf (the fields its
parts describe are left to them). A property the type no longer has is removed, a new one is added
with its type alone (then describe it); --check changes nothing and fails, naming the schemas,
when the document differs from what it would write.
"""
import argparse
import copy
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCUMENT = os.path.join(ROOT, "Sources/Gateway/openapi.json")
# Keywords the Swift type decides; every other keyword of a property is the document's own.
STRUCTURAL = {"type", "items", "properties", "required", "$ref", "additionalProperties"}
DERIVED_FORMATS = {"date-time", "uuid", "int64", "int32"}
DATE_EXAMPLE = ["2026-11-22T04:05:51.123Z"]


def ordered(original: dict, updates: dict, drop: set[str], first: list[str]) -> dict:
    """`original` with `updates` applied and `drop` removed, keeping the original order; keys
    new to it go first in the order of `first`, then the rest."""
    result = {key: updates[key] for key in first if key in updates and key not in original}
    for key, value in original.items():
        if key in drop and key not in updates:
            continue
        result[key] = updates.get(key, value)
    for key, value in updates.items():
        result.setdefault(key, value)
    return result


def resolve(schemas: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
    return schema


def part_fields(schemas: dict, schema: dict) -> tuple[set[str], set[str]]:
    """The properties and the required names an allOf part gives."""
    part = resolve(schemas, schema)
    names, required = set(part.get("properties", {})), set(part.get("required", []))
    for inner in part.get("allOf", []):
        more, more_required = part_fields(schemas, inner)
        names |= more
        required |= more_required
    return names, required


def write_property(schemas: dict, current: dict, shape: dict) -> dict:
    kind = shape["type"]
    if kind == "any":
        return current
    if kind == "ref":
        kept = {key: value for key, value in current.items() if key not in STRUCTURAL | {"format", "enum", "examples"}}
        return ordered(kept, {"$ref": f"#/components/schemas/{shape['schema']}"}, set(), ["$ref"])
    if kind == "object":
        return write_object(schemas, current, shape)
    if kind == "array":
        items = write_property(schemas, current.get("items", {}), shape["items"])
        return ordered(current, {"type": "array", "items": items}, STRUCTURAL | {"enum", "format"}, ["type", "items"])
    if kind == "enum":
        return ordered(current, {"type": "string", "enum": shape["cases"]}, STRUCTURAL | {"format"}, ["type", "enum"])
    updates = {"type": kind}
    drop = STRUCTURAL | {"enum"} if kind != "string" else STRUCTURAL
    if "format" in shape:
        updates["format"] = shape["format"]
        if shape["format"] == "date-time" and "examples" not in current:
            updates["examples"] = DATE_EXAMPLE
    elif current.get("format") in DERIVED_FORMATS and not (kind == "string" and current.get("format") == "uuid"):
        # A format the type would have to give (a Date, an Int64), which it does not; a String
        # documented as a UUID keeps its format.
        drop = drop | {"format"}
    return ordered(current, updates, drop, ["type", "format"])


def write_object(schemas: dict, current: dict, shape: dict) -> dict:
    inherited, inherited_required = set(), set()
    for part in current.get("allOf", []):
        names, required = part_fields(schemas, part)
        inherited |= names
        inherited_required |= required
    own = current.get("properties", {})
    properties = {}
    required = []
    for field in shape["fields"]:
        name = field["name"]
        if field["required"] and name not in inherited_required:
            required.append(name)
        if name in inherited and name not in own:
            continue
        properties[name] = write_property(schemas, own.get(name, {}), field["shape"])
    updates = {"properties": properties}
    drop = {"required", "items", "$ref"}
    if required:
        updates["required"] = required
    if "allOf" not in current:
        updates["type"] = "object"
    return ordered(current, updates, drop, ["type", "required", "properties"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emporium", required=True, help="the emporium binary")
    parser.add_argument("--check", action="store_true", help="change nothing; fail when the document differs")
    args = parser.parse_args()
    result = subprocess.run([args.emporium, "openapi", "shapes"], capture_output=True, text=True)
    if result.returncode != 0:
        print(f"emporium openapi shapes failed: {result.stderr.strip()}")
        return 1
    shapes = json.loads(result.stdout)
    text = open(DOCUMENT, encoding="utf-8").read()
    document = json.loads(text)
    schemas = document["components"]["schemas"]
    before = copy.deepcopy(schemas)
    for name in sorted(shapes):
        schemas[name] = write_object(schemas, schemas.get(name, {}), shapes[name])
    changed = [name for name in sorted(shapes) if before.get(name) != schemas[name]]
    written = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if args.check:
        if written != text:
            print(f"{os.path.relpath(DOCUMENT, ROOT)} differs from the Swift types in {changed or 'its layout'}: run `make openapi`")
            return 1
        print(f"the document's {len(shapes)} model schemas are the Swift types' shapes")
        return 0
    if written != text:
        with open(DOCUMENT, "w", encoding="utf-8") as out:
            out.write(written)
    print(f"wrote {len(changed)} of {len(shapes)} model schemas: {', '.join(changed) or 'none changed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
