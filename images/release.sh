#!/usr/bin/env bash
# The release folder around the two binaries that `make release` puts into DIR:
#   images/release.sh DIR        (from the repository root; needs podman, see container-env)
# DIR/usher-linux-amd64 and DIR/usher-linux-arm64 must exist. Writes, in DIR:
#   usher-linux-x86_64, usher-linux-aarch64  the same bytes under the names `uname -m` prints
#   usher-image.oci.tar   an OCI archive of one image index: linux/amd64 and linux/arm64, each a
#                         FROM scratch image of images/Dockerfile.release
#   <file>.sha256         one per binary and for the archive, and SHA256SUMS for all of them
#                         (both in the format `sha256sum -c` reads)
#   RELEASE-NOTES.md      the version, the commit, and what is linked into the binaries
# Everything is written anew on each run, so the folder never mixes two builds.
set -euo pipefail
dir=${1:?usage: images/release.sh DIR}
cd "$(dirname "$0")/.."
for arch in amd64 arm64; do
  [ -x "$dir/usher-linux-$arch" ] || { echo "release.sh: $dir/usher-linux-$arch is missing" >&2; exit 1; }
done
cp -f "$dir/usher-linux-amd64" "$dir/usher-linux-x86_64"
cp -f "$dir/usher-linux-arm64" "$dir/usher-linux-aarch64"

# The version and commit as the binary itself reports them ("usher 0.1.0 (commit abc)"), so the
# notes cannot disagree with --version. The amd64 one runs here: make release builds on x86_64,
# and both binaries come from the same build.
version_line=$("$dir/usher-linux-amd64" --version)
version=$(echo "$version_line" | awk '{print $2}')
commit=$(echo "$version_line" | sed -n 's/.*(commit \([^)]*\)).*/\1/p')
full_commit=$(git rev-parse HEAD 2>/dev/null || echo "$commit")
# Image timestamps from the commit, not the clock: the same commit gives the same image layers.
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)

# --- the multi-arch image ------------------------------------------------------------------------
# Built in local storage, written to the archive, then removed again: nothing is left behind (a
# manifest list whose images were removed by someone else breaks `podman images` for everyone).
list=localhost/usher-release-build:$$
ids=()
cleanup() {
  podman manifest rm "$list" >/dev/null 2>&1 || true
  [ ${#ids[@]} -eq 0 ] || podman rmi -f "${ids[@]}" >/dev/null 2>&1 || true
}
trap cleanup EXIT
podman manifest create "$list" >/dev/null
for arch in amd64 arm64; do
  ids+=("$(podman build -q --platform "linux/$arch" --timestamp "$epoch" --manifest "$list" \
    --label org.opencontainers.image.version="$version" \
    --label org.opencontainers.image.revision="$full_commit" \
    -f images/Dockerfile.release .)")
done
rm -f "$dir/usher-image.oci.tar"
podman manifest push -q --all "$list" "oci-archive:$dir/usher-image.oci.tar:usher:$version"

# --- checksums -----------------------------------------------------------------------------------
files=(usher-linux-amd64 usher-linux-arm64 usher-linux-x86_64 usher-linux-aarch64 usher-image.oci.tar)
(
  cd "$dir"
  rm -f ./*.sha256 SHA256SUMS
  for f in "${files[@]}"; do sha256sum "$f" > "$f.sha256"; done
  sha256sum "${files[@]}" > SHA256SUMS
)

# --- release notes -------------------------------------------------------------------------------
deb_version() {  # the Debian package version of $1, or "not installed"
  dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo "not installed"
}
swift_version=$(swiftc --version 2>/dev/null | head -1)
libgcc_amd64=$(gcc -dumpfullversion 2>/dev/null || echo unknown)
libgcc_arm64=$(aarch64-linux-gnu-gcc -dumpfullversion 2>/dev/null || echo unknown)
{
  echo "# usher $version"
  echo
  echo "Built from commit \`$full_commit\` (\`usher --version\`: $version_line)."
  echo
  echo "## What is linked into the binaries"
  echo
  echo "Both are static: everything they run is listed here (for CVE triage)."
  echo
  echo "| component | amd64 | arm64 | from |"
  echo "|---|---|---|---|"
  echo "| Swift toolchain (Embedded Swift stdlib, Unicode data tables) | $swift_version | the same | swift.org toolchain |"
  echo "| musl libc | $(deb_version musl-dev:amd64) | $(deb_version musl-dev:arm64) | Debian package musl-dev |"
  echo "| libyaml | $(deb_version libyaml-dev:amd64) | the same | Debian source package libyaml of that version, compiled for musl by make (api, reader, scanner, parser) |"
  echo "| libgcc (compiler support routines) | gcc $libgcc_amd64 | gcc $libgcc_arm64 (cross) | Debian packages libgcc-12-dev, gcc-12-aarch64-linux-gnu |"
  echo
  echo "## Files"
  echo
  echo '```'
  cat "$dir/SHA256SUMS"
  echo '```'
  echo
  echo "Check a download with \`sha256sum -c SHA256SUMS --ignore-missing\`. The image archive holds"
  echo "one index for linux/amd64 and linux/arm64; load it with \`podman load -i usher-image.oci.tar\`"
  echo "or push it with \`skopeo copy --all oci-archive:usher-image.oci.tar docker://REGISTRY/usher:$version\`."
} > "$dir/RELEASE-NOTES.md"
echo "release.sh: $dir: usher $version ($commit)"
