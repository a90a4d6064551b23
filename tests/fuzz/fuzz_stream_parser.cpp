// libFuzzer target for the MQTT stream parser (STYLE.md 11).
//
// The input is a byte stream as a connection would carry it (the seed corpus
// starts each stream with a CONNECT, which sets the version of the rest). It is
// fed in a few chunks whose sizes come from its first bytes, alternately through
// feed() and prepare()/commit(), pulling packets after every chunk. Oracles,
// each an abort on failure besides what the sanitizers catch:
//  - splitting does not matter: the packets and the final outcome are those of
//    decode() run over the whole input at once;
//  - round trip: every packet re-encoded in the parser's version decodes to an
//    equal packet of exactly encoded_size() bytes, and re-encodes to the same bytes;
//  - a packet never takes more bytes than were buffered, and after an error the
//    parser stays failed.
// With FIELDGATE_FUZZ_EXPECT_VALID set in the environment, the input must also
// decode completely: no error, nothing left over. CTest runs the seed corpus
// (hand-built valid streams, make_corpus.py) and the valid-* regressions so.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <variant>
#include <vector>

#include "gateway/mqtt/codec.hpp"
#include "gateway/mqtt/stream_parser.hpp"

namespace {

using namespace fieldgate::mqtt;

// Small, so that the size limit (0x95 from the fixed header) is reached too.
constexpr std::uint32_t max_packet_size = 64 * 1024;

[[noreturn]] void fail(const char* what, const Packet* packet, ProtocolVersion version,
                       std::span<const std::uint8_t> bytes = {}) {
    std::fprintf(stderr, "fuzz_stream_parser: %s", what);
    if (packet != nullptr) {
        const auto type = to_string(type_of(*packet));
        std::fprintf(stderr, " (%.*s", static_cast<int>(type.size()), type.data());
        const auto v = to_string(version);
        std::fprintf(stderr, ", MQTT %.*s)", static_cast<int>(v.size()), v.data());
    }
    if (!bytes.empty()) {
        std::fprintf(stderr, "\n  re-encoded:");
        for (std::uint8_t b : bytes) std::fprintf(stderr, " %02X", b);
    }
    std::fprintf(stderr, "\n");
    std::abort();
}

void check(bool ok, const char* what, const Packet* packet = nullptr,
           ProtocolVersion version = ProtocolVersion::v3_1_1,
           std::span<const std::uint8_t> bytes = {}) {
    if (!ok) fail(what, packet, version, bytes);
}

// decode() run over the whole input at once: the reference for the parser.
struct Reference {
    std::vector<Packet> packets;  // views into the fuzzer's input, which outlives them
    DecodeResult end;             // need_more or error
};

Reference decode_whole(std::span<const std::uint8_t> data) {
    Reference ref;
    ProtocolVersion version = ProtocolVersion::v3_1_1;  // the parser's default
    std::size_t offset = 0;
    for (;;) {
        DecodeResult r = decode(data.subspan(offset), version, max_packet_size);
        if (r.status != DecodeStatus::packet) {
            ref.end = std::move(r);
            return ref;
        }
        check(r.size > 0 && r.size <= data.size() - offset, "decode() size out of range",
              &r.packet, version);
        offset += r.size;
        if (const auto* connect = std::get_if<Connect>(&r.packet)) version = connect->version;
        ref.packets.push_back(std::move(r.packet));
    }
}

// Re-encodes `packet` in `version` and checks that it decodes back unchanged.
void check_round_trip(const Packet& packet, ProtocolVersion version) {
    std::vector<std::uint8_t> bytes;
    const std::size_t n = encode(packet, version, bytes);
    check(n == bytes.size(), "encode() returned a size other than what it appended", &packet,
          version, bytes);
    check(n == encoded_size(packet, version), "encoded_size() disagrees with encode()", &packet,
          version, bytes);
    check(n > 0, "a decoded packet encodes to nothing", &packet, version);

    if (const auto* publish = std::get_if<Publish>(&packet)) {
        std::vector<std::uint8_t> direct;
        encode(*publish, version, direct);
        check(direct == bytes, "encode(Publish) differs from encode(Packet)", &packet, version,
              bytes);
    }

    const DecodeResult again = decode(bytes, version, max_packet_size);
    check(again.status == DecodeStatus::packet, "re-encoded packet does not decode", &packet,
          version, bytes);
    check(again.size == bytes.size(), "re-encoded packet decodes to another size", &packet,
          version, bytes);
    check(again.packet == packet, "re-encoded packet decodes to a different packet", &packet,
          version, bytes);

    std::vector<std::uint8_t> twice;
    encode(again.packet, version, twice);
    check(twice == bytes, "encoding is not stable across a round trip", &packet, version, bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> input(data, size);
    const Reference ref = decode_whole(input);

    // Up to three chunks sized by the first bytes, then the rest.
    std::vector<std::size_t> chunks;
    std::size_t left = size;
    for (std::size_t k = 0; k < 3 && k < size && left > 0; ++k) {
        const std::size_t n = std::min<std::size_t>(left, 1 + data[k] % 61u);
        chunks.push_back(n);
        left -= n;
    }
    if (left > 0) chunks.push_back(left);

    StreamParser parser(max_packet_size);
    std::size_t offset = 0;
    std::size_t count = 0;
    std::size_t consumed = 0;
    DecodeResult last;
    for (std::size_t k = 0; k < chunks.size() && last.status != DecodeStatus::error; ++k) {
        const auto chunk = input.subspan(offset, chunks[k]);
        offset += chunk.size();
        if (k % 2 == 0) {
            parser.feed(chunk);
        } else {
            // A read that fills less than the prepared area.
            const auto area = parser.prepare(chunk.size() + k);
            check(area.size() >= chunk.size() + k, "prepare() gave less than asked", nullptr);
            std::memcpy(area.data(), chunk.data(), chunk.size());
            parser.commit(chunk.size());
        }
        for (;;) {
            const std::size_t buffered = parser.buffered();
            last = parser.next();
            if (last.status != DecodeStatus::packet) break;
            const ProtocolVersion version = parser.version();
            check(last.size > 0 && last.size <= buffered, "packet size out of range",
                  &last.packet, version);
            check(count < ref.packets.size() && last.packet == ref.packets[count],
                  "the stream parser's packet differs from decode() over the whole input",
                  &last.packet, version);
            ++count;
            consumed += last.size;
            check_round_trip(last.packet, version);
        }
    }

    check(count == ref.packets.size(), "the stream parser returned fewer packets than decode()",
          nullptr);
    static const bool expect_valid = std::getenv("FIELDGATE_FUZZ_EXPECT_VALID") != nullptr;
    if (expect_valid && (last.status != DecodeStatus::need_more || parser.buffered() != 0)) {
        std::fprintf(stderr, "fuzz_stream_parser: packet %zu (offset %zu): %.*s\n", count + 1,
                     consumed, static_cast<int>(last.error.message.size()),
                     last.error.message.data());
        fail(last.status == DecodeStatus::error ? "a valid stream was refused"
                                                : "a valid stream ends in a partial packet",
             nullptr, parser.version());
    }
    check(last.status == ref.end.status, "the stream parser ended differently from decode()",
          nullptr);
    if (last.status == DecodeStatus::error) {
        check(last.error.code == ref.end.error.code,
              "the stream parser failed with another reason than decode()", nullptr);
        // A failed parser stays failed, whatever it is fed.
        parser.feed(input.first(std::min<std::size_t>(size, 8)));
        const DecodeResult after = parser.next();
        check(after.status == DecodeStatus::error && after.error.code == last.error.code,
              "the parser recovered after an error", nullptr);
    } else {
        // Everything was fed; what no packet took is still buffered.
        check(offset == size && parser.buffered() == size - consumed,
              "buffered() does not account for the input", nullptr);
    }
    return 0;
}
