#!/usr/bin/env bash
# Proves README's quick start on a new machine: runs one of README's two commands, exactly as README shows
# it, as root in a minimal Debian 12 root made afresh for the run, on a clone of this checkout's HEAD commit.
#
# Usage: scripts/fresh-check.sh run|test     run as root; exits with the command's status
#        scripts/fresh-check.sh --probe      exit 0 if this machine can make fresh roots, else say why
#        scripts/fresh-check.sh --command run|test    print README's command (the one that would run)
#
# Phases, each timed: (1) the pristine root: `debootstrap --variant=minbase bookworm` from the Debian mirror
# this machine's apt uses, plus git, made once and cached as a tarball in $CPN_FRESH_CACHE (default
# /var/cache/cpnsim-fresh; delete the tarball to remake it); (2) copy: unpacked into a new directory;
# (3) clone: `git clone` of this checkout, HEAD commit checked out, into /root/cpnsim; (4) README's command,
# in /root/cpnsim, through chroot with `env -i` (PATH, HOME, LANG, TERM only), timed as setup's apt phase,
# setup's build phase and the rest (the tests, or the run) from the lines scripts/setup.sh prints.
# The chroot runs in its own mount and PID namespaces (unshare): /proc, /sys (read-only), /dev, /dev/pts, a
# tmpfs /dev/shm and $CPN_FRESH_CACHE/apt-archives (at the root's /var/cache/apt/archives, so that .deb
# files are downloaded once; setup.sh still installs every package from scratch) are mounted there and
# unmounted by a trap on any exit (and vanish with the namespaces, which die with this script); the run
# directory is then removed (kept with CPN_FRESH_KEEP=1).
# Only committed work is checked: uncommitted changes of the checkout are not in the clone.
# CPN_FRESH_THEN=COMMAND: a command run in the same root right after README's (whatever its status), e.g.
# CI's reliability steps; the exit status is README's command's, or COMMAND's when README's passed.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
self="$here/scripts/fresh-check.sh"
cache=${CPN_FRESH_CACHE:-/var/cache/cpnsim-fresh}
base="$cache/bookworm-minbase-git.tar"
suite=bookworm
clean_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
t0=$SECONDS
say() { printf 'fresh-check: [%4ds] %s\n' $((SECONDS - t0)) "$*"; }
die() { printf 'fresh-check: %s\n' "$*" >&2; exit 2; }

# README's command number $1 (1 = run, 2 = test): the one-line sh blocks of its "Quick start" section.
readme_command() {
  awk -v want="$1" '
    /^## / { quick = ($0 == "## Quick start"); next }
    quick && !inblock && /^```sh/ { inblock = 1; n++; next }
    quick && inblock && /^```/ { inblock = 0; next }
    quick && inblock && n == want { print }' "$2"
}
command_number() {
  case $1 in run) echo 1 ;; test) echo 2 ;; *) die "unknown command '$1': want run or test" ;; esac
}

# "URI SUITE" of every Debian source (component main) this machine's apt uses, one-line and deb822 formats.
apt_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" {
           i = 2
           if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
           for (j = i + 2; j <= NF; j++) if ($j == "main") print $i, $(i + 1)
         }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'function flush(   n, m, a, b, u, s) {
           if (types ~ /(^| )deb( |$)/ && comps ~ /(^| )main( |$)/ && enabled != "no") {
             n = split(uris, u, " "); m = split(suites, s, " ")
             for (a = 1; a <= n; a++) for (b = 1; b <= m; b++) print u[a], s[b]
           }
           types = uris = suites = comps = enabled = ""
         }
         /^[ \t]*$/ { flush(); next }
         /^[ \t]*#/ { next }
         { key = tolower($1); $1 = "" }
         key == "types:" { types = $0 }
         key == "uris:" { uris = $0 }
         key == "suites:" { suites = $0 }
         key == "components:" { comps = $0 }
         key == "enabled:" { enabled = tolower($0); gsub(/ /, "", enabled) }
         END { flush() }' "$f"
  done
}
mirror() {
  [ -n "${CPN_FRESH_MIRROR:-}" ] && { echo "$CPN_FRESH_MIRROR"; return; }
  apt_sources | awk -v s="$suite" '$2 == s { print $1; exit }'
}
# The fresh root's sources.list: the mirror's bookworm and bookworm-updates, and the security archive this
# machine uses, as on a new Debian 12 machine.
root_sources_list() {
  local m=$1
  echo "deb $m $suite main"
  apt_sources | awk -v m="$m" -v s="$suite" '
    $2 == s "-updates" && $1 == m && !seen[$2]++ { print "deb", $1, $2, "main" }
    $2 == s "-security" && !seen[$2]++ { print "deb", $1, $2, "main" }'
}

