package ai.natten.app.train;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;

/**
 * One host thread per device when there are several, so that the devices' engine calls (each a JNI
 * call and, on a GPU, a kernel launch) are issued in parallel rather than one device after the
 * other: a data parallel step is host-bound when a model issues thousands of small operations. A
 * device's work always runs on the same thread, in submission order. With one device the caller's
 * thread does the work: a second thread would only add a hand-off, and on a CPU a second OpenMP
 * team competing for the cores (the README's CPU training job took 46% longer that way).
 */
final class DeviceThreads implements AutoCloseable {

    private final ExecutorService[] threads;

    /** Starts a daemon thread for each of {@code count} devices, none for one device. */
    DeviceThreads(int count) {
        threads = new ExecutorService[count > 1 ? count : 0];
        for (int d = 0; d < threads.length; d++) {
            String name = "natten-device-" + d;
            threads[d] =
                    Executors.newSingleThreadExecutor(
                            task -> {
                                Thread thread = new Thread(task, name);
                                thread.setDaemon(true);
                                return thread;
                            });
        }
    }

    /** Queues {@code work} on device {@code device}'s thread (runs it now with one device). */
    <T> Future<T> submit(int device, Callable<T> work) {
        if (threads.length == 0) {
            FutureTask<T> task = new FutureTask<>(work);
            task.run();
            return task;
        }
        return threads[device].submit(work);
    }

    /**
     * Waits for a result; a failure on the device's thread is rethrown here, unchecked as it was
     * (engine errors, bad input) or wrapped.
     */
    static <T> T join(Future<T> result) {
        try {
            return result.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a device", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException runtime) {
                throw runtime;
            }
            if (cause instanceof Error error) {
                throw error;
            }
            throw new IllegalStateException(cause);
        }
    }

    @Override
    public void close() {
        for (ExecutorService thread : threads) {
            thread.shutdownNow();
        }
    }
}
