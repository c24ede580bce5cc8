"""Checks the deployment files without running a container (no engine on the build machines).

  python deploy/check_deployment.py --emporium .build/debug/emporium --tools .local/venv/bin
  python deploy/check_deployment.py --only compose,alerts          (no binary, no tools needed)

Groups of checks (--only picks some; all by default):

- dockerfile: the Dockerfile through hadolint (deploy/.hadolint.yaml).  [--tools]
- k8s: the Kubernetes manifests through kubernetes-validate --strict, and the kustomization's
  list: every manifest but the *.example.yaml ones, which are never applied; every Emporium
  container reads the Secret as files (mounted at the ConfigMap's EMPORIUM_SECRETS_DIR), never as
  environment variables.  [--tools]
- compose: `docker-compose config -q` (Debian's docker-compose parses without an engine), with the
  variables of compose/.env.example; every published port bound to 127.0.0.1 (or to
  ${EMPORIUM_BIND_ADDRESS:-127.0.0.1}); every image with an exact version tag, never `latest`;
  no literal secret (passwords, keys, and the passwords inside URLs come from ${...} variables);
  .env.example sets every required variable, each to a CHANGE-ME placeholder.
- alerts: compose/prometheus: `promtool check rules` on alerts.yml, `promtool check config` on
  prometheus.yml, `promtool test rules` on alerts.test.yml (promtool is required: Debian's
  prometheus package, which the install step installs); every alert has `for`, a severity, a
  summary, a description, a runbook_url naming a section of docs/runbook.md, and a unit test in
  which it fires; every metric the alerts and the Grafana dashboard query is one the code
  defines.
- topics: the one topic list (`emporium topics list`, from the code) is the only one: the
  Kubernetes topics Job and compose's kafka-init run `emporium topics create`, every Kubernetes
  role that uses Kafka waits for the topics (`topics check`) and every role migrates first, in
  init containers; compose's Kafka roles wait for kafka-init; docs/messaging.md's table is the
  list.  [--emporium]
- binary: every environment key the compose file and the manifests give an Emporium container is
  one the binary reads (`emporium config keys`); every role's command is a subcommand the binary
  has (`emporium <command> --help`); every worker role of the domains (`emporium worker --list`)
  runs in compose and in Kubernetes, and no file runs a role that is not one.  [--emporium]

Prints each problem and exits 1 if there is any; prints "deployment checks passed" otherwise.
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import unicodedata

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GROUPS = ["dockerfile", "k8s", "compose", "alerts", "topics", "binary"]
COMPOSE = "compose/docker-compose.yml"
COMPOSE_ENV_EXAMPLE = "compose/.env.example"
ALERTS = "compose/prometheus/alerts.yml"
ALERT_TESTS = "compose/prometheus/alerts.test.yml"
PROMETHEUS_CONFIG = "compose/prometheus/prometheus.yml"
DASHBOARDS = "compose/grafana/dashboards/*.json"
RUNBOOK = "docs/runbook.md"

problems: list[str] = []


def run(command: list[str], what: str, env: dict[str, str] | None = None) -> str:
    try:
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    except FileNotFoundError:
        problems.append(f"{what}: {command[0]} not found")
        return ""
    if result.returncode != 0:
        problems.append(f"{what} failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


def load_yaml(path: str):
    with open(os.path.join(ROOT, path)) as file:
        return yaml.safe_load(file)


def environment_keys(environment) -> set[str]:
    if isinstance(environment, dict):
        return set(environment)
    return {item.split("=", 1)[0] for item in environment or []}


def environment_items(environment) -> list[tuple[str, str]]:
    if isinstance(environment, dict):
        return [(str(key), "" if value is None else str(value)) for key, value in environment.items()]
    return [tuple(item.split("=", 1)) if "=" in item else (item, "") for item in environment or []]


# ---------------------------------------------------------------------------------------------
# Variables: ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}
# ---------------------------------------------------------------------------------------------

VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def with_defaults(text: str) -> str | None:
    """`text` with every ${NAME:-default} replaced by its default; None if a variable has none."""
    missing = False

    def replace(match: re.Match) -> str:
        nonlocal missing
        operator, argument = match.group(2), match.group(3)
        if operator in (":-", "-"):
            return argument
        missing = True
        return ""

    resolved = VARIABLE.sub(replace, text)
    return None if missing else resolved


def is_variable(text: str) -> bool:
    """The whole of `text` is one ${...} reference without a literal default (a required value
    or one from the environment), so no secret is written in the file."""
    match = VARIABLE.fullmatch(text.strip())
    return bool(match) and match.group(2) not in (":-", "-")


def read_env_file(path: str) -> dict[str, str]:
    values: dict[str, str] = {}
    with open(os.path.join(ROOT, path)) as file:
        for line in file:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip().strip("'\"")
    return values


# ---------------------------------------------------------------------------------------------
# Groups
# ---------------------------------------------------------------------------------------------

def check_dockerfile(tools: str) -> None:
    run([os.path.join(tools, "hadolint"), "--config", "deploy/.hadolint.yaml", "deploy/Dockerfile"], "hadolint")


def kubernetes_resources() -> list[str]:
    manifests = sorted(glob.glob(os.path.join(ROOT, "deploy/k8s/*.yaml")))
    return [path for path in manifests if not path.endswith("kustomization.yaml")]


def check_k8s(tools: str) -> None:
    resources = kubernetes_resources()
    run([os.path.join(tools, "kubernetes-validate"), "--strict", "--quiet", *resources], "kubernetes-validate")
    kustomization = load_yaml("deploy/k8s/kustomization.yaml")
    listed = {os.path.join(ROOT, "deploy/k8s", name) for name in kustomization.get("resources", [])}
    # *.example.yaml (the Secret's example, with CHANGE-ME values) is validated but never applied.
    applied = {path for path in resources if not path.endswith(".example.yaml")}
    relative = lambda paths: sorted(os.path.relpath(path, ROOT) for path in paths)  # noqa: E731
    if listed - applied:
        problems.append(f"kustomization.yaml lists what is not an applicable manifest in the folder: {relative(listed - applied)}")
    if applied - listed:
        problems.append(f"kustomization.yaml does not list {relative(applied - listed)}")
    check_secret_files()


def pod_templates():
    """(where, pod spec) of every Deployment, Job and CronJob, and the ConfigMap's data."""
    pods, config = [], {}
    for path in kubernetes_resources():
        for document in yaml.safe_load_all(open(path)):
            if not document:
                continue
            kind, name = document.get("kind"), document.get("metadata", {}).get("name")
            if kind == "ConfigMap" and name == "emporium-config":
                config = document.get("data", {})
            spec = document.get("spec", {})
            template = spec.get("jobTemplate", {}).get("spec", spec).get("template", {})
            if template.get("spec"):
                pods.append((f"{os.path.relpath(path, ROOT)} {kind}/{name}", template["spec"]))
    return pods, config


