//! Pods and the Tier 4 → 5 handoff through the HTTP API: nominations and
//! their refusals, accepts racing for one slot, placement after the
//! handoff, engagements within capacity, the dashboard's numbers, and
//! inactive (suspended, erased) people out of the pipeline.

mod dashboard;
mod handoff;
mod inactive;
mod keeping;
mod nomination_slots;
