#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <string_view>

#include "config/config.hpp"

namespace fieldgate::log {

// Sets up the one output all components share: stderr, with syslog priority
// prefixes ("<3>") and no timestamps when stderr is the systemd journal
// (JOURNAL_STREAM), and repeated warnings and errors held back with a count.
void init(config::LogLevel level);

// Applies to every component's logger (SIGHUP reload).
void set_level(config::LogLevel level);

// The logger of one component: "broker", "bridge:cloud", "modbus:plc1".
// Created on first use; thread-safe.
std::shared_ptr<spdlog::logger> get(std::string_view component);

}  // namespace fieldgate::log
