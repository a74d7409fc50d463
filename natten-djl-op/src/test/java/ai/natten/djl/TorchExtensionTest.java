package ai.natten.djl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

/** Without a configured extension (as in CI): every entry point says why, nothing crashes. */
class TorchExtensionTest {

    @Test
    void withoutAnExtensionEveryEntryPointSaysWhy() {
        assumeTrue(
                ExtensionLoader.configuredPath() == null,
                "an engine extension is configured in this environment");
        String version = Engine.getEngine("PyTorch").getVersion();
        assertFalse(TorchExtension.isAvailable());
        assertEquals(
                "no engine extension is configured: set -Dnatten.native.path or NATTEN_NATIVE_PATH"
                        + " to a libnatten_djl_torch.so built for libtorch "
                        + version
                        + " (build one against the engine's libtorch as in README 'Fused backend')",
                TorchExtension.unavailableReason());
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray x = manager.randomNormal(new Shape(2, 3));
            String prefix = "the natten engine extension is not available: no engine extension";
            for (Runnable call :
                    new Runnable[] {
                        () -> TorchExtension.toBfloat16(x),
                        () -> TorchExtension.toFloat32(x),
                        () -> TorchExtension.dataType(x),
                        () -> TorchExtension.contiguous(x),
                        () -> TorchExtension.currentStream(Device.gpu(0)),
                        () -> TorchExtension.cudaMemory(Device.gpu(0)),
                    }) {
                IllegalStateException e = assertThrows(IllegalStateException.class, call::run);
                assertTrue(e.getMessage().startsWith(prefix), e.getMessage());
            }
        }
    }
}
