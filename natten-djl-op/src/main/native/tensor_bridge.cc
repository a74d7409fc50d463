// JNI entry points of ai.natten.djl.TorchNative that describe and create tensors: data pointer,
// sizes, strides, data type (bfloat16 included, which DJL 0.35 cannot create), device, the current
// CUDA stream and the CUDA caching allocator's statistics.
#include <jni.h>
#include <torch/torch.h>
#include <torch/version.h>

#ifdef NATTEN_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include <array>
#include <string>
#include <vector>

#include "jvm_bridge.h"
#include "tensor_handles.h"

#ifdef NATTEN_WITH_CUDA
#define NATTEN_CUDA_FLAG "1"
#else
#define NATTEN_CUDA_FLAG "0"
#endif

// The build record Java reads from this file's bytes before loading it (so a library built for
// another libtorch is never loaded): torch version, CUDA support and the C++ ABI.
extern "C" __attribute__((used, visibility("default"))) const char natten_build_record[] =
    "NATTEN_TORCH_BUILD{torch=" TORCH_VERSION ";cuda=" NATTEN_CUDA_FLAG
    ";cxx11abi=" C10_STRINGIZE(_GLIBCXX_USE_CXX11_ABI) "}";

namespace {

// DJL's ai.djl.ndarray.types.DataType ordinals, which its PyTorch engine relies on.
constexpr std::array<std::pair<jint, c10::ScalarType>, 10> kDjlTypes = {{
    {0, torch::kFloat32},
    {1, torch::kFloat64},
    {2, torch::kFloat16},
    {3, torch::kUInt8},
    {4, torch::kInt32},
    {5, torch::kInt8},
    {6, torch::kInt64},
    {7, torch::kBool},
    {11, torch::kBFloat16},
    {15, torch::kInt16},
}};
constexpr jint kDjlUnknown = 9;

c10::ScalarType ToScalarType(jint djl_ordinal) {
  for (const auto& entry : kDjlTypes) {
    if (entry.first == djl_ordinal) {
      return entry.second;
    }
  }
  throw std::invalid_argument("data type ordinal " + std::to_string(djl_ordinal) +
                              " has no torch equivalent in this extension");
}

jint ToDjlOrdinal(c10::ScalarType type) {
  for (const auto& entry : kDjlTypes) {
    if (entry.second == type) {
      return entry.first;
    }
  }
  return kDjlUnknown;
}

jlongArray ToJava(JNIEnv* env, c10::IntArrayRef values) {
  std::vector<jlong> copy(values.begin(), values.end());
  jlongArray result = env->NewLongArray(static_cast<jsize>(copy.size()));
  env->SetLongArrayRegion(result, 0, static_cast<jsize>(copy.size()), copy.data());
  return result;
}

std::vector<int64_t> FromJava(JNIEnv* env, jlongArray values) {
  std::vector<int64_t> result(env->GetArrayLength(values));
  env->GetLongArrayRegion(values, 0, static_cast<jsize>(result.size()),
                          reinterpret_cast<jlong*>(result.data()));
  return result;
}

torch::Device ToDevice(jint device_type, jint device_index) {
  if (device_type == static_cast<jint>(c10::DeviceType::CPU)) {
    return torch::Device(c10::DeviceType::CPU);
  }
  if (device_type == static_cast<jint>(c10::DeviceType::CUDA)) {
    return torch::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(device_index));
  }
  throw std::invalid_argument("device type " + std::to_string(device_type) +
                              " is neither CPU (0) nor CUDA (1)");
}

#ifdef NATTEN_WITH_CUDA
c10::DeviceIndex CudaIndex(jint device_index) {
  if (device_index < 0 || device_index >= c10::cuda::device_count()) {
    throw std::invalid_argument("CUDA device index " + std::to_string(device_index) +
                                " is outside [0, " + std::to_string(c10::cuda::device_count()) +
                                ")");
  }
  return static_cast<c10::DeviceIndex>(device_index);
}
#else
[[noreturn]] void NoCuda() {
  throw std::runtime_error("this natten extension was built without CUDA (NATTEN_WITH_CUDA=OFF)");
}
#endif

}  // namespace

#define NATTEN_JNI(ret, name) extern "C" JNIEXPORT ret JNICALL Java_ai_natten_djl_TorchNative_##name

NATTEN_JNI(jstring, buildRecord)(JNIEnv* env, jclass) {
  return env->NewStringUTF(natten_build_record);
}