def check_secret_files() -> None:
    """Secrets reach the roles as files: out of the environment, which child processes inherit
    and /proc/<pid>/environ shows."""
    pods, config = pod_templates()
    folder = config.get("EMPORIUM_SECRETS_DIR")
    if not folder:
        problems.append("deploy/k8s/configmap.yaml: EMPORIUM_SECRETS_DIR is not set (where the pods mount emporium-secrets)")
        return
    for where, pod in pods:
        secret_volumes = {volume["name"] for volume in pod.get("volumes", []) if (volume.get("secret") or {}).get("secretName") == "emporium-secrets"}
        for container in pod.get("initContainers", []) + pod.get("containers", []):
            if not str(container.get("image", "")).startswith("emporium"):
                continue
            at = f"{where} container {container.get('name')}"
            if any((item.get("secretRef") or {}).get("name") == "emporium-secrets" for item in container.get("envFrom", [])):
                problems.append(f"{at} takes emporium-secrets as environment variables: mount it at {folder} instead")
            if any("secretKeyRef" in (item.get("valueFrom") or {}) for item in container.get("env", [])):
                problems.append(f"{at} takes a secret as an environment variable: mount it at {folder} instead")
            if not any(mount.get("name") in secret_volumes and mount.get("mountPath") == folder for mount in container.get("volumeMounts", [])):
                problems.append(f"{at} does not mount emporium-secrets at {folder} (EMPORIUM_SECRETS_DIR)")


LOOPBACK = {"127.0.0.1", "::1", "[::1]"}
BIND_VARIABLE = re.compile(r"\$\{EMPORIUM_BIND_ADDRESS:-127\.0\.0\.1\}")
# [host_ip:][host_port:]container_port[/protocol]; host_ip may be ${...} or [ipv6].
SHORT_PORT = re.compile(r"^(?:(?P<ip>\$\{[^}]*\}|\[[^\]]*\]|[0-9.]+):)?(?:(?P<host>[^:]*):)?(?P<container>[^:]+)$")
FULL_VERSION = re.compile(r"\d+\.\d+\.\d+")
SECRET_KEY = re.compile(r"PASSWORD|PASSWD|_PASS$|SECRET|TOKEN|PRIVATE_KEY|API_KEY", re.IGNORECASE)
URL_PASSWORD = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/@\s:]*:(?P<password>[^@\s]*)@")


