package ai.natten.app.cli;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;

/** Parses the {@code --devices} option. */
final class Devices {

    private Devices() {}

    /**
     * Parses a device list: {@code auto} (every GPU, else the CPU), {@code cpu}, {@code gpu} or
     * {@code all} (every GPU), or a comma list of {@code gpuN} / {@code N}.
     *
     * @throws IllegalArgumentException naming the option when a device does not exist
     */
    static Device[] parse(String text) {
        int gpus = Engine.getInstance().getGpuCount();
        String value = text.trim().toLowerCase(Locale.ROOT);
        switch (value) {
            case "auto":
                return gpus > 0 ? allGpus(gpus) : new Device[] {Device.cpu()};
            case "cpu":
                return new Device[] {Device.cpu()};
            case "gpu":
            case "all":
                if (gpus == 0) {
                    throw new IllegalArgumentException(
                            "--devices " + text + ": no GPU is visible to the engine");
                }
                return allGpus(gpus);
            default:
                break;
        }
        LinkedHashSet<Device> devices = new LinkedHashSet<>();
        for (String part : value.split(",")) {
            String id = part.trim();
            if (id.startsWith("gpu")) {
                id = id.substring(3);
            }
            int index;
            try {
                index = Integer.parseInt(id);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(
                        "--devices: '" + part.trim() + "' is not cpu, gpu, all, auto, gpuN or N",
                        e);
            }
            if (index < 0 || index >= gpus) {
                throw new IllegalArgumentException(
                        "--devices: gpu" + index + " does not exist (" + gpus + " GPUs visible)");
            }
            if (!devices.add(Device.gpu(index))) {
                throw new IllegalArgumentException("--devices: gpu" + index + " listed twice");
            }
        }
        return devices.toArray(new Device[0]);
    }

    private static Device[] allGpus(int count) {
        List<Device> devices = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            devices.add(Device.gpu(i));
        }
        return devices.toArray(new Device[0]);
    }
}
