#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace fieldgate::broker::sqlite {

// An SQLite error with the library's result code (SQLITE_FULL, SQLITE_CORRUPT ...).
class Error : public std::runtime_error {
public:
    Error(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
    int code() const { return code_; }
    bool disk_full() const;

private:
    int code_;
};

class Database;

// A prepared statement; bind by 1-based index, step, read columns.
class Statement {
public:
    Statement(Database& db, std::string_view sql);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, std::string_view text);
    Statement& bind_blob(int index, std::string_view bytes);
    Statement& bind_null(int index);
    // true while there is a row; throws Error on failure. Resets itself when done.
    bool step();
    // Runs to completion (for statements without rows).
    void run();
    void reset();

    std::int64_t integer(int column) const;
    std::string text(int column) const;
    bool is_null(int column) const;

private:
    Database& db_;
    sqlite3_stmt* stmt_ = nullptr;
};

// One connection. Used by one thread (the persistence thread).
class Database {
public:
    explicit Database(const std::string& path);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    void exec(std::string_view sql);
    // The first column of the first row of a query, as text.
    std::string query_text(std::string_view sql);
    sqlite3* handle() { return db_; }
    // False once SQLite has rolled a failed transaction back by itself (SQLITE_FULL does).
    bool in_transaction();
    [[noreturn]] void fail(int code, std::string_view context);

private:
    sqlite3* db_ = nullptr;
};

}  // namespace fieldgate::broker::sqlite
