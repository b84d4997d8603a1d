//! Tidy checks over the workspace's own text, in the spirit of
//! rust-analyzer's: no import circle between modules (`circles`), and an
//! `ARCHITECTURE.md` that names only what exists and every module of the
//! domain (`architecture`). They read files; nothing runs.

mod architecture;
mod circles;
mod source;
