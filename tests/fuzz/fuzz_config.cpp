// libFuzzer target for the configuration loader (STYLE.md 11): any input,
// TOML or not, must load without a crash or a hang, and every error must be
// placed in the file. Oracle for inputs that load: print-config's output loads
// again, without errors, and prints the same (the round trip `check` relies on).
// With FIELDGATE_FUZZ_EXPECT_VALID set (CTest's run over the seed corpus) the
// input must also load without errors.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "config/loader.hpp"

namespace {

using namespace fieldgate::config;

[[noreturn]] void fail(const char* what, std::string_view detail) {
    std::fprintf(stderr, "fuzz_config: %s\n%.*s\n", what, static_cast<int>(detail.size()), detail.data());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text{reinterpret_cast<const char*>(data), size};
    // Files the input names are not looked up: the loader's checks, not the disk, are under test.
    const LoadOptions options{.check_files = false};
    const LoadResult first = load_config_text(text, "fuzz.toml", options);
    for (const auto& error : first.errors) {
        if (error.file != "fuzz.toml" || error.message.empty()) fail("error without file or message", error.to_string());
    }
    if (!first.ok()) {
        if (std::getenv("FIELDGATE_FUZZ_EXPECT_VALID") != nullptr) fail("a valid seed has errors", first.errors.front().to_string());
        return 0;
    }

    const std::string printed = print_config(first.config);
    const LoadResult second = load_config_text(printed, "printed.toml", options);
    if (!second.ok()) fail("print-config output does not load", printed + "\n" + second.errors.front().to_string());
    if (print_config(second.config) != printed) fail("print-config is not stable", printed);
    return 0;
}
