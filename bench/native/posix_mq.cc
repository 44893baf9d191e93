// posix_mq: the thinnest Node binding of POSIX message queues, for the mq baseline.
//
//   open(name, maxmsg, msgsize, create, nonblocking) -> fd   (create: O_CREAT|O_EXCL, mode 0600)
//   send(fd, bytes[, timeoutMs]) -> true, or false on EAGAIN / timeout
//   receive(fd, target[, timeoutMs]) -> length, or -1 on EAGAIN / timeout
//   close(fd); unlink(name) -> false if there was no such queue
//
// Without timeoutMs the calls block (unless the queue was opened nonblocking); with it they
// wait at most that long, so a blocked worker can still notice that its parent went away.
// Failures throw an Error with `errno` and `syscall` set.
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <string.h>
#include <time.h>

#include <string>

#include <napi.h>

namespace {

Napi::Value Fail(Napi::Env env, const char *syscall, int err) {
  Napi::Error error = Napi::Error::New(env, std::string(syscall) + ": " + strerror(err));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  error.ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value TypeError(Napi::Env env, const char *message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

std::string QueueName(const Napi::Value &v) {
  std::string name = v.As<Napi::String>().Utf8Value();
  return name[0] == '/' ? name : "/" + name;
}

// An absolute CLOCK_REALTIME deadline (what mq_timed* take) timeoutMs from now.
timespec Deadline(double timeout_ms) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  long long ns = ts.tv_nsec + static_cast<long long>(timeout_ms * 1e6);
  ts.tv_sec += ns / 1000000000;
  ts.tv_nsec = ns % 1000000000;
  return ts;
}

Napi::Value Open(const Napi::CallbackInfo &info) {
  std::string name = QueueName(info[0]);
  mq_attr attr = {};
  attr.mq_maxmsg = info[1].As<Napi::Number>().Int64Value();
  attr.mq_msgsize = info[2].As<Napi::Number>().Int64Value();
  bool create = info[3].ToBoolean(), nonblocking = info[4].ToBoolean();
  int flags = O_RDWR | (create ? O_CREAT | O_EXCL : 0) | (nonblocking ? O_NONBLOCK : 0);
  mqd_t fd = mq_open(name.c_str(), flags, 0600, create ? &attr : nullptr);
  if (fd == static_cast<mqd_t>(-1)) return Fail(info.Env(), "mq_open", errno);
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value Send(const Napi::CallbackInfo &info) {
  mqd_t fd = info[0].As<Napi::Number>().Int32Value();
  if (!info[1].IsTypedArray()) return TypeError(info.Env(), "send: bytes must be a Uint8Array");
  Napi::Uint8Array bytes = info[1].As<Napi::Uint8Array>();
  bool timed = info.Length() > 2 && info[2].IsNumber();
  timespec deadline = timed ? Deadline(info[2].As<Napi::Number>().DoubleValue()) : timespec{};
  const char *data = reinterpret_cast<const char *>(bytes.Data());
  int rc;
  do {
    rc = timed ? mq_timedsend(fd, data, bytes.ByteLength(), 0, &deadline)
               : mq_send(fd, data, bytes.ByteLength(), 0);
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return Napi::Boolean::New(info.Env(), true);
  if (errno == EAGAIN || errno == ETIMEDOUT) return Napi::Boolean::New(info.Env(), false);
  return Fail(info.Env(), "mq_send", errno);
}

Napi::Value Receive(const Napi::CallbackInfo &info) {
  mqd_t fd = info[0].As<Napi::Number>().Int32Value();
  if (!info[1].IsTypedArray()) return TypeError(info.Env(), "receive: target must be a Uint8Array");
  Napi::Uint8Array target = info[1].As<Napi::Uint8Array>();
  bool timed = info.Length() > 2 && info[2].IsNumber();
  timespec deadline = timed ? Deadline(info[2].As<Napi::Number>().DoubleValue()) : timespec{};
  // The kernel copies the message straight into the caller's buffer, which must be at least
  // the queue's msgsize long (EMSGSIZE otherwise).
  char *data = reinterpret_cast<char *>(target.Data());
  ssize_t n;
  do {
    n = timed ? mq_timedreceive(fd, data, target.ByteLength(), nullptr, &deadline)
              : mq_receive(fd, data, target.ByteLength(), nullptr);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) return Napi::Number::New(info.Env(), static_cast<double>(n));
  if (errno == EAGAIN || errno == ETIMEDOUT) return Napi::Number::New(info.Env(), -1);
  return Fail(info.Env(), "mq_receive", errno);
}

Napi::Value Close(const Napi::CallbackInfo &info) {
  if (mq_close(info[0].As<Napi::Number>().Int32Value()) != 0) {
    return Fail(info.Env(), "mq_close", errno);
  }
  return info.Env().Undefined();
}

Napi::Value Unlink(const Napi::CallbackInfo &info) {
  if (mq_unlink(QueueName(info[0]).c_str()) == 0) return Napi::Boolean::New(info.Env(), true);
  if (errno == ENOENT) return Napi::Boolean::New(info.Env(), false);
  return Fail(info.Env(), "mq_unlink", errno);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("open", Napi::Function::New(env, Open));
  exports.Set("send", Napi::Function::New(env, Send));
  exports.Set("receive", Napi::Function::New(env, Receive));
  exports.Set("close", Napi::Function::New(env, Close));
  exports.Set("unlink", Napi::Function::New(env, Unlink));
  return exports;
}

}  // namespace

NODE_API_MODULE(posix_mq, Init)
