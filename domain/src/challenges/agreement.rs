//! How far reviewers agree beyond chance: Krippendorff's alpha, for the
//! nominal metric (decisions) and the interval metric (weighted scores).
//!
//! Reliability data are *units* (a submission) each holding the values its
//! coders (reviewers) gave; a missing value is simply absent. A unit with
//! fewer than two values is not pairable and is dropped. Alpha is
//! `1 − D_o / D_e`, observed over expected disagreement, computed from the
//! coincidence matrix `o_ck = Σ_u (pairs of values c, k in u) / (m_u − 1)`
//! as in Krippendorff, "Computing Krippendorff's Alpha-Reliability"
//! (2011):
//!
//! ```text
//! α = 1 − (n − 1) · Σ_ck o_ck δ²_ck / Σ_ck n_c n_k δ²_ck
//! ```
//!
//! with `n_c = Σ_k o_ck` and `n = Σ_c n_c` (the pairable values).
//! [`Coincidences`] is that matrix, the reference form. For the metrics
//! endpoint over hundreds of thousands of reviews, [`NominalSums`] and
//! [`IntervalSums`] hold the same quantities as a few sums a database can
//! aggregate in one pass (for these two metrics the double sums factor into
//! per-unit counts, sums and sums of squares); the tests hold both forms to
//! the same answers.
//!
//! Alpha is undefined (`None`) when there is no pairable unit, and when the
//! pairable values do not vary at all (`D_e = 0`: every reviewer gave the
//! same decision or score to everything). In the second case the data
//! cannot tell agreement from chance — a reviewer who always says
//! "accepted" agrees perfectly with another who does — so the answer is
//! "no evidence", not 1 (Krippendorff 2011 §E: alpha requires variation).

/// The coincidence matrix of reliability data over the distinct values `V`
/// of its pairable units.
#[derive(Debug, Clone)]
pub struct Coincidences<V> {
    /// The distinct values of pairable units, in order.
    values: Vec<V>,
    /// `o[c][k]`, indexed like `values`.
    o: Vec<Vec<f64>>,
}

impl<V: Clone + PartialOrd> Coincidences<V> {
    /// The matrix of `units`, each the values its coders gave (missing
    /// values left out). Units with fewer than two values are dropped.
    pub fn new<U: AsRef<[V]>>(units: &[U]) -> Self {
        let pairable = || units.iter().map(AsRef::as_ref).filter(|u| u.len() >= 2);
        let mut values: Vec<V> = pairable().flatten().cloned().collect();
        values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        values.dedup_by(|a, b| a == b);
        let mut o = vec![vec![0.0; values.len()]; values.len()];
        let index = |v: &V| {
            values
                .binary_search_by(|x| x.partial_cmp(v).unwrap_or(std::cmp::Ordering::Equal))
                .ok()
        };
        for unit in pairable() {
            let weight = 1.0 / (unit.len() - 1) as f64;
            let at: Vec<Option<usize>> = unit.iter().map(index).collect();
            for (i, a) in at.iter().enumerate() {
                for (j, b) in at.iter().enumerate() {
                    if let (true, Some(a), Some(b)) = (i != j, a, b) {
                        o[*a][*b] += weight;
                    }
                }
            }
        }
        Self { values, o }
    }

    /// `n`: how many pairable values there are.
    pub fn pairable_values(&self) -> f64 {
        self.o.iter().flatten().sum()
    }

    /// Alpha under the squared difference `delta2`; `None` when undefined
    /// (no pairable unit, or no variation among the pairable values).
    pub fn alpha(&self, delta2: impl Fn(&V, &V) -> f64) -> Option<f64> {
        let totals: Vec<f64> = self.o.iter().map(|row| row.iter().sum()).collect();
        let n: f64 = totals.iter().sum();
        let (mut observed, mut expected) = (0.0, 0.0);
        for (c, vc) in self.values.iter().enumerate() {
            for (k, vk) in self.values.iter().enumerate() {
                let d = delta2(vc, vk);
                observed += self.o[c][k] * d;
                expected += totals[c] * totals[k] * d;
            }
        }
        alpha(n, observed, expected, 0.0)
    }
}

