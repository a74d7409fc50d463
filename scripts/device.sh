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
#                                 djl    DJL on the device's torch: GPU tests of natten-djl-op and
#                                        ai.natten.djl.NaDjlBench (bundle with MODULES including
#                                        natten-djl-op; see "DJL mode" below)
#                                 app    natten train on the full Fashion-MNIST on the GPU through
#                                        DJL (as djl), $APP_ARGS appended; run files to $OUT
#                                        (bundle with MODULES including natten-app: the bundle
#                                        then holds Debian's Fashion-MNIST idx files)
#                                 appbench natten bench of training and inference steps
#                                        (nat_mini, 56 px, batch 512, fused; one run per line of
#                                        $APP_BENCH, default fp32 and fp16) on every GPU (as app)
#                                 profile Nsight Compute (ncu, clocks left alone) on the first
#                                        launch of each kernel of $PROFILE_KERNELS (regexes, default
#                                        the tensor-core forward, dq and dk/dv kernels) in the
#                                        KernelBench run of each problem of $PROFILE_PROBLEMS
#                                        (default 2d-128-k31); one report per pair in $OUT/ncu/ with
#                                        stall reasons and executed instructions per opcode
#                                 ab     A/B of kernel builds in one call: KernelBench ($AB_ARGS,
#                                        default --backward --runs 10; $AB_PROBLEMS, default all)
#                                        with the bundle's natten-kernels jar and each jar the bundle
#                                        step copied from $AB_JARS ("name=path.jar ...", e.g. the
#                                        previous commit's build) in turn, two interleaved rounds
#                                        (clocks drift between calls by a few %); $OUT/ab.log
#                                 sass   per sm_90a kernel: HMMA, LDSM, local-memory (LDL/STL) and
#                                        shared-atomic (ATOMS, of them CAS loops) instruction counts
#                                        (cuobjdump of the packaged fatbin)
#
# DJL mode: DJL's published JNI is built for libtorch 2.7.1, the device runs torch 2.11, so the step
# needs DJL's JNI (libdjl_torch.so) and the natten engine extension (libnatten_djl_torch.so) built
# for the device's torch. It takes them from $BUNDLE/djl/ (bundle copies DJL_NATIVE, default
# /work/main/.device-ext/so, when it holds them); a missing one is built there, DJL's from the kit
# in .djl-jni/ (DJL's sources, never committed; carry it) and the extension from the bundled copy
# of natten-djl-op/src/main/native, and copied to $OUT to keep for the next bundle.
#
# Device call: run(command="bash .device/device.sh gpu", carry=[".device"]).
# App: MODULES=natten-app scripts/device.sh bundle, then
#      run(command="bash .device/device.sh gpu app", carry=[".device", ".djl-jni"]).
# DJL: MODULES=natten-kernels,natten-djl-op scripts/device.sh bundle, then
#      run(command="bash .device/device.sh gpu djl", carry=[".device", ".djl-jni"]).
# Environment: BUNDLE (default /work/main/.device), MODULES (Maven -pl list, default natten-kernels),
# DJL_TESTS (class-name pattern of the djl step, default .*GpuTest), DJL_PACKAGE (the package the
# djl step's tests are selected from, default ai.natten.djl; ai.natten.app for the app's), DJL_BENCH
# (0 skips the bench), BENCH_ARGS (e.g. --backward), TEST_CLASSES (class-name regex of the tests step,
# default .*GpuTest), TEST_JVM_OPTS (e.g. -Dnatten.cuda.planRank=1 for
# the tests step), AB_JARS, AB_ARGS, AB_PROBLEMS (the ab step), PEER_FLEX (default
# /work/shared/bench/peer_flex.py), FASHION_MNIST (default /usr/share/datasets/fashion-mnist),
# APP_ARGS (extra train options), APP_TIMEOUT (seconds, default 3600; a run must finish in one call:
# nothing written on the device, not even an ignored folder of the checkout, was there for the next
# call on the same warm machine), TESTS (0: no test classes and no JUnit launcher in the bundle, to
# stay under the 64 MiB a call; MODULES=natten-kernels,natten-app with tests fits, just).
set -euo pipefail

