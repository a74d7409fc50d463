package ai.natten.djl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import ai.natten.core.NaOptions;
import ai.natten.core.NaProblem;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class BackendSelectorTest {

    private static final Device GPU = Device.gpu(0);
    private static final NaProblem PROBLEM =
            NaProblem.builder()
                    .setOptions(NaOptions.builder().setKernelSize(7).build())
                    .setBatch(2)
                    .setSpatialSize(14, 14)
                    .setHeads(2)
                    .setHeadDim(32)
                    .build();

    private final List<String> logged = new ArrayList<>();
    private final FallbackLog log = new FallbackLog(logged::add);

    @Test
    void compositeIsAlwaysComposite() {
        BackendSelector selector = new BackendSelector(neverAsked(), new FakeKernels(null), log);
        for (DataType type : new DataType[] {DataType.FLOAT32, DataType.FLOAT64}) {
            assertEquals(
                    NaBackend.COMPOSITE,
                    selector.select(NaBackend.COMPOSITE, PROBLEM, type, GPU, "PyTorch", true, 0f));
        }
        assertEquals(List.of(), logged);
    }

    @Test
    void autoIsFusedWhenEverythingHolds() {
        BackendSelector selector =
                new BackendSelector(Availability::available, new FakeKernels(null), log);
        for (DataType type :
                new DataType[] {DataType.FLOAT32, DataType.FLOAT16, DataType.BFLOAT16}) {
            assertEquals(
                    NaBackend.FUSED,
                    selector.select(NaBackend.AUTO, PROBLEM, type, GPU, "PyTorch", true, 0f));
            assertEquals(
                    NaBackend.FUSED,
                    selector.select(NaBackend.FUSED, PROBLEM, type, GPU, "PyTorch", true, 0f));
        }
        assertEquals(List.of(), logged);
    }

    @Test
    void autoOnCpuFallsBackWithoutLoadingTheExtensionAndLogsOnce() {
        BackendSelector selector = new BackendSelector(neverAsked(), new FakeKernels(null), log);
        for (int call = 0; call < 5; call++) {
            assertEquals(
                    NaBackend.COMPOSITE,
                    selector.select(
                            NaBackend.AUTO,
                            PROBLEM,
                            DataType.FLOAT32,
                            Device.cpu(),
                            "PyTorch",
                            true,
                            0f));
        }
        assertEquals(
                List.of(
                        "NaBackend.AUTO uses the composite backend: the inputs are on cpu(), the"
                                + " fused kernels run on CUDA GPUs"),
                logged);
    }

    @Test
    void eachDistinctReasonIsLoggedOnce() {
        String[] reason = {"the engine extension was built for libtorch 2.6.0"};
        BackendSelector selector =
                new BackendSelector(
                        () -> Availability.unavailable(reason[0]), new FakeKernels(null), log);
        for (int call = 0; call < 3; call++) {
            assertEquals(
                    NaBackend.COMPOSITE,
                    selector.select(
                            NaBackend.AUTO, PROBLEM, DataType.FLOAT16, GPU, "PyTorch", true, 0f));
        }
        reason[0] = "no engine extension is configured";
        selector.select(NaBackend.AUTO, PROBLEM, DataType.FLOAT16, GPU, "PyTorch", true, 0f);
        selector.select(NaBackend.AUTO, PROBLEM, DataType.FLOAT16, GPU, "PyTorch", true, 0f);
        assertEquals(
                List.of(
                        "NaBackend.AUTO uses the composite backend: the engine extension was built"
                                + " for libtorch 2.6.0",
                        "NaBackend.AUTO uses the composite backend: no engine extension is"
                                + " configured"),
                logged);
    }

    @Test
    void fusedSaysWhyItCannotRun() {
        BackendSelector noExtension =
                new BackendSelector(
                        () -> Availability.unavailable("the extension is missing"),
                        new FakeKernels(null),
                        log);
        assertFusedFails(noExtension, DataType.FLOAT32, GPU, "the extension is missing");
        assertFusedFails(
                noExtension,
                DataType.FLOAT64,
                GPU,
                "the fused kernels take float32, float16 and bfloat16, the inputs are float64");
        assertFusedFails(
                noExtension,
                DataType.FLOAT32,
                Device.cpu(),
                "the inputs are on cpu(), the fused kernels run on CUDA GPUs");

        BackendSelector noKernels =
                new BackendSelector(Availability::available, new MissingKernels(), log);
        assertFusedFails(noKernels, DataType.FLOAT32, GPU, "this build has no fused CUDA kernels");

        BackendSelector unsupported =
                new BackendSelector(
                        Availability::available,
                        new FakeKernels("head dim 12 is not a multiple of 8"),
                        log);
        assertFusedFails(unsupported, DataType.BFLOAT16, GPU, "head dim 12 is not a multiple of 8");
        assertEquals(
                NaBackend.COMPOSITE,
                unsupported.select(
                        NaBackend.AUTO, PROBLEM, DataType.BFLOAT16, GPU, "PyTorch", true, 0f));
        assertEquals(
                List.of(
                        "NaBackend.AUTO uses the composite backend: head dim 12 is not a multiple"
                                + " of 8"),
                logged);
    }

    @Test
    void attentionDropoutRunsComposite() {
        BackendSelector selector =
                new BackendSelector(Availability::available, new FakeKernels(null), log);
        assertEquals(
                NaBackend.FUSED,
                selector.select(
                        NaBackend.AUTO, PROBLEM, DataType.FLOAT16, GPU, "PyTorch", true, 0f));
        assertEquals(
                NaBackend.COMPOSITE,
                selector.select(
                        NaBackend.AUTO, PROBLEM, DataType.FLOAT16, GPU, "PyTorch", true, 0.1f));
        IllegalStateException e =
                assertThrows(
                        IllegalStateException.class,
                        () ->
                                selector.select(
                                        NaBackend.FUSED,
                                        PROBLEM,
                                        DataType.FLOAT16,
                                        GPU,
                                        "PyTorch",
                                        true,
                                        0.1f));
        assertEquals(
                "NaBackend.FUSED cannot run this call: attention dropout (rate 0.1) is implemented"
                        + " by the composite backend only",
                e.getMessage());
    }

    @Test
    void kernelsWithoutBackwardServeOnlyCallsWithoutGradients() {
        BackendSelector selector =
                new BackendSelector(
                        Availability::available,
                        new FakeKernels(null, "the fused backward is missing"),
                        log);
        assertEquals(
                NaBackend.FUSED,
                selector.select(
                        NaBackend.AUTO, PROBLEM, DataType.FLOAT16, GPU, "PyTorch", false, 0f));
        assertEquals(
                NaBackend.COMPOSITE,
                selector.select(
                        NaBackend.AUTO, PROBLEM, DataType.FLOAT16, GPU, "PyTorch", true, 0f));
        assertFusedFails(selector, DataType.FLOAT16, GPU, "the fused backward is missing");
        assertEquals(
                List.of("NaBackend.AUTO uses the composite backend: the fused backward is missing"),
                logged);
    }

    @Test
    void otherEnginesAreComposite() {
        BackendSelector selector = new BackendSelector(neverAsked(), new FakeKernels(null), log);
        assertFusedFails(
                selector,
                DataType.FLOAT32,
                GPU,
                "the fused backend needs DJL's PyTorch engine, the inputs come from MXNet",
                "MXNet");
    }

    @Test
    void theLogKeepsABoundedNumberOfReasons() {
        for (int i = 0; i < FallbackLog.MAX_REASONS + 10; i++) {
            log.fallback("reason " + i);
            log.fallback("reason " + i);
        }
        assertEquals(FallbackLog.MAX_REASONS, logged.size());
        assertEquals("NaBackend.AUTO uses the composite backend: reason 0", logged.get(0));
    }

    private void assertFusedFails(
            BackendSelector selector, DataType type, Device device, String reason) {
        assertFusedFails(selector, type, device, reason, "PyTorch");
    }

    private void assertFusedFails(
            BackendSelector selector, DataType type, Device device, String reason, String engine) {
        IllegalStateException e =
                assertThrows(
                        IllegalStateException.class,
                        () ->
                                selector.select(
                                        NaBackend.FUSED, PROBLEM, type, device, engine, true, 0f));
        assertEquals("NaBackend.FUSED cannot run this call: " + reason, e.getMessage());
    }

    private static Supplier<Availability> neverAsked() {
        return () -> fail("the extension must not be loaded for this call");
    }

    /** Kernels that are present and reject problems with a fixed reason (null: accept all). */
    private static final class FakeKernels implements FusedKernels {

        private final String unsupported;
        private final String backwardMissing;

        FakeKernels(String unsupported) {
            this(unsupported, null);
        }

        FakeKernels(String unsupported, String backwardMissing) {
            this.unsupported = unsupported;
            this.backwardMissing = backwardMissing;
        }

        @Override
        public Availability availability() {
            return Availability.available();
        }

        @Override
        public String unsupported(NaProblem problem, DataType type, boolean backward) {
            assertTrue(problem == PROBLEM, "the selector passes the call's problem");
            return unsupported != null ? unsupported : backward ? backwardMissing : null;
        }

        @Override
        public void forward(NaProblem problem, DataType type, long stream, FusedBuffers buffers) {
            fail("the selector launches nothing");
        }

        @Override
        public void backward(NaProblem problem, DataType type, long stream, FusedBuffers buffers) {
            fail("the selector launches nothing");
        }
    }
}
