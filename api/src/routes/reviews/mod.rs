//! Reviews across submissions: the figures on reviewing (backlog, waiting
//! times, reviewers' agreement).

pub mod metrics;
