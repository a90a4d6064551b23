// Micro-benchmarks of the MQTT codec: PUBLISH decode/encode, the stream parser
// and topic matching, the paths every message takes.
//
//   ./build/release/bin/fg_bench_codec [--benchmark_filter=Decode]
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/mqtt/codec.hpp"
#include "gateway/mqtt/stream_parser.hpp"
#include "gateway/mqtt/topic.hpp"

namespace {

using namespace fieldgate::mqtt;

constexpr std::string_view topic = "plant/line3/plc1/temperature";

// Owns the payload the Publish views.
struct PublishFixture {
    std::string payload;
    Publish publish;
};

// A QoS 1 PUBLISH with `payload_size` bytes; with `with_properties`, the
// properties a bridge typically sets: message expiry, content type and two user
// properties.
PublishFixture make_publish(std::size_t payload_size, bool with_properties) {
    PublishFixture f;
    f.payload.assign(payload_size, 'x');
    f.publish.qos = QoS::at_least_once;
    f.publish.packet_id = 4711;
    f.publish.topic = topic;
    f.publish.payload = f.payload;
    if (with_properties) {
        f.publish.properties.message_expiry_interval = 3600;
        f.publish.properties.content_type = "application/json";
        f.publish.properties.user_properties = {{"site", "line3"}, {"unit", "degC"}};
    }
    return f;
}

std::vector<std::uint8_t> encoded(const Packet& packet, ProtocolVersion version) {
    std::vector<std::uint8_t> out;
    encode(packet, version, out);
    return out;
}

void set_labels(benchmark::State& state) {
    state.SetLabel(state.range(1) != 0 ? "v5 with properties" : "v5 no properties");
}

// args: payload size, with properties (0/1)
void BM_DecodePublish(benchmark::State& state) {
    const auto f = make_publish(static_cast<std::size_t>(state.range(0)), state.range(1) != 0);
    const auto bytes = encoded(f.publish, ProtocolVersion::v5);
    for (auto _ : state) {
        DecodeResult r = decode(bytes, ProtocolVersion::v5);
        benchmark::DoNotOptimize(r);
        if (r.status != DecodeStatus::packet) state.SkipWithError("decode failed");
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(bytes.size()));
    set_labels(state);
}
BENCHMARK(BM_DecodePublish)->ArgNames({"payload", "props"})->ArgsProduct({{16, 1024}, {0, 1}});

void BM_EncodePublish(benchmark::State& state) {
    const auto f = make_publish(static_cast<std::size_t>(state.range(0)), state.range(1) != 0);
    std::vector<std::uint8_t> out;
    out.reserve(encoded_size(f.publish, ProtocolVersion::v5));
    for (auto _ : state) {
        out.clear();
        benchmark::DoNotOptimize(encode(f.publish, ProtocolVersion::v5, out));
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(out.size()));
    set_labels(state);
}
BENCHMARK(BM_EncodePublish)->ArgNames({"payload", "props"})->ArgsProduct({{16, 1024}, {0, 1}});

// The Packet overload, which goes through the variant.
void BM_EncodePublishAsPacket(benchmark::State& state) {
    const auto f = make_publish(static_cast<std::size_t>(state.range(0)), state.range(1) != 0);
    const Packet packet = f.publish;
    std::vector<std::uint8_t> out;
    out.reserve(encoded_size(packet, ProtocolVersion::v5));
    for (auto _ : state) {
        out.clear();
        benchmark::DoNotOptimize(encode(packet, ProtocolVersion::v5, out));
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(out.size()));
    set_labels(state);
}
BENCHMARK(BM_EncodePublishAsPacket)->ArgNames({"payload", "props"})->ArgsProduct({{16, 1024}, {0, 1}});

// 1000 PUBLISHes arriving in 4 KiB reads, as from a socket, each read going
// straight into the parser's buffer and every whole packet pulled out.
// args: payload size, with properties (0/1)
void BM_StreamParserPublishes(benchmark::State& state) {
    constexpr std::size_t packets = 1000;
    constexpr std::size_t read_size = 4096;
    const auto f = make_publish(static_cast<std::size_t>(state.range(0)), state.range(1) != 0);
    std::vector<std::uint8_t> stream;
    for (std::size_t i = 0; i < packets; ++i) encode(f.publish, ProtocolVersion::v5, stream);

    StreamParser parser(max_packet_size_limit, ProtocolVersion::v5);
    for (auto _ : state) {
        std::size_t decoded = 0;
        for (std::size_t offset = 0; offset < stream.size(); offset += read_size) {
            const std::size_t n = std::min(read_size, stream.size() - offset);
            const auto area = parser.prepare(n);
            std::memcpy(area.data(), stream.data() + offset, n);
            parser.commit(n);
            for (;;) {
                DecodeResult r = parser.next();
                if (r.status != DecodeStatus::packet) break;
                benchmark::DoNotOptimize(r);
                ++decoded;
            }
        }
        if (decoded != packets) state.SkipWithError("lost packets");
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(stream.size()));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(packets));
    set_labels(state);
}
BENCHMARK(BM_StreamParserPublishes)->ArgNames({"payload", "props"})->ArgsProduct({{16, 1024}, {0, 1}});

// topic_matches() against the topic above for typical filters.
void BM_TopicMatches(benchmark::State& state, std::string_view filter, bool expected) {
    if (topic_matches(filter, topic) != expected) {
        state.SkipWithError("unexpected match result");
        return;
    }
    // Copies hidden from the optimiser, so the call is not folded at compile time.
    std::string f(filter);
    std::string t(topic);
    for (auto _ : state) {
        benchmark::DoNotOptimize(f.data());
        benchmark::DoNotOptimize(t.data());
        bool m = topic_matches(f, t);
        benchmark::DoNotOptimize(m);
    }
}
BENCHMARK_CAPTURE(BM_TopicMatches, exact, "plant/line3/plc1/temperature", true);
BENCHMARK_CAPTURE(BM_TopicMatches, plus, "plant/+/plc1/temperature", true);
BENCHMARK_CAPTURE(BM_TopicMatches, plus_all, "+/+/+/+", true);
BENCHMARK_CAPTURE(BM_TopicMatches, hash, "plant/#", true);
BENCHMARK_CAPTURE(BM_TopicMatches, hash_root, "#", true);
BENCHMARK_CAPTURE(BM_TopicMatches, no_match_early, "factory/line3/plc1/temperature", false);
BENCHMARK_CAPTURE(BM_TopicMatches, no_match_late, "plant/line3/plc1/pressure", false);

}  // namespace

BENCHMARK_MAIN();
