"""Environment from files. In a pod file, Kubernetes' `valueFrom.fileKeyRef` (KEP-3721) resolved
through the container's `volumeMounts`, read when the container starts (so an init container can
write it); on the command line, `--env-file FILE` (repeatable, and USHER_ENV_FILE as a comma list)
for every process the command line starts, read at each start, relative to the directory usher was
started in. The format: KEY=VALUE lines, # comments, blank lines, a value in matching quotes loses
them, no expansion. A missing required file or key: that container does not start (126), the log
names the container, the file and the key. Values never reach the log (text or JSON), `usher check`,
or an error."""
import json
import os
import signal

import pytest

from conftest import USHER
from helpers.podfile import container, sidecar, write_pod

MODES = pytest.mark.parametrize("pid1", [True, False], ids=["pid1", "subreaper"])

SECRETS = ("s3cr3t-quoted-value", "hunter2-plain-value", "t0ps3cret-single")

ENV_FILE = """# database settings
   # an indented comment

DB_USER=admin
DB_PASS="s3cr3t-quoted-value"
PLAIN=hunter2-plain-value
SINGLE='t0ps3cret-single'
LITERAL=$HOME/x${USER}$(whoami)
EQUALS=a=b=c
MISMATCHED="abc'
EMPTY=
"""

EXPECTED = {"DB_USER": "admin", "DB_PASS": "s3cr3t-quoted-value", "PLAIN": "hunter2-plain-value",
            "SINGLE": "t0ps3cret-single", "LITERAL": "$HOME/x${USER}$(whoami)", "EQUALS": "a=b=c",
            "MISMATCHED": "\"abc'", "EMPTY": ""}


def env_seen(u, name):
    """{VAR: value or None} from the actor's `envhex VAR=HEX` lines (its first start)."""
    out = {}
    for e in u.find(name, "envhex"):
        var, _, h = e[2].partition("=")
        out.setdefault(var, None if h == "-" else bytes.fromhex(h).decode())
    return out


def hexes(*names):
    return [w for n in names for w in ("--env-hex", n)]


def file_ref(var, path, key, volume="config", optional=None):
    ref = {"volumeName": volume, "path": path, "key": key}
    if optional is not None:
        ref["optional"] = optional
    return {"name": var, "valueFrom": {"fileKeyRef": ref}}


def assert_no_secret(text, where="the log"):
    for s in SECRETS:
        assert s not in text, f"an env file's value reached {where}:\n{text}"


# --- fileKeyRef in a pod file ---------------------------------------------------------------------

@MODES
def test_an_init_container_writes_the_file_and_the_main_container_reads_it_at_its_start(usher, act, tmp_path, pid1):
    vol = tmp_path / "vol"
    vol.mkdir()
    (tmp_path / "source.env").write_text(ENV_FILE)
    # The file does not exist when usher starts: only the init container makes it.
    init = container("write-config", ["sh", "-c", f"mkdir -p {vol}/app && cp {tmp_path}/source.env {vol}/app/settings.env"])
    env = [file_ref(k, "app/settings.env", k) for k in EXPECTED]
    web = container("web", act("web", *hexes(*EXPECTED)), env=env,
                    volumeMounts=[{"name": "config", "mountPath": str(vol)}])
    u = usher(["-f", write_pod(tmp_path, init=[init], containers=[web])], pid1=pid1)
    u.wait_for(lambda: len(u.find("web", "envhex")) == len(EXPECTED), what="web to report its environment")
    assert env_seen(u, "web") == EXPECTED
    u.signal(signal.SIGTERM)
    assert u.wait() == 143
    assert_no_secret(u.stderr())


def test_the_variable_name_and_the_key_differ_and_later_entries_win(usher, act, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "app.env").write_text("TOKEN=from-file\nOTHER=other-from-file\n")
    env = [{"name": "FIRST", "value": "plain"}, file_ref("API_TOKEN", "app.env", "TOKEN"),
           file_ref("OVERRIDDEN", "app.env", "OTHER"), {"name": "OVERRIDDEN", "value": "later-value"}]
    web = container("web", act("web", *hexes("FIRST", "API_TOKEN", "OVERRIDDEN", "TOKEN")), env=env,
                    volumeMounts=[{"name": "config", "mountPath": str(vol) + "/"}])
    u = usher(["-f", write_pod(tmp_path, containers=[web])])
    u.wait_for(lambda: len(u.find("web", "envhex")) == 4, what="web to report its environment")
    assert env_seen(u, "web") == {"FIRST": "plain", "API_TOKEN": "from-file", "OVERRIDDEN": "later-value", "TOKEN": None}
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


