// The JVM side of the extension: the JavaVM, a JNIEnv for any thread (autograd's worker threads
// included), and the translation of errors between C++ and Java.
#ifndef NATTEN_DJL_JVM_BRIDGE_H
#define NATTEN_DJL_JVM_BRIDGE_H

#include <jni.h>

#include <stdexcept>
#include <string>

namespace natten {

// The JNIEnv of the calling thread. A thread the JVM does not know (PyTorch's autograd engine runs
// CUDA backward passes on its own device threads) is attached once as a daemon and stays attached:
// those threads live as long as the process, and a daemon never holds the JVM's exit.
JNIEnv* CurrentEnv();

// Thrown when a Java call made from C++ ended with a Java exception; what() holds its toString()
// and, where present, its cause, so the message reaches the Java caller through PyTorch intact.
class JavaError : public std::runtime_error {
 public:
  explicit JavaError(const std::string& message) : std::runtime_error(message) {}
};

// If the last JNI call left an exception pending, clears it and throws it as a JavaError.
void RethrowPendingJavaException(JNIEnv* env);

// Raises the C++ exception being handled as a Java exception on the caller's thread:
// IllegalArgumentException for std::invalid_argument, else ai.djl.engine.EngineException when
// DJL is on the class path, else RuntimeException.
void ThrowToJava(JNIEnv* env, const std::exception& error);

}  // namespace natten

// Brackets a JNI entry point: any C++ exception becomes a Java exception, never a crash.
#define NATTEN_JNI_BEGIN try {
#define NATTEN_JNI_END(failure_value)         \
  }                                           \
  catch (const std::exception& natten_error) { \
    natten::ThrowToJava(env, natten_error);   \
    return failure_value;                     \
  }

#endif  // NATTEN_DJL_JVM_BRIDGE_H
