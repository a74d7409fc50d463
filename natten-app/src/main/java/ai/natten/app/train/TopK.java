package ai.natten.app.train;

import ai.djl.ndarray.NDArray;

/** Counts how often labels fall among the highest logits. */
final class TopK {

    private TopK() {}

    /**
     * Counts hits of each rank cut-off.
     *
     * @param logits {@code [B, K]}
     * @param labels the B labels
     * @param cutoffs ascending cut-offs, e.g. {1, 5}; each is capped at K
     * @return for each cut-off, the number of rows whose label is among that many highest logits
     */
    static long[] hits(NDArray logits, long[] labels, int... cutoffs) {
        int classes = (int) logits.getShape().get(1);
        int widest = Math.min(classes, cutoffs[cutoffs.length - 1]);
        try (NDArray order = logits.argSort(1, false)) {
            long[] ranked = order.toLongArray();
            long[] hits = new long[cutoffs.length];
            for (int row = 0; row < labels.length; row++) {
                for (int rank = 0; rank < widest; rank++) {
                    if (ranked[row * classes + rank] == labels[row]) {
                        for (int c = 0; c < cutoffs.length; c++) {
                            if (rank < cutoffs[c]) {
                                hits[c]++;
                            }
                        }
                        break;
                    }
                }
            }
            return hits;
        }
    }
}
