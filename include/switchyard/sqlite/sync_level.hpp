#pragma once

namespace switchyard {

/// How hard switchyard::sqlite's files push a commit to the disk (SQLite's `PRAGMA synchronous`,
/// always in WAL mode). From fastest to safest: off, normal, full.
enum class sync_level {
    /// No fsync at all. A commit survives the process being killed (SIGKILL, a crash): the
    /// WAL is in the operating system's cache. An OS crash or power cut can lose recent
    /// commits and, rarely, corrupt the file.
    off,
    /// fsync at WAL checkpoints only. Survives a process crash like `off`; an OS crash or
    /// power cut can lose the commits since the last checkpoint, never corrupt the file.
    normal,
    /// fsync of the WAL on every commit (shared by a group commit's batch). A commit that
    /// returned survives a power cut. The slowest: one disk flush per commit.
    full,
};

/// The PRAGMA synchronous value: "OFF", "NORMAL" or "FULL".
constexpr const char* to_string(sync_level level) noexcept {
    switch (level) {
        case sync_level::off: return "OFF";
        case sync_level::normal: return "NORMAL";
        case sync_level::full: return "FULL";
    }
    return "NORMAL";
}

}  // namespace switchyard
