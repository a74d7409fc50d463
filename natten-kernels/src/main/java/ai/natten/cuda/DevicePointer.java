package ai.natten.cuda;

import jcuda.driver.CUdeviceptr;

/** A driver pointer that can tell its raw device address (JCuda keeps it protected). */
final class DevicePointer extends CUdeviceptr {

    /** Returns the raw device address the driver wrote into this pointer. */
    long address() {
        return getNativePointer();
    }
}