JUNIT_CONSOLE="org.junit.platform:junit-platform-console-standalone:1.11.4"
JRE_MODULES="java.base,java.logging,java.management,java.naming,java.xml,jdk.unsupported,jdk.zipfs,java.desktop"

bundle() {
    local repo bundle_dir modules
    repo="$(cd "$(dirname "$0")/.." && pwd)"
    bundle_dir="${BUNDLE:-/work/main/.device}"
    modules="${MODULES:-natten-kernels}"
    rm -rf "$bundle_dir" && mkdir -p "$bundle_dir/lib" "$bundle_dir/tests"
    # The modules' jars and runtime jars, in one reactor build so that modules resolve each other
    # (JUnit comes with the console launcher; DJL's CPU libtorch and JNI are not for the device).
    (cd "$repo" && mvn -q -o package dependency:copy-dependencies -DskipTests -pl "$modules" -am \
        -DincludeScope=test \
        -DexcludeGroupIds=org.junit.jupiter,org.junit.platform,org.opentest4j,org.apiguardian \
        -DexcludeArtifactIds=pytorch-native-cpu,pytorch-jni \
        -DoutputDirectory="$bundle_dir/lib")
    local m
    for m in ${modules//,/ }; do
        cp "$repo/$m"/target/"$m"*.jar "$bundle_dir/lib/"
    done
    if [ "${TESTS:-1}" != 0 ]; then
        (cd "$repo" && mvn -q dependency:copy -Dartifact="$JUNIT_CONSOLE" -DoutputDirectory="$bundle_dir")
        mv "$bundle_dir"/junit-platform-console-standalone-*.jar "$bundle_dir/junit-console.jar"
        for m in ${modules//,/ }; do
            jar cf "$bundle_dir/tests/$m-tests.jar" -C "$repo/$m/target/test-classes" .
        done
    fi
    # Only the driver API's JNI library of JCuda is used: drop the others (the PTX compiler's alone
    # is 24 MB).
    python3 - "$bundle_dir"/lib/jcuda-natives-*.jar <<'PY'
import sys, zipfile, os
path = sys.argv[1]
with zipfile.ZipFile(path) as src, zipfile.ZipFile(path + ".tmp", "w", zipfile.ZIP_DEFLATED) as dst:
    for item in src.infolist():
        if not item.filename.startswith("lib/") or "JCudaDriver" in item.filename:
            dst.writestr(item, src.read(item.filename))
os.replace(path + ".tmp", path)
PY
    rm -f "$bundle_dir"/lib/natten-*-SNAPSHOT.jar.tmp
    local jre
    jre="$(mktemp -d)/jre"
    # An uncompressed image in an xz tarball: about half the size of a compressed image in gzip;
    # stripped native libraries save another MB or so (the bundle's 64 MiB are tight with the app).
    jlink --add-modules "$JRE_MODULES" --strip-debug --no-header-files --no-man-pages \
        --output "$jre"
    find "$jre" -name '*.so' -exec strip --strip-unneeded {} +
    tar cf - -C "$(dirname "$jre")" jre | xz -9 -T2 >"$bundle_dir/jre.txz"
    rm -rf "$(dirname "$jre")"
    local pair
    for pair in ${AB_JARS:-}; do  # name=path: other builds of natten-kernels for the ab step
        mkdir -p "$bundle_dir/ab"
        cp "${pair#*=}" "$bundle_dir/ab/${pair%%=*}.jar"
    done
    cp "${PEER_FLEX:-/work/shared/bench/peer_flex.py}" "$bundle_dir/peer_flex.py"
    cp "$0" "$bundle_dir/device.sh"
    local natives="${DJL_NATIVE:-/work/main/.device-ext/so}"
    if [[ ",$modules," == *",natten-djl-op,"* || ",$modules," == *",natten-app,"* ]]; then
        cp -r "$repo/natten-djl-op/src/main/native" "$bundle_dir/extension-src"
        mkdir -p "$bundle_dir/djl"
        if [ -d "$natives" ]; then
            cp "$natives"/*.so "$bundle_dir/djl/"
            chmod u+w "$bundle_dir"/djl/*.so && strip --strip-unneeded "$bundle_dir"/djl/*.so
        fi
    fi
    if [[ ",$modules," == *",natten-app,"* ]]; then
        # xz instead of gzip: 4 MB less to carry; app_train restores the gzip files on the device,
        # which trains on them: the jar's embedded subset (2 MB) stays here.
        zip -q -d "$bundle_dir/lib/natten-app.jar" 'ai/natten/app/data/fashion-mnist/*'
        mkdir -p "$bundle_dir/fashion-mnist"
        local f
        for f in "${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}"/*-ubyte.gz; do
            gzip -dc "$f" | xz -9 -T2 >"$bundle_dir/fashion-mnist/$(basename "$f" .gz).xz"
        done
    fi
    du -sh "$bundle_dir"
}

gpu() {
    local here out java cp steps
    here="$(cd "$(dirname "$0")" && pwd)"
    out="${OUT:-/tmp/device-out}"
    mkdir -p "$out" /tmp/natten-jre
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
        "$here/jre.txz" /tmp/natten-jre
    java=/tmp/natten-jre/jre/bin/java
    cp="$( (ls "$here"/lib/*.jar "$here"/tests/*.jar 2>/dev/null || true) | paste -sd: -)"
    steps=("$@")
    [ ${#steps[@]} -eq 0 ] && steps=(tests bench flex)
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu --format=csv \
        | tee "$out/gpu.txt" || true
    local status=0 step
    for step in "${steps[@]}"; do
        case "$step" in
            tests)
                # shellcheck disable=SC2086
                "$java" ${TEST_JVM_OPTS:-} -jar "$here/junit-console.jar" execute --class-path "$cp" \
                    --select-package ai.natten --include-classname "${TEST_CLASSES:-.*GpuTest}" \
                    --details=tree --disable-banner 2>&1 | tee "$out/tests.log" || status=1 ;;
            bench)
                # shellcheck disable=SC2086
                "$java" -cp "$cp" ai.natten.cuda.bench.KernelBench ${BENCH_ARGS:-} 2>&1 \
                    | tee "$out/bench.log" || status=1 ;;
            djl)
                djl_tests "$here" "$java" "$cp" "$out" || status=1 ;;
            app)
                app_train "$here" "$java" "$out" || status=1 ;;
            appbench)
                app_bench "$here" "$java" "$out" || status=1 ;;
            flex)
                PYTHONUNBUFFERED=1 python3 "$here/peer_flex.py" 2>&1 | tee "$out/flex.log" || status=1 ;;
            profile)
                profile "$java" "$cp" "$out" || status=1 ;;
            ab)
                ab "$here" "$java" "$out" || status=1 ;;
            sass)
                python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("ai/natten/cuda/natten.fatbin"))' \
                    "$here"/lib/natten-kernels-*.jar >/tmp/natten.fatbin || status=1
                PATH="$PATH:/usr/local/cuda/bin" cuobjdump -sass -arch sm_90a /tmp/natten.fatbin | awk '
                    /Function :/ { if (f) printf "%-32s HMMA %5d  LDSM %5d  LDL/STL %4d  ATOMS %3d (CAS %d)\n", f, h, m, l, a, c; f = $3; h = m = l = a = c = 0 }
                    /HMMA/ { h++ } /LDSM/ { m++ } /LDL|STL/ { l++ } /ATOMS/ { a++ } /ATOMS\.CAS/ { c++ }
                    END { if (f) printf "%-32s HMMA %5d  LDSM %5d  LDL/STL %4d  ATOMS %3d (CAS %d)\n", f, h, m, l, a, c }' \
                    | tee "$out/sass.txt" || status=1 ;;
            *) echo "unknown step $step" >&2; status=2 ;;
        esac
    done
    return $status
}

# KernelBench with the bundle's kernels jar ("bundle") and each of $here/ab/*.jar in turn, two
# interleaved rounds, into $out/ab.log (tables only).
ab() {
    local here="$1" java="$2" out="$3" rest round jar name
    rest="$(ls "$here"/lib/*.jar | grep -v '/natten-kernels-' | paste -sd:)"
    for round in 1 2; do
        for jar in "$here"/lib/natten-kernels-*.jar "$here"/ab/*.jar; do
            [ -f "$jar" ] || continue
            name="$(basename "$jar" .jar)"
            [[ "$jar" == "$here"/lib/* ]] && name=bundle
            echo "== round $round: $name"
            # shellcheck disable=SC2086
            "$java" -cp "$rest:$jar" ai.natten.cuda.bench.KernelBench ${AB_ARGS:---backward --runs 10} \
                ${AB_PROBLEMS:+--problems "$AB_PROBLEMS"} 2>&1 | grep -v '^{'
        done
    done | tee "$out/ab.log"
}

# Nsight Compute: throughput, pipe use, stall reasons and occupancy of single kernel launches.
profile() {
    local java="$1" cp="$2" out="$3" ncu problem kernel
    ncu="$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1)"
    [ -n "$ncu" ] || { echo "no ncu on this machine" >&2; return 1; }
    mkdir -p "$out/ncu"
    for problem in ${PROFILE_PROBLEMS:-2d-128-k31}; do
        for kernel in ${PROFILE_KERNELS:-na_fwd_tc na_bwd_dq_tc na_bwd_dkdv_tc}; do
            # Stall reasons per issued instruction and executed instructions per SASS opcode too.
            "$ncu" --clock-control none --target-processes all -k "regex:$kernel" -c 1 \
                --section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis \
                --section WarpStateStats --section SchedulerStats --section Occupancy --section LaunchStats \
                --metrics 'regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio$,sass__inst_executed_per_opcode' \
                --print-metric-instances details \
                "$java" -cp "$cp" ai.natten.cuda.bench.KernelBench --backward --runs 1 --problems "$problem" \
                >"$out/ncu/$problem-$kernel.txt" 2>&1 || echo "ncu failed on $problem $kernel" >&2
        done
    done
}

# DJL on the device's torch 2.11: DJL's JNI and the engine extension built for it, and a folder of
# torch's libraries for DJL (PYTORCH_LIBRARY_PATH); sets DJL_OPTS, the JVM options that use them.
djl_env() {
    local here="$1" out="$2" repo torch_lib torch_cmake version nvlibs lib so
    repo="$PWD"
    so="$here/djl"
    mkdir -p "$so"
    torch_lib="$(python3 -c 'import torch,os;print(os.path.join(os.path.dirname(torch.__file__),"lib"))')"
    torch_cmake="$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')"
    version="$(python3 -c 'import torch;print(torch.__version__.split("+")[0])')"
    nvlibs="$(python3 -c 'import nvidia,os;print(":".join(sorted({d for r in nvidia.__path__ for d,_,f in os.walk(r) if any(".so" in x for x in f)})))')"
    if [ ! -f "$so/libdjl_torch.so" ]; then
        bash "$repo/.djl-jni/build.sh" "$so" && cp "$so/libdjl_torch.so" "$out/" || return 1
    fi
    if [ ! -f "$so/libnatten_djl_torch.so" ]; then
        cmake -S "$here/extension-src" -B /tmp/natten-ext -G Ninja \
            -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$torch_cmake" \
            -DJNI_INCLUDE_DIR="$repo/.djl-jni/jni" >/tmp/natten-ext.log 2>&1 \
            && cmake --build /tmp/natten-ext >>/tmp/natten-ext.log 2>&1 \
            || { tail -30 /tmp/natten-ext.log; return 1; }
        cp /tmp/natten-ext/libnatten_djl_torch.so "$so/" && cp "$so/libnatten_djl_torch.so" "$out/"
    fi
    lib=/tmp/natten-torch-lib
    mkdir -p "$lib"
    ln -sf "$torch_lib"/*.so* "$lib/"
    cp "$so/libdjl_torch.so" "$lib/"
    # DJL loads every library of the folder by path; their CUDA dependencies come from pip's nvidia.
    export LD_LIBRARY_PATH="$nvlibs:$torch_lib:${LD_LIBRARY_PATH:-}"
    export PYTORCH_LIBRARY_PATH="$lib" PYTORCH_VERSION="$version" PYTORCH_FLAVOR=cu130
    DJL_OPTS=(-Dai.djl.offline=true -Djna.library.path="$nvlibs"
        -Dnatten.native.path="$so/libnatten_djl_torch.so")
}

# The DJL GPU tests and the benchmark.
djl_tests() {
    local here="$1" java="$2" cp="$3" out="$4"
    djl_env "$here" "$out" || return 1
    local status=0
    "$java" "${DJL_OPTS[@]}" -jar "$here/junit-console.jar" execute --class-path "$cp" \
        --select-package "${DJL_PACKAGE:-ai.natten.djl}" --include-classname "${DJL_TESTS:-.*GpuTest}" \
        --details=tree --disable-banner 2>&1 | tee "$out/djl-tests.log" || status=1
    if [ "${DJL_BENCH:-1}" = 1 ]; then
        "$java" "${DJL_OPTS[@]}" -cp "$cp" ai.natten.djl.NaDjlBench 2>&1 | tee "$out/djl-bench.log" \
            || status=1
    fi
    return $status
}

# natten bench (training and inference steps through DJL on the GPU), once per line of
# $APP_BENCH (default: nat_mini at 56 px, batch 512, fused, fp32 and fp16, every GPU).
app_bench() {
    local here="$1" java="$2" out="$3" status=0 args
    djl_env "$here" "$out" || return 1
    local runs="${APP_BENCH:-"--precision fp32
--precision fp16"}"
    while IFS= read -r args; do
        [ -z "$args" ] && continue
        local devices=(--devices gpu)
        [[ "$args" == *--devices* ]] && devices=()
        # shellcheck disable=SC2086
        "$java" "${DJL_OPTS[@]}" -cp "$here/lib/*" ai.natten.app.cli.NattenCommand bench \
            --model nat_mini --image-size 56 --classes 10 --batch-size 512 --backend fused \
            "${devices[@]}" --mode both $args 2>&1 | tee -a "$out/app-bench.log" || status=1
    done <<<"$runs"
    return $status
}

# natten train on the full Fashion-MNIST through DJL on the GPU; the run's logs and plot to $OUT.
app_train() {
    local here="$1" java="$2" out="$3" run=/tmp/natten-run data=/tmp/fashion-mnist status=0
    djl_env "$here" "$out" || return 1
    rm -rf "$run" && mkdir -p "$data"
    python3 - "$here/fashion-mnist" "$data" <<'PY'
import gzip, lzma, os, sys
src, dst = sys.argv[1], sys.argv[2]
for name in os.listdir(src):
    with lzma.open(os.path.join(src, name)) as i, gzip.open(os.path.join(dst, name[:-3] + ".gz"), "wb", 1) as o:
        o.write(i.read())
PY
    # shellcheck disable=SC2086
    timeout "${APP_TIMEOUT:-3600}" "$java" "${DJL_OPTS[@]}" -cp "$here/lib/*" ai.natten.app.cli.NattenCommand train \
        --fashion-mnist "$data" --devices gpu --output "$run" ${APP_ARGS:-} 2>&1 \
        | tr '\r' '\n' | grep -v '^ *$' | tee "$out/app.log" || status=1
    find "$run" -maxdepth 1 -type f \( -name '*.csv' -o -name '*.json' -o -name '*.png' \) \
        -exec cp {} "$out/" \;
    return $status
}

case "${1:-}" in
    bundle) shift; bundle "$@" ;;
    gpu) shift; gpu "$@" ;;
    *) awk 'NR > 1 && /^# DJL mode/ { exit } NR > 1' "$0"; exit 2 ;;
esac
