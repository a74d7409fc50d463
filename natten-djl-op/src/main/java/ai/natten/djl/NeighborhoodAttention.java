package ai.natten.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.natten.core.NaOptions;
import ai.natten.core.NaProblem;
import java.util.Set;

/**
 * Neighborhood attention on DJL NDArrays, the function of {@code shared/na-semantics.md}.
 *
 * <p>Layout is heads-last: {@code q} is {@code [B, X, heads, D]} (1-D), {@code [B, X, Y, heads, D]}
 * (2-D) or {@code [B, X, Y, Z, heads, D]} (3-D); {@code k} and {@code v} have q's shape except for
 * {@code kvHeads}, which divides {@code heads}. The output has q's shape. Inputs must be float32,
 * float16, bfloat16 or float64 and share one device and data type.
 *
 * <pre>{@code
 * NaOptions options = NaOptions.builder().setKernelSize(7).optDilation(2).build();
 * NDArray out = NeighborhoodAttention.na2d(q, k, v, options);
 * }</pre>
 *
 * <p>Results are differentiable: inside a {@link ai.djl.training.GradientCollector} the gradients
 * of q, k, v, the bias and the additional tokens are computed.
 */
public final class NeighborhoodAttention {

    private static final Set<DataType> FLOAT_TYPES =
            Set.of(DataType.FLOAT32, DataType.FLOAT16, DataType.BFLOAT16, DataType.FLOAT64);

    private NeighborhoodAttention() {}

    /** 1-D neighborhood attention; q {@code [B, X, heads, D]}. */
    public static NDArray na1d(NDArray q, NDArray k, NDArray v, NaOptions options) {
        return na(1, q, k, v, options, NaExtras.NONE);
    }

    /** 1-D neighborhood attention with bias, additional tokens or a backend choice. */
    public static NDArray na1d(
            NDArray q, NDArray k, NDArray v, NaOptions options, NaExtras extras) {
        return na(1, q, k, v, options, extras);
    }

    /** 2-D neighborhood attention; q {@code [B, X, Y, heads, D]}. */
    public static NDArray na2d(NDArray q, NDArray k, NDArray v, NaOptions options) {
        return na(2, q, k, v, options, NaExtras.NONE);
    }

    /** 2-D neighborhood attention with bias, additional tokens or a backend choice. */
    public static NDArray na2d(
            NDArray q, NDArray k, NDArray v, NaOptions options, NaExtras extras) {
        return na(2, q, k, v, options, extras);
    }

    /** 3-D neighborhood attention; q {@code [B, X, Y, Z, heads, D]}. */
    public static NDArray na3d(NDArray q, NDArray k, NDArray v, NaOptions options) {
        return na(3, q, k, v, options, NaExtras.NONE);
    }

    /** 3-D neighborhood attention with bias, additional tokens or a backend choice. */
    public static NDArray na3d(
            NDArray q, NDArray k, NDArray v, NaOptions options, NaExtras extras) {
        return na(3, q, k, v, options, extras);
    }

    /**
     * Neighborhood attention of any rank (1 to 3), taken from q's shape.
     *
     * @param q query {@code [B, *spatial, heads, D]}
     * @param k key {@code [B, *spatial, kvHeads, D]}
     * @param v value {@code [B, *spatial, kvHeads, D]}
     * @param options kernel size, dilation, stride, causal, scale
     * @param extras bias, additional tokens and backend
     * @return the output {@code [B, *spatial, heads, D]}
     */
    public static NDArray na(NDArray q, NDArray k, NDArray v, NaOptions options, NaExtras extras) {
        if (q == null) {
            throw new IllegalArgumentException("q must not be null");
        }
        return na(q.getShape().dimension() - 3, q, k, v, options, extras);
    }

    private static NDArray na(
            int rank, NDArray q, NDArray k, NDArray v, NaOptions options, NaExtras extras) {
        NaProblem problem = validate(rank, q, k, v, options, extras);
        DataType type = dataType(q);
        BackendSelector selector = Selector.INSTANCE;
        NaBackend backend =
                selector.select(
                        extras.backend(),
                        problem,
                        type,
                        q.getDevice(),
                        q.getManager().getEngine().getEngineName(),
                        needsGradient(q, k, v, extras),
                        extras.attentionDropout());
        if (backend == NaBackend.FUSED) {
            return FusedAttention.forward(problem, type, q, k, v, extras, selector.kernels());
        }
        return CompositeAttention.forward(problem, type, q, k, v, extras);
    }

    /** Returns whether an input of the call requires a gradient. */
    static boolean needsGradient(NDArray q, NDArray k, NDArray v, NaExtras extras) {
        for (NDArray x :
                new NDArray[] {q, k, v, extras.rpb(), extras.additionalK(), extras.additionalV()}) {
            if (x != null && x.hasGradient()) {
                return true;
            }
        }
        return false;
    }

    /** The process's backend selector, made on first use. */
    private static final class Selector {
        static final BackendSelector INSTANCE = BackendSelector.system();
    }

    private static NaProblem validate(
            int rank, NDArray q, NDArray k, NDArray v, NaOptions options, NaExtras extras) {
        if (options == null) {
            throw new IllegalArgumentException("options must not be null");
        }
        if (extras == null) {
            throw new IllegalArgumentException("extras must not be null (use NaExtras.NONE)");
        }
        check("q", q, q);
        check("k", k, q);
        check("v", v, q);
        check("rpb", extras.rpb(), q);
        check("additional_k", extras.additionalK(), q);
        check("additional_v", extras.additionalV(), q);
        if (q.getShape().dimension() != rank + 3) {
            throw new IllegalArgumentException(
                    "na"
                            + rank
                            + "d expects q of rank "
                            + (rank + 3)
                            + " [B, "
                            + "X, Y, Z".substring(0, 3 * rank - 2)
                            + ", heads, D], got shape "
                            + q.getShape());
        }
        return NaProblem.fromShapes(
                options,
                q.getShape().getShape(),
                k.getShape().getShape(),
                v.getShape().getShape(),
                shapeOf(extras.rpb()),
                shapeOf(extras.additionalK()),
                shapeOf(extras.additionalV()));
    }

    private static void check(String name, NDArray array, NDArray q) {
        if (array == null) {
            if (name.length() == 1) {
                throw new IllegalArgumentException(name + " must not be null");
            }
            return;
        }
        DataType type = dataType(array);
        if (!FLOAT_TYPES.contains(type)) {
            throw new IllegalArgumentException(
                    name + " must be float32, float16, bfloat16 or float64, got " + type);
        }
        if (type != dataType(q)) {
            throw new IllegalArgumentException(
                    name + " must have q's data type " + dataType(q) + ", got " + type);
        }
        if (!array.getDevice().equals(q.getDevice())) {
            throw new IllegalArgumentException(
                    name
                            + " must be on q's device "
                            + q.getDevice()
                            + ", got "
                            + array.getDevice());
        }
    }

    /**
     * Returns the array's data type; DJL reports bfloat16 arrays it derived as UNKNOWN, the engine
     * extension (when loaded) tells the truth.
     */
    private static DataType dataType(NDArray array) {
        DataType type = array.getDataType();
        if (type == DataType.UNKNOWN
                && array instanceof PtNDArray
                && TorchExtension.isAvailable()) {
            return TorchExtension.dataType(array);
        }
        return type;
    }

    private static long[] shapeOf(NDArray array) {
        if (array == null) {
            return null;
        }
        Shape shape = array.getShape();
        return shape.getShape();
    }
}
