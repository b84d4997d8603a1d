//! The visual standard: weighted criteria and a pass mark. Every edit is a
//! new version; a review records the version it scored against, so an edit
//! never changes a past score or decision.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{DomainError, FieldError, Result};
use crate::types::Validator;

/// One criterion of a rubric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Criterion {
    /// Stable key the review's `scores` use: 1–40 of a–z, 0–9 and `_`.
    #[schema(example = "composition")]
    pub key: String,
    #[schema(example = "Composition and framing")]
    pub name: String,
    /// Relative weight, above 0 and at most 1,000.
    #[schema(example = 2.0)]
    pub weight: f64,
    /// The highest score of this criterion, above 0 and at most 1,000.
    #[schema(example = 10.0)]
    pub max_score: f64,
}

/// A rubric as sent: criteria and the pass mark (0–100, on the weighted total).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Rubric {
    pub criteria: Vec<Criterion>,
    /// The weighted total (0–100) an accepted submission must reach.
    #[schema(example = 60.0)]
    pub pass_mark: f64,
}

/// A rubric as stored: with its version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RubricVersion {
    pub version: i32,
    pub criteria: Vec<Criterion>,
    pub pass_mark: f64,
}

pub const MAX_CRITERIA: usize = 20;

fn in_range(x: f64, max: f64) -> bool {
    x.is_finite() && x > 0.0 && x <= max
}

impl Rubric {
    /// Checks the rubric; field paths are under `prefix` (e.g. `rubric`).
    pub fn check(&self, prefix: &str, v: &mut Validator) {
        if self.criteria.is_empty() || self.criteria.len() > MAX_CRITERIA {
            v.push(FieldError::new(
                format!("{prefix}.criteria"),
                format!("must have 1 to {MAX_CRITERIA} criteria"),
            ));
        }
        let mut keys = HashSet::new();
        for (i, c) in self.criteria.iter().enumerate() {
            let at = |f: &str| format!("{prefix}.criteria[{i}].{f}");
            let key_ok = (1..=40).contains(&c.key.len())
                && c.key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !key_ok {
                v.push(FieldError::new(
                    at("key"),
                    "must be 1 to 40 of a-z, 0-9 and _",
                ));
            } else if !keys.insert(c.key.as_str()) {
                v.push(FieldError::new(at("key"), "is used by another criterion"));
            }
            let n = c.name.trim().chars().count();
            if n == 0 || n > 100 || c.name.chars().any(char::is_control) {
                v.push(FieldError::new(at("name"), "must be 1 to 100 characters"));
            }
            if !in_range(c.weight, 1000.0) {
                v.push(FieldError::new(
                    at("weight"),
                    "must be above 0 and at most 1000",
                ));
            }
            if !in_range(c.max_score, 1000.0) {
                v.push(FieldError::new(
                    at("max_score"),
                    "must be above 0 and at most 1000",
                ));
            }
        }
        if !(self.pass_mark.is_finite() && (0.0..=100.0).contains(&self.pass_mark)) {
            v.push(FieldError::new(
                format!("{prefix}.pass_mark"),
                "must be between 0 and 100",
            ));
        }
    }
}

impl RubricVersion {
    /// The weighted total (0–100, two decimals) of a review's scores: every
    /// criterion present, each within 0 and its maximum, no unknown key.
    pub fn total(&self, scores: &BTreeMap<String, f64>) -> Result<f64> {
        let mut errors = Vec::new();
        for key in scores.keys() {
            if !self.criteria.iter().any(|c| &c.key == key) {
                errors.push(FieldError::new(
                    format!("scores.{key}"),
                    "is not a criterion of this challenge's rubric",
                ));
            }
        }
        let (mut sum, mut weights) = (0.0, 0.0);
        for c in &self.criteria {
            match scores.get(&c.key) {
                None => errors.push(FieldError::new(format!("scores.{}", c.key), "is required")),
                Some(s) if !(s.is_finite() && (0.0..=c.max_score).contains(s)) => {
                    errors.push(FieldError::new(
                        format!("scores.{}", c.key),
                        format!("must be between 0 and {}", c.max_score),
                    ))
                }
                Some(s) => {
                    sum += s / c.max_score * c.weight;
                    weights += c.weight;
                }
            }
        }
        if !errors.is_empty() {
            return Err(DomainError::Validation(errors));
        }
        if weights <= 0.0 {
            return Err(DomainError::bug("a rubric without weight"));
        }
        Ok((sum / weights * 10_000.0).round() / 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rubric() -> RubricVersion {
        RubricVersion {
            version: 1,
            criteria: vec![
                Criterion {
                    key: "a".into(),
                    name: "A".into(),
                    weight: 3.0,
                    max_score: 10.0,
                },
                Criterion {
                    key: "b".into(),
                    name: "B".into(),
                    weight: 1.0,
                    max_score: 5.0,
                },
            ],
            pass_mark: 50.0,
        }
    }

    #[test]
    fn the_total_is_the_weighted_share_of_the_maximum() {
        let scores = BTreeMap::from([("a".to_owned(), 5.0), ("b".to_owned(), 5.0)]);
        // (0.5 * 3 + 1.0 * 1) / 4 = 62.5 %
        assert_eq!(rubric().total(&scores).ok(), Some(62.5));
    }

    #[test]
    fn missing_unknown_and_out_of_range_scores_are_named() {
        let scores = BTreeMap::from([("a".to_owned(), 11.0), ("z".to_owned(), 1.0)]);
        let Err(DomainError::Validation(errors)) = rubric().total(&scores) else {
            panic!("expected a validation error");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["scores.z", "scores.a", "scores.b"]);
    }
}
