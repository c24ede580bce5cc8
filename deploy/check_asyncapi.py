"""Checks docs/asyncapi.yaml, the contract of Emporium's messages.

  python deploy/check_asyncapi.py                   # the document's shape only
  python deploy/check_asyncapi.py --fields FILE|-   # and against the code's message types

The shape: `asyncapi: 3.0.0`; every `$ref` is local and resolves; every channel names its
servers and declares the parameters of its address; every operation sends or receives on a
channel, names its role (a tag) and takes its messages from its channel; every message has a
unique `name`, is in a channel and in an operation; a Kafka message has a key and pins its
`message-type` header, an AMQP one its `messageType`; each payload and headers schema is a valid
JSON Schema (when the jsonschema package is there).

`--fields` reads what Tests/ContractTests extracted from the Swift message types (the types in
`MessageCatalog.all`, read by a recording `Decoder`) as JSON:

  {"messages": [{"name": "order.created", "swiftType": "OrderCreated", "schemaVersion": 1,
                 "payload": <JSON Schema of what the decoder reads>}, ...],
   "headers": ["message-id", ...],
   "topics": [{"name": "order", "partitions": 16}, ...], "routingKeys": ["mail.send", ...],
   "delays": {"workExchange": "emporium.work", "levels": ["1s", ...], "queues": ["emporium.delay.1s", ...],
              "unroutedQueue": "emporium.work.unrouted"}}

and requires the document to match: one message per type under its wire name and none more, the
same `x-schema-version`, the same payload properties with the same JSON types and formats, the
same `required`, `additionalProperties: true` on every object the decoder reads field by field,
header schemas that name exactly the code's envelope and runtime headers, a Kafka channel with
its partition count for each topic and dead-letter topic of `Destinations.kafkaTopics`, and an AMQP
routing-key channel for each routing key of `Destinations` (and none more of either), on the work
exchange, and the delay queues' levels and the unrouted queue as `AMQPDelays` names them by default.

`--asyncapi-schema FILE` also validates the whole document against the official AsyncAPI 3.0.0
JSON Schema (github.com/asyncapi/spec-json-schemas, schemas/3.0.0-without-$id.json), if you have it.

Prints each problem and exits 1 if there is any; prints "asyncapi checks passed" otherwise.
"""
import argparse
import json
import os
import re
import sys

try:
    import yaml
except ImportError:
    sys.exit("check_asyncapi.py needs PyYAML: `make install` puts it in .local/venv, or pip install PyYAML")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
problems: list[str] = []


# MARK: - References

class Document:
    def __init__(self, tree: dict):
        self.tree = tree

    def pointer(self, ref: str):
        """The object a local `$ref` names, or None."""
        if not ref.startswith("#/"):
            return None
        node = self.tree
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return None
        return node

    def resolve(self, node, seen=()):
        """`node` with `$ref`s followed to the object they name."""
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                return {}
            seen = (*seen, ref)
            target = self.pointer(ref)
            if target is None:
                return {}
            node = target
        return node

    def final_ref(self, ref: str) -> str:
        """The last `$ref` of a chain (a channel's message -> the component)."""
        seen = set()
        while ref not in seen:
            seen.add(ref)
            target = self.pointer(ref)
            if not (isinstance(target, dict) and "$ref" in target):
                return ref
            ref = target["$ref"]
        return ref


