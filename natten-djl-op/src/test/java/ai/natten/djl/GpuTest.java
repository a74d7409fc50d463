package ai.natten.djl;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.engine.Engine;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;

/**
 * Marks tests that need a CUDA GPU and the engine extension; they are skipped (not failed) where
 * either is missing, as in CI.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Tag("gpu")
@interface GpuTest {

    /** The skip condition. */
    final class Condition {

        private Condition() {}

        /** Skips the calling test unless a GPU and the engine extension are present. */
        static void require() {
            assumeTrue(Engine.getInstance().getGpuCount() > 0, "no CUDA GPU");
            assumeTrue(TorchExtension.isAvailable(), TorchExtension::unavailableReason);
        }
    }
}
