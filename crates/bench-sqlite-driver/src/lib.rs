//! No code: this crate holds `benches/read_path.rs`, which compares SQLite drivers for the
//! read path (see docs/benchmarks.md). It exists on its own so that `rusqlite` is a dependency
//! of that measurement only.
