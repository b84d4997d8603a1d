//! Appeals: a talent appeals one criterion of a review of their decided
//! submission; the appealed reviewer (or, after the deadline, another
//! manager) answers.

pub mod answer;
pub mod file;
pub mod list;
