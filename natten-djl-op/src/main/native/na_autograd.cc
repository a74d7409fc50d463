// The neighborhood-attention autograd function. Its forward and backward allocate outputs and
// gradients with PyTorch's allocator and hand raw pointers and PyTorch's current CUDA stream to a
// Java object (ai.natten.djl.FusedCall), which launches the fused kernels through JCuda. The
// function saves only what the backward needs: the inputs, the output and the log-sum-exp.
#include <jni.h>
#include <torch/torch.h>

#ifdef NATTEN_WITH_CUDA
#include <c10/cuda/CUDAStream.h>
#endif

#include <array>
#include <string>
#include <vector>

#include "jvm_bridge.h"
#include "tensor_handles.h"

namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Slots of the address array given to FusedCall (mirrored by FusedBuffers in Java).
enum Slot : int {
  kQ, kK, kV, kRpb, kAdditionalK, kAdditionalV, kOut, kLse,
  kDOut, kDQ, kDK, kDV, kDRpb, kDAdditionalK, kDAdditionalV, kWorkspace, kSlotCount
};
constexpr int kInputCount = 6;

// A global reference to the Java FusedCall of one op invocation, kept by the autograd graph until
// the graph is freed; the reference is released from whichever thread frees it.
class JavaCall : public torch::CustomClassHolder {
 public:
  JavaCall(JNIEnv* env, jobject call) : call_(env->NewGlobalRef(call)) {
    jclass type = env->GetObjectClass(call);
    forward_ = env->GetMethodID(type, "forward", "(J[J)V");
    backward_ = env->GetMethodID(type, "backward", "(J[J)V");
    workspace_bytes_ = env->GetMethodID(type, "workspaceBytes", "()J");
    env->DeleteLocalRef(type);
    natten::RethrowPendingJavaException(env);
  }

  ~JavaCall() override {
    try {
      natten::CurrentEnv()->DeleteGlobalRef(call_);
    } catch (const std::exception&) {
      // The JVM is shutting down: nothing left to release.
    }
  }

  void Forward(int64_t stream, const std::array<Tensor, kSlotCount>& slots) const {
    Invoke(forward_, stream, slots);
  }

  void Backward(int64_t stream, const std::array<Tensor, kSlotCount>& slots) const {
    Invoke(backward_, stream, slots);
  }

  // Bytes of scratch device memory the backward kernels need (taken from PyTorch's allocator).
  int64_t WorkspaceBytes() const {
    JNIEnv* env = natten::CurrentEnv();
    jlong bytes = env->CallLongMethod(call_, workspace_bytes_);
    natten::RethrowPendingJavaException(env);
    return bytes;
  }

 private:
  void Invoke(jmethodID method, int64_t stream, const std::array<Tensor, kSlotCount>& slots) const {
    JNIEnv* env = natten::CurrentEnv();
    std::array<jlong, kSlotCount> pointers{};
    for (int i = 0; i < kSlotCount; ++i) {
      pointers[i] = slots[i].defined() ? reinterpret_cast<jlong>(slots[i].data_ptr()) : 0;
    }
    jlongArray array = env->NewLongArray(kSlotCount);
    natten::RethrowPendingJavaException(env);
    env->SetLongArrayRegion(array, 0, kSlotCount, pointers.data());
    env->CallVoidMethod(call_, method, static_cast<jlong>(stream), array);
    env->DeleteLocalRef(array);
    natten::RethrowPendingJavaException(env);
  }

  jobject call_;
  jmethodID forward_;
  jmethodID backward_;
  jmethodID workspace_bytes_;
};

int64_t CurrentStream(const Tensor& like) {
#ifdef NATTEN_WITH_CUDA
  if (like.is_cuda()) {
    return reinterpret_cast<int64_t>(c10::cuda::getCurrentCUDAStream(like.device().index()).stream());
  }
#endif
  throw std::invalid_argument("the fused backend needs CUDA tensors, got " + like.device().str());
}

// Absent optional inputs travel through autograd as empty placeholders (Function::apply describes
// every tensor argument, which an undefined tensor cannot be); inside the op they are undefined.
Tensor Placeholder(const Tensor& tensor, const Tensor& like) {
  return tensor.defined() ? tensor : torch::empty({0}, like.options());
}

Tensor Optional(const Tensor& tensor) {
  return tensor.numel() > 0 ? tensor.contiguous() : Tensor();
}

