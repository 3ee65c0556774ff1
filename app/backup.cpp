// memoryd backup / restore (SQLite). docs/OPERATIONS.md says how to use them and why the
// conversation database is copied before the memory database.
#include <fcntl.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "app/instance_lock.hpp"
#include "app/ops_commands.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"

#ifndef MEMORYD_VERSION
#define MEMORYD_VERSION "dev"
#endif

namespace memoryd {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr const char* manifest_name = "manifest.json";
constexpr const char* manifest_format = "memoryd-backup";
constexpr int manifest_format_version = 1;

struct failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One database of the backup: its file name in DIR, the config key it is restored to and the
// tables whose rows are counted.
struct db_role {
  const char* name;
  const char* key;
  std::vector<const char*> tables;
};
const std::vector<db_role>& roles() {
  // Order matters: conversation.db is copied first. The processor writes a batch's facts to
  // memory.db before it marks the messages done in conversation.db, so every message the
  // earlier copy shows as done has its facts in the later one; messages still pending may
  // be extracted again after a restore, as after a crash, and the fact merge takes that.
  static const std::vector<db_role> r = {
      {"conversation.db", "storage.conversation_db", {"messages", "user_queue"}},
      {"memory.db", "storage.memory_db", {"facts", "fact_events"}},
  };
  return r;
}

std::string config_path(const config& cfg, const db_role& r) {
  return std::string(r.key) == "storage.conversation_db" ? cfg.storage.conversation_db
                                                          : cfg.storage.memory_db;
}

class db {
 public:
  db(const std::string& path, int flags) {
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      db_ = nullptr;
      throw failure("cannot open " + path + ": " + msg);
    }
    sqlite3_busy_timeout(db_, 10000);
  }
  ~db() { sqlite3_close(db_); }
  db(const db&) = delete;
  db& operator=(const db&) = delete;
  sqlite3* get() { return db_; }
  std::string text(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
      throw failure(sql + ": " + sqlite3_errmsg(db_));
    std::string out;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      auto* t = sqlite3_column_text(s, 0);
      out = t ? reinterpret_cast<const char*>(t) : "";
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) throw failure(sql + ": " + sqlite3_errmsg(db_));
    return out;
  }
  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "error";
      sqlite3_free(err);
      throw failure(sql + ": " + msg);
    }
  }

 private:
  sqlite3* db_ = nullptr;
};

std::string sha256_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw failure("cannot read " + path);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(in.gcount()));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &n);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

void fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) throw failure("cannot open " + path + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw failure("fsync " + path + ": " + std::strerror(errno));
}

// integrity_check, the schema version and the row counts of a database file.
struct db_facts {
  std::int64_t schema_version = 0;
  std::map<std::string, std::int64_t> counts;
};
db_facts inspect(db& d, const db_role& r, const std::string& path) {
  auto ok = d.text("PRAGMA integrity_check");
  if (ok != "ok") throw failure(path + ": integrity_check: " + ok);
  db_facts f;
  f.schema_version = std::stoll(d.text("PRAGMA user_version"));
  for (auto* t : r.tables) f.counts[t] = std::stoll(d.text(std::string("SELECT count(*) FROM ") + t));
  return f;
}

json::object file_entry(const db_role& r, const std::string& path, const db_facts& f) {
  json::object counts;
  for (auto& [t, n] : f.counts) counts[t] = n;
  return json::object{{"name", r.name},
                      {"restores", r.key},
                      {"bytes", static_cast<std::int64_t>(fs::file_size(path))},
                      {"sha256", sha256_of(path)},
                      {"schema_version", f.schema_version},
                      {"counts", counts}};
}