def walk_refs(node, path="#"):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield path, value
            else:
                yield from walk_refs(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk_refs(value, f"{path}/{index}")


def schema_properties(document: Document, schema, seen=()) -> dict:
    """Every property a schema names, through `$ref` and `allOf`."""
    schema = document.resolve(schema)
    if not isinstance(schema, dict) or id(schema) in seen:
        return {}
    seen = (*seen, id(schema))
    properties = dict(schema.get("properties") or {})
    for part in schema.get("allOf") or []:
        for name, value in schema_properties(document, part, seen).items():
            properties.setdefault(name, value)
    return properties


def pinned_values(document: Document, schema, name: str, seen=()) -> set:
    """The `const`s a schema gives property `name`, in any of its `allOf` parts."""
    schema = document.resolve(schema)
    if not isinstance(schema, dict) or id(schema) in seen:
        return set()
    seen = (*seen, id(schema))
    property = document.resolve((schema.get("properties") or {}).get(name))
    values = {property["const"]} if isinstance(property, dict) and "const" in property else set()
    for part in schema.get("allOf") or []:
        values |= pinned_values(document, part, name, seen)
    return values


def refs_within(node) -> set[str]:
    return {ref for _, ref in walk_refs(node)}


# MARK: - The document's shape

def check_shape(document: Document) -> dict[str, dict]:
    """Checks the document; returns its messages by component key."""
    tree = document.tree
    if tree.get("asyncapi") != "3.0.0":
        problems.append(f"asyncapi: expected 3.0.0, got {tree.get('asyncapi')!r}")
    info = tree.get("info") or {}
    for key in ("title", "version"):
        if not info.get(key):
            problems.append(f"info.{key} is missing")

    for path, ref in walk_refs(tree):
        if not ref.startswith("#/"):
            problems.append(f"{path}: $ref {ref} is not local")
        elif document.pointer(ref) is None:
            problems.append(f"{path}: $ref {ref} does not resolve")

    servers = tree.get("servers") or {}
    for name, server in servers.items():
        for key in ("host", "protocol"):
            if not (server or {}).get(key):
                problems.append(f"servers.{name}: no {key}")

    components = tree.get("components") or {}
    messages: dict[str, dict] = components.get("messages") or {}
    if not messages:
        problems.append("components.messages is empty")
    message_ref = {f"#/components/messages/{key}": key for key in messages}

    # Channels: servers, parameters, messages.
    channels = tree.get("channels") or {}
    in_channel: dict[str, set[str]] = {}          # component key -> channel keys
    protocol_of: dict[str, set[str]] = {}         # component key -> protocols of its channels
    for key, channel in channels.items():
        channel = channel or {}
        where = f"channels.{key}"
        address = channel.get("address")
        if not isinstance(address, str) or not address:
            problems.append(f"{where}: no address")
            address = ""
        placeholders = set(re.findall(r"\{([^}]+)\}", address))
        declared = set((channel.get("parameters") or {}).keys())
        if placeholders != declared:
            problems.append(f"{where}: the address names parameters {sorted(placeholders)}, the channel declares {sorted(declared)}")
        protocols = set()
        server_refs = channel.get("servers") or []
        if not server_refs:
            problems.append(f"{where}: names no server")
        for ref in server_refs:
            target = ref.get("$ref", "") if isinstance(ref, dict) else ""
            if not target.startswith("#/servers/"):
                problems.append(f"{where}: servers must be $refs to #/servers/..., got {ref!r}")
                continue
            protocols.add((document.pointer(target) or {}).get("protocol"))
        channel_messages = channel.get("messages") or {}
        if not channel_messages:
            problems.append(f"{where}: carries no message")
        for message_key, message in channel_messages.items():
            ref = message.get("$ref") if isinstance(message, dict) else None
            component = message_ref.get(document.final_ref(ref)) if ref else None
            if component is None:
                problems.append(f"{where}.messages.{message_key}: must be a $ref to #/components/messages/...")
                continue
            if message_key != messages[component].get("name"):
                problems.append(f"{where}.messages.{message_key}: key differs from the message's name {messages[component].get('name')!r}")
            in_channel.setdefault(component, set()).add(key)
            protocol_of.setdefault(component, set()).update(protocols)

    # Operations: action, channel, role, messages from that channel.
    tags = components.get("tags") or {}
    in_operation: dict[str, set[str]] = {}
    for key, operation in (tree.get("operations") or {}).items():
        operation = operation or {}
        where = f"operations.{key}"
        if operation.get("action") not in ("send", "receive"):
            problems.append(f"{where}: action must be send or receive, got {operation.get('action')!r}")
        channel_ref = (operation.get("channel") or {}).get("$ref", "")
        if not channel_ref.startswith("#/channels/") or document.pointer(channel_ref) is None:
            problems.append(f"{where}: channel must be a $ref to #/channels/..., got {channel_ref!r}")
            continue
        roles = [document.resolve(tag).get("name") for tag in operation.get("tags") or []]
        if not roles or not all(name in {t.get("name") for t in tags.values()} for name in roles):
            problems.append(f"{where}: must name its role(s) as tags from components.tags, got {roles}")
        operation_messages = operation.get("messages")
        if not operation_messages:
            problems.append(f"{where}: lists no messages")
        for message in operation_messages or []:
            ref = message.get("$ref", "") if isinstance(message, dict) else ""
            if not ref.startswith(channel_ref + "/messages/"):
                problems.append(f"{where}: message {ref or message!r} is not one of its channel's ({channel_ref}/messages/...)")
                continue
            component = message_ref.get(document.final_ref(ref))
            if component:
                in_operation.setdefault(component, set()).add(key)

    # Messages.
    names: dict[str, str] = {}
    for key, message in messages.items():
        where = f"components.messages.{key}"
        name = (message or {}).get("name")
        if not name:
            problems.append(f"{where}: no name (the wire message type)")
            continue
        if name in names:
            problems.append(f"{where}: name {name!r} is also {names[name]}'s")
        names[name] = key
        if key not in in_channel:
            problems.append(f"{where}: no channel carries it")
        if key not in in_operation:
            problems.append(f"{where}: no operation sends or receives it")
        if "payload" not in message:
            problems.append(f"{where}: no payload")
        if "headers" not in message:
            problems.append(f"{where}: no headers")
        protocols = protocol_of.get(key, set())
        if len(protocols) > 1:
            problems.append(f"{where}: travels on {sorted(protocols)}; a message type has one transport")
        bindings = message.get("bindings") or {}
        if "kafka" in protocols:
            if "#/components/schemas/KafkaHeaders" not in refs_within(message.get("headers")):
                problems.append(f"{where}: a Kafka message's headers must use #/components/schemas/KafkaHeaders")
            if name not in pinned_values(document, message.get("headers"), "message-type"):
                problems.append(f"{where}: its headers must pin message-type to const {name!r}")
            if not (bindings.get("kafka") or {}).get("key"):
                problems.append(f"{where}: a Kafka message needs bindings.kafka.key (what it is keyed by)")
        if "amqp" in protocols:
            if "#/components/schemas/AMQPHeaders" not in refs_within(message.get("headers")):
                problems.append(f"{where}: an AMQP message's headers must use #/components/schemas/AMQPHeaders")
            if (bindings.get("amqp") or {}).get("messageType") != name:
                problems.append(f"{where}: bindings.amqp.messageType must be {name!r} (the `type` property)")

    check_json_schemas(document, messages)
    return messages


def check_json_schemas(document: Document, messages: dict[str, dict]):
    try:
        import jsonschema
    except ImportError:
        return
    schemas = {f"components.schemas.{key}": value for key, value in ((document.tree.get("components") or {}).get("schemas") or {}).items()}
    for key, message in messages.items():
        for part in ("payload", "headers"):
            if isinstance((message or {}).get(part), dict):
                schemas[f"components.messages.{key}.{part}"] = message[part]
    for where, schema in schemas.items():
        try:
            jsonschema.Draft7Validator.check_schema(schema)
        except jsonschema.exceptions.SchemaError as error:
            problems.append(f"{where}: not a valid JSON Schema: {error.message}")


def check_against_official_schema(document: Document, path: str):
    import jsonschema
    with open(path) as file:
        schema = json.load(file)
    for error in sorted(jsonschema.Draft7Validator(schema).iter_errors(document.tree), key=lambda e: list(e.absolute_path)):
        problems.append(f"AsyncAPI 3.0.0 schema: {'/'.join(map(str, error.absolute_path))}: {error.message[:300]}")


# MARK: - Against the code

def types_of(schema: dict) -> set[str]:
    kind = schema.get("type")
    if kind is None and "const" in schema:
        kind = {str: "string", bool: "boolean", int: "integer", float: "number"}.get(type(schema["const"]))
    if isinstance(kind, list):
        return set(kind)
    return {kind} if kind else set()


def describe(schema: dict) -> str:
    kinds = sorted(types_of(schema)) or ["(no type)"]
    text = "|".join(kinds)
    if schema.get("format"):
        text += f" ({schema['format']})"
    return text


def compare(document: Document, where: str, expected: dict, documented, optional: bool = False):
    """`expected`: the JSON Schema the Swift decoder reads; `documented`: the document's."""
    doc = document.resolve(documented)
    if not isinstance(doc, dict):
        problems.append(f"{where}: the document has no schema here")
        return
    if "allOf" in doc or "oneOf" in doc or "anyOf" in doc:
        problems.append(f"{where}: payload schemas must be plain (no allOf/oneOf/anyOf), so they can be compared with the code")
        return
    kind = expected["type"]
    kinds = types_of(doc)
    if kind not in kinds or kinds - {kind, "null"}:
        problems.append(f"{where}: the code reads {describe(expected)}, the document says {describe(doc)}")
        return
    if "null" in kinds and not (expected.get("nullable") or optional):
        problems.append(f"{where}: the document allows null; the code requires a value")
    if expected.get("nullable") and "null" not in kinds:
        problems.append(f"{where}: the code takes null here; the document does not allow it")

    want, have = expected.get("format"), doc.get("format")
    if want in ("uuid", "date-time", "byte") and have != want:
        problems.append(f"{where}: the code reads a {want} string; the document should say format: {want}, not {have!r}")
    elif want and have and want != have:
        problems.append(f"{where}: the code reads format {want}, the document says {have}")
    elif not want and have and kind != "string":
        problems.append(f"{where}: the document says format {have}; the code reads a plain {kind}")

    if "enum" in expected:
        documented_values = {str(value) for value in doc.get("enum") or []}
        if documented_values != {str(value) for value in expected["enum"]}:
            problems.append(f"{where}: the code takes {sorted(map(str, expected['enum']))}, the document {sorted(documented_values) or 'any value'}")
    elif "enum" in doc or ("const" in doc and kind != "null"):
        problems.append(f"{where}: the document restricts the values (enum/const); the code takes any {kind}")

    if kind == "array":
        if "items" not in doc:
            problems.append(f"{where}: the document does not say what the array holds")
        else:
            compare(document, f"{where}[]", expected["items"], doc["items"])
        return
    if kind != "object":
        return

    if "properties" in expected:
        documented_properties = doc.get("properties") or {}
        expected_properties = expected["properties"]
        for name in expected_properties.keys() - documented_properties.keys():
            problems.append(f"{where}: property {name!r} is in the code, not in the document")
        for name in documented_properties.keys() - expected_properties.keys():
            problems.append(f"{where}: property {name!r} is in the document, not in the code")
        expected_required = set(expected.get("required") or [])
        documented_required = set(doc.get("required") or [])
        for name in sorted(expected_required - documented_required):
            problems.append(f"{where}: property {name!r} is required by the code, optional in the document")
        for name in sorted(documented_required - expected_required):
            problems.append(f"{where}: property {name!r} is optional in the code, required in the document")
        if doc.get("additionalProperties") is not True:
            problems.append(f"{where}: must say additionalProperties: true (the decoder ignores fields it does not know)")
        for name in sorted(expected_properties.keys() & documented_properties.keys()):
            compare(document, f"{where}.{name}", expected_properties[name], documented_properties[name],
                    optional=name not in expected_required)
    else:
        # A map: free keys, each value of one schema.
        values = doc.get("additionalProperties")
        if doc.get("properties") or doc.get("required"):
            problems.append(f"{where}: the code reads a map with free keys; the document names properties")
        if not isinstance(values, dict):
            problems.append(f"{where}: the code reads a map; the document should give its values' schema as additionalProperties")
        else:
            compare(document, f"{where}{{}}", expected["additionalProperties"], values)


def check_fields(document: Document, messages: dict[str, dict], fields: dict):
    by_name = {(message or {}).get("name"): message for message in messages.values()}
    code_names = set()
    for entry in fields.get("messages") or []:
        name = entry["name"]
        code_names.add(name)
        where = f"{name} ({entry.get('swiftType', '?')})"
        message = by_name.get(name)
        if message is None:
            problems.append(f"{where}: not in the document (components.messages with name: {name})")
            continue
        if message.get("x-schema-version") != entry.get("schemaVersion"):
            problems.append(f"{where}: the code is at schema version {entry.get('schemaVersion')}, the document's x-schema-version is {message.get('x-schema-version')!r}")
        compare(document, f"{where} payload", entry["payload"], message.get("payload"))
    for name in sorted(set(by_name) - code_names - {None}):
        problems.append(f"{name}: in the document, but no type in MessageCatalog.all has this messageType")

    check_destinations(document, fields)

    code_headers = set(fields.get("headers") or [])
    if code_headers:
        schemas = (document.tree.get("components") or {}).get("schemas") or {}
        documented = set()
        for schema_name in ("KafkaHeaders", "AMQPHeaders"):
            documented |= set(schema_properties(document, schemas.get(schema_name) or {}))
        for name in sorted(code_headers - documented):
            problems.append(f"header {name!r} (EnvelopeHeader) is in neither KafkaHeaders nor AMQPHeaders")
        for name in sorted(documented - code_headers):
            problems.append(f"header {name!r} is documented, but EnvelopeHeader has no such header")


def channel_protocols(document: Document, channel: dict) -> set:
    return {(document.resolve(ref) or {}).get("protocol") for ref in channel.get("servers") or []}


def check_destinations(document: Document, fields: dict):
    """Kafka topics (with their partitions) and routing keys on the work exchange, as in `Destinations`."""
    channels = document.tree.get("channels") or {}
    if "topics" in fields:
        documented = {}
        for key, channel in channels.items():
            if "kafka" in channel_protocols(document, channel or {}):
                binding = ((channel or {}).get("bindings") or {}).get("kafka") or {}
                documented[binding.get("topic") or channel.get("address")] = (key, binding.get("partitions"))
        code = {topic["name"]: topic["partitions"] for topic in fields["topics"]}
        for name in sorted(code.keys() - documented.keys()):
            problems.append(f"topic {name!r} (Destinations.kafkaTopics) has no channel")
        for name in sorted(documented.keys() - code.keys()):
            problems.append(f"channels.{documented[name][0]}: topic {name!r} is not in Destinations.kafkaTopics")
        for name in sorted(code.keys() & documented.keys()):
            if documented[name][1] != code[name]:
                problems.append(f"channels.{documented[name][0]}: {code[name]} partitions in the code, {documented[name][1]!r} in bindings.kafka.partitions")
    if "routingKeys" in fields:
        documented = {}
        for key, channel in channels.items():
            binding = ((channel or {}).get("bindings") or {}).get("amqp") or {}
            if "amqp" in channel_protocols(document, channel or {}) and binding.get("is", "routingKey") == "routingKey":
                documented[channel.get("address")] = key
        code = set(fields["routingKeys"])
        for name in sorted(code - documented.keys()):
            problems.append(f"routing key {name!r} (Destinations) has no channel on the work exchange")
        for name in sorted(documented.keys() - code):
            problems.append(f"channels.{documented[name]}: routing key {name!r} is not one of Destinations'")
    delays = fields.get("delays")
    if delays:
        for key, channel in channels.items():
            if "amqp" not in channel_protocols(document, channel or {}):
                continue
            binding = ((channel or {}).get("bindings") or {}).get("amqp") or {}
            exchange = (binding.get("exchange") or {}).get("name")
            if binding.get("is", "routingKey") == "routingKey" and exchange != delays["workExchange"]:
                problems.append(f"channels.{key}: exchange {exchange!r}, the work exchange is {delays['workExchange']!r}")
            address = (channel or {}).get("address") or ""
            if "{level}" in address:
                levels = (((channel.get("parameters") or {}).get("level")) or {}).get("enum")
                if levels != delays["levels"]:
                    problems.append(f"channels.{key}: levels {levels}, the default levels are {delays['levels']} (AMQPDelays.defaultLevels)")
                if address.replace("{namespace}", "emporium").split("{level}")[0] + delays["levels"][0] != delays["queues"][0]:
                    problems.append(f"channels.{key}: address {address!r} does not name the delay queues ({delays['queues'][0]}, ...)")
        addresses = {((channel or {}).get("address") or "").replace("{namespace}", "emporium") for channel in channels.values()}
        if delays["unroutedQueue"] not in addresses:
            problems.append(f"no channel for the unrouted queue {delays['unroutedQueue']!r}")


# MARK: - Main

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--document", default=os.path.join(ROOT, "docs/asyncapi.yaml"))
    parser.add_argument("--fields", help="the code's message types as JSON (a file, or - for stdin)")
    parser.add_argument("--asyncapi-schema", help="the official AsyncAPI 3.0.0 JSON Schema, to validate the whole document")
    args = parser.parse_args()

    with open(args.document) as file:
        document = Document(yaml.safe_load(file))
    messages = check_shape(document)
    if args.asyncapi_schema:
        check_against_official_schema(document, args.asyncapi_schema)
    if args.fields:
        if args.fields == "-":
            fields = json.load(sys.stdin)
        else:
            with open(args.fields) as file:
                fields = json.load(file)
        check_fields(document, messages, fields)

    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {os.path.relpath(args.document, ROOT)}")
        return 1
    print("asyncapi checks passed" + (f" ({len(fields.get('messages') or [])} message types)" if args.fields else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
