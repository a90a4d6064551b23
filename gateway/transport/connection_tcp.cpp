#include "gateway/transport/connection_impl.hpp"

namespace fieldgate::transport {
template class Connection<TcpStream>;
}  // namespace fieldgate::transport
