package ai.natten.app.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * Many arrays as one flat (1-D) array, so that an element-wise operation over all of them is one
 * engine call instead of one per array.
 */
final class FlatArrays {

    /** Indexes a whole array: {@code a.set(ALL, b)} copies {@code b} into {@code a} in place. */
    static final NDIndex ALL = new NDIndex("...");

    private FlatArrays() {}

    /**
     * Concatenates arrays, each read in row-major order, into a new 1-D array (one reshape per
     * array and one concatenation); the arrays share a data type and device.
     */
    static NDArray concat(List<NDArray> arrays) {
        NDList flat = new NDList(arrays.size());
        for (NDArray array : arrays) {
            flat.add(array.reshape(-1));
        }
        return NDArrays.concat(flat);
    }

    /**
     * Cuts a flat array into consecutive views of the given shapes (one split and one reshape per
     * view): writing into {@code flat} in place changes the views, and the other way round.
     */
    static List<NDArray> views(NDArray flat, List<Shape> shapes) {
        NDList pieces = flat.split(splitPoints(shapes));
        List<NDArray> views = new ArrayList<>(shapes.size());
        for (int i = 0; i < shapes.size(); i++) {
            views.add(pieces.get(i).reshape(shapes.get(i)));
        }
        return views;
    }

    /**
     * Returns where a flat array of arrays of these shapes is cut: the running element counts after
     * each shape but the last (what {@code NDArray.split(long[])} takes).
     */
    static long[] splitPoints(List<Shape> shapes) {
        long[] points = new long[shapes.size() - 1];
        long offset = 0;
        for (int i = 0; i < points.length; i++) {
            offset += shapes.get(i).size();
            points[i] = offset;
        }
        return points;
    }
}