/// The nominal metric: any two different values disagree completely.
pub fn nominal_delta<V: PartialEq>(a: &V, b: &V) -> f64 {
    if a == b { 0.0 } else { 1.0 }
}

/// The interval metric: the squared difference.
pub fn interval_delta(a: &f64, b: &f64) -> f64 {
    (a - b) * (a - b)
}

/// Nominal alpha of `units` (values compared for equality only).
pub fn nominal<V: Clone + PartialOrd, U: AsRef<[V]>>(units: &[U]) -> Option<f64> {
    Coincidences::new(units).alpha(nominal_delta)
}

/// Interval alpha of `units` (numbers; a value that is not finite counts
/// as missing).
pub fn interval<U: AsRef<[f64]>>(units: &[U]) -> Option<f64> {
    let finite: Vec<Vec<f64>> = units
        .iter()
        .map(|u| {
            u.as_ref()
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .collect()
        })
        .collect();
    Coincidences::new(&finite).alpha(interval_delta)
}

/// `1 − (n − 1) · observed / expected`, or `None` when undefined: no
/// pairable value (`n < 2`), or an expected disagreement of (next to)
/// nothing. `tolerance` is what rounding may leave of a zero `expected`.
fn alpha(n: f64, observed: f64, expected: f64, tolerance: f64) -> Option<f64> {
    if n < 2.0 || expected <= tolerance {
        return None;
    }
    Some(1.0 - (n - 1.0) * observed.max(0.0) / expected)
}

/// Nominal alpha as sums over units. For unit `u` with `m_u` values of
/// which `n_uc` are category `c`, the disagreeing ordered pairs are
/// `m_u² − Σ_c n_uc²`; over all pairable values, `n² − Σ_c n_c²`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NominalSums {
    /// `n`: the values of pairable units.
    pub values: f64,
    /// `Σ_u (m_u² − Σ_c n_uc²) / (m_u − 1)` over pairable units
    /// (`Σ_ck o_ck δ_ck`).
    pub within: f64,
    /// `Σ_c n_c²`: the squared totals of each category over pairable units.
    pub category_squares: f64,
}

impl NominalSums {
    /// The sums of `units` (each its values' categories).
    pub fn of<V: PartialEq, U: AsRef<[V]>>(units: &[U]) -> Self {
        let mut totals: Vec<(&V, f64)> = Vec::new();
        let mut sums = Self::default();
        for unit in units.iter().map(AsRef::as_ref).filter(|u| u.len() >= 2) {
            let mut counts: Vec<(&V, f64)> = Vec::new();
            for v in unit {
                bump(&mut counts, v);
                bump(&mut totals, v);
            }
            let m = unit.len() as f64;
            let same: f64 = counts.iter().map(|(_, k)| k * k).sum();
            sums.values += m;
            sums.within += (m * m - same) / (m - 1.0);
        }
        sums.category_squares = totals.iter().map(|(_, k)| k * k).sum();
        sums
    }

    pub fn alpha(&self) -> Option<f64> {
        let n = self.values;
        alpha(n, self.within, n * n - self.category_squares, 0.5)
    }
}

fn bump<'a, V: PartialEq>(counts: &mut Vec<(&'a V, f64)>, v: &'a V) {
    match counts.iter_mut().find(|(c, _)| *c == v) {
        Some((_, k)) => *k += 1.0,
        None => counts.push((v, 1.0)),
    }
}

/// Interval alpha as sums over units. For unit `u` with `m_u` values,
/// their sum `s_u` and sum of squares `q_u`, the squared differences of
/// its ordered pairs add up to `2 (m_u q_u − s_u²)`; over all pairable
/// values, `2 (n Q − S²)`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct IntervalSums {
    /// `n`: the values of pairable units.
    pub values: f64,
    /// `S`: their sum.
    pub sum: f64,
    /// `Q`: their sum of squares.
    pub squares: f64,
    /// `Σ_u (m_u q_u − s_u²) / (m_u − 1)` over pairable units (half of
    /// `Σ_ck o_ck δ²_ck`).
    pub within: f64,
}

