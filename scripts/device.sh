#!/usr/bin/env bash
# Runs the GPU proof of the fused kernels on the lent GPU machine (which has no Java and no Maven).
#
#   scripts/device.sh bundle      HERE: build the jars and test classes (Maven reactor), a jlink'd
#                                 JRE, the runtime jars, the JUnit console launcher, peer_flex.py and
#                                 this script into /work/main/.device (git-ignored, < 60 MiB).
#   .device/device.sh gpu [STEP]  ON THE DEVICE, from the checkout's root: unpack the JRE and run
#                                 the STEPs (default: tests bench flex), logs to $OUT:
#                                 tests  GPU JUnit tests (classes named *GpuTest)
#                                 bench  ai.natten.cuda.bench.KernelBench $BENCH_ARGS
#                                 flex   python3 peer_flex.py (FlexAttention and SDPA figures)
#
# Device call: run(command="bash .device/device.sh gpu", carry=[".device"]).
# Environment: BUNDLE (default /work/main/.device), MODULES (Maven -pl list, default natten-kernels),
# BENCH_ARGS (e.g. --backward), PEER_FLEX (default /work/shared/bench/peer_flex.py).
set -euo pipefail

JUNIT_CONSOLE="org.junit.platform:junit-platform-console-standalone:1.11.4"
JRE_MODULES="java.base,java.logging,java.management,java.naming,java.xml,jdk.unsupported,jdk.zipfs,java.desktop"

bundle() {
    local repo bundle_dir modules
    repo="$(cd "$(dirname "$0")/.." && pwd)"
    bundle_dir="${BUNDLE:-/work/main/.device}"
    modules="${MODULES:-natten-kernels}"
    rm -rf "$bundle_dir" && mkdir -p "$bundle_dir/lib" "$bundle_dir/tests"
    (cd "$repo" && mvn -q -o package -DskipTests -pl "$modules" -am)
    # Runtime jars of the modules (JUnit comes with the console launcher).
    (cd "$repo" && mvn -q -o dependency:copy-dependencies -pl "$modules" -DincludeScope=test \
        -DexcludeGroupIds=org.junit.jupiter,org.junit.platform,org.opentest4j,org.apiguardian \
        -DoutputDirectory="$bundle_dir/lib")
    (cd "$repo" && mvn -q dependency:copy -Dartifact="$JUNIT_CONSOLE" -DoutputDirectory="$bundle_dir")
    mv "$bundle_dir"/junit-platform-console-standalone-*.jar "$bundle_dir/junit-console.jar"
    local m
    for m in ${modules//,/ }; do
        cp "$repo/$m"/target/"$m"-*.jar "$bundle_dir/lib/"
        jar cf "$bundle_dir/tests/$m-tests.jar" -C "$repo/$m/target/test-classes" .
    done
    rm -f "$bundle_dir"/lib/natten-*-SNAPSHOT.jar.tmp
    local jre
    jre="$(mktemp -d)/jre"
    jlink --add-modules "$JRE_MODULES" --strip-debug --no-header-files --no-man-pages \
        --compress=2 --output "$jre"
    tar czf "$bundle_dir/jre.tgz" -C "$(dirname "$jre")" jre
    rm -rf "$(dirname "$jre")"
    cp "${PEER_FLEX:-/work/shared/bench/peer_flex.py}" "$bundle_dir/peer_flex.py"
    cp "$0" "$bundle_dir/device.sh"
    du -sh "$bundle_dir"
}

gpu() {
    local here out java cp steps
    here="$(cd "$(dirname "$0")" && pwd)"
    out="${OUT:-/tmp/device-out}"
    mkdir -p "$out" /tmp/natten-jre
    tar xzf "$here/jre.tgz" -C /tmp/natten-jre
    java=/tmp/natten-jre/jre/bin/java
    cp="$(ls "$here"/lib/*.jar "$here"/tests/*.jar | paste -sd: -)"
    steps=("$@")
    [ ${#steps[@]} -eq 0 ] && steps=(tests bench flex)
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu --format=csv \
        | tee "$out/gpu.txt" || true
    local status=0 step
    for step in "${steps[@]}"; do
        case "$step" in
            tests)
                "$java" -jar "$here/junit-console.jar" execute --class-path "$cp" \
                    --select-package ai.natten --include-classname '.*GpuTest' \
                    --details=tree --disable-banner 2>&1 | tee "$out/tests.log" || status=1 ;;
            bench)
                # shellcheck disable=SC2086
                "$java" -cp "$cp" ai.natten.cuda.bench.KernelBench ${BENCH_ARGS:-} 2>&1 \
                    | tee "$out/bench.log" || status=1 ;;
            flex)
                PYTHONUNBUFFERED=1 python3 "$here/peer_flex.py" 2>&1 | tee "$out/flex.log" || status=1 ;;
            *) echo "unknown step $step" >&2; status=2 ;;
        esac
    done
    return $status
}

case "${1:-}" in
    bundle) shift; bundle "$@" ;;
    gpu) shift; gpu "$@" ;;
    *) sed -n '2,17p' "$0"; exit 2 ;;
esac
