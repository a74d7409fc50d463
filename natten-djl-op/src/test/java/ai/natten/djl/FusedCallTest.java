package ai.natten.djl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.types.DataType;
import ai.natten.core.NaOptions;
import ai.natten.core.NaProblem;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The slots the engine extension fills (na_autograd.cc) reach the kernels by name. */
class FusedCallTest {

    private static final NaProblem PROBLEM =
            NaProblem.builder()
                    .setOptions(NaOptions.builder().setKernelSize(3).build())
                    .setBatch(1)
                    .setSpatialSize(8)
                    .setHeads(4)
                    .optKvHeads(2)
                    .setHeadDim(16)
                    .build();

    @Test
    void everySlotReachesItsNamedAccessor() {
        long[] addresses = new long[FusedBuffers.COUNT];
        Random random = new Random();
        for (int i = 0; i < addresses.length; i++) {
            addresses[i] = random.nextLong();
        }
        Recorder kernels = new Recorder();
        FusedCall call = new FusedCall(kernels, PROBLEM, DataType.BFLOAT16);
        call.forward(0x51L, addresses);
        call.backward(0x52L, addresses);
        assertEquals(List.of("forward 81", "backward 82"), kernels.calls);
        assertEquals(4096L, call.workspaceBytes());
        FusedBuffers b = kernels.last;
        long[] named = {
            b.q(),
            b.k(),
            b.v(),
            b.rpb(),
            b.additionalK(),
            b.additionalV(),
            b.out(),
            b.lse(),
            b.dOut(),
            b.dq(),
            b.dk(),
            b.dv(),
            b.dRpb(),
            b.dAdditionalK(),
            b.dAdditionalV(),
            b.workspace()
        };
        for (int slot = 0; slot < FusedBuffers.COUNT; slot++) {
            assertEquals(addresses[slot], named[slot], "slot " + slot);
            assertEquals(addresses[slot], b.get(slot), "slot " + slot);
        }
        addresses[FusedBuffers.Q] = 0;
        assertEquals(named[FusedBuffers.Q], b.q(), "the buffers keep their own copy");
    }

    @Test
    void aWrongSlotCountIsRefused() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> new FusedBuffers(new long[8]));
        assertEquals("addresses must hold 16 slots, got 8 slots", e.getMessage());
    }

    /** Records the calls it gets. */
    private static final class Recorder implements FusedKernels {

        final List<String> calls = new ArrayList<>();
        FusedBuffers last;

        @Override
        public Availability availability() {
            return Availability.available();
        }

        @Override
        public String unsupported(NaProblem problem, DataType type, boolean backward) {
            return null;
        }

        @Override
        public long backwardWorkspaceBytes(NaProblem problem, DataType type) {
            assertSame(PROBLEM, problem);
            assertEquals(DataType.BFLOAT16, type);
            return 4096;
        }

        @Override
        public void forward(NaProblem problem, DataType type, long stream, FusedBuffers buffers) {
            record("forward", problem, type, stream, buffers);
        }

        @Override
        public void backward(NaProblem problem, DataType type, long stream, FusedBuffers buffers) {
            record("backward", problem, type, stream, buffers);
        }

        private void record(
                String what, NaProblem problem, DataType type, long stream, FusedBuffers buffers) {
            assertSame(PROBLEM, problem);
            assertEquals(DataType.BFLOAT16, type);
            calls.add(what + " " + stream);
            last = buffers;
        }
    }
}
