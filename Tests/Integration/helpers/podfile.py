"""Pod files for the `usher -f` tests: a pod's containers as Python dicts, written out as YAML
(block style, as people write it) or JSON, bare or wrapped in a Pod or a workload."""
import json

import yaml


def container(name, command, **fields):
    """One entry of containers[] or initContainers[]; `command` is an argv list."""
    return {"name": name, "command": [str(w) for w in command], **fields}


def sidecar(name, command, **fields):
    """An init container with restartPolicy: Always: a sidecar."""
    return container(name, command, restartPolicy="Always", **fields)


def exec_probe(command, period=1, failures=3, **fields):
    return {"exec": {"command": [str(w) for w in command]}, "periodSeconds": period,
            "failureThreshold": failures, **fields}


# A probe's host for a target that listens on the loopback address only: with host unset a probe
# goes to the container's own address (the pod IP), as the kubelet's does.
LOOPBACK = "127.0.0.1"


def tcp_probe(port, period=1, failures=30, host=None, **fields):
    sock = {"port": port}
    if host is not None:
        sock["host"] = host
    return {"tcpSocket": sock, "periodSeconds": period, "failureThreshold": failures, **fields}


def http_probe(port, path="/", headers=(), period=1, failures=30, host=None, **fields):
    get = {"path": path, "port": port}
    if host is not None:
        get["host"] = host
    if headers:
        get["httpHeaders"] = [{"name": n, "value": v} for n, v in headers]
    return {"httpGet": get, "periodSeconds": period, "failureThreshold": failures, **fields}


def pre_stop_exec(command):
    return {"preStop": {"exec": {"command": [str(w) for w in command]}}}


def pre_stop_sleep(seconds):
    return {"preStop": {"sleep": {"seconds": seconds}}}


def exec_handler(command):
    """A lifecycle handler (postStart or preStop) that runs a command."""
    return {"exec": {"command": [str(w) for w in command]}}


def sleep_handler(seconds):
    return {"sleep": {"seconds": seconds}}


def http_handler(port, path="/", host=None, headers=(), scheme=None):
    """A lifecycle handler that sends an HTTP GET (host unset: the container's own address)."""
    get = {"path": path, "port": port}
    if host is not None:
        get["host"] = host
    if scheme is not None:
        get["scheme"] = scheme
    if headers:
        get["httpHeaders"] = [{"name": n, "value": v} for n, v in headers]
    return {"httpGet": get}


def lifecycle(pre_stop=None, post_start=None, **fields):
    """lifecycle: {postStart, preStop, ...fields (e.g. stopSignal)}."""
    out = {}
    if post_start is not None:
        out["postStart"] = post_start
    if pre_stop is not None:
        out["preStop"] = pre_stop
    out.update(fields)
    return out


WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")


def document(spec, kind="Pod"):
    """The pod spec as a document of `kind`: PodSpec (bare), Pod, a workload, Job or CronJob."""
    if kind in ("Job", "CronJob") and "restartPolicy" not in spec:
        spec = {**spec, "restartPolicy": "Never"}  # the API requires it of a Job's pod template
    template = {"metadata": {"labels": {"app": "usher-test"}}, "spec": spec}
    meta = {"name": "usher-test"}
    if kind == "PodSpec":
        return spec
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
    if kind in WORKLOADS:
        return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta,
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "usher-test"}}, "template": template}}
    if kind == "Job":
        return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
                "spec": {"backoffLimit": 0, "template": template}}
    if kind == "CronJob":
        return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta,
                "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}}}
    raise ValueError(kind)


def pod_spec(containers, init=(), **fields):
    spec = dict(fields)
    if init:
        spec["initContainers"] = list(init)
    spec["containers"] = list(containers)
    return spec


def write_pod(tmp_path, containers, init=(), kind="Pod", fmt="yaml", filename=None, **fields):
    """Writes the pod to tmp_path and returns its path (a str)."""
    doc = document(pod_spec(containers, init, **fields), kind)
    path = tmp_path / (filename or f"pod.{fmt}")
    path.write_text(dump(doc, fmt))
    return str(path)


def dump(doc, fmt="yaml"):
    if fmt == "json":
        return json.dumps(doc, indent=2) + "\n"
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
