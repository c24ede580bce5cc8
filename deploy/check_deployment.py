"""Checks the deployment files without running a container (no engine on the build machines).

  python deploy/check_deployment.py --emporium .build/debug/emporium --tools .local/venv/bin

- the Dockerfile through hadolint (deploy/.hadolint.yaml);
- the Kubernetes manifests through kubernetes-validate --strict, and the kustomization's list;
- the compose file through `docker-compose config` (Debian's docker-compose parses without an engine);
- every environment key the compose file and the manifests give an Emporium container is one the
  binary reads (`emporium config keys`);
- every role's command is a subcommand the binary has (`emporium <command> --help`).
Prints each problem and exits 1 if there is any; prints "deployment checks passed" otherwise.
"""
import argparse
import glob
import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
problems: list[str] = []


def run(command: list[str], what: str) -> str:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        problems.append(f"{what} failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


def environment_keys(environment) -> set[str]:
    if isinstance(environment, dict):
        return set(environment)
    return {item.split("=", 1)[0] for item in environment or []}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--emporium", required=True)
    parser.add_argument("--tools", required=True, help="the folder with hadolint and kubernetes-validate")
    args = parser.parse_args()
    emporium = os.path.abspath(args.emporium)

    known = set(run([emporium, "config", "keys", "--names-only"], "emporium config keys").split())
    commands: dict[tuple[str, ...], str] = {}

    # Dockerfile
    run([os.path.join(args.tools, "hadolint"), "--config", "deploy/.hadolint.yaml", "deploy/Dockerfile"], "hadolint")

    # Kubernetes
    manifests = sorted(glob.glob(os.path.join(ROOT, "deploy/k8s/*.yaml")))
    resources = [path for path in manifests if not path.endswith("kustomization.yaml")]
    run([os.path.join(args.tools, "kubernetes-validate"), "--strict", "--quiet", *resources], "kubernetes-validate")
    kustomization = yaml.safe_load(open(os.path.join(ROOT, "deploy/k8s/kustomization.yaml")))
    listed = {os.path.join(ROOT, "deploy/k8s", name) for name in kustomization.get("resources", [])}
    if listed != set(resources):
        problems.append(f"kustomization.yaml lists {sorted(listed)}, the folder has {sorted(resources)}")
    for path in resources:
        for document in yaml.safe_load_all(open(path)):
            if not document:
                continue
            kind, name = document.get("kind"), document.get("metadata", {}).get("name")
            where = f"{os.path.relpath(path, ROOT)} {kind}/{name}"
            if kind == "ConfigMap" and name == "emporium-config":
                unknown = set(document.get("data", {})) - known
                if unknown:
                    problems.append(f"{where} sets keys the binary does not read: {sorted(unknown)}")
            if kind == "Secret" and name == "emporium-secrets":
                unknown = set(document.get("stringData", {}) or document.get("data", {})) - known
                if unknown:
                    problems.append(f"{where} sets keys the binary does not read: {sorted(unknown)}")
            spec = document.get("spec", {})
            template = spec.get("jobTemplate", {}).get("spec", spec).get("template", {})
            for container in template.get("spec", {}).get("containers", []):
                if not str(container.get("image", "")).startswith("emporium"):
                    continue
                unknown = {item["name"] for item in container.get("env", [])} - known
                if unknown:
                    problems.append(f"{where} sets keys the binary does not read: {sorted(unknown)}")
                commands[tuple(container.get("args", []))] = where

    # Compose
    compose = os.path.join(ROOT, "compose/docker-compose.yml")
    run(["docker-compose", "-f", compose, "config", "-q"], "docker-compose config")
    document = yaml.safe_load(open(compose))
    for name, service in (document.get("services") or {}).items():
        if not str(service.get("image", "")).startswith("emporium"):
            continue
        unknown = environment_keys(service.get("environment")) - known
        if unknown:
            problems.append(f"compose service {name} sets keys the binary does not read: {sorted(unknown)}")
        command = service.get("command", [])
        commands[tuple(command.split() if isinstance(command, str) else command)] = f"compose service {name}"

    # Commands
    for command, where in sorted(commands.items()):
        if not command:
            problems.append(f"{where} has no command")
            continue
        result = subprocess.run([emporium, *command, "--help"], capture_output=True, text=True)
        if result.returncode != 0:
            problems.append(f"{where}: `emporium {' '.join(command)}` is not a command: {result.stderr.strip()}")

    for problem in problems:
        print(problem)
    if not problems:
        print(f"deployment checks passed ({len(commands)} role commands, {len(resources)} manifests)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