def port_problem(entry) -> str | None:
    if isinstance(entry, dict):
        ip = str(entry.get("host_ip", ""))
        if not entry.get("published"):
            return None if ip else "publishes on a random host port on every interface"
    else:
        match = SHORT_PORT.match(str(entry))
        if not match:
            return "cannot be parsed"
        if match.group("host") is None:
            return "publishes on a random host port on every interface: give 127.0.0.1:<port>:<port>"
        ip = match.group("ip") or ""
    if ip in LOOPBACK or BIND_VARIABLE.fullmatch(ip):
        return None
    if not ip:
        return "listens on every interface: bind it to ${EMPORIUM_BIND_ADDRESS:-127.0.0.1}"
    return f"binds {ip}: use 127.0.0.1 or ${{EMPORIUM_BIND_ADDRESS:-127.0.0.1}}"


def image_problem(image: str, built_here: set[str]) -> str | None:
    resolved = with_defaults(image)
    if resolved is None:
        return "names a variable without a default: the pinned version is not in the file"
    if "@sha256:" in resolved:
        return None
    name, _, tag = resolved.rpartition(":")
    if not name or "/" in tag:
        return "has no tag (that is `latest`)"
    if tag == "latest":
        return "is `latest`"
    if resolved in built_here:
        return None
    if not FULL_VERSION.search(tag):
        return f"tag {tag} floats (not an exact version such as 7.2.5)"
    return None


def secret_problems(node, path: str, found: dict[str, list[str]]) -> dict[str, list[str]]:
    """Literal secrets anywhere in the compose document (services and x-* blocks alike), each
    problem with the places it occurs (an anchor repeats one in every service that merges it)."""
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(value, (dict, list)):
                secret_problems(value, where, found)
            elif value is not None:
                text = str(value)
                if SECRET_KEY.search(str(key)) and text and not is_variable(text):
                    found.setdefault(f"{key} is a literal value: use a required variable (${{{key}:?...}})", []).append(path)
                url = URL_PASSWORD.match(text)
                if url and url.group("password") and not is_variable(url.group("password")):
                    found.setdefault(f"{key}: the password in the URL is literal: use a required variable", []).append(path)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            if isinstance(item, (dict, list)):
                secret_problems(item, f"{path}[{index}]", found)
            elif isinstance(item, str) and "=" in item:
                key, value = item.split("=", 1)
                secret_problems({key: value}, path, found)
    return found


def strings(node) -> list[str]:
    if isinstance(node, dict):
        return [text for key, value in node.items() for text in strings(key) + strings(value)]
    if isinstance(node, list):
        return [text for item in node for text in strings(item)]
    return [node] if isinstance(node, str) else []


def check_compose() -> None:
    example = read_env_file(COMPOSE_ENV_EXAMPLE)
    environment = {**os.environ, **example}
    run(["docker-compose", "-f", os.path.join(ROOT, COMPOSE), "config", "-q"], "docker-compose config", env=environment)

    text = open(os.path.join(ROOT, COMPOSE)).read()
    document = yaml.safe_load(text)
    services = document.get("services") or {}
    built_here = {str(service.get("image")) for service in services.values() if service.get("build") and service.get("image")}

    for name, service in services.items():
        if "container_name" in service:
            problems.append(f"compose service {name} sets container_name: it cannot scale")
        if service.get("network_mode") == "host":
            problems.append(f"compose service {name} uses the host network: its ports bypass the bind address")
        for entry in service.get("ports") or []:
            problem = port_problem(entry)
            if problem:
                problems.append(f"compose service {name}: port {entry} {problem}")
        image = service.get("image")
        if not image:
            problems.append(f"compose service {name} has no image")
        else:
            problem = image_problem(str(image), built_here)
            if problem:
                problems.append(f"compose service {name}: image {image} {problem}")

    for problem, places in secret_problems(document, "", {}).items():
        problems.append(f"compose: {problem} (in {', '.join(places)})")

    required = {match.group(1) for value in strings(document) for match in VARIABLE.finditer(value)
                if match.group(2) in (":?", "?")}
    for name in sorted(required - set(example)):
        problems.append(f"{COMPOSE_ENV_EXAMPLE} does not set {name}, which {COMPOSE} requires")
    for name in sorted(required & set(example)):
        if "CHANGE-ME" not in example[name]:
            problems.append(f"{COMPOSE_ENV_EXAMPLE}: {name} is not a CHANGE-ME placeholder")


