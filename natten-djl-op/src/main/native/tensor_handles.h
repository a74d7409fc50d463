// DJL's PtNDArray handles are heap-allocated torch::Tensor objects (`new torch::Tensor(...)`), owned
// by the Java array and deleted by DJL's torchDeleteTensor when it closes. The extension only reads
// handles it is given and returns new heap tensors, whose ownership passes to the PtNDArray that
// wraps them; it never deletes a handle.
#ifndef NATTEN_DJL_TENSOR_HANDLES_H
#define NATTEN_DJL_TENSOR_HANDLES_H

#include <jni.h>
#include <torch/torch.h>

#include <stdexcept>

namespace natten {

// The tensor behind a DJL handle; 0 stands for "absent" and gives an undefined tensor.
inline torch::Tensor FromHandle(jlong handle) {
  if (handle == 0) {
    return torch::Tensor();
  }
  return *reinterpret_cast<torch::Tensor*>(handle);
}

// A new handle for DJL to own (wrap it in a PtNDArray at once).
inline jlong ToHandle(const torch::Tensor& tensor) {
  return reinterpret_cast<jlong>(new torch::Tensor(tensor));
}

inline torch::Tensor RequireTensor(jlong handle, const char* name) {
  if (handle == 0) {
    throw std::invalid_argument(std::string(name) + " must not be a null handle");
  }
  return FromHandle(handle);
}

}  // namespace natten

#endif  // NATTEN_DJL_TENSOR_HANDLES_H
