package ai.natten.app.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class DeviceThreadsTest {

    @Test
    void oneDeviceWorksOnTheCallersThread() {
        try (DeviceThreads threads = new DeviceThreads(1)) {
            Future<Thread> ran = threads.submit(0, Thread::currentThread);
            assertSame(Thread.currentThread(), DeviceThreads.join(ran));
        }
    }

    @Test
    void eachOfSeveralDevicesKeepsItsOwnThread() {
        try (DeviceThreads threads = new DeviceThreads(2)) {
            Future<Thread> first0 = threads.submit(0, Thread::currentThread);
            Future<Thread> first1 = threads.submit(1, Thread::currentThread);
            Future<Thread> second0 = threads.submit(0, Thread::currentThread);
            Thread device0 = DeviceThreads.join(first0);
            Thread device1 = DeviceThreads.join(first1);
            assertNotEquals(Thread.currentThread(), device0);
            assertNotEquals(device0, device1);
            assertSame(device0, DeviceThreads.join(second0));
            assertEquals("natten-device-1", device1.getName());
        }
    }

    @Test
    void aDevicesFailureReachesTheCallerAsThrown() {
        for (int count : new int[] {1, 2}) {
            try (DeviceThreads threads = new DeviceThreads(count)) {
                Future<Object> failed =
                        threads.submit(
                                count - 1,
                                () -> {
                                    throw new IllegalArgumentException("bad slice");
                                });
                IllegalArgumentException e =
                        assertThrows(
                                IllegalArgumentException.class, () -> DeviceThreads.join(failed));
                assertEquals("bad slice", e.getMessage());
            }
        }
    }
}
