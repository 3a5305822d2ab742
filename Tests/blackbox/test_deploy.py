"""deploy/ and the README's "Running several sluice instances": every Kubernetes manifest parses
and hangs together (the Deployment runs the ConfigMap's file, probes and Services point at ports
that exist, the headless Service publishes the SRV name the configuration discovers, the grace
period covers the drain), every embedded configuration passes `sluice -t`, and the command lines
of the Deployment, the Dockerfile and the systemd unit are ones sluice accepts.

No cluster and no DNS are needed: `sluice -t` does not resolve `discover` or `resolve` names."""
from __future__ import annotations

import functools
import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from processes import SLUICE_BIN, run_cli

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
UNIT = DEPLOY / "sluice.service"
README_SECTION = "## Running several sluice instances"


# ------------------------------------------------------------------------------ helpers

def check_config(text: str, path: Path) -> None:
    """`sluice -t -c path` on `text`: exit 0 and "configuration ok"."""
    path.write_text(text)
    r = run_cli("-t", "-c", str(path))
    assert r.returncode == 0 and r.stdout == "configuration ok\n", \
        f"sluice -t -c {path.name}: exit {r.returncode}\n{r.stdout}{r.stderr}\n--- {path.name}:\n{text}"


def statements(text: str) -> list[tuple[tuple[str, ...], str, list[str]]]:
    """A configuration's directives as (enclosing blocks, name, arguments), comments removed;
    enough to look directives up (sluice -t is what checks the syntax)."""
    out, stack = [], []
    body = re.sub(r"#[^\n]*", "", text)
    for m in re.finditer(r"([^;{}]*)([;{}])", body):
        words = shlex.split(m.group(1))
        if m.group(2) == "}":
            stack.pop()
            continue
        if words:
            out.append((tuple(stack), words[0], words[1:]))
        if m.group(2) == "{":
            stack.append(words[0] if words else "")
    return out


def directive(text: str, name: str, block: str | None = None) -> list[list[str]]:
    """The arguments of every `name` directive (inside a block named `block`, when given)."""
    return [args for blocks, n, args in statements(text) if n == name and (block is None or block in blocks)]


def seconds(value: str) -> float:
    m = re.fullmatch(r"(\d+)(ms|s|m|h)?", value)
    assert m, value
    return int(m.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]


def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


@functools.lru_cache(maxsize=None)
def sluice_options() -> tuple[dict[str, bool], set[str]]:
    """From `sluice -h`: every option with whether it takes a value, and the -s signal names."""
    r = run_cli("-h")
    assert r.returncode == 0, r
    options: dict[str, bool] = {}
    for line in r.stdout.splitlines():
        m = re.match(r"^\s+(-\w|--[\w-]+)(?:, (--[\w-]+))?(?: ([A-Z]+))?(?:\s{2,}|$)", line)
        if m:
            for name in filter(None, m.group(1, 2)):
                options[name] = m.group(3) is not None
    m = re.search(r"-s (\w+(?:\|\w+)+)", r.stdout)
    assert m, r.stdout
    return options, set(m.group(1).split("|"))


def parse_command(argv: list[str]) -> dict[str, str | None]:
    """Checks that `argv` is `.../sluice` followed by options `sluice -h` lists (with their values,
    -s with a signal it names); returns {option: value}."""
    options, signals = sluice_options()
    assert argv and Path(argv[0]).name == "sluice", argv
    given: dict[str, str | None] = {}
    i = 1
    while i < len(argv):
        word = argv[i]
        assert word in options, f"{word!r} is not an option of `sluice -h` ({sorted(options)}): {argv}"
        value = None
        if options[word]:
            assert i + 1 < len(argv), f"{word} needs a value: {argv}"
            i += 1
            value = argv[i]
        if word in ("-s", "--signal"):
            assert value in signals, f"-s {value}: not one of {sorted(signals)}"
        given[{"--config": "-c", "--test": "-t", "--signal": "-s"}.get(word, word)] = value
        i += 1
    return given


def local(argv: list[str], config: Path) -> list[str]:
    """`argv` with the binary under test and `config` in place of the -c file."""
    out = [SLUICE_BIN]
    for prev, word in zip(argv, argv[1:]):
        out.append(str(config) if prev in ("-c", "--config") else word)
    return out


