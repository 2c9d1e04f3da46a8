/* transfers: the SimGrid flows of the event core, started asynchronously from the engine actor and
 * waited for together (see transfers.h). C++ because SimGrid 3.32 has host-to-host asynchronous flows
 * (s4u::Comm::sendto_async) and waiting on many of them (s4u::Comm::wait_any_for) only in s4u; the rest
 * of cpnsim sees the C functions below.
 *
 * Owns the flows in flight (one CommPtr each) and their tags, in two arrays kept in the same order.
 * Invariants: comms[i] carries tags[i]; a flow leaves both arrays when its end is reported or when it is
 * cancelled. */
#include "core/transfers.h"

#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Host.hpp>

#include <cstdint>
#include <new>
#include <vector>

struct cpn_transfers {
  std::vector<simgrid::s4u::CommPtr> comms;
  std::vector<size_t> tags;
};

extern "C" {

cpn_transfers_t *cpn_transfers_new(void) { return new (std::nothrow) cpn_transfers(); }

void cpn_transfers_free(cpn_transfers_t *x)
{
  if (!x)
    return;
  cpn_transfers_cancel_all(x);
  delete x;
}

size_t cpn_transfers_count(const cpn_transfers_t *x) { return x->comms.size(); }

int cpn_transfers_start(cpn_transfers_t *x, const char *from, const char *to, double bytes, size_t tag)
{
  simgrid::s4u::Host *a = simgrid::s4u::Host::by_name_or_null(from);
  simgrid::s4u::Host *b = simgrid::s4u::Host::by_name_or_null(to);
  if (!a || !b)
    return -1;
  /* As sg_host_sendto: the size is converted to whole bytes. */
  x->comms.push_back(simgrid::s4u::Comm::sendto_async(a, b, static_cast<uint64_t>(bytes)));
  x->tags.push_back(tag);
  return 0;
}

int cpn_transfers_wait_any_for(cpn_transfers_t *x, double timeout_s, size_t *tag)
{
  ssize_t i = simgrid::s4u::Comm::wait_any_for(x->comms, timeout_s);
  if (i < 0)
    return 0;
  auto k = static_cast<size_t>(i);
  *tag = x->tags[k];
  /* Keep the order of the others: among flows that end at the same instant, the one started first is
   * reported first, as their actors were woken before. */
  x->comms.erase(x->comms.begin() + i);
  x->tags.erase(x->tags.begin() + i);
  return 1;
}

void cpn_transfers_cancel_all(cpn_transfers_t *x)
{
  for (auto &c : x->comms)
    c->cancel();
  x->comms.clear();
  x->tags.clear();
}
}