impl IntervalSums {
    /// The sums of `units` (values that are not finite count as missing).
    pub fn of<U: AsRef<[f64]>>(units: &[U]) -> Self {
        let mut sums = Self::default();
        for unit in units {
            let unit: Vec<f64> = unit
                .as_ref()
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .collect();
            if unit.len() < 2 {
                continue;
            }
            let m = unit.len() as f64;
            let s: f64 = unit.iter().sum();
            let q: f64 = unit.iter().map(|v| v * v).sum();
            sums.values += m;
            sums.sum += s;
            sums.squares += q;
            sums.within += (m * q - s * s) / (m - 1.0);
        }
        sums
    }

    pub fn alpha(&self) -> Option<f64> {
        let n = self.values;
        let expected = n * self.squares - self.sum * self.sum;
        // Rounding of sums over many values leaves a few units in the last
        // places of `n Q`; real variation is far above that.
        alpha(n, self.within, expected, 1e-9 * n * self.squares)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability",
    /// section E: four observers (rows), twelve units (columns), `.` for a
    /// missing value.
    const KRIPPENDORFF_2011: [&str; 4] = [
        "1 2 3 3 2 1 4 1 2 . . .",
        "1 2 3 3 2 2 4 1 2 5 . 3",
        ". 3 3 3 2 3 4 2 2 5 1 .",
        "1 2 3 3 2 4 4 1 2 5 1 .",
    ];

    /// Wikipedia, "Krippendorff's alpha", its computational example: three
    /// coders, fifteen units.
    const WIKIPEDIA: [&str; 3] = [
        ". . . . . 3 4 1 2 1 1 3 3 . 3",
        "1 . 2 1 3 3 4 3 . . . . . . .",
        ". . 2 1 3 4 4 . 2 1 1 3 3 . 4",
    ];

    /// Coders × units (as the papers print them) into units of values.
    fn units(coders: &[&str]) -> Vec<Vec<u8>> {
        let rows: Vec<Vec<Option<u8>>> = coders
            .iter()
            .map(|c| c.split(' ').map(|v| v.parse().ok()).collect())
            .collect();
        (0..rows[0].len())
            .map(|u| rows.iter().filter_map(|coder| coder[u]).collect())
            .collect()
    }

    fn as_f64(units: &[Vec<u8>]) -> Vec<Vec<f64>> {
        units
            .iter()
            .map(|u| u.iter().map(|v| f64::from(*v)).collect())
            .collect()
    }

    fn rounded(a: Option<f64>) -> Option<f64> {
        a.map(|a| (a * 1000.0).round() / 1000.0)
    }

    #[test]
    fn krippendorffs_2011_example_gives_the_published_alphas() {
        let u = units(&KRIPPENDORFF_2011);
        assert_eq!(rounded(nominal(&u)), Some(0.743));
        assert_eq!(rounded(interval(&as_f64(&u))), Some(0.849));
    }

    #[test]
    fn krippendorffs_2011_coincidence_matrix_is_the_published_one() {
        let m = Coincidences::new(&units(&KRIPPENDORFF_2011));
        // The paper's matrix (values 1…5), its n = 40 pairable values.
        let expected = [
            [7.0, 4.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 0.0],
            [4.0 / 3.0, 10.0, 4.0 / 3.0, 1.0 / 3.0, 0.0],
            [1.0 / 3.0, 4.0 / 3.0, 8.0, 1.0 / 3.0, 0.0],
            [1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 4.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 3.0],
        ];
        assert_eq!(m.values, [1, 2, 3, 4, 5]);
        for (row, want) in m.o.iter().zip(expected) {
            for (got, want) in row.iter().zip(want) {
                assert!((got - want).abs() < 1e-12, "{:?}", m.o);
            }
        }
        assert!((m.pairable_values() - 40.0).abs() < 1e-12);
    }

    #[test]
    fn the_wikipedia_example_gives_its_alphas() {
        let u = units(&WIKIPEDIA);
        assert_eq!(rounded(nominal(&u)), Some(0.691));
        assert_eq!(rounded(interval(&as_f64(&u))), Some(0.811));
    }

    #[test]
    fn the_sums_give_what_the_coincidence_matrix_gives() {
        for data in [units(&KRIPPENDORFF_2011), units(&WIKIPEDIA)] {
            let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) => (a - b).abs() < 1e-12,
                (a, b) => a == b,
            };
            assert!(close(NominalSums::of(&data).alpha(), nominal(&data)));
            let numbers = as_f64(&data);
            assert!(close(
                IntervalSums::of(&numbers).alpha(),
                interval(&numbers)
            ));
        }
        // And on generated data: many units, two to four reviewers each,
        // scores on a 0–100 scale, some missing.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let scores: Vec<Vec<f64>> = (0..500)
            .map(|_| {
                let truth = next(80) as f64;
                (0..next(4) + 1)
                    .map(|_| truth + next(21) as f64 - 10.0 + next(4) as f64 * 0.25)
                    .collect()
            })
            .collect();
        let decisions: Vec<Vec<bool>> = scores
            .iter()
            .map(|u| u.iter().map(|s| *s >= 50.0).collect())
            .collect();
        let (a, b) = (IntervalSums::of(&scores).alpha(), interval(&scores));
        assert!(
            (a.unwrap_or(-9.0) - b.unwrap_or(9.0)).abs() < 1e-9,
            "{a:?} {b:?}"
        );
        let (a, b) = (NominalSums::of(&decisions).alpha(), nominal(&decisions));
        assert!(
            (a.unwrap_or(-9.0) - b.unwrap_or(9.0)).abs() < 1e-9,
            "{a:?} {b:?}"
        );
    }

    #[test]
    fn no_pairable_unit_leaves_alpha_undefined() {
        let none: [Vec<u8>; 0] = [];
        assert_eq!(nominal(&none), None);
        let singles = [vec![1.0], vec![2.0], vec![]];
        assert_eq!(interval(&singles), None);
        assert_eq!(IntervalSums::of(&singles).alpha(), None);
        assert_eq!(NominalSums::of(&[vec![1], vec![2]]).alpha(), None);
    }

    #[test]
    fn perfect_agreement_is_one() {
        let u = [
            vec![1.0, 1.0],
            vec![2.0, 2.0, 2.0],
            vec![70.5, 70.5],
            vec![3.0],
        ];
        assert_eq!(interval(&u), Some(1.0));
        assert_eq!(IntervalSums::of(&u).alpha(), Some(1.0));
        let d = [vec!["accepted", "accepted"], vec!["rejected", "rejected"]];
        assert_eq!(nominal(&d), Some(1.0));
        assert_eq!(NominalSums::of(&d).alpha(), Some(1.0));
    }

    #[test]
    fn values_that_never_vary_leave_alpha_undefined() {
        // Agreement without variation is no evidence of reliability.
        let u = [vec![61.25, 61.25], vec![61.25, 61.25, 61.25]];
        assert_eq!(interval(&u), None);
        assert_eq!(IntervalSums::of(&u).alpha(), None);
        // Sums of squares of 0.1 do not cancel exactly: the tolerance absorbs it.
        let many = vec![vec![0.1, 0.1, 0.1]; 100_000];
        assert_eq!(IntervalSums::of(&many).alpha(), None);
        let d = [vec!["accepted"; 2], vec!["accepted"; 3]];
        assert_eq!(nominal(&d), None);
        assert_eq!(NominalSums::of(&d).alpha(), None);
    }

    #[test]
    fn systematic_disagreement_is_below_zero() {
        // Two reviewers who always split: worse than chance.
        let d = [vec![true, false], vec![false, true], vec![true, false]];
        let a = nominal(&d).unwrap_or(9.0);
        assert!(a < 0.0, "{a}");
        assert!((NominalSums::of(&d).alpha().unwrap_or(9.0) - a).abs() < 1e-12);
    }
}
