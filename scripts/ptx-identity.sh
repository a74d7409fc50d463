#!/usr/bin/env bash
# Proves that a change to the fused kernels' CUDA sources leaves the generated code as it was (a
# refactor): compiles natten-kernels/src/main/cuda/natten.cu to PTX at BASE_REV and in the working
# tree, with the flags of build.sh, for each virtual ARCH, and compares every entry point after
# renumbering what the compiler numbers freely (registers in order of first use, basic-block labels,
# local depots, the counts in .reg declarations). Needs nvcc and python3; no GPU.
#
#   scripts/ptx-identity.sh [BASE_REV] [ARCH...]     e.g. scripts/ptx-identity.sh main compute_80 compute_90a
#
# Defaults: BASE_REV = HEAD, ARCH = compute_80. Prints per ARCH the number of entry points compared,
# then any that differ, are new or are gone; exits 1 if any does. A differing one is marked "the
# same instructions, reordered" when its instructions with registers and labels blanked are the
# same lines in another order (weaker than identity: operands may be permuted too; a GPU test run
# decides), else "other instructions"; then the first lines of that blanked diff. Work files stay
# in $PTX_WORK (default: a fresh temporary folder) for a closer look.
# One compile takes about 40 s per ARCH and tree on one core (nvcc runs the two trees in parallel).
set -euo pipefail
root="$(git rev-parse --show-toplevel)"
base="${1:-HEAD}"
shift || true
archs=("$@")
[ ${#archs[@]} -eq 0 ] && archs=(compute_80)
cuda=natten-kernels/src/main/cuda
work="${PTX_WORK:-$(mktemp -d)}"
mkdir -p "$work/base"
git -C "$root" archive "$base" "$cuda" | tar -x -C "$work/base"

normalize() {  # $1: PTX file, $2: output folder, one normalized file per entry point
    python3 - "$1" "$2" <<'EOF'
import os, re, sys
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
token = re.compile(r"(%[a-z]+|\$L__[A-Za-z]+|__local_depot)(\d+(?:_\d+)?)")
name = None
for line in open(src):
    if name is None:
        m = re.match(r"\.(?:visible |weak )?\.entry (\w+)\(", line)
        if not m:
            continue
        name, body, seen, count = m.group(1), [], {}, {}
    line = re.sub(r"(\.reg \.\w+\s+%[a-z]+)<\d+>", r"\1<N>", line)
    def renumber(t):
        if t.group(0) not in seen:
            count[t.group(1)] = count.get(t.group(1), -1) + 1
            seen[t.group(0)] = t.group(1) + "#" + str(count[t.group(1)])
        return seen[t.group(0)]
    body.append(token.sub(renumber, line))
    if line.startswith("}"):
        open(os.path.join(out, name + ".ptx"), "w").writelines(body)
        name = None
EOF
}

shape() { sed -E 's/%[a-z]+#[0-9]+/%R/g; s/\$L__[A-Za-z]+#[0-9_]+/L/g' "$1"; }

status=0
for arch in "${archs[@]}"; do
    for tree in base head; do
        dir="$root/$cuda"
        [ "$tree" = base ] && dir="$work/base/$cuda"
        nvcc -ptx -O3 -std=c++17 -gencode="arch=$arch,code=$arch" -o "$work/$tree.$arch.ptx" "$dir/natten.cu" &
    done
    wait
    for tree in base head; do normalize "$work/$tree.$arch.ptx" "$work/$tree.$arch"; done
    same=0 differ=()
    for f in "$work/base.$arch"/*.ptx; do
        e="$(basename "$f" .ptx)"
        if [ ! -f "$work/head.$arch/$e.ptx" ]; then
            echo "$arch: $e is gone"; status=1
        elif cmp -s "$f" "$work/head.$arch/$e.ptx"; then
            same=$((same + 1))
        else
            differ+=("$e"); status=1
        fi
    done
    for f in "$work/head.$arch"/*.ptx; do
        [ -f "$work/base.$arch/$(basename "$f")" ] || { echo "$arch: $(basename "$f" .ptx) is new"; status=1; }
    done
    echo "$arch: $(ls "$work/base.$arch" | wc -l) entry points at $base, $same identical, ${#differ[@]} differ"
    for e in "${differ[@]}"; do
        if cmp -s <(shape "$work/base.$arch/$e.ptx" | sort) <(shape "$work/head.$arch/$e.ptx" | sort); then
            echo "--- $e: the same instructions, reordered"
        else
            echo "--- $e: other instructions"
        fi
        diff <(shape "$work/base.$arch/$e.ptx") <(shape "$work/head.$arch/$e.ptx") | head -20 || true
    done
done
echo "work files: $work"
exit $status
