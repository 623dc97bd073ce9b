"""The release folder that `make release` writes (dist/release, or USHER_RELEASE_DIR): two static
binaries of the right machines under both arch names, checksums that verify, an OCI archive of
one multi-arch image whose images hold those very binaries and run in podman, release notes, and
a --version that names the commit. `make release-check` runs this file after `make release`."""
import hashlib
import io
import json
import os
import re
import shutil
import struct
import subprocess
import tarfile

import pytest

from conftest import ROOT

RELEASE = os.environ.get("USHER_RELEASE_DIR", os.path.join(ROOT, "dist/release"))
# Debian's names (TARGETARCH), the names `uname -m` prints, and the ELF e_machine of each.
ARCHES = {"amd64": ("x86_64", 62), "arm64": ("aarch64", 183)}
VERSION_LINE = re.compile(r"^usher (\d+\.\d+\.\d+) \(commit ([0-9a-f]{12}(-dirty)?)\)$")
PT_INTERP, PT_DYNAMIC = 3, 2


@pytest.fixture(scope="module")
def release():
    if not os.path.isdir(RELEASE):
        pytest.fail(f"{RELEASE} is missing: run `make release` first")
    return RELEASE


def path(release, name):
    return os.path.join(release, name)


def sha256(file):
    with open(file, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def elf_header(file):
    """(e_machine, e_type, [p_type of each program header]) read from the file itself."""
    with open(file, "rb") as f:
        data = f.read(4096)
    assert data[:4] == b"\x7fELF", f"{file} is not an ELF file"
    assert data[4] == 2 and data[5] == 1, f"{file}: not a 64-bit little-endian ELF file"
    e_type, e_machine = struct.unpack_from("<HH", data, 16)
    e_phoff, = struct.unpack_from("<Q", data, 32)
    e_phentsize, e_phnum = struct.unpack_from("<HH", data, 54)
    types = [struct.unpack_from("<I", data, e_phoff + i * e_phentsize)[0] for i in range(e_phnum)]
    return e_machine, e_type, types


def run_binary(release, arch, *args):
    argv = [path(release, f"usher-linux-{arch}"), *args]
    if arch == "arm64":
        argv = ["qemu-aarch64-static"] + argv
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("arch", ARCHES)
def test_binaries_are_static_elf_files_of_their_machine(release, arch):
    uname, machine = ARCHES[arch]
    for name in (f"usher-linux-{arch}", f"usher-linux-{uname}"):
        e_machine, e_type, types = elf_header(path(release, name))
        assert e_machine == machine, f"{name}: e_machine {e_machine}, expected {machine}"
        assert e_type == 2, f"{name}: e_type {e_type}, expected ET_EXEC (a static, non-PIE executable)"
        assert PT_INTERP not in types and PT_DYNAMIC not in types, f"{name} is dynamically linked"
        out = subprocess.run(["readelf", "-S", path(release, name)], capture_output=True, text=True).stdout
        assert ".symtab" not in out, f"{name} is not stripped"
    assert sha256(path(release, f"usher-linux-{arch}")) == sha256(path(release, f"usher-linux-{uname}")), \
        f"usher-linux-{arch} and usher-linux-{uname} must be the same bytes"


# The release's size target is 0.5x tini-static (708,080 bytes on amd64): 354,040 bytes. arm64 holds
# it (345,208 bytes); amd64 does not yet (394,560), and its limit here only keeps it from growing
# while it is brought down: 2 kB over today's size, as the limit has been over each size before.
SIZE_LIMITS = {"arm64": 354_040, "amd64": 396_600}


@pytest.mark.parametrize("arch", ARCHES)
def test_binary_size_limit(release, arch):
    size = os.path.getsize(path(release, f"usher-linux-{arch}"))
    assert size <= SIZE_LIMITS[arch], f"usher-linux-{arch} is {size:,} bytes, over {SIZE_LIMITS[arch]:,}"


def test_sha256sums_verify_and_cover_every_file(release):
    r = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=release, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    listed = {line.split()[1] for line in open(path(release, "SHA256SUMS")).read().splitlines()}
    expected = {f"usher-linux-{n}" for a, (u, _) in ARCHES.items() for n in (a, u)} | {"usher-image.oci.tar"}
    assert listed == expected, listed


def test_each_sha256_file_verifies_and_agrees_with_sha256sums(release):
    sums = dict(reversed(line.split()) for line in open(path(release, "SHA256SUMS")).read().splitlines())
    for name, digest in sums.items():
        line = open(path(release, name + ".sha256")).read()
        assert line.split() == [digest, name], f"{name}.sha256: {line!r}"
        r = subprocess.run(["sha256sum", "-c", name + ".sha256"], cwd=release, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        assert digest == sha256(path(release, name)), name


def test_a_corrupted_binary_fails_the_check(release, tmp_path):
    """The check can fail: one flipped byte in a copy of the folder is caught."""
    copy = tmp_path / "release"
    shutil.copytree(release, copy)
    data = bytearray((copy / "usher-linux-arm64").read_bytes())
    data[len(data) // 2] ^= 1
    (copy / "usher-linux-arm64").write_bytes(bytes(data))
    r = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=copy, capture_output=True, text=True)
    assert r.returncode != 0 and "usher-linux-arm64: FAILED" in r.stdout, r.stdout


@pytest.mark.parametrize("arch", ARCHES)
def test_version_names_the_version_and_the_commit(release, arch):
    r = run_binary(release, arch, "--version")
    assert r.returncode == 0, r.stderr
    m = VERSION_LINE.match(r.stdout.strip())
    assert m, f"usher-linux-{arch} --version printed {r.stdout!r}"
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:
        assert head.stdout.strip().startswith(m.group(2).removesuffix("-dirty")), \
            f"built from {m.group(2)}, but this checkout is at {head.stdout.strip()}"


def oci_blob(tar, digest):
    algorithm, hexdigest = digest.split(":")
    data = tar.extractfile(f"blobs/{algorithm}/{hexdigest}").read()
    assert hashlib.sha256(data).hexdigest() == hexdigest, f"blob {digest} does not match its digest"
    return data


def oci_images(archive):
    """{"linux/amd64": (manifest, config, {path: file bytes of the layers})} from the archive."""
    images = {}
    with tarfile.open(archive) as tar:
        layout = json.load(tar.extractfile("oci-layout"))
        assert layout["imageLayoutVersion"] == "1.0.0"
        pending = json.load(tar.extractfile("index.json"))["manifests"]
        while pending:
            entry = pending.pop()
            blob = json.loads(oci_blob(tar, entry["digest"]))
            if blob.get("mediaType", entry["mediaType"]).endswith("image.index.v1+json"):
                pending += blob["manifests"]
                continue
            platform = entry.get("platform", {})
            config = json.loads(oci_blob(tar, blob["config"]["digest"]))
            files = {}
            for layer in blob["layers"]:
                with tarfile.open(fileobj=io.BytesIO(oci_blob(tar, layer["digest"]))) as lt:
                    for member in lt.getmembers():
                        if member.isfile():
                            files[member.name.lstrip("./")] = lt.extractfile(member).read()
            images[f"{platform.get('os')}/{platform.get('architecture')}"] = (blob, config, files)
    return images


def test_the_image_index_lists_both_platforms_with_their_binaries(release):
    images = oci_images(path(release, "usher-image.oci.tar"))
    assert set(images) == {"linux/amd64", "linux/arm64"}, set(images)
    for platform, (manifest, config, files) in images.items():
        arch = platform.split("/")[1]
        assert config["architecture"] == arch and config["os"] == "linux", config
        assert config["config"]["Entrypoint"] == ["/usr/bin/usher", "--"], config["config"]
        assert sorted(files) == ["usr/bin/usher", "usr/share/doc/usher/LICENSE"], sorted(files)
        assert hashlib.sha256(files["usr/bin/usher"]).hexdigest() == sha256(path(release, f"usher-linux-{arch}")), \
            f"the {platform} image does not hold usher-linux-{arch}"


@pytest.fixture(scope="module")
def podman():
    if shutil.which("podman") is None:
        pytest.fail("podman is missing: make container-env installs it")
    return "podman"


def test_podman_loads_the_archive_and_the_amd64_entrypoint_runs_version(release, podman, tmp_path):
    """podman load accepts the archive; the amd64 image's entrypoint (usher --) runs usher
    --version as its main process, in an otherwise empty root filesystem. The archive is loaded
    under a name of this test's own (the archive's own name, usher:VERSION, may be in use), and
    removed afterwards."""
    name = f"usher-release-test:{os.getpid()}"
    archive = tmp_path / "image.oci.tar"
    shutil.copy(path(release, "usher-image.oci.tar"), archive)
    r = subprocess.run([podman, "load", "-i", f"oci-archive:{archive}:{name}"],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:  # podman takes a plain path too: then the name is the archive's own
        r = subprocess.run([podman, "load", "-i", str(archive)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    loaded = re.search(r"Loaded image(?:\(s\))?: (\S+)", r.stdout + r.stderr)
    assert loaded, r.stdout + r.stderr
    image = loaded.group(1)
    try:
        r = subprocess.run([podman, "run", "--rm", "--platform", "linux/amd64", image, "/usr/bin/usher", "--version"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert VERSION_LINE.match(r.stdout.strip()), r.stdout
        assert re.search(r"usher: usher\[\d+\] started", r.stderr), r.stderr  # the entrypoint's usher started it
    finally:
        subprocess.run([podman, "rmi", "-f", image], capture_output=True)


def test_release_notes_name_the_version_commit_and_what_is_linked(release):
    notes = open(path(release, "RELEASE-NOTES.md")).read()
    m = VERSION_LINE.match(run_binary(release, "amd64", "--version").stdout.strip())
    assert m
    assert notes.startswith(f"# usher {m.group(1)}\n"), notes[:80]
    assert m.group(2).removesuffix("-dirty") in notes
    for component in ("Swift", "musl", "libyaml"):
        row = [line for line in notes.splitlines() if line.startswith("| ") and component in line]
        assert row and "not installed" not in row[0] and "unknown" not in row[0], f"{component}: {row}"
    assert open(path(release, "SHA256SUMS")).read() in notes
