#include "gateway/transport/connection_impl.hpp"

namespace fieldgate::transport {
template class Connection<WsStream>;
template class Connection<WssStream>;
}  // namespace fieldgate::transport
