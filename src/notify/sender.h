// A Sender delivers one notification over one kind of channel (webhook, slack, email, exec). Each
// kind lives in its own folder; the composition root maps channel kinds to senders.
// Thread-safety: send() may be called from several threads at once (the deliverer's lanes do).
#pragma once

#include <string>

#include "core/time.h"
#include "store/store.h"

namespace tocsin::notify {

struct DeliveryResult {
  bool ok = false;
  int status_code = 0;  // HTTP status, SMTP reply, exit status; 0 when none
  std::string error;    // why it failed
  bool retryable = true;  // false: retrying cannot help (e.g. HTTP 400)
};

class Sender {
 public:
  virtual ~Sender() = default;
  virtual DeliveryResult send(const store::Notification& n) = 0;
  // The server `n` goes to, which names its delivery lane (notify/lanes.h): sends to one
  // destination never wait for another's. By default the channel kind and the address.
  virtual std::string destination(const store::Notification& n) const { return n.channel + " " + n.address; }
};

}  // namespace tocsin::notify
