"""A network namespace for usher, with a pod IP or without one, for the tests of where probes and
httpGet hooks connect when `host` is unset (the kubelet: the pod IP).

wrap(): words for conftest.Usher(wrap=...): they run between `unshare --pid --fork --mount-proc`
and usher, so `--net` gives the new pid namespace a new network namespace too, and a shell sets
it up before it execs usher (which stays PID 1):
  - lo up;
  - with down_address: an interface d1 with that address, left down (its address must be skipped);
  - with pod_ip: an interface d0 with POD_IP/24, up. A dummy interface where the kernel has them,
    else a bridge without ports (up, carrier on), which serves as well.
run(): the same namespace around any command (for `usher check`)."""
import subprocess

POD_IP = "10.250.0.7"
DOWN_IP = "10.251.0.9"


def script(pod_ip=True, down_address=False):
    steps = ["set -e", "ip link set lo up"]
    for name, address, up in (("d1", DOWN_IP, False), ("d0", POD_IP, True)):
        if (name == "d1" and not down_address) or (name == "d0" and not pod_ip):
            continue
        steps.append(f"{{ ip link add {name} type dummy 2>/dev/null || ip link add {name} type bridge; }}")
        steps.append(f"ip addr add {address}/24 dev {name}")
        if up:
            steps.append(f"ip link set {name} up")
    return "; ".join(steps) + '; exec "$@"'


def wrap(pod_ip=True, down_address=False):
    return ["--net", "sh", "-c", script(pod_ip, down_address), "netns"]


def run(argv, pod_ip=True, down_address=False, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 20)
    return subprocess.run(["unshare", "--net", "sh", "-c", script(pod_ip, down_address), "netns", *argv], **kw)
