#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "gateway/mqtt/codec.hpp"

namespace fieldgate::mqtt {

// Turns a byte stream into packets, however the bytes were split by the reads.
// Reads go straight into the parser's buffer (prepare/commit), and packets come
// out of next() as views into that buffer, so a PUBLISH costs no copy and no
// allocation. A packet larger than the limit is refused from its fixed header,
// before its body is buffered. After an error the parser stays failed.
//
// Owned by one connection; not thread-safe.
class StreamParser {
public:
    explicit StreamParser(std::uint32_t max_packet_size = max_packet_size_limit,
                          ProtocolVersion version = ProtocolVersion::v3_1_1);

    // A writable area of at least `min_size` bytes at the end of the buffer.
    // Invalidates packets returned earlier.
    std::span<std::uint8_t> prepare(std::size_t min_size);
    // Marks `n` bytes of the prepared area as received.
    void commit(std::size_t n);
    // prepare + copy + commit.
    void feed(std::span<const std::uint8_t> bytes);

    // The next whole packet, need_more, or the error that ends the stream. The
    // packet's views stay valid until the next call to prepare, feed or next.
    // A CONNECT switches the parser to the version it names.
    DecodeResult next();

    ProtocolVersion version() const { return version_; }
    void set_version(ProtocolVersion v) { version_ = v; }
    void set_max_packet_size(std::uint32_t limit) { max_packet_size_ = limit; }
    // Frees the buffer when nothing is buffered, so an idle connection holds
    // no read buffer; the next prepare() allocates one again.
    void release_if_empty();
    // Bytes received but not yet returned as packets.
    std::size_t buffered() const { return end_ - begin_; }
    std::span<const std::uint8_t> pending_bytes() const { return {buffer_.data() + begin_, end_ - begin_}; }
    // The bytes of the packet next() returned last; valid as long as its views.
    std::span<const std::uint8_t> last_packet() const { return {buffer_.data() + last_begin_, last_size_}; }

private:
    std::vector<std::uint8_t> buffer_;
    std::size_t begin_ = 0;  // first byte not yet returned as a packet
    std::size_t end_ = 0;    // one past the last received byte
    std::size_t last_begin_ = 0;
    std::size_t last_size_ = 0;
    std::uint32_t max_packet_size_;
    ProtocolVersion version_;
    bool failed_ = false;
    DecodeError error_;
};

}  // namespace fieldgate::mqtt