@MODES
@pytest.mark.parametrize("missing", ["file", "key"])
def test_a_missing_required_file_or_key_stops_that_container_from_starting_with_126(usher, act, tmp_path, pid1, missing):
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "present.env").write_text("DB_PASS=s3cr3t-quoted-value\nPLAIN=hunter2-plain-value\n")
    path = "absent.env" if missing == "file" else "present.env"
    key = "DB_PASS" if missing == "file" else "NO_SUCH_KEY"
    web = container("web", act("web"), env=[{"name": "SETTING", "value": "t0ps3cret-single"},
                                            file_ref("PASSWORD", path, key)],
                    volumeMounts=[{"name": "config", "mountPath": str(vol)}])
    u = usher(["-f", write_pod(tmp_path, init=[sidecar("proxy", act("proxy"))], containers=[web])], pid1=pid1)
    assert u.wait(timeout=30) == 126, u.stderr()
    assert not u.find("web", "start"), "a container whose env file or key is missing must not start"
    # What had started is stopped (it may not have reached its handler yet: read usher's log).
    assert any(t.startswith("proxy[") and "stopping with SIGTERM" in t for t in u.log_texts()), u.stderr()
    err = u.stderr()
    named = [t for t in u.log_texts() if "web" in t and f"{vol}/{path}" in t and key in t]
    assert named, f"no log line names the container, the file and the key:\n{err}"
    assert_no_secret(err)


def test_a_sidecar_with_a_missing_key_does_not_start_and_neither_does_the_main(usher, act, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "proxy.env").write_text("PLAIN=hunter2-plain-value\n")
    proxy = sidecar("proxy", act("proxy"), env=[file_ref("PORT", "proxy.env", "PORT")],
                    volumeMounts=[{"name": "config", "mountPath": str(vol)}])
    u = usher(["--log-format", "json", "-f", write_pod(tmp_path, init=[proxy], containers=[container("web", act("web"))])])
    assert u.wait(timeout=30) == 126, u.stderr()
    assert not u.find("proxy", "start") and not u.find("web", "start")
    records = [json.loads(l) for l in u.stderr().splitlines()]
    assert any("proxy" in json.dumps(r) and "PORT" in json.dumps(r) and "proxy.env" in json.dumps(r) for r in records), records
    assert_no_secret(u.stderr())


def test_optional_file_or_key_leaves_the_variable_unset(usher, act, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "present.env").write_text("HERE=here-value\n")
    env = [file_ref("FROM_MISSING_FILE", "absent.env", "X", optional=True),
           file_ref("FROM_MISSING_KEY", "present.env", "NOT_THERE", optional=True),
           file_ref("FROM_PRESENT", "present.env", "HERE", optional=True)]
    web = container("web", act("web", *hexes("FROM_MISSING_FILE", "FROM_MISSING_KEY", "FROM_PRESENT")), env=env,
                    volumeMounts=[{"name": "config", "mountPath": str(vol)}])
    u = usher(["-f", write_pod(tmp_path, containers=[web])])
    u.wait_for(lambda: len(u.find("web", "envhex")) == 3, what="web to report its environment")
    assert env_seen(u, "web") == {"FROM_MISSING_FILE": None, "FROM_MISSING_KEY": None, "FROM_PRESENT": "here-value"}
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


def test_usher_check_of_a_pod_with_file_key_refs_shows_no_value(tmp_path, act):
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "app.env").write_text(ENV_FILE)
    web = container("web", act("web"), env=[file_ref(k, "app.env", k) for k in ("DB_PASS", "PLAIN", "SINGLE")],
                    volumeMounts=[{"name": "config", "mountPath": str(vol)}])
    r = run_usher(["check", "-f", write_pod(tmp_path, containers=[web])])
    assert r.returncode == 0, r.stderr
    assert_no_secret(r.stdout + r.stderr, "usher check")


# --- --env-file on the command line ---------------------------------------------------------------

def run_usher(args, env=None, **kw):
    import subprocess
    full = {k: v for k, v in os.environ.items() if not k.startswith("USHER_")}
    full.update(env or {})
    return subprocess.run([USHER, *args], capture_output=True, text=True, env=full, timeout=20, **kw)


@MODES
def test_env_files_reach_every_process_of_the_command_line_relative_to_the_start_directory(usher, act, tmp_path, pid1):
    (tmp_path / "base.env").write_text(ENV_FILE)
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "extra.env").write_text("EXTRA=extra-value\n")
    names = ("DB_USER", "DB_PASS", "LITERAL", "MISMATCHED", "EXTRA")
    u = usher(["--env-file", "base.env", "--env-file=conf/extra.env",
               "--sidecar", "side=" + act.line("side", *hexes(*names)), "--", *act("main", *hexes(*names))],
              pid1=pid1, cwd=tmp_path)
    u.wait_for(lambda: len(u.find("side", "envhex")) == 5 and len(u.find("main", "envhex")) == 5, what="the environments")
    want = {**{k: EXPECTED[k] for k in names[:4]}, "EXTRA": "extra-value"}
    assert env_seen(u, "side") == want and env_seen(u, "main") == want
    u.signal(signal.SIGTERM)
    assert u.wait() == 143
    assert_no_secret(u.stderr())