// One database, copied with the online backup API in a single step: one read transaction,
// so the copy is the database as of one commit, and in WAL mode writers go on meanwhile.
json::object backup_one(const db_role& r, const std::string& source, const std::string& dir) {
  if (!fs::exists(source))
    throw failure(std::string(r.key) + ": no database at " + source);
  const std::string partial = dir + "/" + r.name + ".partial", final_path = dir + "/" + r.name;
  {
    // Read-write (nothing is written): a read-only connection cannot open a WAL database
    // whose -shm file is missing, as it is when no memoryd runs. Run as root, SQLite gives
    // the -wal and -shm it creates the database file's owner.
    db src(source, SQLITE_OPEN_READWRITE);
    db dst(partial, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    auto* b = sqlite3_backup_init(dst.get(), "main", src.get(), "main");
    if (!b) throw failure("backup of " + source + ": " + sqlite3_errmsg(dst.get()));
    int rc;
    do {
      rc = sqlite3_backup_step(b, -1);
      if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(50);
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) throw failure("backup of " + source + ": " + sqlite3_errstr(rc));
    // One self-contained file: no -wal beside it.
    dst.text("PRAGMA journal_mode=DELETE");
  }
  fsync_path(partial, false);
  fs::rename(partial, final_path);
  db check(final_path, SQLITE_OPEN_READONLY);
  return file_entry(r, final_path, inspect(check, r, final_path));
}

void write_file(const std::string& path, const std::string& text) {
  {
    std::ofstream out(path + ".partial", std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw failure("cannot write " + path);
  }
  fsync_path(path + ".partial", false);
  fs::rename(path + ".partial", path);
}

std::string pg_message() {
  return "backup and restore work on the SQLite files; with storage.backend = postgres use "
         "pg_dump (e.g. pg_dump --format=custom --file=memoryd.dump \"$DATABASE_URL\") and "
         "pg_restore: one database holds messages, queue and facts, and pg_dump copies it as "
         "of one snapshot (docs/OPERATIONS.md)";
}

json::object verify_manifest(const std::string& dir) {
  const std::string path = dir + "/" + manifest_name;
  std::ifstream in(path);
  if (!in) throw failure("no " + std::string(manifest_name) + " in " + dir);
  std::stringstream ss;
  ss << in.rdbuf();
  json::value v;
  try {
    v = json::parse(ss.str());
  } catch (const std::exception& e) {
    throw failure(path + ": not JSON: " + e.what());
  }
  auto* m = v.if_object();
  auto* format = m ? m->if_contains("format") : nullptr;
  if (!format || !format->is_string() || format->as_string() != manifest_format)
    throw failure(path + ": not a memoryd backup manifest");
  auto* version = m->if_contains("format_version");
  if (!version || !version->is_int64() || version->as_int64() != manifest_format_version)
    throw failure(path + ": unknown format_version (this memoryd reads " +
                  std::to_string(manifest_format_version) + ")");
  if (!m->contains("files") || !m->at("files").is_array())
    throw failure(path + ": no files list");
  for (auto& r : roles()) {
    const json::object* entry = nullptr;
    for (auto& f : m->at("files").as_array())
      if (f.is_object() && f.as_object().contains("name") && f.as_object().at("name").is_string() &&
          f.as_object().at("name").as_string() == r.name)
        entry = &f.as_object();
    if (!entry) throw failure(path + ": no entry for " + r.name);
    const std::string file = dir + "/" + r.name;
    if (!fs::exists(file)) throw failure(file + " is missing");
    if (static_cast<std::int64_t>(fs::file_size(file)) != entry->at("bytes").as_int64())
      throw failure(file + ": size differs from the manifest");
    if (sha256_of(file) != entry->at("sha256").as_string())
      throw failure(file + ": sha256 differs from the manifest (the file was changed or damaged)");
    db d(file, SQLITE_OPEN_READONLY);
    auto f = inspect(d, r, file);
    if (f.schema_version != entry->at("schema_version").as_int64())
      throw failure(file + ": schema version differs from the manifest");
    for (auto& [t, n] : f.counts)
      if (entry->at("counts").as_object().at(t).as_int64() != n)
        throw failure(file + ": " + t + " count differs from the manifest");
  }
  return *m;
}

std::string sibling(const std::string& path, const std::string& suffix) { return path + suffix; }

}  // namespace

int run_backup(const config& cfg, const std::string& dir) {
  if (cfg.storage.backend != "sqlite") {
    std::cerr << "memoryd: " << pg_message() << "\n";
    return 2;
  }
  try {
    std::error_code ec;
    if (fs::exists(dir) && !fs::is_empty(dir, ec)) {
      std::cerr << "memoryd: " << dir << " is not empty: a backup goes into a new directory\n";
      return 2;
    }
    fs::create_directories(dir);
    // The copies hold every user's messages and facts.
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
    const auto started = wall_clock_ms();
    json::array files;
    for (auto& r : roles()) files.push_back(backup_one(r, config_path(cfg, r), dir));
    json::object manifest{{"format", manifest_format},
                          {"format_version", manifest_format_version},
                          {"memoryd_version", MEMORYD_VERSION},
                          {"backend", "sqlite"},
                          {"started_at_ms", started},
                          {"finished_at_ms", wall_clock_ms()},
                          {"files", files}};
    write_file(dir + "/" + manifest_name, json::serialize(manifest) + "\n");
    fsync_path(dir, true);
    log::info("backup_complete", {{"dir", dir}, {"ms", wall_clock_ms() - started}});
    std::cout << json::serialize(manifest) << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "memoryd: backup failed: " << e.what() << "\n";
    return 1;
  }
}

int run_restore(const config& cfg, const std::string& dir) {
  if (cfg.storage.backend != "sqlite") {
    std::cerr << "memoryd: " << pg_message() << "\n";
    return 2;
  }
  try {
    auto manifest = verify_manifest(dir);
    // A running memoryd holds a shared lock on each file it serves: refuse, and keep the
    // exclusive locks while the files are replaced so that none starts meanwhile.
    std::vector<file_lock> locks;
    for (auto& r : roles()) {
      const auto target = config_path(cfg, r);
      if (!fs::exists(target)) continue;
      file_lock l(target, file_lock::mode::exclusive);
      if (l.busy())
        throw failure("a running memoryd has " + target +
                      " open: stop it first (systemctl stop memoryd); nothing was changed");
      if (!l.held()) throw failure("cannot lock " + target + ": " + l.error());
      locks.push_back(std::move(l));
    }
    const auto stamp = std::to_string(wall_clock_ms());
    json::array restored, moved;
    for (auto& r : roles()) {
      const auto target = config_path(cfg, r);
      const auto parent = fs::absolute(target).parent_path();
      fs::create_directories(parent);
      const auto incoming = sibling(target, ".restoring");
      fs::copy_file(dir + "/" + r.name, incoming, fs::copy_options::overwrite_existing);
      // Restored as root (the usual case), the file gets the data directory's owner, so that
      // the service user can open it.
      if (::geteuid() == 0) {
        struct stat st {};
        if (::stat(parent.c_str(), &st) == 0 && ::chown(incoming.c_str(), st.st_uid, st.st_gid) != 0)
          throw failure("chown " + incoming + ": " + std::strerror(errno));
      }
      fs::permissions(incoming, fs::perms::owner_read | fs::perms::owner_write,
                      fs::perm_options::replace);
      fsync_path(incoming, false);
      // The old database and its WAL move aside together: a WAL left beside the restored
      // file would be replayed into it.
      for (const char* suffix : {"", "-wal", "-shm"}) {
        const auto old = target + suffix;
        if (!fs::exists(old)) continue;
        const auto aside = target + ".before-restore-" + stamp + suffix;
        fs::rename(old, aside);
        moved.push_back(json::string(aside));
      }
      fs::rename(incoming, target);
      fsync_path(parent.string(), true);
      restored.push_back(json::string(target));
    }
    log::info("restore_complete", {{"dir", dir}});
    std::cout << json::serialize(json::object{{"restored", restored},
                                              {"moved_aside", moved},
                                              {"backup_started_at_ms", manifest.at("started_at_ms")}})
              << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "memoryd: restore failed: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace memoryd