# PromQL: the names an expression queries (not functions, keywords, labels or durations).
PROMQL_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
                   "offset", "bool", "inf", "nan", "atan2", "topk", "bottomk", "quantile", "count_values"}
EXTERNAL_METRICS = re.compile(r"^(up|scrape_.*|ALERTS|ALERTS_FOR_STATE|rabbitmq_.*|prometheus_.*)$")
CODE_METRIC = re.compile(r"\b(Counter|FloatingPointCounter|Gauge|Meter|Timer|Recorder)\(\s*label:\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\"")


def queried_metrics(expression: str) -> set[str]:
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', expression)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names: set[str] = set()
    for match in re.finditer(r"(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        if text[match.end():].lstrip().startswith("(") or match.group(0) in PROMQL_KEYWORDS:
            continue
        names.add(match.group(0))
    return names


def code_metrics() -> set[str]:
    names: set[str] = set()
    for path in glob.glob(os.path.join(ROOT, "Sources/**/*.swift"), recursive=True):
        for kind, name in CODE_METRIC.findall(open(path, encoding="utf-8").read()):
            names.add(name)
            if kind in ("Timer", "Recorder"):
                names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return names


def github_slug(heading: str) -> str:
    text = unicodedata.normalize("NFC", re.sub(r"`", "", heading)).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def check_alerts(tools: str | None) -> None:
    promtool = shutil.which("promtool") or (tools and shutil.which("promtool", path=tools))
    if not promtool:
        problems.append("promtool not found: install Debian's prometheus package (make install does)")
    else:
        run([promtool, "check", "rules", ALERTS], "promtool check rules")
        run([promtool, "check", "config", PROMETHEUS_CONFIG], "promtool check config")
        run([promtool, "test", "rules", ALERT_TESTS], "promtool test rules")

    try:
        runbook = open(os.path.join(ROOT, RUNBOOK), encoding="utf-8").read()
    except FileNotFoundError:
        problems.append(f"{RUNBOOK} is missing: the alerts' runbook_url point at it")
        runbook = ""
    in_fence, sections = False, set()
    for line in runbook.splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        elif not in_fence and (heading := re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)):
            sections.add(github_slug(heading.group(1)))

    known = code_metrics()
    rules = [rule for group in (load_yaml(ALERTS) or {}).get("groups", []) for rule in group.get("rules", [])]
    alerts = {rule["alert"] for rule in rules if "alert" in rule}
    for rule in rules:
        name = rule.get("alert") or rule.get("record")
        if "alert" in rule:
            if "for" not in rule:
                problems.append(f"{ALERTS}: {name} has no `for`")
            if (rule.get("labels") or {}).get("severity") not in ("critical", "warning", "info"):
                problems.append(f"{ALERTS}: {name} has no severity label (critical, warning or info)")
            annotations = rule.get("annotations") or {}
            for key in ("summary", "description", "runbook_url"):
                if not annotations.get(key):
                    problems.append(f"{ALERTS}: {name} has no {key} annotation")
            url = annotations.get("runbook_url", "")
            target, _, anchor = url.partition("#")
            if url and (target != RUNBOOK or anchor not in sections):
                problems.append(f"{ALERTS}: {name}'s runbook_url {url} is not a section of {RUNBOOK}")
            if url and anchor != name.lower():
                problems.append(f"{ALERTS}: {name}'s runbook section should be headed {name}")
        for metric in sorted(queried_metrics(str(rule.get("expr", ""))) - known):
            if not EXTERNAL_METRICS.match(metric):
                problems.append(f"{ALERTS}: {name} queries {metric}, which the code does not export")

    tests = load_yaml(ALERT_TESTS) or {}
    firing = {case.get("alertname") for test in tests.get("tests", []) for case in test.get("alert_rule_test", [])
              if case.get("exp_alerts")}
    for name in sorted(alerts - firing):
        problems.append(f"{ALERT_TESTS} has no test in which {name} fires")

    for path in sorted(glob.glob(os.path.join(ROOT, DASHBOARDS))):
        where = os.path.relpath(path, ROOT)
        try:
            dashboard = json.load(open(path))
        except json.JSONDecodeError as error:
            problems.append(f"{where} is not JSON: {error}")
            continue
        panels = list(dashboard.get("panels", []))
        for panel in list(panels):
            panels += panel.get("panels", [])
        for panel in panels:
            for target in panel.get("targets", []):
                for metric in sorted(queried_metrics(target.get("expr", "")) - known):
                    if not EXTERNAL_METRICS.match(metric):
                        problems.append(f"{where}: panel \"{panel.get('title')}\" queries {metric}, which the code does not export")


def emporium_containers() -> tuple[list[tuple[str, set[str]]], dict[tuple[str, ...], list[str]]]:
    """(where, environment keys) of every Emporium container and ConfigMap/Secret, and the role
    commands, from the manifests and the compose file."""
    environments: list[tuple[str, set[str]]] = []
    commands: dict[tuple[str, ...], list[str]] = {}
    for path in kubernetes_resources():
        for document in yaml.safe_load_all(open(path)):
            if not document:
                continue
            kind, name = document.get("kind"), document.get("metadata", {}).get("name")
            where = f"{os.path.relpath(path, ROOT)} {kind}/{name}"
            if kind == "ConfigMap" and name == "emporium-config":
                environments.append((where, set(document.get("data", {}))))
            if kind == "Secret" and name == "emporium-secrets":
                environments.append((where, set(document.get("stringData", {}) or document.get("data", {}))))
            spec = document.get("spec", {})
            template = spec.get("jobTemplate", {}).get("spec", spec).get("template", {})
            pod = template.get("spec", {})
            for container in pod.get("initContainers", []) + pod.get("containers", []):
                if not str(container.get("image", "")).startswith("emporium"):
                    continue
                environments.append((where, {item["name"] for item in container.get("env", [])}))
                commands.setdefault(tuple(container.get("args", [])), []).append(where)
    document = load_yaml(COMPOSE)
    for name, service in (document.get("services") or {}).items():
        if not str(service.get("image", "")).startswith("emporium"):
            continue
        environments.append((f"compose service {name}", environment_keys(service.get("environment"))))
        command = service.get("command", [])
        commands.setdefault(tuple(command.split() if isinstance(command, str) else command), []).append(f"compose service {name}")
    return environments, commands


def check_topics(emporium: str) -> None:
    listed = run([emporium, "topics", "list"], "emporium topics list")
    topics = [(fields[0], int(fields[1])) for fields in (line.split("\t") for line in listed.splitlines()) if len(fields) >= 2]
    if not topics:
        problems.append("emporium topics list printed no topics")
        return
    # Kubernetes: the Job creates them; each pod migrates, and each Kafka role waits for the topics.
    creators = []
    for path in kubernetes_resources():
        for document in yaml.safe_load_all(open(path)):
            if not document or document.get("kind") not in ("Job", "Deployment"):
                continue
            where = f"{os.path.relpath(path, ROOT)} {document['kind']}/{document['metadata']['name']}"
            pod = document["spec"]["template"]["spec"]
            args = [tuple(container.get("args", [])) for container in pod.get("containers", [])]
            init = [tuple(container.get("args", [])) for container in pod.get("initContainers", [])]
            if document["kind"] == "Job":
                if any(arg[:2] == ("topics", "create") for arg in args):
                    creators.append(where)
                continue
            if ("migrate",) not in init:
                problems.append(f"{where}: no `emporium migrate` init container")
            uses_kafka = any(arg[:1] in (("worker",), ("relay",)) for arg in args)
            if uses_kafka and not any(arg[:2] == ("topics", "check") for arg in init):
                problems.append(f"{where}: no `emporium topics check` init container (the role would start before its topics)")
    if len(creators) != 1:
        problems.append(f"expected one Kubernetes Job running `emporium topics create`, found {creators or 'none'}")
    # Compose: kafka-init creates them, and every Kafka role waits for it.
    services = (load_yaml(COMPOSE).get("services") or {})
    init = services.get("kafka-init", {})
    command = init.get("command", [])
    command = command.split() if isinstance(command, str) else command
    if not str(init.get("image", "")).startswith("emporium") or command[:2] != ["topics", "create"]:
        problems.append("compose service kafka-init does not run `emporium topics create`")
    for name, service in services.items():
        command = service.get("command", [])
        command = command.split() if isinstance(command, str) else command
        if str(service.get("image", "")).startswith("emporium") and command[:1] in (["worker"], ["relay"]):
            condition = (service.get("depends_on") or {}).get("kafka-init", {}) if isinstance(service.get("depends_on"), dict) else {}
            if condition.get("condition") != "service_completed_successfully":
                problems.append(f"compose service {name} does not wait for kafka-init to complete")
    # No second list: nothing else creates topics with partition counts of its own.
    for path in glob.glob(os.path.join(ROOT, "compose/**/*"), recursive=True) + glob.glob(os.path.join(ROOT, "deploy/**/*"), recursive=True):
        if os.path.isfile(path) and not path.endswith(".py") and re.search(r"--partitions[ =]\d", open(path, errors="replace").read()):
            problems.append(f"{os.path.relpath(path, ROOT)} creates topics with partition counts of its own; use `emporium topics create`")
    # The documentation's table.
    messaging = os.path.join(ROOT, "docs/messaging.md")
    if not os.path.exists(messaging):
        problems.append("docs/messaging.md (with the topic table) is missing")
        return
    documented = re.findall(r"^\| `([a-z.]+)` \| (\d+) \|", open(messaging).read(), re.MULTILINE)
    if sorted((name, int(count)) for name, count in documented) != sorted(topics):
        problems.append(f"docs/messaging.md's topic table {documented} is not `emporium topics list`'s {topics}")


def check_binary(emporium: str) -> int:
    if not os.access(emporium, os.X_OK):
        problems.append(f"{emporium} is not an executable: build it first (swift build --product emporium)")
        return 0
    known = set(run([emporium, "config", "keys", "--names-only"], "emporium config keys").split())
    if not known:
        return 0
    environments, commands = emporium_containers()
    for where, keys in environments:
        unknown = keys - known
        if unknown:
            problems.append(f"{where} sets keys the binary does not read: {sorted(unknown)}")
    # The worker roles are the domains' (`emporium worker --list`): each runs in compose and in
    # Kubernetes, and no file runs a role that does not exist (`--help` would not tell).
    roles = [line.split("\t")[0] for line in run([emporium, "worker", "--list"], "emporium worker --list").splitlines() if line.strip()]
    # The serving roles besides the workers, which fleet.sh runs too.
    for command in [("worker", role) for role in roles] + [("api",), ("relay",), ("grpc",)]:
        places = commands.get(command, [])
        if not any(place.startswith("deploy/k8s/") for place in places):
            problems.append(f"no Kubernetes Deployment runs `emporium {' '.join(command)}`")
        if not any(place.startswith("compose service") for place in places):
            problems.append(f"no compose service runs `emporium {' '.join(command)}`")
    for command, places in sorted(commands.items()):
        where = places[0]
        if command[:1] == ("worker",) and (len(command) < 2 or command[1] not in roles):
            problems.append(f"{where}: `emporium {' '.join(command)}` names no worker role (the roles: {', '.join(roles)})")
            continue
        if not command:
            problems.append(f"{where} has no command")
            continue
        result = subprocess.run([emporium, *command, "--help"], capture_output=True, text=True)
        if result.returncode != 0:
            problems.append(f"{where}: `emporium {' '.join(command)}` is not a command: {result.stderr.strip()}")
    return len(commands)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emporium", help="the emporium binary (group binary)")
    parser.add_argument("--tools", help="the folder with hadolint and kubernetes-validate (groups dockerfile, k8s)")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated groups of checks: {','.join(GROUPS)} (default: all)")
    args = parser.parse_args()
    groups = [group.strip() for group in args.only.split(",") if group.strip()]
    unknown = set(groups) - set(GROUPS)
    if unknown:
        parser.error(f"--only: unknown groups {sorted(unknown)}; the groups are {','.join(GROUPS)}")
    if {"dockerfile", "k8s"} & set(groups) and not args.tools:
        parser.error("--tools is needed for the dockerfile and k8s checks")
    if {"binary", "topics"} & set(groups) and not args.emporium:
        parser.error("--emporium is needed for the binary and topics checks")

    summary: list[str] = []
    if "dockerfile" in groups:
        check_dockerfile(args.tools)
    if "k8s" in groups:
        check_k8s(args.tools)
        summary.append(f"{len(kubernetes_resources())} manifests")
    if "compose" in groups:
        check_compose()
        summary.append("compose")
    if "alerts" in groups:
        check_alerts(args.tools)
        summary.append("alerts")
    if "topics" in groups:
        check_topics(os.path.abspath(args.emporium))
        summary.append("topics")
    if "binary" in groups:
        summary.append(f"{check_binary(os.path.abspath(args.emporium))} role commands")

    for problem in problems:
        print(problem)
    if not problems:
        print(f"deployment checks passed ({', '.join(summary) or 'nothing selected'})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