def manifests() -> list[tuple[Path, dict]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        with open(path) as f:
            docs += [(path, d) for d in yaml.safe_load_all(f) if d is not None]
    return docs


def objects(kind: str) -> list[dict]:
    return [d for _, d in manifests() if d.get("kind") == kind]


def deployment() -> dict:
    (d,) = objects("Deployment")
    return d


def container() -> dict:
    (c,) = deployment()["spec"]["template"]["spec"]["containers"]
    return c


def mounted_config() -> tuple[str, str]:
    """The ConfigMap file the Deployment's container runs: (path in the container, its text)."""
    c = container()
    path = parse_command(c.get("command", []) + c.get("args", []))["-c"]
    volumes = {v["name"]: v for v in deployment()["spec"]["template"]["spec"].get("volumes", [])}
    for mount in c.get("volumeMounts", []):
        prefix = mount["mountPath"].rstrip("/") + "/"
        if path.startswith(prefix) and "configMap" in volumes[mount["name"]]:
            name = volumes[mount["name"]]["configMap"]["name"]
            maps = [m for m in objects("ConfigMap") if m["metadata"]["name"] == name]
            assert maps, f"the Deployment mounts ConfigMap {name!r}, which no manifest defines"
            key = path[len(prefix):]
            assert key in maps[0]["data"], f"ConfigMap {name!r} has no key {key!r}"
            return path, maps[0]["data"][key]
    raise AssertionError(f"-c {path} is not in a mounted ConfigMap")


def container_port(ref) -> int:
    """A probe's or a Service's port (name or number) as the container's port number."""
    ports = container().get("ports", [])
    if isinstance(ref, int):
        assert ref in [p["containerPort"] for p in ports], (ref, ports)
        return ref
    named = [p["containerPort"] for p in ports if p.get("name") == ref]
    assert named, f"the container has no port named {ref!r}: {ports}"
    return named[0]


def readme_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(README_SECTION)
    end = text.find("\n## ", start + len(README_SECTION))
    return text[start:end if end >= 0 else len(text)]


# ----------------------------------------------------------------------- Kubernetes

def test_manifests_parse():
    docs = manifests()
    assert docs, f"no manifest in {K8S}"
    for path, d in docs:
        assert isinstance(d, dict) and d.get("apiVersion") and d.get("kind"), (path.name, d)
        if d["kind"] != "Kustomization":
            assert d.get("metadata", {}).get("name"), (path.name, d)
    kinds = sorted(d["kind"] for _, d in docs)
    assert kinds == ["ConfigMap", "Deployment", "Kustomization", "Service", "Service"], kinds


def test_kustomization_lists_every_manifest():
    (k,) = objects("Kustomization")
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(k["resources"]) == sorted(files)


def test_every_embedded_configuration_passes_check(tmp_path):
    checked = 0
    for m in objects("ConfigMap"):
        for key, text in m.get("data", {}).items():
            if key.endswith(".conf"):
                check_config(text, tmp_path / key)
                checked += 1
    assert checked >= 1


def test_configuration_discovers_the_pods_and_shares_nothing():
    """The example shows what it is for: servers from SRV records through the cluster DNS,
    balancing that agrees across replicas, stats with runtime control behind allow."""
    _, text = mounted_config()
    assert directive(text, "workers") == [["auto"]]
    (resolver,) = directive(text, "resolver")
    assert port_of(resolver[0]) == 53
    (discover,) = directive(text, "discover", "backend")
    assert discover[0] == "srv" and discover[1].endswith(".svc.cluster.local"), discover
    assert directive(text, "balance", "backend") == [["hash"]] or directive(text, "sticky", "backend")
    assert directive(text, "admin", "stats") == [["on"]]
    assert directive(text, "allow", "stats"), "admin on without allow would let every peer in"
    assert ["0.0.0.0:8080"] in [a[:1] for a in directive(text, "listen", "frontend")]


def test_deployment_runs_the_configmap_configuration(tmp_path):
    """The container's command line is one sluice accepts, and run as a check on the mounted file
    (written out here) it passes."""
    c = container()
    argv = c.get("command", []) + c.get("args", [])
    given = parse_command(argv)
    assert set(given) == {"-c"}, f"the container must run sluice in the foreground: {argv}"
    _, text = mounted_config()
    conf = tmp_path / "proxy.conf"
    conf.write_text(text)
    r = subprocess.run(local(argv, conf) + ["-t"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and r.stdout == "configuration ok\n", r


def test_probes_and_ports_match_the_configuration():
    _, text = mounted_config()
    c = container()
    frontend_ports = {port_of(a[0]) for a in directive(text, "listen", "frontend")}
    stats_ports = {port_of(a[0]) for a in directive(text, "listen", "stats")}
    assert container_port("http") in frontend_ports
    assert container_port("stats") in stats_ports
    probe = c["readinessProbe"]["httpGet"]
    assert probe["path"] in ("/stats", "/metrics") and container_port(probe["port"]) in stats_ports, probe
    if "livenessProbe" in c:
        probe = c["livenessProbe"]["httpGet"]
        assert container_port(probe["port"]) in stats_ports, probe
    pod = deployment()["spec"]["template"]["metadata"]
    if "prometheus.io/port" in pod.get("annotations", {}):
        assert int(pod["annotations"]["prometheus.io/port"]) in stats_ports


def test_grace_period_covers_prestop_and_drain():
    """Pod stop: preStop sleep, then SIGTERM and sluice's drain (drain_timeout, plus the master's
    second of margin) must end before the kubelet's SIGKILL."""
    _, text = mounted_config()
    (drain,) = directive(text, "drain_timeout")
    pre_stop = container()["lifecycle"]["preStop"]
    if "sleep" in pre_stop:
        sleep = float(pre_stop["sleep"]["seconds"])
    else:
        command = pre_stop["exec"]["command"]
        assert Path(command[0]).name == "sleep", command
        sleep = seconds(command[1])
    assert sleep > 0
    grace = deployment()["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > sleep + seconds(drain[0]) + 1, (grace, sleep, drain)


def test_writable_paths_are_mounted():
    """With a read-only root filesystem, the pid_file's directory is a volume."""
    _, text = mounted_config()
    c = container()
    if not c.get("securityContext", {}).get("readOnlyRootFilesystem"):
        pytest.skip("root filesystem writable")
    mounts = {m["mountPath"].rstrip("/"): m for m in c.get("volumeMounts", [])}
    for (path,) in directive(text, "pid_file"):
        parent = str(Path(path).parent)
        assert parent in mounts and not mounts[parent].get("readOnly"), (path, sorted(mounts))


def test_service_selects_the_sluice_pods():
    labels = deployment()["spec"]["template"]["metadata"]["labels"]
    assert deployment()["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (svc,) = [s for s in objects("Service") if s["metadata"]["name"] == "sluice"]
    assert svc["spec"]["selector"].items() <= labels.items()
    _, text = mounted_config()
    frontend_ports = {port_of(a[0]) for a in directive(text, "listen", "frontend")}
    for p in svc["spec"]["ports"]:
        assert container_port(p.get("targetPort", p["port"])) in frontend_ports, p


def test_headless_service_publishes_the_discovered_srv_name():
    """Kubernetes DNS: _PORTNAME._PROTOCOL.SERVICE.NAMESPACE.svc.cluster.local for each named port
    of a headless Service."""
    _, text = mounted_config()
    (discover,) = directive(text, "discover", "backend")
    published = set()
    for s in objects("Service"):
        if s["spec"].get("clusterIP") != "None":
            continue
        namespace = s["metadata"].get("namespace", "default")
        for p in s["spec"]["ports"]:
            if p.get("name"):
                published.add(f"_{p['name']}._{p.get('protocol', 'TCP').lower()}."
                              f"{s['metadata']['name']}.{namespace}.svc.cluster.local")
    assert discover[1].rstrip(".") in published, (discover, published)


def test_dockerfile_runs_sluice_in_the_foreground():
    text = (K8S / "Dockerfile").read_text()
    entry = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", text, re.M).group(1))
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", text, re.M).group(1))
    assert set(parse_command(entry + cmd)) == {"-c"}
    user = re.search(r"^USER (\S+)$", text, re.M)
    assert user and user.group(1).split(":")[0] not in ("0", "root"), "not root"
    # The Deployment's command runs the same binary.
    assert container()["command"][0] == entry[0]


# --------------------------------------------------------------------------- systemd

def unit_commands() -> dict[str, list[list[str]]]:
    text = UNIT.read_text()
    found: dict[str, list[list[str]]] = {}
    for key, value in re.findall(r"^(Exec\w+)=(.+)$", text, re.M):
        found.setdefault(key, []).append(shlex.split(value.lstrip("-@:+!")))
    return found


def unit_settings() -> dict[str, str]:
    return dict(re.findall(r"^(\w+)=(.*)$", UNIT.read_text(), re.M))


def installed_config(tmp_path: Path) -> Path:
    """What `make install` puts at the unit's configuration path (when none is there yet):
    proxy.conf.example with its pid_file moved to the unit's RuntimeDirectory, by the sed
    expression the install rule applies."""
    makefile = (ROOT / "Makefile").read_text()
    m = re.search(r"sed '(s\|\^pid_file \.\*\|[^|]*\|)' proxy\.conf\.example \\\n\s*\| install -m 644 /dev/stdin \S*/sluice/proxy\.conf",
                  makefile)
    assert m, "make install no longer installs proxy.conf.example as the unit's configuration"
    pid_file = m.group(1).split("|")[2]
    assert pid_file.startswith("pid_file /run/sluice/"), pid_file
    installed = tmp_path / "installed.conf"
    installed.write_text(re.sub(r"^pid_file .*$", pid_file, (ROOT / "proxy.conf.example").read_text(), flags=re.M))
    return installed


def test_systemd_unit_commands_are_accepted(tmp_path):
    cmds = unit_commands()
    assert set(cmds) >= {"ExecStartPre", "ExecStart", "ExecReload"}, cmds
    (start,) = cmds["ExecStart"]
    (check,) = cmds["ExecStartPre"]
    (reload,) = cmds["ExecReload"]
    conf = parse_command(start)["-c"]
    assert parse_command(start) == {"-c": conf}, "ExecStart runs sluice in the foreground"
    assert parse_command(check) == {"-t": None, "-c": conf}
    assert parse_command(reload) == {"-s": "reload", "-c": conf}
    example = installed_config(tmp_path)
    # The check and the start command (as a check) on the installed configuration.
    for argv in (check, start + ["-t"]):
        r = subprocess.run(local(argv, example), capture_output=True, text=True, timeout=10)
        assert r.returncode == 0 and r.stdout == "configuration ok\n", (argv, r)
    # Reload with nothing running: sluice's own message, not a usage error.
    pid_conf = tmp_path / "proxy.conf"
    pid_conf.write_text(re.sub(r"^pid_file .*$", f"pid_file {tmp_path}/sluice.pid;",
                               example.read_text(), flags=re.M))
    r = subprocess.run(local(reload, pid_conf), capture_output=True, text=True, timeout=10)
    assert r.returncode == 1 and "pid_file" in r.stderr and "sluice -h" not in r.stderr, r


def test_systemd_unit_stops_gracefully(tmp_path):
    """systemd's stop: SIGTERM to the master alone (KillMode=mixed; with the default every worker
    gets it too and the master's own SIGTERM then stops them at once), and time for the drain of
    the installed configuration."""
    settings = unit_settings()
    assert settings.get("KillSignal", "SIGTERM") == "SIGTERM"
    assert settings.get("KillMode") == "mixed", settings.get("KillMode")
    (drain,) = directive(installed_config(tmp_path).read_text(), "drain_timeout") or [["30s"]]
    assert seconds(settings["TimeoutStopSec"]) > seconds(drain[0]) + 1, (settings["TimeoutStopSec"], drain)


# ---------------------------------------------------------------------------- README

def test_readme_configurations_pass_check(tmp_path):
    """Every ```nginx block of the section is a complete configuration."""
    blocks = re.findall(r"^```nginx\n(.*?)^```$", readme_section(), re.M | re.S)
    assert len(blocks) >= 2
    for i, text in enumerate(blocks):
        check_config(text, tmp_path / f"readme{i}.conf")


def test_readme_names_files_that_exist():
    section = readme_section()
    named = set(re.findall(r"`((?:[\w-]+)\.yaml|Dockerfile)`", section))
    assert named, "the section names the Kubernetes files"
    for name in named:
        assert (K8S / name).exists(), name
    assert set(named) >= {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
