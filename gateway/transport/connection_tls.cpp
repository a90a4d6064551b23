#include "gateway/transport/connection_impl.hpp"

namespace fieldgate::transport {
template class Connection<TlsStream>;
}  // namespace fieldgate::transport
