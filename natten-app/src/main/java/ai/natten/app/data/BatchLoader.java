package ai.natten.app.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Cuts a dataset into batches of transformed images, decoding and transforming on worker threads
 * one batch ahead of the consumer.
 *
 * <p>Everything random is a pure function of {@code (seed, epoch)}: the epoch's order comes from a
 * generator seeded by both, and image {@code i}'s augmentation from a generator seeded by {@code
 * (seed, epoch, i)}. An epoch therefore yields the same batches whatever the thread count and
 * whether or not the run was resumed.
 */
public final class BatchLoader implements AutoCloseable {

    private final LabeledImages images;
    private final ImageTransform transform;
    private final int batchSize;
    private final boolean training;
    private final long seed;
    private final int workers;
    private final ExecutorService executor;

    /**
     * Creates a loader.
     *
     * @param images the dataset
     * @param transform the per-image transform
     * @param batchSize images per batch, at least 1
     * @param training shuffle every epoch and drop the last partial batch; otherwise keep the
     *     dataset order and every image
     * @param seed the run's seed
     * @param workers decoding threads, at least 1
     */
    public BatchLoader(
            LabeledImages images,
            ImageTransform transform,
            int batchSize,
            boolean training,
            long seed,
            int workers) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
        }
        if (workers < 1) {
            throw new IllegalArgumentException("workers must be at least 1, got " + workers);
        }
        if (training && images.size() < batchSize) {
            throw new IllegalArgumentException(
                    "batch size "
                            + batchSize
                            + " is larger than the training set ("
                            + images.size()
                            + " images)");
        }
        this.images = images;
        this.transform = transform;
        this.batchSize = batchSize;
        this.training = training;
        this.seed = seed;
        this.workers = workers;
        this.executor =
                Executors.newFixedThreadPool(
                        workers,
                        runnable -> {
                            Thread thread = new Thread(runnable, "natten-data");
                            thread.setDaemon(true);
                            return thread;
                        });
    }

    /** Returns the number of batches an epoch yields. */
    public int batchesPerEpoch() {
        int n = images.size();
        return training ? n / batchSize : (n + batchSize - 1) / batchSize;
    }

    /** Returns the number of images an epoch yields. */
    public int imagesPerEpoch() {
        return training ? batchesPerEpoch() * batchSize : images.size();
    }

    /** Returns the batches of one epoch, prefetching the next one while the current is used. */
    public Iterator<HostBatch> epoch(int epoch) {
        int[] order = order(epoch);
        int batches = batchesPerEpoch();
        return new Iterator<>() {
            private int next;
            private Pending pending = submit(epoch, order, 0);

            @Override
            public boolean hasNext() {
                return next < batches;
            }

            @Override
            public HostBatch next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                HostBatch ready = pending.await();
                next++;
                if (next < batches) {
                    pending = submit(epoch, order, next);
                }
                return ready;
            }
        };
    }

    private int[] order(int epoch) {
        int[] order = new int[images.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        if (training) {
            Random random = new Random(mix(seed, epoch, -1));
            for (int i = order.length - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int swap = order[i];
                order[i] = order[j];
                order[j] = swap;
            }
        }
        return order;
    }

    private Pending submit(int epoch, int[] order, int batch) {
        int start = batch * batchSize;
        int count = Math.min(batchSize, order.length - start);
        int imageFloats = 3 * transform.size() * transform.size();
        HostBatch host =
                new HostBatch(new float[count * imageFloats], new int[count], transform.size());
        int chunk = (count + workers - 1) / workers;
        List<Future<?>> futures = new ArrayList<>();
        for (int from = 0; from < count; from += chunk) {
            int begin = from;
            int end = Math.min(count, from + chunk);
            futures.add(
                    executor.submit(
                            () -> {
                                for (int i = begin; i < end; i++) {
                                    int index = order[start + i];
                                    host.labels()[i] = images.label(index);
                                    Random random =
                                            training ? new Random(mix(seed, epoch, index)) : null;
                                    transform.apply(
                                            decode(index), random, host.pixels(), i * imageFloats);
                                }
                            }));
        }
        return new Pending(host, futures);
    }

    private RawImage decode(int index) {
        try {
            return images.image(index);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A batch being filled by worker tasks. */
    private record Pending(HostBatch batch, List<Future<?>> parts) {

        HostBatch await() {
            for (Future<?> part : parts) {
                join(part);
            }
            return batch;
        }
    }

    private static void join(Future<?> future) {
        try {
            future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while loading a batch", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UncheckedIOException io) {
                throw io;
            }
            throw new IllegalStateException("loading a batch failed", e.getCause());
        }
    }

    /** Mixes the seed, epoch and image index into a well-spread 64-bit seed (SplitMix64). */
    static long mix(long seed, int epoch, int index) {
        long z = seed * 0x9E3779B97F4A7C15L + epoch * 0xBF58476D1CE4E5B9L + index;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