Tensor ZerosLike(const Tensor& tensor) {
  return tensor.defined() ? torch::zeros_like(tensor, at::MemoryFormat::Contiguous) : tensor;
}

struct NeighborhoodAttentionFunction
    : public torch::autograd::Function<NeighborhoodAttentionFunction> {
  static variable_list forward(AutogradContext* ctx, Tensor q, Tensor k, Tensor v, Tensor rpb,
                               Tensor additional_k, Tensor additional_v,
                               c10::intrusive_ptr<JavaCall> call) {
    std::array<Tensor, kSlotCount> slots;
    slots[kQ] = q.contiguous();
    slots[kK] = k.contiguous();
    slots[kV] = v.contiguous();
    slots[kRpb] = Optional(rpb);
    slots[kAdditionalK] = Optional(additional_k);
    slots[kAdditionalV] = Optional(additional_v);
    slots[kOut] = torch::empty_like(slots[kQ]);
    std::vector<int64_t> lse_shape(q.sizes().begin(), q.sizes().end() - 1);
    slots[kLse] = torch::empty(lse_shape, q.options().dtype(torch::kFloat32));

    call->Forward(CurrentStream(q), slots);

    ctx->save_for_backward({slots[kQ], slots[kK], slots[kV], slots[kRpb], slots[kAdditionalK],
                            slots[kAdditionalV], slots[kOut], slots[kLse]});
    ctx->saved_data["call"] = c10::IValue::make_capsule(call);
    ctx->mark_non_differentiable({slots[kLse]});
    return {slots[kOut], slots[kLse]};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    variable_list saved = ctx->get_saved_variables();
    std::array<Tensor, kSlotCount> slots;
    for (int i = kQ; i <= kLse; ++i) {
      slots[i] = saved[i];
    }
    variable_list none(kInputCount + 1);
    if (!grad_outputs[0].defined()) {
      return none;  // the output took no part in the loss
    }
    slots[kDOut] = grad_outputs[0].contiguous();
    // Gradients start at zero: kernels may accumulate into them (dK, dV over queries; d rpb).
    slots[kDQ] = ZerosLike(slots[kQ]);
    slots[kDK] = ZerosLike(slots[kK]);
    slots[kDV] = ZerosLike(slots[kV]);
    slots[kDRpb] = ZerosLike(slots[kRpb]);
    slots[kDAdditionalK] = ZerosLike(slots[kAdditionalK]);
    slots[kDAdditionalV] = ZerosLike(slots[kAdditionalV]);

    auto call = c10::static_intrusive_pointer_cast<JavaCall>(ctx->saved_data["call"].toCapsule());
    int64_t workspace = call->WorkspaceBytes();
    if (workspace > 0) {
      slots[kWorkspace] = torch::empty({workspace}, slots[kQ].options().dtype(torch::kByte));
    }
    call->Backward(CurrentStream(slots[kQ]), slots);

    return {slots[kDQ], slots[kDK], slots[kDV], slots[kDRpb], slots[kDAdditionalK],
            slots[kDAdditionalV], Tensor()};
  }
};

}  // namespace

// Runs the op on DJL handles (0 for an absent rpb or additional key/value) and returns the handle
// of the output, which the caller wraps in a PtNDArray. Records the autograd node when grad mode
// is on and an input requires a gradient.
extern "C" JNIEXPORT jlong JNICALL Java_ai_natten_djl_TorchNative_neighborhoodAttention(
    JNIEnv* env, jclass, jobject call, jlong q, jlong k, jlong v, jlong rpb, jlong additional_k,
    jlong additional_v) {
  NATTEN_JNI_BEGIN
  if (call == nullptr) {
    throw std::invalid_argument("call must not be null");
  }
  auto java_call = c10::make_intrusive<JavaCall>(env, call);
  Tensor query = natten::RequireTensor(q, "q");
  variable_list outputs = NeighborhoodAttentionFunction::apply(
      query, natten::RequireTensor(k, "k"), natten::RequireTensor(v, "v"),
      Placeholder(natten::FromHandle(rpb), query),
      Placeholder(natten::FromHandle(additional_k), query),
      Placeholder(natten::FromHandle(additional_v), query), java_call);
  return natten::ToHandle(outputs[0]);
  NATTEN_JNI_END(0)
}
