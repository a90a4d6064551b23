// Boost.JSON, compiled once for the integration tests (header-only mode):
// the paho driver speaks JSON lines.
#include <boost/json/src.hpp>
