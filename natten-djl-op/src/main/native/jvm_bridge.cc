#include "jvm_bridge.h"

#include <c10/util/Exception.h>

namespace natten {
namespace {

JavaVM* java_vm = nullptr;

std::string JavaString(JNIEnv* env, jstring value) {
  if (value == nullptr) {
    return "null";
  }
  const char* chars = env->GetStringUTFChars(value, nullptr);
  std::string result(chars == nullptr ? "" : chars);
  if (chars != nullptr) {
    env->ReleaseStringUTFChars(value, chars);
  }
  return result;
}

std::string Describe(JNIEnv* env, jthrowable error) {
  jclass throwable = env->FindClass("java/lang/Throwable");
  jmethodID to_string = env->GetMethodID(throwable, "toString", "()Ljava/lang/String;");
  jmethodID get_cause = env->GetMethodID(throwable, "getCause", "()Ljava/lang/Throwable;");
  std::string message = JavaString(env, static_cast<jstring>(env->CallObjectMethod(error, to_string)));
  auto cause = static_cast<jthrowable>(env->CallObjectMethod(error, get_cause));
  if (cause != nullptr && !env->IsSameObject(cause, error)) {
    message += " (caused by " +
               JavaString(env, static_cast<jstring>(env->CallObjectMethod(cause, to_string))) + ")";
  }
  env->DeleteLocalRef(throwable);
  return message;
}

}  // namespace

JNIEnv* CurrentEnv() {
  if (java_vm == nullptr) {
    throw std::runtime_error("natten: the JVM is unknown (JNI_OnLoad did not run)");
  }
  JNIEnv* env = nullptr;
  jint status = java_vm->GetEnv(reinterpret_cast<void**>(&env), JNI_VERSION_1_8);
  if (status == JNI_EDETACHED) {
    status = java_vm->AttachCurrentThreadAsDaemon(reinterpret_cast<void**>(&env), nullptr);
  }
  if (status != JNI_OK || env == nullptr) {
    throw std::runtime_error("natten: cannot attach this thread to the JVM (JNI status " +
                             std::to_string(status) + ")");
  }
  return env;
}

void RethrowPendingJavaException(JNIEnv* env) {
  jthrowable pending = env->ExceptionOccurred();
  if (pending == nullptr) {
    return;
  }
  env->ExceptionClear();
  std::string message = Describe(env, pending);
  env->DeleteLocalRef(pending);
  throw JavaError(message);
}

void ThrowToJava(JNIEnv* env, const std::exception& error) {
  if (env->ExceptionCheck()) {
    return;  // a Java exception is already on its way to the caller
  }
  const char* message = error.what();
  if (auto* torch_error = dynamic_cast<const c10::Error*>(&error)) {
    message = torch_error->what_without_backtrace();
  }
  const char* class_name = dynamic_cast<const std::invalid_argument*>(&error) != nullptr
                               ? "java/lang/IllegalArgumentException"
                               : "ai/djl/engine/EngineException";
  jclass type = env->FindClass(class_name);
  if (type == nullptr) {
    env->ExceptionClear();
    type = env->FindClass("java/lang/RuntimeException");
  }
  env->ThrowNew(type, message);
}

}  // namespace natten

extern "C" JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM* vm, void* /*reserved*/) {
  natten::java_vm = vm;
  return JNI_VERSION_1_8;
}
