package ai.natten.zoo.checkpoint;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Names every parameter of a Block tree as PyTorch would: child names joined by dots, DJL's {@code
 * NN} ordering prefix dropped, LayerNorm's {@code gamma/beta} called {@code weight/bias}. For NAT
 * models these are the original repository's state-dict names.
 */
public final class BlockParameters {

    private BlockParameters() {}

    /**
     * Returns the parameters of a block by PyTorch-style name, in DJL order.
     *
     * @param block the root block
     * @return name to parameter
     */
    public static Map<String, Parameter> of(Block block) {
        Map<String, Parameter> result = new LinkedHashMap<>();
        collect(block, "", result);
        return result;
    }

    private static void collect(Block block, String prefix, Map<String, Parameter> out) {
        for (Pair<String, Parameter> p : block.getDirectParameters()) {
            out.put(prefix + torchName(p.getKey()), p.getValue());
        }
        int index = 0;
        for (Pair<String, Block> child : block.getChildren()) {
            index++;
            String ordering = String.format("%02d", index);
            String name = child.getKey();
            if (name.startsWith(ordering)) {
                name = name.substring(ordering.length());
            }
            collect(child.getValue(), prefix + name + ".", out);
        }
    }

    private static String torchName(String djlName) {
        switch (djlName) {
            case "gamma":
                return "weight";
            case "beta":
                return "bias";
            default:
                return djlName;
        }
    }
}
