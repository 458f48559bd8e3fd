// Where a message body changes threads inside libzmq, declared to ThreadSanitizer.
#pragma once

#include <zmq.hpp>

// libzmq (as Debian ships it) is not built with ThreadSanitizer: its lock-free pipes order a
// body's writes on the sending thread before its reads on the receiving one, and TSan cannot
// see that. Over inproc, a body choreo hands to zmq without a copy is read by another thread
// as it is; over tcp and ipc, zmq's io thread frees it. Both ends declare the hand-over, so
// that TSan still checks choreo's own accesses on either side. Nothing in other builds.
#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace choreo {

/// The memory at `data`, written by this thread, goes to zmq, to be read or freed elsewhere.
inline void handed_over(void* data) noexcept {
#if defined(__SANITIZE_THREAD__)
    __tsan_release(data);
#else
    (void)data;
#endif
}

/// The memory at `data` came through zmq: whatever its sender wrote happened before.
inline void taken_over(void* data) noexcept {
#if defined(__SANITIZE_THREAD__)
    __tsan_acquire(data);
#else
    (void)data;
#endif
}

/// A frame received from a zmq socket: its data came through zmq.
inline void taken_over(zmq::message_t& frame) noexcept {
    taken_over(frame.data());
}

} // namespace choreo