def test_usher_env_file_takes_a_comma_list(usher, act, tmp_path):
    (tmp_path / "a.env").write_text("FROM_A=a-value\n")
    (tmp_path / "b.env").write_text("FROM_B=b-value\n")
    u = usher(["--", *act("main", *hexes("FROM_A", "FROM_B"))], cwd=tmp_path,
              env={"USHER_ENV_FILE": f"a.env,{tmp_path}/b.env"})
    u.wait_for(lambda: len(u.find("main", "envhex")) == 2, what="the environment")
    assert env_seen(u, "main") == {"FROM_A": "a-value", "FROM_B": "b-value"}
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


def test_an_env_file_value_wins_over_usher_own_environment(usher, act, tmp_path):
    (tmp_path / "app.env").write_text("MODE=from-file\n")
    u = usher(["--env-file", str(tmp_path / "app.env"), "--", *act("main", *hexes("MODE", "KEPT"))],
              env={"MODE": "from-usher", "KEPT": "kept"})
    u.wait_for(lambda: len(u.find("main", "envhex")) == 2, what="the environment")
    assert env_seen(u, "main") == {"MODE": "from-file", "KEPT": "kept"}
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


@MODES
def test_a_restarted_sidecar_reads_the_env_file_again(usher, act, tmp_path, pid1):
    env_file = tmp_path / "side.env"
    env_file.write_text("GENERATION=first\n")
    u = usher(["--env-file", "side.env", "--sidecar", "side=" + act.line("side", "--exit-after", 800, *hexes("GENERATION")),
               "--", *act("main")], pid1=pid1, cwd=tmp_path)
    u.wait_for(lambda: u.find("side", "envhex") and u.find("main", "start"), what="the first start")
    env_file.write_text("GENERATION=second\n")
    u.wait_for(lambda: len(u.find("side", "envhex")) >= 2, timeout=15, what="the sidecar's restart")
    seen = [bytes.fromhex(e[2].split("=", 1)[1]).decode() for e in u.find("side", "envhex")[:2]]
    assert seen == ["first", "second"]
    u.signal(signal.SIGTERM)
    assert u.wait() == 143


@pytest.mark.parametrize("how", ["flag", "variable"])
def test_env_file_with_a_pod_file_is_a_usage_error(usher, act, tmp_path, how):
    (tmp_path / "app.env").write_text("A=b\n")
    pod = write_pod(tmp_path, containers=[container("web", act("web", "--exit-after", 1000))])
    if how == "flag":
        u = usher(["--env-file", str(tmp_path / "app.env"), "-f", pod])
    else:
        u = usher(["-f", pod], env={"USHER_ENV_FILE": str(tmp_path / "app.env")})
    assert u.wait() == 2, u.stderr()
    err = u.stderr()
    assert ("--env-file" in err or "USHER_ENV_FILE" in err) and "unknown option" not in err, err
    assert u.events() == []


@MODES
def test_a_missing_env_file_is_126_naming_it_and_nothing_starts(usher, act, tmp_path, pid1):
    u = usher(["--env-file", "nowhere.env", "--sidecar", "side=" + act.line("side"), "--", *act("main")],
              pid1=pid1, cwd=tmp_path)
    assert u.wait() == 126, u.stderr()
    assert "nowhere.env" in u.stderr() and "side" in u.stderr(), u.stderr()
    assert u.events() == []


def test_a_malformed_env_file_names_the_line_never_its_text(usher, act, tmp_path):
    (tmp_path / "bad.env").write_text("GOOD=s3cr3t-quoted-value\nhunter2-plain-value\n")
    u = usher(["--env-file", "bad.env", "--", *act("main")], cwd=tmp_path)
    assert u.wait() in (2, 126), u.stderr()
    assert not u.find("main", "start")
    assert "bad.env" in u.stderr() and "2" in u.stderr(), u.stderr()
    assert_no_secret(u.stderr(), "the error")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_env_file_values_never_reach_the_log(usher, act, tmp_path, fmt):
    (tmp_path / "app.env").write_text(ENV_FILE)
    u = usher(["--log-format", fmt, "--grace", "2s", "--env-file", "app.env",
               "--sidecar", "side=" + act.line("side", "--ignore", "TERM"), "--", *act("main")], cwd=tmp_path)
    u.wait_started("side", "main")
    u.signal(signal.SIGTERM)
    assert u.wait(timeout=30) == 143
    assert_no_secret(u.stderr())


def test_usher_check_with_env_files_shows_no_value(tmp_path, act):
    (tmp_path / "app.env").write_text(ENV_FILE)
    r = run_usher(["check", "--env-file", "app.env", "--sidecar", "side=" + act.line("side"), "--", *act("main")],
                  cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert_no_secret(r.stdout + r.stderr, "usher check")
