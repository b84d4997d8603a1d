//! Pods and the Tier 4 → 5 handoff through the HTTP API: nominations and
//! their refusals, accepts racing for one slot, placement after the
//! handoff, engagements within capacity, and the dashboard's numbers.

mod dashboard;
mod handoff;
mod keeping;