# Why this machine cannot make fresh roots (nothing printed when it can). Installs debootstrap if missing.
probe() {
  [ "$(id -u)" -eq 0 ] || { echo "not running as root"; return; }
  for c in chroot unshare mount umount tar git; do
    command -v "$c" > /dev/null || { echo "$c is not installed"; return; }
  done
  if ! command -v debootstrap > /dev/null; then
    say "installing debootstrap on this machine (apt-get install debootstrap)" >&2
    if ! { DEBIAN_FRONTEND=noninteractive apt-get -q update && \
           DEBIAN_FRONTEND=noninteractive apt-get -q -y install --no-install-recommends debootstrap; } > /dev/null 2>&1 ||
       ! command -v debootstrap > /dev/null; then
      echo "debootstrap is not installed and apt-get install debootstrap failed"; return
    fi
  fi
  unshare --mount --pid --fork --propagation private true 2> /dev/null ||
    { echo "unshare (mount and PID namespaces) does not work here"; return; }
  chroot / true 2> /dev/null || { echo "chroot does not work here"; return; }
  [ -n "$(mirror)" ] || echo "no Debian $suite mirror in /etc/apt/sources.list or /etc/apt/sources.list.d"
}

# --- inside the namespaces: mount, run a command in the chroot, unmount -----------------------------------
# Usage: fresh-check.sh --in-root ROOT MARKS COMMAND. Prints the command's output; appends "phase seconds"
# lines to MARKS when setup.sh's "configuring" and "done" lines go by; exits with the command's status.
mounted=()
unmount_all() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2> /dev/null || umount -l "${mounted[i]}" || echo "fresh-check: cannot unmount ${mounted[i]}" >&2
  done
  mounted=()
}
in_root() {
  local root=$1 marks=$2 cmd=$3 line start=$SECONDS status
  trap unmount_all EXIT
  trap 'exit 130' INT TERM
  mnt() { mount "$@"; mounted+=("${!#}"); }
  mnt -t proc proc "$root/proc"
  mnt --bind /sys "$root/sys"
  mount -o remount,bind,ro "$root/sys" 2> /dev/null || true
  mnt --bind /dev "$root/dev"
  mnt --bind /dev/pts "$root/dev/pts"
  mnt -t tmpfs -o mode=1777 shm "$root/dev/shm"
  if [ -d "$cache/apt-archives" ]; then
    mkdir -p "$cache/apt-archives/partial" "$root/var/cache/apt/archives"
    mnt --bind "$cache/apt-archives" "$root/var/cache/apt/archives"
  fi
  shopt -s lastpipe
  set +e
  env -i PATH="$clean_path" HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
    chroot "$root" /bin/bash -c "cd /root/cpnsim 2> /dev/null || cd /root; $cmd" 2>&1 |
    while IFS= read -r line; do
      printf '%s\n' "$line"
      case $line in
        "setup: ["*"] configuring "*) echo "apt $((SECONDS - start))" >> "$marks" ;;
        "setup: ["*"] done: "*) echo "build $((SECONDS - start))" >> "$marks" ;;
      esac
    done
  status=${PIPESTATUS[0]}
  set -e
  echo "end $((SECONDS - start))" >> "$marks"
  unmount_all
  return "$status"
}
if [ "${1:-}" = --in-root ]; then
  in_root "$2" "$3" "$4"
  exit $?
fi

# --- outside ----------------------------------------------------------------------------------------------
case ${1:-} in
  --probe)
    why=$(probe)
    [ -z "$why" ] || { echo "$why"; exit 1; }
    exit 0 ;;
  --command)
    n=$(command_number "${2:-}")
    readme_command "$n" "$here/README.md"
    exit 0 ;;
  run | test) what=$1 ;;
  *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac

why=$(probe)
[ -z "$why" ] || die "cannot make a fresh root: $why"
sha=$(git -C "$here" rev-parse HEAD) || die "$here is not a git checkout"
cmd=$(git -C "$here" show "$sha:README.md" > /dev/null 2>&1 &&
      readme_command "$(command_number "$what")" <(git -C "$here" show "$sha:README.md"))
[ -n "$cmd" ] && [ "$(printf '%s\n' "$cmd" | wc -l)" -eq 1 ] ||
  die "README.md of $sha has no one-line command $what in its Quick start section"
if [ -n "$(git -C "$here" status --porcelain --untracked-files=no)" ]; then
  say "note: $here has uncommitted changes; they are not checked (the clone is of commit $sha)"
fi
m=$(mirror)
say "checking README's $what command on commit $(git -C "$here" log -1 --format='%h %s' "$sha" | cut -c1-90)"
say "mirror: $m; cache: $cache"