NATTEN_JNI(jint, dataType)(JNIEnv* env, jclass, jlong handle) {
  NATTEN_JNI_BEGIN
  return ToDjlOrdinal(natten::RequireTensor(handle, "array").scalar_type());
  NATTEN_JNI_END(kDjlUnknown)
}

NATTEN_JNI(jlong, dataPtr)(JNIEnv* env, jclass, jlong handle) {
  NATTEN_JNI_BEGIN
  return reinterpret_cast<jlong>(natten::RequireTensor(handle, "array").data_ptr());
  NATTEN_JNI_END(0)
}

NATTEN_JNI(jlongArray, sizes)(JNIEnv* env, jclass, jlong handle) {
  NATTEN_JNI_BEGIN
  return ToJava(env, natten::RequireTensor(handle, "array").sizes());
  NATTEN_JNI_END(nullptr)
}

NATTEN_JNI(jlongArray, strides)(JNIEnv* env, jclass, jlong handle) {
  NATTEN_JNI_BEGIN
  return ToJava(env, natten::RequireTensor(handle, "array").strides());
  NATTEN_JNI_END(nullptr)
}

NATTEN_JNI(jintArray, device)(JNIEnv* env, jclass, jlong handle) {
  NATTEN_JNI_BEGIN
  torch::Device device = natten::RequireTensor(handle, "array").device();
  jint values[2] = {static_cast<jint>(device.type()), static_cast<jint>(device.index())};
  jintArray result = env->NewIntArray(2);
  env->SetIntArrayRegion(result, 0, 2, values);
  return result;
  NATTEN_JNI_END(nullptr)
}

NATTEN_JNI(jlong, toDataType)(JNIEnv* env, jclass, jlong handle, jint djl_ordinal) {
  NATTEN_JNI_BEGIN
  // Tensor::to records the cast in autograd, so gradients flow back in the source type.
  return natten::ToHandle(natten::RequireTensor(handle, "array").to(ToScalarType(djl_ordinal)));
  NATTEN_JNI_END(0)
}

NATTEN_JNI(jlong, contiguous)(JNIEnv* env, jclass, jlong handle) {
  NATTEN_JNI_BEGIN
  return natten::ToHandle(natten::RequireTensor(handle, "array").contiguous());
  NATTEN_JNI_END(0)
}

NATTEN_JNI(jlong, empty)
(JNIEnv* env, jclass, jlongArray shape, jint djl_ordinal, jint device_type, jint device_index) {
  NATTEN_JNI_BEGIN
  auto options = torch::TensorOptions()
                     .dtype(ToScalarType(djl_ordinal))
                     .device(ToDevice(device_type, device_index));
  return natten::ToHandle(torch::empty(FromJava(env, shape), options));
  NATTEN_JNI_END(0)
}

NATTEN_JNI(jlong, currentStream)(JNIEnv* env, jclass, jint device_index) {
  NATTEN_JNI_BEGIN
#ifdef NATTEN_WITH_CUDA
  return reinterpret_cast<jlong>(c10::cuda::getCurrentCUDAStream(CudaIndex(device_index)).stream());
#else
  NoCuda();
#endif
  NATTEN_JNI_END(0)
}

// {allocated, peak allocated, reserved} bytes of PyTorch's CUDA caching allocator on the device.
NATTEN_JNI(jlongArray, cudaMemory)(JNIEnv* env, jclass, jint device_index) {
  NATTEN_JNI_BEGIN
#ifdef NATTEN_WITH_CUDA
  auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(CudaIndex(device_index));
  const auto& allocated = stats.allocated_bytes[0];  // StatType::AGGREGATE
  const auto& reserved = stats.reserved_bytes[0];
  std::vector<int64_t> values = {allocated.current, allocated.peak, reserved.current};
  return ToJava(env, values);
#else
  NoCuda();
#endif
  NATTEN_JNI_END(nullptr)
}

NATTEN_JNI(void, resetPeakMemory)(JNIEnv* env, jclass, jint device_index) {
  NATTEN_JNI_BEGIN
#ifdef NATTEN_WITH_CUDA
  c10::cuda::CUDACachingAllocator::resetPeakStats(CudaIndex(device_index));
#else
  NoCuda();
#endif
  NATTEN_JNI_END()
}

NATTEN_JNI(void, synchronize)(JNIEnv* env, jclass, jint device_index) {
  NATTEN_JNI_BEGIN
#ifdef NATTEN_WITH_CUDA
  c10::cuda::CUDAGuard guard(CudaIndex(device_index));
  c10::cuda::device_synchronize();
#else
  NoCuda();
#endif
  NATTEN_JNI_END()
}
