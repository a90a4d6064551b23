#include "gateway/mqtt/stream_parser.hpp"

#include <algorithm>
#include <cstring>

namespace fieldgate::mqtt {

StreamParser::StreamParser(std::uint32_t max_packet_size, ProtocolVersion version)
    : max_packet_size_(max_packet_size), version_(version) {}

std::span<std::uint8_t> StreamParser::prepare(std::size_t min_size) {
    if (begin_ == end_) {
        begin_ = end_ = 0;
    } else if (begin_ > 0 && buffer_.size() - end_ < min_size) {
        // Move the unparsed tail to the front before growing.
        std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    if (buffer_.size() - end_ < min_size) {
        buffer_.resize(std::max(end_ + min_size, buffer_.size() * 2));
    }
    return {buffer_.data() + end_, buffer_.size() - end_};
}

void StreamParser::release_if_empty() {
    if (begin_ != end_) return;
    std::vector<std::uint8_t>().swap(buffer_);
    begin_ = end_ = 0;
}

void StreamParser::commit(std::size_t n) { end_ = std::min(end_ + n, buffer_.size()); }

void StreamParser::feed(std::span<const std::uint8_t> bytes) {
    if (bytes.empty()) return;
    auto area = prepare(bytes.size());
    std::memcpy(area.data(), bytes.data(), bytes.size());
    commit(bytes.size());
}

DecodeResult StreamParser::next() {
    if (failed_) {
        DecodeResult result;
        result.status = DecodeStatus::error;
        result.error = error_;
        return result;
    }
    DecodeResult result = decode({buffer_.data() + begin_, end_ - begin_}, version_, max_packet_size_);
    switch (result.status) {
        case DecodeStatus::packet:
            last_begin_ = begin_;
            last_size_ = result.size;
            begin_ += result.size;
            if (const auto* connect = std::get_if<Connect>(&result.packet)) version_ = connect->version;
            break;
        case DecodeStatus::error:
            failed_ = true;
            error_ = result.error;
            break;
        case DecodeStatus::need_more:
            break;
    }
    return result;
}

}  // namespace fieldgate::mqtt