# (1) The pristine root, made once: debootstrap, sources.list, git; packed into $base.
mkdir -p "$cache/apt-archives/partial" "$cache/debootstrap-debs"
exec 9> "$cache/lock"
flock 9
t_deboot=0
deboot_note="cached"
if [ ! -f "$base" ]; then
  say "making the pristine root: debootstrap --variant=minbase $suite from $m, then git"
  t=$SECONDS
  tmp="$cache/base.tmp"
  rm -rf --one-file-system "$tmp"
  mkdir -p "$tmp"
  debootstrap --variant=minbase --cache-dir="$cache/debootstrap-debs" "$suite" "$tmp/root" "$m" |
    awk '/^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) / { n++; if (n % 40) next } { print "  " $0; fflush() }'
  root_sources_list "$m" > "$tmp/root/etc/apt/sources.list"
  cp -L /etc/resolv.conf "$tmp/root/etc/resolv.conf"
  mkdir -p "$tmp/root/root/cpnsim"
  unshare --mount --pid --fork --kill-child --propagation private bash "$self" --in-root "$tmp/root" "$tmp/marks" \
    'export DEBIAN_FRONTEND=noninteractive; apt-get -q update > /dev/null && apt-get -q -y install --no-install-recommends git > /dev/null && rm -rf /var/lib/apt/lists/* && git --version' ||
    die "could not install git in the new root"
  rmdir "$tmp/root/root/cpnsim"
  tar -C "$tmp/root" -cf "$base.tmp" .
  mv "$base.tmp" "$base"
  rm -rf --one-file-system "$tmp"
  t_deboot=$((SECONDS - t))
  deboot_note="made now and cached"
  printf 'made %s\nmirror %s\ndebootstrap %s\nseconds %s\n' "$(date -u +%FT%TZ)" "$m" \
    "$(dpkg-query -W -f='${Version}' debootstrap 2> /dev/null)" "$t_deboot" > "$base.info"
  say "pristine root made in ${t_deboot} s: $base ($(du -h "$base" | cut -f1))"
else
  deboot_note="cached: made $(awk '$1 == "made" { print $2 }' "$base.info" 2> /dev/null) in $(awk '$1 == "seconds" { print $2 }' "$base.info" 2> /dev/null) s"
  say "pristine root: $base ($deboot_note)"
fi
flock -u 9

# (2) A new root for this run; removed on exit (after the namespaces are gone, nothing is mounted in it).
work=$(mktemp -d /var/tmp/cpnsim-fresh.XXXXXX)
cleanup() {
  [ -n "$work" ] && [ -d "$work" ] || return 0
  if [ "${CPN_FRESH_KEEP:-0}" = 1 ]; then say "kept $work/root"; return 0; fi
  if grep -q " ${work}[/ ]" /proc/self/mountinfo; then
    echo "fresh-check: something is still mounted under $work: not removing it" >&2
  else
    rm -rf --one-file-system "$work"
  fi
  work=
}
trap cleanup EXIT
say "copying the pristine root to $work/root"
t=$SECONDS
mkdir "$work/root"
tar -C "$work/root" -xf "$base"
cp -L /etc/resolv.conf "$work/root/etc/resolv.conf"
t_copy=$((SECONDS - t))

# (3) The clone, at the commit checked.
say "cloning $here at $sha into /root/cpnsim"
t=$SECONDS
git clone -q --no-hardlinks "$here" "$work/root/root/cpnsim"
git -C "$work/root/root/cpnsim" checkout -q --detach "$sha"
t_clone=$((SECONDS - t))

# (4) README's command.
say "running README's $what command as root in the fresh root, in /root/cpnsim, with env -i:"
say "  $cmd"
set +e
run_cmd=$cmd
if [ -n "${CPN_FRESH_THEN:-}" ]; then
  say "then, in the same root: $CPN_FRESH_THEN"
  run_cmd="$cmd; s=\$?; echo \"fresh-check: README's command exited \$s; then: $CPN_FRESH_THEN\"; $CPN_FRESH_THEN; t=\$?; [ \$s -ne 0 ] && exit \$s; exit \$t"
fi
unshare --mount --pid --fork --kill-child --propagation private bash "$self" --in-root "$work/root" "$work/marks" "$run_cmd"
status=$?
set -e
mark() { awk -v k="$1" '$1 == k { print $2; exit }' "$work/marks" 2> /dev/null; }
t_end=$(mark end); t_apt=$(mark apt); t_build=$(mark build)
t_end=${t_end:-0}
say "removing $work (the root, about 1.5 GB after setup)"
t=$SECONDS
cleanup
t_remove=$((SECONDS - t))
last=$([ "$what" = test ] && echo tests || echo run)
if [ -n "$t_apt" ] && [ -n "$t_build" ]; then
  phases="setup (apt) ${t_apt}, setup (build) $((t_build - t_apt)), $last $((t_end - t_build))"
elif [ -n "$t_apt" ]; then
  phases="setup (apt) ${t_apt}, setup (build, stopped) $((t_end - t_apt))"
else
  phases="setup (apt, stopped) ${t_end}"
fi
say "timings in seconds: debootstrap ${t_deboot} ($deboot_note), copy ${t_copy}, clone ${t_clone}, $phases," \
    "remove ${t_remove}; total $((SECONDS - t0))"
say "README's $what command exited $status in a fresh Debian 12 root"
exit "$status"
