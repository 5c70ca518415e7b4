// channel.cc: fixed-size messages over SOCK_SEQPACKET (see channel.h).
#include "native/channel.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

namespace rmaplab::native {
namespace {

bool SendMessage(int sock, const void* data, size_t size, int pass_fd) {
  iovec iov{const_cast<void*>(data), size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (pass_fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
  }
  ssize_t n;
  do {
    n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(size);
}

bool ReceiveMessage(int sock, void* data, size_t size, int* passed_fd) {
  iovec iov{data, size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (passed_fd != nullptr) *passed_fd = -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
       c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        passed_fd != nullptr) {
      std::memcpy(passed_fd, CMSG_DATA(c), sizeof(int));
    }
  }
  return n == static_cast<ssize_t>(size);
}

}  // namespace

bool SendRequest(int sock, const Request& req, int pass_fd) {
  return SendMessage(sock, &req, sizeof req, pass_fd);
}

bool ReceiveRequest(int sock, Request* req, int* passed_fd) {
  return ReceiveMessage(sock, req, sizeof *req, passed_fd);
}

bool SendReply(int sock, const Reply& reply) {
  return SendMessage(sock, &reply, sizeof reply, -1);
}

bool ReceiveReply(int sock, Reply* reply) {
  return ReceiveMessage(sock, reply, sizeof *reply, nullptr);
}

Errno ErrnoFromLinux(int linux_errno, bool* known) {
  *known = true;
  switch (linux_errno) {
    case 0:
      return Errno::kOk;
    case EPERM:
      return Errno::kEPERM;
    case ESRCH:
      return Errno::kESRCH;
    case ENOMEM:
      return Errno::kENOMEM;
    case EFAULT:
      return Errno::kEFAULT;
    case EBUSY:
      return Errno::kEBUSY;
    case EEXIST:
      return Errno::kEEXIST;
    case EINVAL:
      return Errno::kEINVAL;
    case EAGAIN:
      return Errno::kEAGAIN;
    case ENOSYS:
      return Errno::kENOSYS;
  }
  *known = false;
  return Errno::kENOSYS;
}

}  // namespace rmaplab::native
